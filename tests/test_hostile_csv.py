"""Hostile CSV for every import: a clear error with the line number, exit 1, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run_in_process
from tests.reliability import snapshot, workspace

ACCOUNTS = "account_id,name,domain,country\n"
MEMBERS = "segment_id,account_id\n"
RECORDS = "system,record_type,record_id,account_id,created_at\n"
HINT = "  Fix the rows above and import the file again.\n"

CASES: list[Any] = [
    # (case, import command, file contents, exact stderr)
    (
        "accounts-reordered-header",
        "accounts",
        b"name,account_id,domain,country\nA9,N,d,US\n",
        'segpub: error: f.csv:1: header is "name,account_id,domain,country": columns in the wrong'
        ' order; it must be exactly "account_id,name,domain,country"\n',
    ),
    (
        "accounts-missing-header",
        "accounts",
        b"account_id,name,domain\nA9,N,d\n",
        'segpub: error: f.csv:1: header is "account_id,name,domain": missing column country; it'
        ' must be exactly "account_id,name,domain,country"\n',
    ),
    (
        "accounts-no-header",
        "accounts",
        b"A9,N,d,US\n",
        'segpub: error: f.csv:1: header is "A9,N,d,US": missing columns account_id, name, domain,'
        ' country; unknown columns "A9", "N", "d", "US"; it must be exactly'
        ' "account_id,name,domain,country"\n',
    ),
    (
        "accounts-extra-column",
        "accounts",
        b"account_id,name,domain,country,x\nA9,N,d,US,1\n",
        'segpub: error: f.csv:1: header is "account_id,name,domain,country,x": unknown column "x";'
        ' it must be exactly "account_id,name,domain,country"\n',
    ),
    (
        "accounts-extra-cell",
        "accounts",
        (ACCOUNTS + "A9,N,d,US\nA8,N,d,US,extra\n").encode(),
        "segpub: error: f.csv: 1 bad row; nothing was imported\n"
        "  f.csv:3: expected 4 columns, found 5\n" + HINT,
    ),
    (
        "accounts-empty-line",
        "accounts",
        (ACCOUNTS + "A9,N,d,US\n\nA8,N,d,US\n").encode(),
        "segpub: error: f.csv: 1 bad row; nothing was imported\n"
        "  f.csv:3: expected 4 columns, found 0\n" + HINT,
    ),
    (
        "accounts-unclosed-quote",
        "accounts",
        (ACCOUNTS + 'A9,"N,d,US\nA8,N,d,US\n').encode(),
        "segpub: error: f.csv:2: not valid CSV: unexpected end of data\n",
    ),
    (
        "accounts-10mb-field",
        "accounts",
        (ACCOUNTS + "A9," + "x" * 10_000_000 + ",d,US\n").encode(),
        "segpub: error: f.csv:2: not valid CSV: field larger than field limit (1048576)\n",
    ),
    (
        "accounts-not-utf8",
        "accounts",
        (ACCOUNTS + "A9,Soci\xe9t\xe9,d,FR\n").encode("latin-1"),
        "segpub: error: f.csv:2: not UTF-8 text; save the file as UTF-8 CSV\n",
    ),
    (
        "accounts-empty-file",
        "accounts",
        b"",
        "segpub: error: f.csv:1: the file is empty; it needs the header row"
        ' "account_id,name,domain,country"\n',
    ),
    (
        "members-wrong-types",
        "members",
        (MEMBERS + "abc,A1\n1,A404\n77,A1\n").encode(),
        "segpub: error: f.csv: 3 bad rows; nothing was imported\n"
        "  f.csv:2: segment_id 'abc' is not a whole number\n"
        "  f.csv:3: unknown account 'A404'; import it with `segpub accounts import` first\n"
        "  f.csv:4: unknown segment 77; import the catalog that has it\n" + HINT,
    ),
    (
        "members-reordered-header",
        "members",
        b"account_id,segment_id\nA1,1\n",
        'segpub: error: f.csv:1: header is "account_id,segment_id": columns in the wrong order; it'
        ' must be exactly "segment_id,account_id"\n',
    ),
    (
        "records-wrong-types",
        "records",
        (
            RECORDS + "salesforce,account,r1,A1,yesterday\nsap,account,r2,A1,\n"
            "salesforce,opportunity,r3,A1,\n"
        ).encode(),
        "segpub: error: f.csv: 3 bad rows; nothing was imported\n"
        "  f.csv:2: created_at 'yesterday' is not an ISO 8601 date-time"
        " (e.g. 2026-11-02T09:00:00Z)\n"
        "  f.csv:3: system 'sap' is not one of salesforce, marketo, hubspot, pardot, eloqua\n"
        "  f.csv:4: record_type 'opportunity' is not one of account, contact, lead\n" + HINT,
    ),
    (
        "records-unclosed-quote",
        "records",
        (RECORDS + 'salesforce,account,"r1,A1,\n').encode(),
        "segpub: error: f.csv:2: not valid CSV: unexpected end of data\n",
    ),
]


def _prepared(tmp_path: Path, segpub: Callable[..., Result]) -> Path:
    db = workspace(tmp_path)
    (tmp_path / "a.csv").write_text(ACCOUNTS + "A1,Acme,acme.example,US\n", encoding="utf-8")
    assert segpub("accounts", "import", "a.csv").code == 0
    return db


@pytest.fixture
def segpub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """segpub on the SQLite workspace tmp_path/segpub.db (these tests read the file directly)."""
    monkeypatch.delenv("SEGPUB_WORKSPACE", raising=False)
    return lambda *args: run_in_process(list(args), tmp_path)


@pytest.mark.parametrize(("case", "command", "content", "expected"), CASES)
def test_hostile_csv_is_refused_with_its_line_and_nothing_written(
    case: str,
    command: str,
    content: bytes,
    expected: str,
    tmp_path: Path,
    segpub: Callable[..., Result],
) -> None:
    db = _prepared(tmp_path, segpub)
    before = snapshot(db)
    (tmp_path / "f.csv").write_bytes(content)
    result = segpub(command, "import", "f.csv")
    assert (result.code, result.out, result.err) == (1, "", expected)
    assert snapshot(db) == before


def test_crlf_and_lf_mixed_import_clean_values(
    tmp_path: Path, segpub: Callable[..., Result]
) -> None:
    db = _prepared(tmp_path, segpub)
    (tmp_path / "f.csv").write_bytes(
        b"account_id,name,domain,country\r\nA2,Two,two.example,US\nA3,Three,three.example,DE\r\n"
    )
    assert segpub("accounts", "import", "f.csv").code == 0
    rows = snapshot(db)["accounts"]
    assert ("A2", "Two", "two.example", "US") in rows
    assert ("A3", "Three", "three.example", "DE") in rows


def test_duplicated_rows_import_once(tmp_path: Path, segpub: Callable[..., Result]) -> None:
    db = _prepared(tmp_path, segpub)
    row = "A2,Two,two.example,US\n"
    (tmp_path / "f.csv").write_text(ACCOUNTS + row + row, encoding="utf-8")
    assert segpub("accounts", "import", "f.csv").code == 0
    (tmp_path / "m.csv").write_text(MEMBERS + "1,A2\n1,A2\n", encoding="utf-8")
    assert segpub("members", "import", "m.csv").code == 0
    contents = snapshot(db)
    assert [r for r in contents["accounts"] if r[0] == "A2"] == [("A2", "Two", "two.example", "US")]
    assert contents["members"] == [(1, "A2")]
