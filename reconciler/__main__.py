"""Entry point for `python -m reconciler`, the same as the `segpub` command."""

from __future__ import annotations

from reconciler.cli import main

if __name__ == "__main__":
    main()
