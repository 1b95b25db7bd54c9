"""The Store contract and its SQL implementation, shared by every engine segpub runs on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple, Protocol

from reconciler import faults
from reconciler.catalog import Catalog
from reconciler.errors import RefusedError, WorkspaceError
from reconciler.model import (
    Change,
    CreatedVia,
    Dependent,
    DependentKind,
    HistoryEntry,
    Segment,
    SegmentRefs,
    Settings,
    TargetChange,
    Use,
    WorkspaceState,
)
from reconciler.store.migrations import MIGRATIONS, SCHEMA_VERSION
from reconciler.store.users import check_may_write

# Values per `IN (...)` list: well under SQLite's and PostgreSQL's limits on parameters.
_IN_CHUNK = 500


class Provenance(NamedTuple):
    """Who makes a write, with what command, from which source: what history records."""

    at: str
    actor: str
    kind: str
    command: str
    source_path: str | None = None
    source_sha256: str | None = None
    git_commit: str | None = None


class ImportResult(NamedTuple):
    created: int
    updated: int
    unchanged: int
    publications_changed: int
    entry: HistoryEntry | None  # None when nothing changed (and the serial stayed put)


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SqlStore:
    """A workspace in a SQL database. Engines subclass it for connecting, transactions, locking."""

    #: How the engine writes a query parameter; queries here are written with `?`.
    placeholder = "?"
    #: The location as it may be shown to a person (never with a password).
    display: str = ""

    # -- what each engine provides -------------------------------------------------------------

    def _cursor(self) -> Cursor:
        raise NotImplementedError

    def _begin_write(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writer_lock(
        self, actor: str, command: str, timeout: float = 0
    ) -> AbstractContextManager[None]:
        """Hold the workspace's one writer lock for a `with` block, waiting up to `timeout`
        seconds; else raise LockedError(`workspace is locked by ACTOR (pid P, command C) since
        TIME`). A holder that dies never leaves it held. Every command that writes takes it."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _execute(self, cursor: Cursor, sql: str, params: Sequence[Any] = ()) -> Any:
        result = cursor.execute(self._sql(sql), params)
        faults.statement(sql)
        return result

    @contextmanager
    def write(self, step: str = "write") -> Iterator[Cursor]:
        """One write transaction: it happens whole or not at all. `step` names its fault points."""
        self._begin_write()
        faults.begin(step)
        try:
            yield self._cursor()
            faults.before_commit()
        except BaseException as error:
            faults.end(committed=False)
            self._rollback()
            if self._is_storage_error(error):
                raise self._storage_error(error) from None
            raise
        try:
            self._commit()
        except BaseException:
            faults.end(committed=False)
            raise
        faults.end(committed=True)

    def _is_storage_error(self, error: BaseException) -> bool:
        """Whether a failed statement failed for the storage (read-only, disk full, locked), which
        the person can fix, rather than for a bug."""
        return type(error).__name__ in ("OperationalError", "DiskFull", "ReadOnlySqlTransaction")

    def _storage_error(self, error: BaseException) -> WorkspaceError:
        """The clear error for a storage failure; engines say more."""
        return WorkspaceError(
            f"cannot write workspace {self.display}: {error}; nothing was changed"
        )

    def schema_version(self) -> int:
        cursor = self._cursor()
        if not self._has_meta(cursor):
            return 0
        row = self._execute(
            cursor, "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    def _has_meta(self, cursor: Cursor) -> bool:
        raise NotImplementedError

    def migrate(self) -> int:
        """Bring the schema to the current version; a new workspace gets its lineage. Returns the
        number of migrations run."""
        with self.write("migrate") as cursor:
            version = (
                int(self._meta(cursor, "schema_version") or 0) if self._has_meta(cursor) else 0
            )
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"workspace {self.display} has schema version {version}, newer than this segpub"
                    f" understands ({SCHEMA_VERSION}); upgrade segpub"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    self._execute(cursor, statement)
            if version == 0:
                self._set_meta(cursor, "lineage", str(uuid.uuid4()))
                self._set_meta(cursor, "serial", "0")
            self._set_meta(cursor, "schema_version", str(SCHEMA_VERSION))
        return SCHEMA_VERSION - version

    def _meta(self, cursor: Cursor, key: str) -> str | None:
        row = self._execute(cursor, "SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, cursor: Cursor, key: str, value: str) -> None:
        self._execute(cursor, "DELETE FROM meta WHERE key = ?", (key,))
        self._execute(cursor, "INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- reading --------------------------------------------------------------------------------

    def snapshot(self) -> AbstractContextManager[None]:
        """The statements inside read one moment of the workspace: another writer's commit is
        seen whole or not at all. Inside a write, that write's own moment."""
        raise NotImplementedError

    def read_state(self, only: SegmentRefs | None = None) -> WorkspaceState:
        """The workspace at one moment. With `only`, its segments are just the published ones and
        those `only` names (every segment with a named name, so an ambiguous name stays
        ambiguous): what a plan needs, without reading a large catalog whole."""
        with self.snapshot():
            return self._read_state(only)

    def _read_state(self, only: SegmentRefs | None) -> WorkspaceState:
        cursor = self._cursor()
        meta = dict(self._execute(cursor, "SELECT key, value FROM meta").fetchall())
        settings = Settings(
            cap=int(meta.get("cap", 200)),
            use_limits=tuple(
                sorted(
                    (Use(u), int(n)) for u, n in json.loads(meta.get("use_limits", "{}")).items()
                )
            ),
        )
        if only is None:
            rows = self._execute(
                cursor, "SELECT id, name, folder, created_via, filters FROM segments"
            ).fetchall()
            dependent_rows = self._execute(
                cursor,
                "SELECT segment_id, kind, name FROM dependents ORDER BY segment_id, position",
            ).fetchall()
        else:
            rows = self._execute(
                cursor,
                "SELECT id, name, folder, created_via, filters FROM segments"
                " WHERE id IN (SELECT segment_id FROM publications)",
            ).fetchall()
            rows += self._rows_where_in(
                cursor,
                "SELECT id, name, folder, created_via, filters FROM segments WHERE id IN",
                sorted(only.ids),
            )
            rows += self._rows_where_in(
                cursor,
                "SELECT id, name, folder, created_via, filters FROM segments WHERE name IN",
                sorted(only.names),
            )
            dependent_rows = self._rows_where_in(
                cursor,
                "SELECT segment_id, kind, name FROM dependents WHERE segment_id IN",
                sorted({int(row[0]) for row in rows}),
                " ORDER BY segment_id, position",
            )
        dependents: dict[int, list[Dependent]] = {}
        for segment_id, kind, name in dependent_rows:
            dependents.setdefault(int(segment_id), []).append(Dependent(DependentKind(kind), name))
        # Segments mostly share a few filter lists: parse each distinct one once.
        parsed: dict[str, tuple[str, ...]] = {}
        # A whole read builds every segment (20,000 and more): look the enum up in a dict
        # (calling the enum costs more).
        methods = {method.value: method for method in CreatedVia}
        segments = {}
        for sid, name, folder, created_via, filters in rows:
            sid = int(sid)
            if filters not in parsed:
                parsed[filters] = tuple(json.loads(filters))
            segments[sid] = Segment(
                sid,
                name,
                methods[created_via],
                folder,
                parsed[filters],
                tuple(dependents.get(sid, ())),
            )
        uses: dict[int, set[Use]] = {}
        for sid, use in self._execute(
            cursor, "SELECT segment_id, use_id FROM publications"
        ).fetchall():
            uses.setdefault(int(sid), set()).add(Use(use))
        return WorkspaceState(
            lineage=meta["lineage"],
            serial=int(meta["serial"]),
            settings=settings,
            segments=segments,
            publications={sid: frozenset(u) for sid, u in uses.items()},
            enrichment_targets={
                str(name): json.loads(spec)
                for name, spec in self._execute(
                    cursor, "SELECT name, spec FROM enrichment_targets"
                ).fetchall()
            },
        )

    def _rows_where_in(
        self,
        cursor: Cursor,
        head: str,
        values: Sequence[Any],
        tail: str = "",
        params: Sequence[Any] = (),
    ) -> list[Any]:
        """`head (?, ?, ...) tail` for every value (after `params`, the head's own), in chunks
        small enough for any engine's limit on parameters; the rows of all chunks, each chunk in
        `tail`'s order."""
        rows: list[Any] = []
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = f"{head} ({marks}){tail}"
            rows += self._execute(cursor, sql, [*params, *chunk]).fetchall()
        return rows

    def history(
        self,
        serial: int | None = None,
        *,
        since_last_apply: bool = False,
        latest: bool = False,
        kinds: Collection[str] = (),
    ) -> list[HistoryEntry]:
        """History in serial order: all of it, one serial, the entries after the latest apply
        (what drift looks at), or only the latest entry; with `kinds`, only entries of those
        kinds. Selected in SQL: a long-lived workspace's history is long, and a plan should not
        read it all (nor a catalog import's record of every segment it created)."""
        with self.snapshot():
            return self._history(serial, since_last_apply, latest, kinds)

    def _history(
        self, serial: int | None, since_last_apply: bool, latest: bool, kinds: Collection[str]
    ) -> list[HistoryEntry]:
        cursor = self._cursor()
        sql = (
            "SELECT serial, at, actor, kind, command, source_path, source_sha256, git_commit,"
            " summary, changes FROM history WHERE 1 = 1"
        )
        params: list[Any] = []
        if serial is not None:
            sql += " AND serial = ?"
            params.append(serial)
        elif since_last_apply:
            sql += (
                " AND serial > (SELECT COALESCE(MAX(serial), 0) FROM history WHERE kind = 'apply')"
            )
        if kinds:
            sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params += sorted(kinds)
        order = " ORDER BY serial DESC LIMIT 1" if latest else " ORDER BY serial"
        rows = self._execute(cursor, sql + order, params).fetchall()
        return [
            HistoryEntry(
                serial=int(r[0]),
                at=r[1],
                actor=r[2],
                kind=r[3],
                command=r[4],
                source_path=r[5],
                source_sha256=r[6],
                git_commit=r[7],
                summary=r[8],
                changes=tuple(json.loads(r[9])),
            )
            for r in rows
        ]

    # -- writing --------------------------------------------------------------------------------

    def _bump(
        self,
        cursor: Cursor,
        provenance: Provenance,
        summary: str,
        changes: Sequence[dict[str, Any]],
    ) -> HistoryEntry:
        check_may_write(self, cursor, provenance)  # roles: before the write can commit
        serial = int(self._meta(cursor, "serial") or 0) + 1
        self._set_meta(cursor, "serial", str(serial))
        entry = HistoryEntry(
            serial=serial,
            at=provenance.at,
            actor=provenance.actor,
            kind=provenance.kind,
            command=provenance.command,
            source_path=provenance.source_path,
            source_sha256=provenance.source_sha256,
            git_commit=provenance.git_commit,
            changes=tuple(changes),
            summary=summary,
        )
        self._execute(
            cursor,
            "INSERT INTO history (serial, at, actor, kind, command, source_path, source_sha256,"
            " git_commit, summary, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.serial,
                entry.at,
                entry.actor,
                entry.kind,
                entry.command,
                entry.source_path,
                entry.source_sha256,
                entry.git_commit,
                entry.summary,
                json.dumps(list(entry.changes), ensure_ascii=False, sort_keys=True),
            ),
        )
        return entry

    def _check_serial(self, cursor: Cursor, expected_serial: int | None) -> None:
        if expected_serial is None:
            return
        now = int(self._meta(cursor, "serial") or 0)
        if now != expected_serial:
            raise RefusedError(
                f"plan is stale: the workspace changed since the plan was made (serial"
                f" {expected_serial}, now {now}); run plan again"
            )

    def apply_changes(
        self,
        changes: Sequence[Change],
        provenance: Provenance,
        summary: str,
        expected_serial: int | None,
        target_changes: Sequence[Any] = (),
    ) -> HistoryEntry | None:
        """Carry out `changes` in one transaction, removals before additions; None if empty.
        `target_changes` (enrichment targets) are stored in the same transaction.

        `expected_serial` is the serial the plan was made against: a workspace that moved on
        since is refused, so an apply never acts on a plan it did not review."""
        if not changes and not target_changes:
            return None
        with self.write("apply") as cursor:
            self._check_serial(cursor, expected_serial)
            for change in changes:
                for use in sorted(change.remove):
                    self._execute(
                        cursor,
                        "DELETE FROM publications WHERE segment_id = ? AND use_id = ?",
                        (change.segment_id, use.value),
                    )
            for change in changes:
                for use in sorted(change.add):
                    self._execute(
                        cursor,
                        "INSERT INTO publications (segment_id, use_id) VALUES (?, ?)",
                        (change.segment_id, use.value),
                    )
            for target in target_changes:
                self._write_target_change(cursor, target)
            # Target changes are told in the summary; `changes` stays one entry per segment.
            return self._bump(cursor, provenance, summary, [c.to_dict() for c in changes])

    def _write_target_change(self, cursor: Cursor, change: TargetChange) -> None:
        """Store one enrichment target's change; a removed target forgets what was pushed."""
        self._execute(cursor, "DELETE FROM enrichment_targets WHERE name = ?", (change.name,))
        if change.after is not None:
            self._execute(
                cursor,
                "INSERT INTO enrichment_targets (name, spec) VALUES (?, ?)",
                (change.name, json.dumps(change.after, ensure_ascii=False, sort_keys=True)),
            )
        if change.action == "remove":
            self._execute(cursor, "DELETE FROM pushed_values WHERE target = ?", (change.name,))

    def import_catalog(self, catalog: Catalog, provenance: Provenance) -> ImportResult:
        """Upsert the catalog's segments (replacing their dependents, and their publications where
        the catalog gives them) in one transaction; the serial moves only if something changed."""
        with self.write("import") as cursor:
            check_may_write(self, cursor, provenance)  # roles: even an import that changes nothing
            state = self.read_state()
            created = updated = unchanged = publications_changed = 0
            changes: list[dict[str, Any]] = []
            for entry in catalog.entries:
                segment = entry.segment
                old = state.segments.get(segment.id)
                if old is None:
                    created += 1
                    self._insert_segment(cursor, segment)
                    changes.append(
                        {
                            "action": "create_segment",
                            "segment_id": segment.id,
                            "segment_name": segment.name,
                        }
                    )
                elif old != segment:
                    updated += 1
                    self._execute(
                        cursor, "DELETE FROM dependents WHERE segment_id = ?", (segment.id,)
                    )
                    self._execute(
                        cursor,
                        "UPDATE segments SET name = ?, folder = ?, created_via = ?, filters = ?"
                        " WHERE id = ?",
                        (
                            segment.name,
                            segment.folder,
                            segment.created_via.value,
                            json.dumps(list(segment.filters), ensure_ascii=False),
                            segment.id,
                        ),
                    )
                    self._insert_dependents(cursor, segment)
                    changes.append(
                        {
                            "action": "update_segment",
                            "segment_id": segment.id,
                            "segment_name": segment.name,
                        }
                    )
                else:
                    unchanged += 1
                wanted = entry.published_uses
                current = state.uses_of(segment.id)
                if wanted is not None and wanted != current:
                    publications_changed += 1
                    self._execute(
                        cursor, "DELETE FROM publications WHERE segment_id = ?", (segment.id,)
                    )
                    for use in sorted(wanted):
                        self._execute(
                            cursor,
                            "INSERT INTO publications (segment_id, use_id) VALUES (?, ?)",
                            (segment.id, use.value),
                        )
                    changes.append(Change(segment.id, segment.name, current, wanted).to_dict())
            if catalog.settings is not None and catalog.settings != state.settings:
                self._set_meta(cursor, "cap", str(catalog.settings.cap))
                self._set_meta(
                    cursor,
                    "use_limits",
                    json.dumps(
                        {u.value: n for u, n in catalog.settings.use_limits}, sort_keys=True
                    ),
                )
                changes.append(
                    {
                        "action": "settings",
                        "cap": catalog.settings.cap,
                        "use_limits": {u.value: n for u, n in catalog.settings.use_limits},
                    }
                )
            if not changes:
                return ImportResult(0, 0, unchanged, 0, None)
            summary = (
                f"Import: {created} created, {updated} updated, {unchanged} unchanged,"
                f" {publications_changed} publications set."
            )
            entry_made = self._bump(cursor, provenance, summary, changes)
            return ImportResult(created, updated, unchanged, publications_changed, entry_made)

    def _insert_segment(self, cursor: Cursor, segment: Segment) -> None:
        self._execute(
            cursor,
            "INSERT INTO segments (id, name, folder, created_via, filters) VALUES (?, ?, ?, ?, ?)",
            (
                segment.id,
                segment.name,
                segment.folder,
                segment.created_via.value,
                json.dumps(list(segment.filters), ensure_ascii=False),
            ),
        )
        self._insert_dependents(cursor, segment)

    def _insert_dependents(self, cursor: Cursor, segment: Segment) -> None:
        for position, dependent in enumerate(segment.used_by):
            self._execute(
                cursor,
                "INSERT INTO dependents (segment_id, position, kind, name) VALUES (?, ?, ?, ?)",
                (segment.id, position, dependent.kind.value, dependent.name),
            )
