"""The team workspace: one PostgreSQL schema per named workspace, writers serialized on an
advisory lock held on a connection of its own.

psycopg is imported only when a postgresql:// location is opened, so segpub runs without it."""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from reconciler.errors import LockedError, WorkspaceError
from reconciler.redact import redact
from reconciler.store.base import Cursor, SqlStore
from reconciler.store.migrations import SCHEMA_VERSION

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_WORKSPACE_NAME = "default"
#: Each workspace lives in the schema SCHEMA_PREFIX + its name.
SCHEMA_PREFIX = "segpub_"
#: Mixed into the advisory lock key so other applications' advisory locks never collide.
LOCK_NAMESPACE = "segpub/workspace-writer/v1"
#: How long a write not already under writer_lock waits for it (as SQLite's busy timeout does).
IMPLICIT_LOCK_TIMEOUT = 5.0
POLL_SECONDS = 0.05
CONNECT_TIMEOUT = 10
_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")
_HOLDER_TAG = "segpub-writer"
_GROUP_CONCAT = re.compile(r"group_concat\(\s*([A-Za-z_][\w.]*)\s*,\s*\?\s*\)", re.IGNORECASE)
INSTALL_HINT = "pip install 'segpub[postgres]'"


def is_postgres(location: str) -> bool:
    return location.startswith(SCHEMES)


@dataclass(frozen=True)
class PostgresLocation:
    """A parsed postgresql:// workspace location."""

    conninfo: str  # the URL libpq gets: the location without its `workspace` parameter
    name: str  # the workspace name
    display: str  # the location as it may be shown: never with a password

    @property
    def schema(self) -> str:
        return SCHEMA_PREFIX + self.name


def parse_location(location: str) -> PostgresLocation:
    """`postgresql://USER@HOST:PORT/DB?workspace=NAME` -> its parts (default name `default`).
    Anything the URL leaves out (host, user, password, ...) comes from the libpq variables."""
    display = redact(location)
    try:
        parts = urlsplit(location)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as error:
        raise WorkspaceError(f"workspace location {display} is not a valid URL: {error}") from None
    names = [value for key, value in query if key == "workspace"]
    if len(names) > 1:
        raise WorkspaceError(f"workspace location {display} gives `workspace=` more than once")
    name = names[0] if names else DEFAULT_WORKSPACE_NAME
    if not _NAME.match(name):
        raise WorkspaceError(
            f"workspace name {name!r} in {display} is not usable: use 1 to 50 letters, digits"
            " or underscores, e.g. ?workspace=marketing_ops"
        )
    rest = urlencode([(key, value) for key, value in query if key != "workspace"])
    # Built by hand: urlunsplit drops the `//` of a URL with no host (postgresql:///db), which
    # libpq needs to fill the host in from PGHOST.
    conninfo = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    return PostgresLocation(conninfo=conninfo, name=name, display=display)


def psycopg_module() -> ModuleType:
    """psycopg, or a clear error saying how to get it."""
    try:
        import psycopg
    except ImportError:
        raise WorkspaceError(
            "a PostgreSQL workspace needs the psycopg driver, which is not installed;"
            f" install it with: {INSTALL_HINT}"
        ) from None
    return psycopg


def lock_key(name: str) -> int:
    """The advisory lock key of workspace `name`: a signed 64-bit hash of namespace + name."""
    digest = hashlib.blake2b(f"{LOCK_NAMESPACE}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def connect(location: PostgresLocation, application_name: str = "segpub") -> Any:
    psycopg = psycopg_module()
    try:
        return psycopg.connect(
            location.conninfo,
            autocommit=True,
            application_name=application_name,
            connect_timeout=int(os.environ.get("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT)),
        )
    except psycopg.Error as error:
        raise WorkspaceError(
            f"cannot connect to workspace {location.display}: {_first_line(error)}; check the"
            " host, port, database and user (or PGHOST, PGPORT, PGUSER, PGPASSWORD)"
        ) from None


def _first_line(error: BaseException) -> str:
    text = redact(str(error)).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


class _GuardedCursor:
    """A psycopg cursor whose database errors become WorkspaceError messages, not tracebacks.

    A SELECT runs when it is first read: read with fetchmany or by iterating, it streams through
    a server-side cursor, so memory stays bounded however many rows it has (enrichment, views);
    read with fetchone or fetchall, it runs as an ordinary query."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._cursor: Any = None  # the client cursor of the last statement run eagerly
        self._pending: tuple[str, tuple[Any, ...]] | None = None  # a SELECT not yet run
        self._server: Any = None  # the server-side cursor of a streaming SELECT
        self._own_transaction = False

    def _reset(self) -> None:
        self._pending = None
        if self._server is not None:
            server, self._server = self._server, None
            try:
                server.close()
            except self._store._psycopg.Error:
                pass
        if self._own_transaction:
            self._own_transaction = False
            self._store._end_read_transaction()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _GuardedCursor:
        self._reset()
        head = sql.lstrip()[:6].upper()
        if head == "SELECT" or head.startswith("WITH"):
            self._pending = (sql, tuple(params))
            return self
        self._cursor = self._store._conn.cursor()
        self._store._guarded(self._cursor.execute, sql, tuple(params))
        return self

    def executemany(self, sql: str, params: Any) -> _GuardedCursor:
        self._reset()
        self._cursor = self._store._conn.cursor()
        self._store._guarded(self._cursor.executemany, sql, params)
        return self

    def _run(self) -> None:
        if self._pending is not None:
            sql, params = self._pending
            self._pending = None
            self._cursor = self._store._conn.cursor()
            self._store._guarded(self._cursor.execute, sql, params)

    def _stream(self) -> None:
        assert self._pending is not None
        sql, params = self._pending
        self._pending = None
        self._own_transaction = self._store._begin_read_transaction()
        if self._own_transaction:
            # What streams is a per-record query (enrichment) whose correlated subquery is best
            # served by index nested loops; left free, the planner sorts or hashes the
            # publications once per record (bench: 1M records 33 s -> 17 s). This transaction only.
            for setting in ("enable_mergejoin", "enable_hashjoin"):
                self._store._guarded(self._store._conn.execute, f"SET LOCAL {setting} = off")
        self._server = self._store._conn.cursor(name=f"segpub_{uuid.uuid4().hex}")
        self._store._guarded(self._server.execute, sql, params)

    def fetchone(self) -> Any:
        if self._server is not None:
            return self._store._guarded(self._server.fetchone)
        self._run()
        return self._store._guarded(self._cursor.fetchone)

    def fetchall(self) -> list[Any]:
        if self._server is not None:
            rows = list(self._store._guarded(self._server.fetchall))
            self._reset()
            return rows
        self._run()
        return list(self._store._guarded(self._cursor.fetchall))

    def fetchmany(self, size: int = 1000) -> list[Any]:
        if self._pending is not None:
            self._stream()
        if self._server is not None:
            rows = list(self._store._guarded(self._server.fetchmany, size))
            if not rows:
                self._reset()
            return rows
        return list(self._store._guarded(self._cursor.fetchmany, size))

    def __iter__(self) -> Iterator[Any]:
        while True:
            rows = self.fetchmany(1000)
            if not rows:
                return
            yield from rows

    def close(self) -> None:
        self._reset()

    def __getattr__(self, name: str) -> Any:
        self._run()
        return getattr(self._cursor, name)


class PostgresStore(SqlStore):
    """A workspace in its own schema of a PostgreSQL database."""

    placeholder = "%s"

    def __init__(self, location: PostgresLocation) -> None:
        self.location = location
        self.display = location.display
        self._psycopg = psycopg_module()
        self._conn = connect(location)
        self._lock_conn: Any = None  # the dedicated connection holding the advisory lock
        self._lock_depth = 0
        self._implicit_lock = False
        self._in_write = False
        self._current_user: str | None = None
        self._role()
        self._guarded(
            self._conn.execute,
            self._psycopg.sql.SQL("SET search_path TO {}").format(
                self._psycopg.sql.Identifier(location.schema)
            ),
        )

    # -- errors ---------------------------------------------------------------------------------

    def _guarded(self, call: Any, *args: Any) -> Any:
        psycopg = self._psycopg
        try:
            return call(*args)
        except psycopg.errors.InsufficientPrivilege as error:
            if self._in_write:
                raise WorkspaceError(self._read_only_message()) from None
            raise WorkspaceError(
                f"role {self._role()} may not read workspace {self.display}: {_first_line(error)};"
                " ask its owner to GRANT USAGE on the schema and SELECT on its tables"
            ) from None
        except psycopg.Error as error:
            raise WorkspaceError(f"workspace {self.display}: {_first_line(error)}") from None

    def _role(self) -> str:
        # Read once, at connect: inside a failed transaction no query can be asked.
        if self._current_user is None:
            try:
                row = self._conn.execute("SELECT current_user").fetchone()
            except self._psycopg.Error:
                return "unknown"
            self._current_user = str(row[0])
        return self._current_user

    def _read_only_message(self) -> str:
        return (
            f"this workspace is read-only for role {self._role()}; nothing was changed (connect"
            " as a role that may write, or ask the owner to GRANT INSERT, UPDATE, DELETE on the"
            f" tables of schema {self.location.schema})"
        )

    # -- the engine -----------------------------------------------------------------------------

    def _cursor(self) -> Cursor:
        return _GuardedCursor(self)

    def _sql(self, sql: str) -> str:
        # SQLite's group_concat is PostgreSQL's string_agg; order the names by code point as
        # SQLite does, whatever the database's collation. A literal % must reach psycopg as %%.
        sql = _GROUP_CONCAT.sub(r'string_agg(\1, ? ORDER BY \1 COLLATE "C")', sql)
        return sql.replace("%", "%%").replace("?", "%s")

    def _begin_read_transaction(self) -> bool:
        """Start a read-only snapshot for a streaming cursor unless a transaction is open;
        returns whether it started one (to end when the stream does)."""
        if (
            self._in_write
            or self._conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE
        ):
            return False
        self._guarded(self._conn.execute, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return True

    def _end_read_transaction(self) -> None:
        if self._in_write:
            return
        try:
            if self._conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                self._conn.execute("COMMIT")
        except self._psycopg.Error:
            pass

    def _has_meta(self, cursor: Cursor) -> bool:
        row = self._execute(
            cursor,
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_schema = ? AND table_name = 'meta'",
            (self.location.schema,),
        ).fetchone()
        return row is not None

    def schema_exists(self) -> bool:
        row = self._execute(
            self._cursor(),
            "SELECT 1 FROM pg_namespace WHERE nspname = ?",
            (self.location.schema,),
        ).fetchone()
        return row is not None

    def create_schema(self) -> None:
        """Create the workspace's schema (init only; every other command refuses without it)."""
        sql = self._psycopg.sql
        self._guarded(
            self._conn.execute,
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.location.schema)),
        )

    def writable(self) -> bool:
        """Whether this role may write every table of the workspace (and create in its schema)."""
        row = self._execute(
            self._cursor(),
            "SELECT coalesce(bool_and(has_table_privilege(c.oid, 'INSERT')"
            " AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE')),"
            " has_schema_privilege(?, 'CREATE'))"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ? AND c.relkind = 'r'",
            (self.location.schema, self.location.schema),
        ).fetchone()
        return bool(row[0])

    def _begin_write(self) -> None:
        self._end_read_transaction()  # a stream left unfinished must not swallow the write
        if not self.writable():
            raise WorkspaceError(self._read_only_message())
        if self._lock_depth == 0:
            self._take_lock(_implicit_actor(), "write", IMPLICIT_LOCK_TIMEOUT)
            self._implicit_lock = True
        self._in_write = True
        try:
            self._guarded(self._conn.execute, "BEGIN")
        except BaseException:
            self._end_write()
            raise

    def _commit(self) -> None:
        try:
            self._guarded(self._conn.execute, "COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._end_write()

    def _rollback(self) -> None:
        try:
            if self._conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                self._conn.execute("ROLLBACK")
        except self._psycopg.Error:
            pass  # a broken connection has rolled back on the server already
        finally:
            self._end_write()

    def _end_write(self) -> None:
        self._in_write = False
        if self._implicit_lock:
            self._implicit_lock = False
            self._release_lock()

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        idle = self._conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE
        if self._in_write or not idle:
            yield
            return
        self._guarded(self._conn.execute, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            try:
                self._conn.execute("COMMIT")
            except self._psycopg.Error:
                pass

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 1000) -> Iterator[Any]:
        """The rows of a SELECT through a server-side cursor, `batch` at a time: memory stays
        bounded however many rows there are. Outside a transaction it reads one snapshot."""
        own = (
            not self._in_write
            and self._conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE
        )
        if own:
            self._guarded(self._conn.execute, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            cursor = self._conn.cursor(name=f"segpub_{uuid.uuid4().hex}")
            try:
                self._guarded(cursor.execute, self._sql(sql), tuple(params))
                while True:
                    rows = self._guarded(cursor.fetchmany, batch)
                    if not rows:
                        return
                    yield from rows
            finally:
                try:
                    cursor.close()
                except self._psycopg.Error:
                    pass
        finally:
            if own:
                try:
                    self._conn.execute("COMMIT")
                except self._psycopg.Error:
                    pass

    def copy_in(self, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
        """Load `rows` into `table` with COPY: many times faster than INSERTs for a big copy."""
        sql = self._psycopg.sql
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )

        def load() -> None:
            with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)

        self._guarded(load)

    def analyze(self, tables: Sequence[str]) -> None:
        """Refresh the planner's statistics after a bulk load (a fresh table has none, and the
        enrichment query's plan depends on them)."""
        sql = self._psycopg.sql
        for table in tables:
            self._guarded(self._conn.execute, sql.SQL("ANALYZE {}").format(sql.Identifier(table)))

    def snapshot(self) -> AbstractContextManager[None]:
        return self._snapshot()

    def close(self) -> None:
        try:
            if self._lock_conn is not None:
                self._lock_conn.close()
                self._lock_conn = None
        finally:
            self._conn.close()

    # -- the writer lock ------------------------------------------------------------------------

    @contextmanager
    def _writer_lock(self, actor: str, command: str, timeout: float) -> Iterator[None]:
        if self._lock_depth == 0:
            self._take_lock(actor, command, timeout)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._release_lock()

    def writer_lock(
        self, actor: str, command: str, timeout: float = 0
    ) -> AbstractContextManager[None]:
        """Hold the workspace's advisory writer lock for a `with` block, waiting up to `timeout`
        seconds; else LockedError naming the holder. The lock is session-level on a connection
        of its own: when the holder's process dies, its connection and so its lock go with it."""
        return self._writer_lock(actor, command, timeout)

    def _take_lock(self, actor: str, command: str, timeout: float) -> None:
        psycopg = self._psycopg
        tag = holder_tag(actor, command)
        self._lock_conn = connect(self.location, application_name=tag)
        key = lock_key(self.location.name)
        deadline = time.monotonic() + max(timeout, 0)
        try:
            while True:
                row = self._lock_conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if row[0]:
                    return
                if time.monotonic() >= deadline:
                    raise LockedError(self.locked_message())
                time.sleep(POLL_SECONDS)
        except psycopg.Error as error:
            self._drop_lock_conn()
            raise WorkspaceError(
                f"cannot lock workspace {self.display}: {_first_line(error)}"
            ) from None
        except BaseException:
            self._drop_lock_conn()
            raise

    def _release_lock(self) -> None:
        if self._lock_conn is None:
            return
        try:
            self._lock_conn.execute(
                "SELECT pg_advisory_unlock(%s)", (lock_key(self.location.name),)
            )
        except self._psycopg.Error:
            pass  # closing the connection below releases it all the same
        self._drop_lock_conn()

    def _drop_lock_conn(self) -> None:
        if self._lock_conn is not None:
            try:
                self._lock_conn.close()
            finally:
                self._lock_conn = None

    def lock_holder(self) -> dict[str, Any] | None:
        """Who holds this workspace's writer lock, from the holder connection's application_name;
        None when nobody does."""
        key = lock_key(self.location.name)
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        row = self._execute(
            self._cursor(),
            "SELECT a.application_name, a.pid FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint = ? AND l.objid::bigint = ?",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return None
        return parse_holder_tag(str(row[0] or "")) or {"pid": f"server {row[1]}"}

    def locked_message(self) -> str:
        """The same message as the SQLite lock's (reconciler.locking), naming the holder."""
        holder = self.lock_holder() or {}
        actor, pid = holder.get("actor", "unknown"), holder.get("pid", "?")
        command, since = holder.get("command", "unknown"), holder.get("since", "unknown")
        return f"workspace is locked by {actor} (pid {pid}, command {command}) since {since}"


def holder_tag(actor: str, command: str) -> str:
    """Who holds the lock, in the lock connection's application_name (at most 63 ASCII bytes):
    `segpub-writer|PID|SINCE|COMMAND|ACTOR`."""
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"{_HOLDER_TAG}|{os.getpid()}|{since}|{command.replace('|', '/')}|{actor}"
    return text.encode("ascii", "replace").decode("ascii")[:63]


def parse_holder_tag(tag: str) -> dict[str, Any] | None:
    parts = tag.split("|", 4)
    if len(parts) != 5 or parts[0] != _HOLDER_TAG:
        return None
    _, pid, since, command, actor = parts
    return {"actor": actor or "unknown", "pid": pid, "command": command, "since": since}


def _implicit_actor() -> str:
    from reconciler.actor import who

    return who(None)


def open_postgres(location: str, *, init: bool = False) -> PostgresStore:
    """Open the workspace at `location`. Without `init`, refuse a workspace that is missing or
    on an older schema (init creates it or brings it up to date)."""
    store = PostgresStore(parse_location(location))
    try:
        if init:
            if not store.schema_exists():
                store.create_schema()
            store.migrate()
            return store
        version = store.schema_version()
        if version == 0:
            raise WorkspaceError(
                f"workspace {store.display} is not initialised; create it with `segpub workspace"
                " init` (same --workspace or SEGPUB_WORKSPACE)"
            )
        if version < SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {store.display} has schema version {version}, older than this"
                f" segpub's ({SCHEMA_VERSION}); upgrade it with `segpub workspace init` (same"
                " --workspace or SEGPUB_WORKSPACE)"
            )
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {store.display} has schema version {version}, newer than this segpub"
                f" understands ({SCHEMA_VERSION}); upgrade segpub"
            )
    except BaseException:
        store.close()
        raise
    return store
