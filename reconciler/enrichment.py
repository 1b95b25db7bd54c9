"""Segment-name enrichment: the config's `enrichment:` targets (parse, check, plan) and
`segpub enrich TARGET`, which computes each record's field value in SQL and streams it out."""

from __future__ import annotations

import csv
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from reconciler.errors import SegpubError
from reconciler.loading import Document
from reconciler.model import (
    Config,
    EnrichmentTarget,
    Segment,
    TargetChange,
    Use,
    Violation,
    WorkspaceState,
)
from reconciler.store.base import Cursor, SqlStore

# Rule 5: the fields segment names may be written to.
SUPPORTED_PAIRS = frozenset(
    {
        ("salesforce", "account"),
        ("salesforce", "contact"),
        ("salesforce", "lead"),
        ("marketo", "lead"),
        ("hubspot", "lead"),
        ("pardot", "lead"),
        ("eloqua", "lead"),
    }
)
SUPPORTED_TEXT = "salesforce account, contact or lead; marketo, hubspot, pardot or eloqua lead"

# Names travel from SQL joined by this (a control character no segment name has), so that a
# name holding the target's delimiter is never split in two.
_SEP = "\x1f"
_BATCH = 5000
CHUNK_ROWS = 100_000  # records per chunk of the parallel SQLite read


class EnrichError(SegpubError):
    """`segpub enrich` cannot run as asked."""


# -- the config -----------------------------------------------------------------------------------


def parse_targets(document: Document) -> tuple[EnrichmentTarget, ...]:
    """The schema-valid `enrichment:` section of a publications document, with locations."""
    targets = []
    for index, entry in enumerate(document.data.get("enrichment") or []):
        path: list[str | int] = ["enrichment", index]
        targets.append(
            EnrichmentTarget(
                name=entry["name"],
                via=Use(entry["via"]),
                system=entry["system"],
                record_type=entry["record_type"],
                field=entry["field"],
                delimiter=entry.get("delimiter", ";"),
                max_length=int(entry.get("max_length", 255)),
                scope=entry.get("scope", "all"),
                location=document.location(path),
                pair_location=document.location([*path, "record_type"]),
                scope_location=document.location([*path, "scope"]),
            )
        )
    return tuple(targets)


def check_targets(config: Config, state: WorkspaceState) -> list[Violation]:
    """Unsupported system/record type pairs, names given twice, scope segments not found."""
    violations: list[Violation] = []
    seen: dict[str, EnrichmentTarget] = {}
    for target in config.enrichment or ():
        if (target.system, target.record_type) not in SUPPORTED_PAIRS:
            violations.append(
                Violation.at(
                    "unsupported_enrichment_target",
                    f"enrichment target '{target.name}': {target.system} {target.record_type} is"
                    f" not a field segment names can be written to; supported: {SUPPORTED_TEXT}",
                    target.pair_location or target.location,
                )
            )
        first = seen.get(target.name)
        if first is not None:
            line = first.location.line if first.location else 0
            violations.append(
                Violation.at(
                    "duplicate_enrichment_target",
                    f"enrichment target '{target.name}' is declared twice (first at line {line});"
                    " target names must be unique",
                    target.location,
                )
            )
        else:
            seen[target.name] = target
        if isinstance(target.scope, dict) and "segment" in target.scope:
            _, problem = scope_segment(target.scope["segment"], state)
            if problem:
                violations.append(
                    Violation.at(
                        "unknown_segment",
                        f"enrichment target '{target.name}': scope {problem}",
                        target.scope_location or target.location,
                    )
                )
    return violations


def scope_segment(ref: int | str, state: WorkspaceState) -> tuple[Segment | None, str | None]:
    """The one segment a `scope: {segment: ...}` names, or why there is none."""
    if isinstance(ref, int):
        found = state.segments.get(ref)
        return (found, None) if found else (None, f"names no segment with id {ref}")
    matches = state.segments_named(ref)
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, f"names no segment called '{ref}'"
    ids = ", ".join(str(s.id) for s in sorted(matches, key=lambda s: s.id))
    return None, f"segment name '{ref}' is shared by ids {ids}; give the id"


def diff_targets(config: Config, state: WorkspaceState) -> list[TargetChange]:
    """Targets to add, change and remove; none when the config has no `enrichment:` section."""
    if config.enrichment is None:
        return []
    wanted: dict[str, EnrichmentTarget] = {}
    for target in config.enrichment:
        wanted.setdefault(target.name, target)
    current = state.enrichment_targets
    changes: list[TargetChange] = []
    for name in sorted(current.keys() - wanted.keys()):
        changes.append(TargetChange("remove", name, current[name], None))
    for name in sorted(wanted):
        spec = wanted[name].spec()
        before = current.get(name)
        if before is None:
            changes.append(TargetChange("add", name, None, spec, wanted[name].location))
        elif before != spec:
            changes.append(TargetChange("change", name, before, spec, wanted[name].location))
    return changes


def describe_spec(spec: dict[str, Any]) -> str:
    return (
        f"{spec['system']} {spec['record_type']} field {spec['field']}, segments published for"
        f" {spec['via']}"
    )


def render_target_changes(changes: Sequence[TargetChange]) -> list[str]:
    """The plan's text lines for enrichment target changes."""
    lines: list[str] = []
    symbols = {"add": "+", "change": "~", "remove": "-"}
    for change in changes:
        spec = change.after or change.before or {}
        lines.append(
            f"  {symbols[change.action]} enrichment target {change.name} ({describe_spec(spec)})"
        )
        if change.action == "change" and change.before and change.after:
            for key in sorted(change.after):
                old, new = change.before.get(key), change.after[key]
                if old != new:
                    lines.append(
                        f"      {key}: {json.dumps(old, ensure_ascii=False)} ->"
                        f" {json.dumps(new, ensure_ascii=False)}"
                    )
    return lines


# -- the workspace -------------------------------------------------------------------------------


def read_targets(store: SqlStore, cursor: Cursor | None = None) -> dict[str, dict[str, Any]]:
    cursor = cursor or store._cursor()
    rows = store._execute(cursor, "SELECT name, spec FROM enrichment_targets").fetchall()
    return {str(name): json.loads(spec) for name, spec in rows}


# -- segpub enrich -------------------------------------------------------------------------------


@dataclass
class EnrichResult:
    target: str
    in_scope: int = 0
    written: int = 0
    truncated: int = 0
    cleared: int = 0
    unchanged: int = 0
    marked: bool = False
    seconds: float = 0.0

    def summary(self, out: str | None, max_length: int) -> str:
        where = f" to {out}" if out else ""
        skipped = f", {self.unchanged} unchanged not written" if self.unchanged else ""
        marked = " Marked as pushed." if self.marked else ""
        return (
            f"Enriched {self.target}: {self.written} records written{where}"
            f" ({self.truncated} truncated at {max_length} characters, {self.cleared} empty"
            f"{skipped}) in {self.seconds:.1f}s.{marked}"
        )


def value_of(names: str | None, delimiter: str, max_length: int) -> tuple[str, bool]:
    """Join `names` (SQL's _SEP-joined, already in order) by `delimiter`, at most `max_length`
    characters, dropping whole names from the end; and whether any were dropped."""
    if not names:
        return "", False
    value = names.replace(_SEP, delimiter) if delimiter != _SEP else names
    if len(value) <= max_length:
        return value, False
    kept: list[str] = []
    length = 0
    for name in names.split(_SEP):
        extra = len(name) + (len(delimiter) if kept else 0)
        if length + extra > max_length:
            break
        kept.append(name)
        length += extra
    return delimiter.join(kept), True


def _load_target(store: SqlStore, name: str) -> dict[str, Any]:
    targets = read_targets(store)
    if name not in targets:
        known = ", ".join(sorted(targets)) or "none"
        raise EnrichError(
            f"no enrichment target named '{name}' in the workspace (targets: {known});"
            " declare it under `enrichment:` in the publications config and apply it"
        )
    return targets[name]


def _query(store: SqlStore, spec: dict[str, Any], changed_only: bool) -> tuple[str, list[Any]]:
    """One query: every in-scope record, ordered by record_id, with its names (ordered by name,
    then id, joined by _SEP) and the value last pushed."""
    params: list[Any] = [_SEP, spec["via"]]
    last = "NULL"
    join = ""
    if changed_only:
        last = "pv.value"
        join = " LEFT JOIN pushed_values pv ON pv.target = ? AND pv.record_id = r.record_id"
        params.append(spec["name"])
    params += [spec["system"], spec["record_type"]]
    if store.placeholder == "?":  # SQLite: group_concat over an ordered subquery
        names = (
            "(SELECT group_concat(x.name, ?) FROM"
            " (SELECT s.name AS name FROM members m"
            " JOIN publications p ON p.segment_id = m.segment_id AND p.use_id = ?"
            " JOIN segments s ON s.id = m.segment_id"
            " WHERE m.account_id = r.account_id ORDER BY s.name, s.id) AS x)"
        )
        order = " ORDER BY r.record_id"
    else:  # PostgreSQL: string_agg, in code point order as SQLite sorts
        names = (
            '(SELECT string_agg(s.name, ? ORDER BY s.name COLLATE "C", s.id) FROM members m'
            " JOIN publications p ON p.segment_id = m.segment_id AND p.use_id = ?"
            " JOIN segments s ON s.id = m.segment_id"
            " WHERE m.account_id = r.account_id)"
        )
        order = ' ORDER BY r.record_id COLLATE "C"'
    sql = (
        f"SELECT r.record_id, {names}, {last} FROM records r{join}"
        " WHERE r.system = ? AND r.record_type = ?"
    )
    scope = spec["scope"]
    if isinstance(scope, dict) and "created_within_days" in scope:
        cutoff = datetime.now(UTC) - timedelta(days=int(scope["created_within_days"]))
        sql += " AND r.created_at >= ?"
        params.append(cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"))
    elif isinstance(scope, dict) and "segment" in scope:
        segment, problem = scope_segment(scope["segment"], store.read_state())
        if segment is None:
            raise EnrichError(f"enrichment target '{spec['name']}': scope {problem}")
        sql += " AND r.account_id IN (SELECT account_id FROM members WHERE segment_id = ?)"
        params.append(segment.id)
    return sql + order, params


def _rows(
    store: SqlStore, sql: str, params: Sequence[Any], spec: dict[str, Any]
) -> Iterator[list[Any]]:
    """The query's rows in record_id order, in batches. On a SQLite file with many records the
    record_id range is cut into chunks that two threads compute at once (SQLite releases the GIL
    while it steps), each on its own read-only connection; chunks are yielded in order, at most
    a few in memory at a time."""
    path = getattr(store, "path", None)
    if store.placeholder == "?" and path is not None:
        bounds = _chunk_bounds(store, spec)
        if len(bounds) > 1:
            yield from _parallel_rows(Path(path), sql, params, bounds)
            return
    yield from _serial_rows(store, sql, params)


def _chunk_bounds(store: SqlStore, spec: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """(after, up_to] record_id ranges of about CHUNK_ROWS records each."""
    chunk = int(os.environ.get("SEGPUB_ENRICH_CHUNK_ROWS", "") or CHUNK_ROWS)
    cursor = store._cursor()
    where = " FROM records WHERE system = ? AND record_type = ?"
    key = (spec["system"], spec["record_type"])
    total = int(store._execute(cursor, "SELECT count(*)" + where, key).fetchone()[0])
    if total < 2 * chunk:
        return [(None, None)]
    cuts: list[str] = []
    for offset in range(chunk - 1, total - 1, chunk):
        row = store._execute(
            cursor,
            "SELECT record_id" + where + " ORDER BY record_id LIMIT 1 OFFSET ?",
            (*key, offset),
        ).fetchone()
        cuts.append(str(row[0]))
    edges: list[str | None] = [None, *cuts, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _parallel_rows(
    path: Path, sql: str, params: Sequence[Any], bounds: list[tuple[str | None, str | None]]
) -> Iterator[list[Any]]:
    head, order = sql.rsplit(" ORDER BY ", 1)
    uri = path.resolve().as_uri() + "?mode=ro"

    def work(low: str | None, high: str | None) -> list[Any]:
        extra, args = "", list(params)
        if low is not None:
            extra += " AND r.record_id > ?"
            args.append(low)
        if high is not None:
            extra += " AND r.record_id <= ?"
            args.append(high)
        connection = sqlite3.connect(uri, uri=True, timeout=30.0)
        try:
            return connection.execute(f"{head}{extra} ORDER BY {order}", args).fetchall()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="segpub-enrich") as pool:
        pending: deque[Future[list[Any]]] = deque()
        chunks = iter(bounds)
        for low, high in itertools.islice(chunks, 3):
            pending.append(pool.submit(work, low, high))
        while pending:
            rows = pending.popleft().result()
            for low, high in itertools.islice(chunks, 1):
                pending.append(pool.submit(work, low, high))
            for start in range(0, len(rows), _BATCH):
                yield rows[start : start + _BATCH]
            del rows


def _serial_rows(store: SqlStore, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
    cursor = store._cursor()
    store._execute(cursor, sql, params)
    while True:
        batch = cursor.fetchmany(_BATCH)  # type: ignore[attr-defined]
        if not batch:
            return
        yield batch


def enrich(
    store: SqlStore,
    name: str,
    out: str | None,
    fmt: str,
    changed_only: bool,
    mark_pushed: bool,
    lock: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> tuple[EnrichResult, int]:
    """Write the target's values (to `out`, atomically, or to stdout); mark them pushed after."""
    started = time.monotonic()
    spec = _load_target(store, name)
    delimiter, max_length = str(spec["delimiter"]), int(spec["max_length"])
    result = EnrichResult(target=name)
    sql, params = _query(store, spec, changed_only)

    pushed_log: IO[str] | None = (
        tempfile.TemporaryFile("w+", encoding="utf-8", newline="") if mark_pushed else None
    )
    temp_path: str | None = None
    try:
        if out:
            folder = os.path.dirname(os.path.abspath(out))
            try:
                fd, temp_path = tempfile.mkstemp(prefix=".segpub-enrich-", dir=folder)
            except OSError as error:
                raise EnrichError(f"cannot write {out}: {error.strerror}") from None
            stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        else:
            stream = sys.stdout
        try:
            _write(
                store,
                spec,
                sql,
                params,
                stream,
                fmt,
                delimiter,
                max_length,
                changed_only,
                result,
                pushed_log,
            )
            stream.flush()
            if out:
                os.fsync(stream.fileno())
        finally:
            if out:
                stream.close()
        if out and temp_path:
            os.replace(temp_path, out)
            temp_path = None
        if pushed_log is not None:
            with lock():  # the writer lock, only for the write that marks
                _mark(store, name, pushed_log)
            result.marked = True
    finally:
        if temp_path and os.path.exists(temp_path):
            os.unlink(temp_path)
        if pushed_log is not None:
            pushed_log.close()
    result.seconds = time.monotonic() - started
    return result, max_length


def _write(
    store: SqlStore,
    spec: dict[str, Any],
    sql: str,
    params: Sequence[Any],
    stream: IO[str],
    fmt: str,
    delimiter: str,
    max_length: int,
    changed_only: bool,
    result: EnrichResult,
    pushed_log: IO[str] | None,
) -> None:
    log = csv.writer(pushed_log, lineterminator="\n") if pushed_log is not None else None
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("record_id", "value"))
    dumps = json.dumps
    for batch in _rows(store, sql, params, spec):
        out_rows: list[tuple[str, str]] = []
        flags: list[bool] = []
        for record_id, names, last in batch:
            result.in_scope += 1
            value, truncated = value_of(names, delimiter, max_length)
            if changed_only and last == value:
                result.unchanged += 1
                continue
            out_rows.append((record_id, value))
            flags.append(truncated)
            result.truncated += truncated
            result.cleared += not value
        result.written += len(out_rows)
        if fmt == "csv":
            writer.writerows(out_rows)
        else:
            stream.write(
                "".join(
                    dumps({"record_id": r, "value": v, "truncated": t}, ensure_ascii=False) + "\n"
                    for (r, v), t in zip(out_rows, flags, strict=True)
                )
            )
        if log is not None:
            log.writerows(out_rows)


def _mark(store: SqlStore, target: str, pushed_log: IO[str]) -> None:
    """Record the written values as pushed, in one transaction, after the output is complete."""
    pushed_log.flush()
    pushed_log.seek(0)
    reader = csv.reader(pushed_log)
    with store.write() as cursor:
        batch: list[tuple[str, str, str]] = []
        for record_id, value in reader:
            batch.append((target, record_id, value))
            if len(batch) >= _BATCH:
                _upsert_pushed(store, cursor, batch)
                batch = []
        if batch:
            _upsert_pushed(store, cursor, batch)


def _upsert_pushed(store: SqlStore, cursor: Cursor, batch: list[tuple[str, str, str]]) -> None:
    cursor.executemany(
        store._sql(
            "INSERT INTO pushed_values (target, record_id, value) VALUES (?, ?, ?)"
            " ON CONFLICT (target, record_id) DO UPDATE SET value = excluded.value"
        ),
        batch,
    )


def output_path_ok(out: str | None) -> None:
    if out and Path(out).is_dir():
        raise EnrichError(f"--out {out} is a folder; give a file path such as {out}/values.csv")
