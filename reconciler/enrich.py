"""`segpub enrich TARGET`: each in-scope record's field value, computed in SQL and streamed out
in record_id order; with --mark-pushed, the values recorded as pushed once the output is whole."""

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

from reconciler.enrichment import scope_segment
from reconciler.errors import SegpubError
from reconciler.store.base import Cursor, SqlStore

# Names travel from SQL joined by this (a control character no segment name has), so that a
# name holding the target's delimiter is never split in two.
_SEP = "\x1f"
_BATCH = 5000
CHUNK_ROWS = 100_000  # records per chunk of the parallel SQLite read


class EnrichError(SegpubError):
    """`segpub enrich` cannot run as asked."""


def read_targets(store: SqlStore, cursor: Cursor | None = None) -> dict[str, dict[str, Any]]:
    cursor = cursor or store._cursor()
    rows = store._execute(cursor, "SELECT name, spec FROM enrichment_targets").fetchall()
    return {str(name): json.loads(spec) for name, spec in rows}


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
