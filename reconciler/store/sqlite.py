"""The embedded workspace: one SQLite file, WAL, every write one BEGIN IMMEDIATE transaction."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from reconciler.errors import WorkspaceError
from reconciler.locking import file_lock, lock_path
from reconciler.store.base import Cursor, SqlStore


class SqliteStore(SqlStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = str(path)
        existed = path.exists()
        if not existed:
            _create_private(path)
        try:
            self._conn = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) or "not a database" not in str(error):
                raise WorkspaceError(
                    f"cannot open workspace {path}: {storage_problem(path, error)}"
                ) from None
            raise WorkspaceError(
                f"cannot open workspace {path}: {error}; is it a segpub workspace (SQLite file)?"
            ) from None
        self._in_write = False

    def _cursor(self) -> Cursor:
        return self._conn.cursor()

    def _has_meta(self, cursor: Cursor) -> bool:
        row = cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        return row is not None

    def _begin_write(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise self._storage_error(error) from None

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._rollback()
            raise self._storage_error(error) from None

    def _storage_error(self, error: BaseException) -> WorkspaceError:
        if not isinstance(error, sqlite3.DatabaseError):
            return super()._storage_error(error)
        return WorkspaceError(
            f"cannot write workspace {self.display}: {storage_problem(self.path, error)};"
            " nothing was changed"
        )

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")  # deferred: the first read fixes the moment (WAL)
        try:
            yield
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def writer_lock(
        self, actor: str, command: str, timeout: float = 0
    ) -> AbstractContextManager[None]:
        return file_lock(lock_path(self.path), actor, command, timeout)


def storage_problem(path: Path, error: BaseException) -> str:
    """What SQLite's terse error means for the person at the terminal, and what to do."""
    text = str(error)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        stat = os.statvfs(folder)
        free, read_only = stat.f_bavail * stat.f_frsize, bool(stat.f_flag & os.ST_RDONLY)
    except OSError:
        free, read_only = None, False
    if "readonly" in text or read_only:
        return (
            f"{text}: the workspace file or its folder is read-only; make both writable"
            " (SQLite writes its -wal and -shm files beside it)"
        )
    if "disk is full" in text or (free is not None and free < 1024 * 1024):
        return f"{text}: the disk is full ({free or 0:,} bytes free); free some space and retry"
    if "locked" in text:
        return (
            f"{text}: another program holds the database; close it (a DB browser, a backup)"
            " and retry"
        )
    return text


def _create_private(path: Path) -> None:
    """Create the workspace file readable by its owner only: it may hold account and CRM data."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise WorkspaceError(f"cannot create workspace {path}: {error.strerror}") from None
    os.close(fd)
