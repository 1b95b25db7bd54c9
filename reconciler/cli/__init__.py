"""The `segpub` command line: click commands only, each calling the pipeline and rendering.

app.py holds the group, which imports a command's module (publications, ci, platform,
workspace) only when that command runs."""

from __future__ import annotations

from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
