"""CSV imports through the CLI: headers checked exactly, every bad row reported with its line
(the first 20 and a count), nothing written on any error, upserts, refresh and --append."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Segpub, run_process, write
from tests.platform_world import ACCOUNTS, CATALOG, MEMBERS, rows


@pytest.fixture
def catalog(segpub: Segpub, tmp_path: Path) -> Segpub:
    write(tmp_path / "catalog.yaml", CATALOG)
    assert segpub("catalog", "import", "catalog.yaml").code == 0
    return segpub


@pytest.fixture
def accounts(catalog: Segpub, tmp_path: Path) -> Segpub:
    write(tmp_path / "accounts.csv", ACCOUNTS)
    assert catalog("accounts", "import", "accounts.csv").code == 0
    return catalog


# -- accounts ------------------------------------------------------------------------------------


def test_accounts_import_upserts_and_prints_one_summary_line(
    catalog: Segpub, tmp_path: Path
) -> None:
    write(tmp_path / "a.csv", ACCOUNTS)
    result = catalog("accounts", "import", "a.csv")
    assert result.code == 0, result.err
    assert result.out.startswith("Imported a.csv: 4 accounts (4 created, 0 updated) in ")
    assert result.out.endswith(" rows/s).\n") and result.out.count("\n") == 1
    assert result.err == ""  # no progress bar without a terminal
    write(
        tmp_path / "b.csv",
        "account_id,name,domain,country\nA1,Acme Corp,ACME.example.com,\nA9,New Co,,Spain\n",
    )
    again = catalog("accounts", "import", "b.csv")
    assert again.out.startswith("Imported b.csv: 2 accounts (1 created, 1 updated) in ")
    assert rows(catalog, "SELECT * FROM accounts WHERE id IN ('A1', 'A9') ORDER BY id") == [
        ("A1", "Acme Corp", "acme.example.com", None),
        ("A9", "New Co", None, "Spain"),
    ]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("account_id,name,country", "missing column domain"),
        ("account_id,domain,name,country", "columns in the wrong order"),
        ("account_id,name,domain,country,tier", 'unknown column "tier"'),
        ("id,name,domain,country", 'missing column account_id; unknown column "id"'),
        ("account_id,name,domain,domain", "missing column country; a column given twice"),
    ],
)
def test_accounts_header_must_be_exact(
    catalog: Segpub, tmp_path: Path, header: str, problem: str
) -> None:
    write(tmp_path / "a.csv", header + "\nA1,Acme,acme.example.com,US\n")
    result = catalog("accounts", "import", "a.csv")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        f'segpub: error: a.csv:1: header is "{header}": {problem}; it must be exactly'
        ' "account_id,name,domain,country"\n'
    )
    assert rows(catalog, "SELECT count(*) FROM accounts") == [(0,)]


def test_empty_file_and_missing_file(catalog: Segpub, tmp_path: Path) -> None:
    write(tmp_path / "empty.csv", "")
    result = catalog("accounts", "import", "empty.csv")
    assert result.code == 1
    assert result.err == (
        "segpub: error: empty.csv:1: the file is empty; it needs the header row"
        ' "account_id,name,domain,country"\n'
    )
    missing = catalog("accounts", "import", "nope.csv")
    assert missing.code == 1
    assert missing.err == "segpub: error: nope.csv: no such file\n"


def test_bad_account_rows_are_all_reported_and_nothing_is_written(
    catalog: Segpub, tmp_path: Path
) -> None:
    write(
        tmp_path / "a.csv",
        "account_id,name,domain,country\n"
        "A1,Acme,acme.example.com,US\n"
        ",No Id,x.example.com,US\n"
        "A3,,y.example.com,US\n"
        "A4,Too,many,columns,here\n"
        '"A5","Multi\nline name",z.example.com,US\n'
        "A6,Short\n",
    )
    result = catalog("accounts", "import", "a.csv")
    assert result.code == 1
    assert result.err == (
        "segpub: error: a.csv: 4 bad rows; nothing was imported\n"
        "  a.csv:3: account_id is empty\n"
        "  a.csv:4: account A3: name is empty\n"
        "  a.csv:5: expected 4 columns, found 5\n"
        "  a.csv:8: expected 4 columns, found 2\n"
        "  Fix the rows above and import the file again.\n"
    )
    assert rows(catalog, "SELECT count(*) FROM accounts") == [(0,)]


def test_only_the_first_20_bad_rows_are_listed_with_a_count(
    catalog: Segpub, tmp_path: Path
) -> None:
    body = "".join(f"X{n},,d{n}.example.com,US\n" for n in range(25))
    write(tmp_path / "a.csv", "account_id,name,domain,country\nA1,Acme,a.example.com,US\n" + body)
    result = catalog("accounts", "import", "a.csv")
    lines = result.err.splitlines()
    assert lines[0] == "segpub: error: a.csv: 25 bad rows; nothing was imported"
    assert lines[1] == "  a.csv:3: account X0: name is empty"
    assert lines[20] == "  a.csv:22: account X19: name is empty"
    assert lines[21] == "  ... and 5 more bad rows"
    assert len(lines) == 23
    assert rows(catalog, "SELECT count(*) FROM accounts") == [(0,)]


def test_not_utf8_is_a_clear_error(catalog: Segpub, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(
        b"account_id,name,domain,country\nA1,Caf\xe9,c.example.com,FR\n"
    )
    result = catalog("accounts", "import", "a.csv")
    assert result.code == 1
    assert result.err == ("segpub: error: a.csv:2: not UTF-8 text; save the file as UTF-8 CSV\n")


def test_a_byte_order_mark_is_accepted(catalog: Segpub, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes("\ufeff".encode() + ACCOUNTS.encode())
    assert catalog("accounts", "import", "a.csv").code == 0


# -- members -------------------------------------------------------------------------------------


def test_members_import_refreshes_each_segment_in_the_file(
    accounts: Segpub, tmp_path: Path
) -> None:
    write(tmp_path / "m.csv", MEMBERS)
    result = accounts("members", "import", "m.csv")
    assert result.code == 0, result.err
    assert result.out.startswith(
        "Imported m.csv: 9 memberships in 7 segments; 7 segments refreshed in "
    )
    write(tmp_path / "m2.csv", "segment_id,account_id\n1,A3\n1,A4\n")
    assert accounts("members", "import", "m2.csv").code == 0
    assert rows(accounts, "SELECT account_id FROM members WHERE segment_id = 1 ORDER BY 1") == [
        ("A3",),
        ("A4",),
    ]
    # Segments not in the file keep their members.
    assert rows(accounts, "SELECT account_id FROM members WHERE segment_id = 2") == [("A1",)]


def test_members_append_adds(accounts: Segpub, tmp_path: Path) -> None:
    write(tmp_path / "m.csv", MEMBERS)
    assert accounts("members", "import", "m.csv").code == 0
    write(tmp_path / "m2.csv", "segment_id,account_id\n1,A3\n1,A1\n")
    result = accounts("members", "import", "--append", "m2.csv")
    assert result.out.startswith("Imported m2.csv: 2 memberships in 1 segments; appended in ")
    assert rows(accounts, "SELECT account_id FROM members WHERE segment_id = 1 ORDER BY 1") == [
        ("A1",),
        ("A2",),
        ("A3",),
    ]


def test_unknown_segments_and_accounts_are_bad_rows(accounts: Segpub, tmp_path: Path) -> None:
    write(tmp_path / "m.csv", MEMBERS)
    assert accounts("members", "import", "m.csv").code == 0
    write(tmp_path / "bad.csv", "segment_id,account_id\n1,A3\n999,A1\n2,NOPE\nx1,A1\n3\n")
    result = accounts("members", "import", "bad.csv")
    assert result.code == 1
    assert result.err == (
        "segpub: error: bad.csv: 4 bad rows; nothing was imported\n"
        "  bad.csv:3: unknown segment 999; import the catalog that has it\n"
        "  bad.csv:4: unknown account 'NOPE'; import it with `segpub accounts import` first\n"
        "  bad.csv:5: segment_id 'x1' is not a whole number\n"
        "  bad.csv:6: expected 2 columns, found 1\n"
        "  Fix the rows above and import the file again.\n"
    )
    # Nothing written: segment 1 was not refreshed.
    assert rows(accounts, "SELECT account_id FROM members WHERE segment_id = 1 ORDER BY 1") == [
        ("A1",),
        ("A2",),
    ]


def test_members_header(accounts: Segpub, tmp_path: Path) -> None:
    write(tmp_path / "m.csv", "account_id,segment_id\nA1,1\n")
    result = accounts("members", "import", "m.csv")
    assert result.err == (
        'segpub: error: m.csv:1: header is "account_id,segment_id": columns in the wrong order;'
        ' it must be exactly "segment_id,account_id"\n'
    )


# -- records -------------------------------------------------------------------------------------


def test_records_import_with_and_without_created_at(accounts: Segpub, tmp_path: Path) -> None:
    write(
        tmp_path / "r.csv",
        "system,record_type,record_id,account_id,created_at\n"
        "salesforce,account,001,A1,2026-01-05T10:00:00+01:00\n"
        "marketo,lead,L1,A2,2026-01-06\n"
        "hubspot,lead,H1,A2,\n",
    )
    result = accounts("records", "import", "r.csv")
    assert result.code == 0, result.err
    assert result.out.startswith("Imported r.csv: 3 records (3 created, 0 updated) in ")
    write(
        tmp_path / "r2.csv", "system,record_type,record_id,account_id\nsalesforce,account,001,A3\n"
    )
    assert accounts("records", "import", "r2.csv").code == 0
    assert rows(accounts, "SELECT * FROM records ORDER BY record_id") == [
        ("salesforce", "account", "001", "A3", None),
        ("hubspot", "lead", "H1", "A2", None),
        ("marketo", "lead", "L1", "A2", "2026-01-06T00:00:00Z"),
    ]


def test_bad_record_rows(accounts: Segpub, tmp_path: Path) -> None:
    write(
        tmp_path / "r.csv",
        "system,record_type,record_id,account_id,created_at\n"
        "dynamics,account,1,A1,\n"
        "salesforce,opportunity,2,A1,\n"
        "salesforce,lead,,A1,\n"
        "salesforce,lead,4,NOPE,\n"
        "salesforce,lead,5,A1,yesterday\n"
        "salesforce,lead,6,A1\n"
        "salesforce,lead,7,A1,2026-01-01\n",
    )
    result = accounts("records", "import", "r.csv")
    assert result.code == 1
    assert result.err == (
        "segpub: error: r.csv: 6 bad rows; nothing was imported\n"
        "  r.csv:2: system 'dynamics' is not one of salesforce, marketo, hubspot, pardot, eloqua\n"
        "  r.csv:3: record_type 'opportunity' is not one of account, contact, lead\n"
        "  r.csv:4: record_id is empty\n"
        "  r.csv:5: unknown account 'NOPE'; import it with `segpub accounts import` first\n"
        "  r.csv:6: created_at 'yesterday' is not an ISO 8601 date-time (e.g."
        " 2026-11-02T09:00:00Z)\n"
        "  r.csv:7: expected 5 columns, found 4\n"
        "  Fix the rows above and import the file again.\n"
    )
    assert rows(accounts, "SELECT count(*) FROM records") == [(0,)]


def test_records_header_extra_column(accounts: Segpub, tmp_path: Path) -> None:
    write(tmp_path / "r.csv", "system,record_type,record_id,account_id,created_at,owner\n")
    result = accounts("records", "import", "r.csv")
    assert result.err == (
        'segpub: error: r.csv:1: header is "system,record_type,record_id,account_id,created_at,'
        'owner": unknown column "owner"; it must be exactly "system,record_type,record_id,'
        'account_id" (optionally followed by created_at)\n'
    )


def test_import_in_a_real_process(tmp_path: Path) -> None:
    write(tmp_path / "catalog.yaml", CATALOG)
    write(tmp_path / "accounts.csv", ACCOUNTS)
    assert run_process(["catalog", "import", "catalog.yaml"], tmp_path).code == 0
    result = run_process(["accounts", "import", "accounts.csv"], tmp_path)
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.startswith("Imported accounts.csv: 4 accounts (4 created, 0 updated) in ")


def test_imports_and_marking_wait_for_the_writer_lock(accounts: Segpub, tmp_path: Path) -> None:
    from reconciler.store import open_workspace

    write(tmp_path / "m.csv", MEMBERS)
    store = open_workspace(accounts.workspace)
    try:
        with store.writer_lock("someone", "apply", 0):
            result = run_process(
                ["members", "import", "m.csv"],
                tmp_path,
                env={"SEGPUB_WORKSPACE": accounts.workspace},
            )
    finally:
        store.close()
    assert result.code == 1
    assert "workspace is locked by someone" in result.err
    assert rows(accounts, "SELECT count(*) FROM members") == [(0,)]
