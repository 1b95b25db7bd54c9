"""Opening a workspace by its location: a SQLite file (the default) or a database URL."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.errors import WorkspaceError
from reconciler.store.base import ImportResult, Provenance, SqlStore
from reconciler.store.migrations import SCHEMA_VERSION

DEFAULT_LOCATION = "segpub.db"

__all__ = ["DEFAULT_LOCATION", "ImportResult", "Provenance", "SqlStore", "open_workspace"]


def open_workspace(location: str | None) -> SqlStore:
    """Open (on SQLite, create on first use) the workspace at `location`, schema up to date."""
    location = location or os.environ.get("SEGPUB_WORKSPACE") or DEFAULT_LOCATION
    if location.startswith(("postgresql://", "postgres://")):
        from reconciler.store.postgres import open_postgres

        return open_postgres(location)  # refuses an uninitialised one: see `workspace init`
    if location.startswith("sqlite:///"):
        path = Path(location[len("sqlite:///") :])
    elif "://" in location:
        scheme = location.split("://", 1)[0]
        raise WorkspaceError(
            f"unsupported workspace location scheme '{scheme}://'; use a file path, sqlite:///path"
            " or postgresql://USER@HOST:PORT/DB?workspace=NAME"
        )
    else:
        path = Path(location)
    from reconciler.store.sqlite import SqliteStore

    if path.is_dir():
        raise WorkspaceError(
            f"workspace {path} is a folder; give a file path such as {path}/segpub.db"
        )
    store = SqliteStore(path)
    try:
        if store.schema_version() < SCHEMA_VERSION:
            store.migrate()
        elif store.schema_version() > SCHEMA_VERSION:
            store.migrate()  # raises with the upgrade message
    except BaseException:
        store.close()
        raise
    return store
