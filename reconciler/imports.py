"""CSV imports of the platform's data: accounts, segment memberships and CRM/MAP records.

Each import streams its file with the csv module (memory bounded whatever the file's size),
checks the header exactly, validates every row in Python, and writes in batches with
executemany, all in one transaction. A file with any bad row writes nothing: the first 20 bad
rows are reported with their line numbers, and how many there were in all."""

from __future__ import annotations

import codecs
import csv
import io
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.errors import SegpubError
from reconciler.store.base import Cursor, SqlStore

ACCOUNT_COLUMNS = ("account_id", "name", "domain", "country")
MEMBER_COLUMNS = ("segment_id", "account_id")
RECORD_COLUMNS = ("system", "record_type", "record_id", "account_id")
RECORD_OPTIONAL = ("created_at",)
SYSTEMS = ("salesforce", "marketo", "hubspot", "pardot", "eloqua")
RECORD_TYPES = ("account", "contact", "lead")

NOT_UTF8 = "not UTF-8 text; save the file as UTF-8 CSV"
MAX_REPORTED = 20
BATCH = 10_000
csv.field_size_limit(1024 * 1024)


class CsvImportError(SegpubError):
    """A CSV file that cannot be imported; nothing was written."""


@dataclass
class ImportSummary:
    file: str
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    segments: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else float(self.rows)
        if self.kind == "members":
            what = f"{self.rows:,} memberships in {self.segments:,} segments"
        else:
            what = f"{self.rows:,} {self.kind} ({self.created:,} created, {self.updated:,} updated)"
        extra = "".join(f"; {n}" for n in self.notes)
        return f"Imported {self.file}: {what}{extra} in {self.seconds:.1f}s ({rate:,.0f} rows/s)."


class _BadRows:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.first: list[str] = []

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.first) < MAX_REPORTED:
            self.first.append(f"  {self.file}:{line}: {message}")

    def raise_if_any(self) -> None:
        if not self.count:
            return
        word = "bad row" if self.count == 1 else "bad rows"
        lines = [f"{self.file}: {self.count} {word}; nothing was imported"]
        lines += self.first
        if self.count > len(self.first):
            lines.append(f"  ... and {self.count - len(self.first)} more bad rows")
        lines.append("  Fix the rows above and import the file again.")
        raise CsvImportError("\n".join(lines))


class _Batches:
    """Rows written with executemany, BATCH at a time, inside the import's one transaction."""

    def __init__(self, cursor: Cursor, sql: str, progress: _Progress) -> None:
        self.cursor, self.sql, self.progress = cursor, sql, progress
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...], rows_read: int) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self.flush()
            self.progress.update(rows_read)

    def flush(self) -> None:
        if self.rows:
            self.cursor.executemany(self.sql, self.rows)
            self.rows.clear()


class _Progress:
    """rows and rows/s on stderr, redrawn at most 4 times a second, only on a terminal."""

    def __init__(self, label: str, size: int, position: Callable[[], int]) -> None:
        self.label = label
        self.size = size
        self.position = position
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, rows: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        done = min(self.position() / self.size, 1.0) if self.size else 1.0
        bar = "#" * int(done * 30)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {done:4.0%} {rows:,} rows, {rows / elapsed:,.0f} rows/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class _DecodeFlag:
    """A codec error handler that decodes like surrogateescape and notes that it was needed:
    the decoder reads ahead in chunks, so rows are checked for the bad bytes only once it has."""

    def __init__(self) -> None:
        self.hit = False
        self.name = f"segpub-import-{id(self)}"
        codecs.register_error(self.name, self)

    def __call__(self, error: UnicodeError) -> tuple[str, int]:
        self.hit = True
        text, end = codecs.lookup_error("surrogateescape")(error)
        return str(text), end


def _has_bad_bytes(row: list[str]) -> bool:
    try:
        "".join(row).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Reader:
    """A CSV file's rows with the line each starts on; the header checked exactly."""

    def __init__(self, path: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.path = path
        try:
            self.raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise CsvImportError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise CsvImportError(f"{path} is a folder; give a CSV file") from None
        except OSError as error:
            raise CsvImportError(f"cannot read {path}: {error.strerror}") from None
        self.size = os.fstat(self.raw.fileno()).st_size
        self.flag = _DecodeFlag()
        self.text = io.TextIOWrapper(
            self.raw, encoding="utf-8-sig", errors=self.flag.name, newline=""
        )
        self.reader = csv.reader(self.text, strict=True)
        self.columns = self._header(required, optional)

    def _header(self, required: Sequence[str], optional: Sequence[str]) -> tuple[str, ...]:
        expected = ",".join(required)
        allowed = [
            tuple(required),
            *(tuple(required) + tuple(optional[: n + 1]) for n in range(len(optional))),
        ]
        wanted = f'"{expected}"' + (
            f" (optionally followed by {','.join(optional)})" if optional else ""
        )
        try:
            header = next(self.reader)
        except StopIteration:
            raise CsvImportError(
                f"{self.path}:1: the file is empty; it needs the header row {wanted}"
            ) from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise CsvImportError(f"{self.path}:1: cannot read the header: {error}") from None
        if self.flag.hit and _has_bad_bytes(header):
            raise CsvImportError(f"{self.path}:1: {NOT_UTF8}")
        got = tuple(c.strip() for c in header)
        if got in allowed:
            return got
        known = set(required) | set(optional)
        missing = [c for c in required if c not in got]
        extra = [c for c in got if c not in known]
        problems = []
        if missing:
            problems.append(
                "missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
            )
        if extra:
            problems.append(
                "unknown column"
                + ("s " if len(extra) > 1 else " ")
                + ", ".join(f'"{c}"' for c in extra)
            )
        if len(set(got)) != len(got):
            problems.append("a column given twice")
        if not problems:
            problems.append("columns in the wrong order")
        raise CsvImportError(
            f'{self.path}:1: header is "{",".join(header)}": {"; ".join(problems)};'
            f" it must be exactly {wanted}"
        )

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        line = reader.line_num + 1
        try:
            for row in reader:
                if self.flag.hit and _has_bad_bytes(row):
                    raise CsvImportError(f"{self.path}:{line}: {NOT_UTF8}")
                yield line, row
                line = reader.line_num + 1
        except csv.Error as error:
            raise CsvImportError(f"{self.path}:{line}: not valid CSV: {error}") from None

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self.text.close()


def _tune(store: SqlStore, cursor: Cursor) -> None:
    """A larger page cache for the bulk write (bounded: 256 MiB) on engines that have it."""
    if store.placeholder == "?":
        cursor.execute("PRAGMA cache_size = -262144")


def _run(
    store: SqlStore,
    path: str,
    kind: str,
    required: Sequence[str],
    optional: Sequence[str],
    body: Callable[[_Reader, Cursor, _BadRows, _Progress, ImportSummary], None],
) -> ImportSummary:
    started = time.monotonic()
    reader = _Reader(path, required, optional)
    summary = ImportSummary(file=path, kind=kind)
    bad = _BadRows(path)
    progress = _Progress(f"Importing {os.path.basename(path)}", reader.size, reader.position)
    try:
        with store.write() as cursor:
            _tune(store, cursor)
            body(reader, cursor, bad, progress, summary)
            progress.update(summary.rows, force=True)
            bad.raise_if_any()
    finally:
        progress.close()
        reader.close()
    summary.seconds = time.monotonic() - started
    return summary


def _count(store: SqlStore, cursor: Cursor, table: str) -> int:
    # `table` is one of this module's constants, never user input.
    return int(store._execute(cursor, f"SELECT count(*) FROM {table}").fetchone()[0])


# -- accounts --------------------------------------------------------------------------------------


def import_accounts(store: SqlStore, path: str) -> ImportSummary:
    """Upsert accounts by account_id from `account_id,name,domain,country`."""

    def body(
        reader: _Reader, cursor: Cursor, bad: _BadRows, progress: _Progress, summary: ImportSummary
    ) -> None:
        before = _count(store, cursor, "accounts")
        sql = store._sql(
            "INSERT INTO accounts (id, name, domain, country) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain = excluded.domain,"
            " country = excluded.country"
        )
        batches = _Batches(cursor, sql, progress)
        for line, row in reader.rows():
            summary.rows += 1
            if len(row) != 4:
                bad.add(line, _width(row, 4))
                continue
            account_id, name, domain, country = (c.strip() for c in row)
            if not account_id:
                bad.add(line, "account_id is empty")
                continue
            if not name:
                bad.add(line, f"account {account_id}: name is empty")
                continue
            if bad.count:
                continue
            batches.add((account_id, name, domain.lower() or None, country or None), summary.rows)
        if not bad.count:
            batches.flush()
            summary.created = _count(store, cursor, "accounts") - before
            summary.updated = summary.rows - summary.created

    return _run(store, path, "accounts", ACCOUNT_COLUMNS, (), body)


# -- memberships -----------------------------------------------------------------------------------


def import_members(store: SqlStore, path: str, append: bool = False) -> ImportSummary:
    """Each segment in the file gets exactly the file's accounts (with `append`, adds them)."""

    def body(
        reader: _Reader, cursor: Cursor, bad: _BadRows, progress: _Progress, summary: ImportSummary
    ) -> None:
        segments = {int(r[0]) for r in store._execute(cursor, "SELECT id FROM segments").fetchall()}
        accounts = {r[0] for r in store._execute(cursor, "SELECT id FROM accounts").fetchall()}
        seen: set[int] = set()
        insert = store._sql(
            "INSERT INTO members (segment_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
        )
        delete = store._sql("DELETE FROM members WHERE segment_id = ?")
        batch: list[tuple[int, str]] = []
        append_row = batch.append
        rows = 0
        for line, row in reader.rows():
            rows += 1
            try:
                segment_text, account_id = row
                segment_id = int(segment_text)
            except ValueError:
                if len(row) != 2:
                    bad.add(line, _width(row, 2))
                else:
                    bad.add(line, f"segment_id '{row[0]}' is not a whole number")
                continue
            if segment_id not in segments:
                bad.add(line, f"unknown segment {segment_id}; import the catalog that has it")
                continue
            if account_id not in accounts:
                account_id = account_id.strip()
                if account_id not in accounts:
                    bad.add(
                        line,
                        f"unknown account '{account_id}'; import it with"
                        " `segpub accounts import` first",
                    )
                    continue
            if segment_id not in seen:
                seen.add(segment_id)
                if not append and not bad.count:
                    cursor.execute(delete, (segment_id,))
            if bad.count:
                continue
            append_row((segment_id, account_id))
            if len(batch) >= BATCH:
                cursor.executemany(insert, batch)
                batch.clear()
                progress.update(rows)
        if batch and not bad.count:
            cursor.executemany(insert, batch)
        summary.rows = rows
        summary.segments = len(seen)
        if append:
            summary.notes.append("appended")
        else:
            summary.notes.append(f"{len(seen):,} segments refreshed")

    return _run(store, path, "members", MEMBER_COLUMNS, (), body)


# -- records ---------------------------------------------------------------------------------------


def parse_timestamp(text: str) -> str:
    """ISO 8601 -> UTC `YYYY-MM-DDTHH:MM:SSZ` (so that stored values compare as text)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def import_records(store: SqlStore, path: str) -> ImportSummary:
    """Upsert CRM/MAP records by (system, record_type, record_id)."""

    def body(
        reader: _Reader, cursor: Cursor, bad: _BadRows, progress: _Progress, summary: ImportSummary
    ) -> None:
        width = len(reader.columns)
        accounts = {r[0] for r in store._execute(cursor, "SELECT id FROM accounts").fetchall()}
        before = _count(store, cursor, "records")
        sql = store._sql(
            "INSERT INTO records (system, record_type, record_id, account_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (system, record_type, record_id) DO UPDATE SET"
            " account_id = excluded.account_id, created_at = excluded.created_at"
        )
        batches = _Batches(cursor, sql, progress)
        systems, types = set(SYSTEMS), set(RECORD_TYPES)
        for line, row in reader.rows():
            summary.rows += 1
            if len(row) != width:
                bad.add(line, _width(row, width))
                continue
            cells = [c.strip() for c in row]
            system, record_type, record_id, account_id = cells[:4]
            created = cells[4] if width == 5 else ""
            if system not in systems:
                bad.add(line, f"system '{system}' is not one of {', '.join(SYSTEMS)}")
                continue
            if record_type not in types:
                bad.add(
                    line, f"record_type '{record_type}' is not one of {', '.join(RECORD_TYPES)}"
                )
                continue
            if not record_id:
                bad.add(line, "record_id is empty")
                continue
            if account_id not in accounts:
                bad.add(
                    line,
                    f"unknown account '{account_id}'; import it with"
                    " `segpub accounts import` first",
                )
                continue
            created_at: str | None = None
            if created:
                try:
                    created_at = parse_timestamp(created)
                except ValueError:
                    bad.add(
                        line,
                        f"created_at '{created}' is not an ISO 8601 date-time"
                        " (e.g. 2026-11-02T09:00:00Z)",
                    )
                    continue
            if bad.count:
                continue
            batches.add((system, record_type, record_id, account_id, created_at), summary.rows)
        if not bad.count:
            batches.flush()
            summary.created = _count(store, cursor, "records") - before
            summary.updated = summary.rows - summary.created

    return _run(store, path, "records", RECORD_COLUMNS, RECORD_OPTIONAL, body)


def _width(row: list[str], expected: int) -> str:
    return f"expected {expected} columns, found {len(row)}"
