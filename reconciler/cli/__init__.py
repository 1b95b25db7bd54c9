"""The `segpub` command line: click commands only; each calls the pipeline and renders the result."""

from __future__ import annotations

from reconciler.cli import platform  # noqa: F401  (registers its commands)
from reconciler.cli import publications  # noqa: F401  (registers its commands)
from reconciler.cli import workspace  # noqa: F401,I001  (registers workspace and users)
from reconciler.cli import ci  # noqa: F401,I001  (registers its commands; after publications)
from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
