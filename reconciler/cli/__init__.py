"""The `segpub` command line: click commands only, each calling the pipeline and rendering."""

from __future__ import annotations

from reconciler.cli import (
    ci,  # noqa: F401,I001  (registers its commands; after publications)
    platform,  # noqa: F401  (registers its commands)
    publications,  # noqa: F401  (registers its commands)
    workspace,  # noqa: F401,I001  (registers workspace and users)
)
from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
