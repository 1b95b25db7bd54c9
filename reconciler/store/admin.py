"""Workspace administration: create or upgrade one explicitly, and copy one whole to another
location (SQLite <-> PostgreSQL), verified table by table."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import RefusedError, WorkspaceError
from reconciler.store import DEFAULT_LOCATION, SqlStore, open_workspace
from reconciler.store.migrations import SCHEMA_VERSION

_BATCH = 1000
#: Copied first, so rows that reference a segment find it there.
_FIRST = ("meta", "segments")


@dataclass(frozen=True)
class InitResult:
    display: str
    before: int  # the schema version found (0: a new workspace)
    after: int
    lineage: str
    serial: int


@dataclass(frozen=True)
class TableCheck:
    table: str
    rows: int
    checksum: str


def _location(location: str | None) -> str:
    return location or os.environ.get("SEGPUB_WORKSPACE") or DEFAULT_LOCATION


def _is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _sqlite_path(location: str) -> Path:
    return Path(location[len("sqlite:///") :] if location.startswith("sqlite:///") else location)


def init_workspace(location: str | None) -> tuple[SqlStore, InitResult]:
    """Create the workspace at `location`, or bring its schema up to date. Returns it open."""
    location = _location(location)
    if _is_postgres(location):
        from reconciler.store.postgres import PostgresStore, open_postgres, parse_location

        store = PostgresStore(parse_location(location))
        try:
            before = store.schema_version() if store.schema_exists() else 0
        finally:
            store.close()
        opened: SqlStore = open_postgres(location, init=True)
    else:
        path = _sqlite_path(location)
        before = _sqlite_version(path)
        opened = open_workspace(location)
    state = opened.read_state()
    return opened, InitResult(opened.display, before, SCHEMA_VERSION, state.lineage, state.serial)


def _sqlite_version(path: Path) -> int:
    if not path.is_file():
        return 0
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if (
                conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                ).fetchone()
                is None
            ):
                return 0
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            return int(row[0]) if row else 0
        finally:
            conn.close()
    except (sqlite3.Error, ValueError):
        return 0


def open_existing(location: str) -> SqlStore:
    """Open a workspace that must already exist (a copy's source is never created)."""
    if not _is_postgres(location) and "://" not in location.replace("sqlite:///", "", 1):
        path = _sqlite_path(location)
        if not path.is_file():
            raise WorkspaceError(f"workspace {path} does not exist; nothing to copy")
    return open_workspace(location)


# -- copying --------------------------------------------------------------------------------------


def tables(store: SqlStore) -> list[str]:
    """The workspace's tables, in copy order."""
    from reconciler.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " AND table_type = 'BASE TABLE'"
        )
        params: tuple[Any, ...] = (store.location.schema,)
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        params = ()
    names = {str(r[0]) for r in store._execute(store._cursor(), sql, params).fetchall()}
    return [t for t in _FIRST if t in names] + sorted(names - set(_FIRST))


def _quote(identifier: str) -> str:
    # Table and column names come from the workspace's own catalog, never from a user; quoting
    # keeps them identifiers in both engines.
    return '"' + identifier.replace('"', '""') + '"'


def columns(store: SqlStore, cursor: Any, table: str) -> list[str]:
    store._execute(cursor, f"SELECT * FROM {_quote(table)} WHERE 1 = 0")
    names = [str(d[0]) for d in cursor.description]
    cursor.fetchall()
    return names


def _rows(store: SqlStore, table: str, cols: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every row of `table`, fetched in batches so memory stays bounded."""
    from reconciler.store.postgres import PostgresStore

    sql = f"SELECT {', '.join(_quote(c) for c in cols)} FROM {_quote(table)}"
    if isinstance(store, PostgresStore):
        yield from store.stream(sql)
        return
    cursor = store._cursor()
    store._execute(cursor, sql)
    while True:
        batch = cursor.fetchmany(_BATCH)  # type: ignore[attr-defined]
        if not batch:
            return
        for row in batch:
            yield tuple(row)


_PLAIN = (int, str, type(None))


def _row_digest(row: Sequence[Any]) -> int:
    # repr of a tuple of ints, strings and None is the same whichever engine the row came from.
    values = tuple(row)
    if not all(type(v) in _PLAIN for v in values):
        values = tuple(_canonical(v) for v in values)
    digest = hashlib.blake2b(repr(values).encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def _canonical(value: Any) -> Any:
    if value is None or type(value) in (int, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def check_table(store: SqlStore, table: str, cols: Sequence[str]) -> TableCheck:
    """Row count and an order-independent checksum (sum of row hashes mod 2^128) of `table`:
    the two engines may sort text differently, so the checksum must not depend on order."""
    count = 0
    total = 0
    for row in _rows(store, table, cols):
        count += 1
        total += _row_digest(row)
    return TableCheck(table, count, f"{total % (1 << 128):032x}")


@dataclass(frozen=True)
class CopyResult:
    source: str
    target: str
    checks: tuple[TableCheck, ...]
    lineage: str
    serial: int


def copy_workspace(
    source_location: str, target_location: str, actor: str, lock_timeout: float = 0
) -> CopyResult:
    """Copy every table of the workspace at `source_location` into a new (or empty) workspace at
    `target_location`, in one transaction there, and verify each table's row count and checksum
    before it commits: a copy that does not match leaves nothing behind."""
    if source_location == target_location:
        raise RefusedError("FROM and TO are the same workspace; give two different locations")
    source = open_existing(source_location)
    try:
        target, _ = init_workspace(target_location)
        try:
            return _copy(source, target, actor, lock_timeout)
        finally:
            target.close()
    finally:
        source.close()


def _copy(source: SqlStore, target: SqlStore, actor: str, lock_timeout: float) -> CopyResult:
    source_tables = tables(source)
    target_tables = set(tables(target))
    missing = [t for t in source_tables if t not in target_tables]
    if missing:
        raise WorkspaceError(
            f"workspace {target.display} has no table {', '.join(missing)}; both workspaces must"
            " be at the same schema version (run `segpub workspace init` on both)"
        )
    writer_lock = getattr(target, "writer_lock", None)
    held = writer_lock(actor, "workspace copy", lock_timeout) if writer_lock else nullcontext()
    with held:
        with target.write("copy") as cursor:
            _require_empty(target, cursor, source_tables)
            checks: list[TableCheck] = []
            with source.snapshot():
                source_cols = {t: columns(source, source._cursor(), t) for t in source_tables}
                for table in source_tables:
                    cols = source_cols[table]
                    target_cols = set(columns(target, target._cursor(), table))
                    lost = [c for c in cols if c not in target_cols]
                    if lost:
                        raise WorkspaceError(
                            f"table {table} of workspace {target.display} has no column"
                            f" {', '.join(lost)}; run `segpub workspace init` on it"
                        )
                    if table == "meta":
                        target._execute(cursor, "DELETE FROM meta")
                    insert = (
                        f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in cols)})"
                        f" VALUES ({', '.join('?' for _ in cols)})"
                    )
                    copy_in = getattr(target, "copy_in", None)
                    if copy_in is not None:  # PostgreSQL: COPY, not row-by-row INSERTs
                        copy_in(table, cols, _rows(source, table, cols))
                        checks.append(check_table(source, table, cols))
                        continue
                    batch: list[tuple[Any, ...]] = []
                    for row in _rows(source, table, cols):
                        batch.append(tuple(row))
                        if len(batch) >= _BATCH:
                            cursor.executemany(target._sql(insert), batch)
                            batch = []
                    if batch:
                        cursor.executemany(target._sql(insert), batch)
                    checks.append(check_table(source, table, cols))
            for expected in checks:
                got = check_table(target, expected.table, source_cols[expected.table])
                if got != expected:
                    raise WorkspaceError(
                        f"the copy of table {expected.table} does not match its source"
                        f" ({expected.rows} rows, checksum {expected.checksum[:12]};"
                        f" copied {got.rows} rows, checksum {got.checksum[:12]}); nothing was"
                        " copied"
                    )
        analyze = getattr(target, "analyze", None)
        if analyze is not None:
            analyze(source_tables)
        state = target.read_state()
    return CopyResult(source.display, target.display, tuple(checks), state.lineage, state.serial)


def _require_empty(target: SqlStore, cursor: Any, names: Sequence[str]) -> None:
    filled = []
    for table in names:
        if table == "meta":
            continue
        row = target._execute(cursor, f"SELECT 1 FROM {_quote(table)} LIMIT 1").fetchone()
        if row is not None:
            filled.append(table)
    if filled:
        raise RefusedError(
            f"workspace {target.display} is not empty ({', '.join(filled)} hold rows); copy into"
            " a new workspace, so nothing there is overwritten"
        )
