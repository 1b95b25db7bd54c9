"""Injection: hostile names survive every stage byte for byte, and no SQL is built from values.

Segment, folder, dependent and account names with quotes, semicolons, SQL fragments, newlines,
right-to-left marks and emoji go through catalog import, CSV import, plan, apply, export, the
platform views and enrich, and come out exactly as they went in. A source scan fails on any
SQL statement built by f-string, %, + or .format that has not been reviewed as identifiers-only."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, Result, run_in_process

HOSTILE = [
    "Robert'); DROP TABLE segments;--",
    "' OR '1'='1",
    '"double" quotes and \\ backslash',
    "semi;colon; DELETE FROM publications WHERE 1=1",
    "two\nlines\r\nand a CR",
    "\u202eright-to-left override\u202c and \u200fRLM",
    "emoji 😀🚀 and ZWJ 👩‍💻",
    'comma, "quote", and\ttab',
    "%s %(x)s {0} ? $1 :name",
    "  leading and trailing spaces  ",
]


def _cli(folder: Path, *args: str) -> Result:
    result = run_in_process(["--workspace", str(folder / "segpub.db"), *args], folder)
    assert "Traceback" not in result.err
    return result


@pytest.fixture
def hostile_workspace(tmp_path: Path) -> Path:
    segments = [
        {
            "id": i,
            "name": name,
            "folder": name,
            "created_via": "account_list_upload",
            "filters": ["Uploaded Account List"],
            "used_by": [{"kind": "workflow", "name": name}],
        }
        for i, name in enumerate(HOSTILE, start=1)
    ]
    (tmp_path / "catalog.json").write_text(
        json.dumps({"settings": {"cap": 50}, "segments": segments}, ensure_ascii=False),
        encoding="utf-8",
    )
    imported = _cli(tmp_path, "catalog", "import", "catalog.json")
    assert imported.code == 0, imported.err
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["account_id", "name", "domain", "country"])
    for i, name in enumerate(HOSTILE, start=1):
        writer.writerow([f"A{i}", name, f"a{i}.example", "US"])
    (tmp_path / "accounts.csv").write_text(out.getvalue(), encoding="utf-8", newline="")
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["segment_id", "account_id"])
    for i in range(1, len(HOSTILE) + 1):
        writer.writerow([i, "A1"])
        writer.writerow([i, f"A{i}"])
    (tmp_path / "members.csv").write_text(out.getvalue(), encoding="utf-8", newline="")
    (tmp_path / "records.csv").write_text(
        "system,record_type,record_id,account_id\nsalesforce,account,r1,A1\n", encoding="utf-8"
    )
    for args in (
        ["accounts", "import", "accounts.csv"],
        ["members", "import", "members.csv"],
        ["records", "import", "records.csv"],
    ):
        done = _cli(tmp_path, *args)
        assert done.code == 0, done.err
    config = {
        "version": 1,
        "publications": [
            {"name": name, "uses": ["account_details", "api", "gtm", "orchestration"]}
            for name in HOSTILE
        ],
        "enrichment": [
            {
                "name": "sfdc",
                "via": "orchestration",
                "system": "salesforce",
                "record_type": "account",
                "field": "Segments__c",
                "delimiter": "|",
                "max_length": 100000,
            }
        ],
    }
    (tmp_path / "config.json").write_text(json.dumps(config, ensure_ascii=False), "utf-8")
    return tmp_path


def test_hostile_names_survive_plan_apply_and_export(hostile_workspace: Path) -> None:
    folder = hostile_workspace
    planned = _cli(folder, "plan", "config.json", "--format", "json")
    assert planned.code == 0, planned.out + planned.err
    names = {c["segment_name"] for c in json.loads(planned.out)["changes"]}
    assert names == set(HOSTILE)
    applied = _cli(folder, "apply", "config.json", "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _cli(folder, "plan", "config.json", "--detailed-exitcode").code == 0
    for fmt in ("json", "yaml"):
        exported = _cli(folder, "export", "--format", fmt)
        data = json.loads(exported.out) if fmt == "json" else yaml.safe_load(exported.out)
        assert sorted(e["name"] for e in data["publications"]) == sorted(HOSTILE)
        (folder / f"exported.{fmt}").write_text(exported.out, encoding="utf-8")
        again = _cli(folder, "plan", f"exported.{fmt}", "--detailed-exitcode")
        assert again.code == 0, again.out + again.err
    history = json.loads(_cli(folder, "history", "--format", "json").out)
    assert {c["segment_name"] for c in history[-1]["changes"]} >= set(HOSTILE)
    # The workspace still has all its tables and rows: nothing was executed from a name.
    store_names = json.loads(_cli(folder, "api", "segments", "A1").out)["names"]
    assert store_names == HOSTILE  # sorted by id, which is HOSTILE's order


def test_hostile_account_names_survive_csv_import_and_views(hostile_workspace: Path) -> None:
    folder = hostile_workspace
    assert _cli(folder, "apply", "config.json", "--auto-approve").code == 0
    for i, name in enumerate(HOSTILE, start=1):
        shown = json.loads(_cli(folder, "account", f"A{i}", "--format", "json").out)
        # CSV cells are trimmed on import (imports.py): the one change a name may undergo there.
        assert shown["account"]["name"] == name.strip()
        # A1 is in every segment; each other account in its own and in none else.
        expected = HOSTILE if i == 1 else [name]
        # The Segments tab sorts by name (case-folded) then id; names and folders are as given.
        assert [(s["name"], s["folder"]) for s in shown["segments"]] == [
            (n, n) for n in sorted(expected, key=lambda n: (n.casefold(), HOSTILE.index(n)))
        ]
        assert json.loads(_cli(folder, "api", "segments", f"A{i}").out)["names"] == expected


def test_hostile_names_survive_enrich_and_its_csv_quoting(hostile_workspace: Path) -> None:
    folder = hostile_workspace
    assert _cli(folder, "apply", "config.json", "--auto-approve").code == 0
    enriched = _cli(folder, "enrich", "sfdc", "--out", "sfdc.csv")
    assert enriched.code == 0, enriched.err
    with open(folder / "sfdc.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["record_id", "value"]
    assert len(rows) == 2  # one record: no name broke a row
    record_id, value = rows[1]
    assert record_id == "r1"
    # Sorted by name then id, joined by the target's delimiter, every name whole.
    assert value == "|".join(sorted(HOSTILE))
    jsonl = _cli(folder, "enrich", "sfdc", "--format", "jsonl")
    assert [json.loads(line)["value"] for line in jsonl.out.splitlines()] == [value]


# -- no SQL built from values ---------------------------------------------------------------------

SQL_START = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE|WITH|PRAGMA|SET|WHERE|FROM|"
    r"VALUES|AND|OR|ORDER BY|LIMIT|JOIN|GRANT|REVOKE)\b"
)

# Sites that build SQL text from other SQL text or from quoted identifiers, never from a value;
# each was read and checked. Keyed by file and the exact source, so any edit needs a new review.
REVIEWED = {
    (
        "reconciler/store/base.py",
        "f\" AND kind IN ({', '.join('?' * len(kinds))})\"",
    ): "only ? placeholders, one per kind",
    (
        "reconciler/imports.py",
        'f"SELECT count(*) FROM {table}"',
    ): "table is one of the module's own table-name constants",
    (
        "reconciler/enrich.py",
        "f\"SELECT r.record_id, coalesce({names}, ''){last} FROM records r{join}\"\n"
        '        " WHERE r.system = ? AND r.record_type = ?"',
    ): "names, last, join are constant SQL fragments chosen by engine; values are ? parameters",
    (
        "reconciler/store/postgres.py",
        'f"SET LOCAL {setting} = off"',
    ): "setting comes from a constant tuple of planner setting names",
    ("reconciler/views.py", 'columns + " WHERE id = ?"'): "columns is a constant SELECT list",
    (
        "reconciler/views.py",
        'columns + " WHERE domain = ? ORDER BY id"',
    ): "columns is a constant SELECT list",
}
# Identifier quoting that is safe by construction (table and column names from the schema).
SAFE_CALLS = {"_quote", "quote_identifier"}


def _string_built_sql(path: Path) -> list[tuple[int, str, str]]:
    source = path.read_text(encoding="utf-8")
    found: list[tuple[int, str, str]] = []

    def is_sql(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_START.match(node.value) is not None
        )

    for node in ast.walk(ast.parse(source)):
        how = None
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values if isinstance(v, ast.Constant)]
            holes = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
            safe = all(
                isinstance(h, ast.Call)
                and getattr(h.func, "id", None) in SAFE_CALLS
                or isinstance(h, ast.Call)
                and isinstance(h.func, ast.Attribute)
                and h.func.attr == "join"
                and all(
                    isinstance(a, ast.GeneratorExp)
                    and isinstance(a.elt, ast.Call)
                    and getattr(a.elt.func, "id", None) in SAFE_CALLS
                    or isinstance(a, ast.GeneratorExp)
                    and isinstance(a.elt, ast.Constant)
                    for a in h.args
                )
                for h in holes
            )
            if parts and is_sql(parts[0]) and holes and not safe:
                how = "f-string"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and is_sql(node.left):
            how = "%"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = (node.left, node.right)
            if any(is_sql(s) for s in sides) and not all(
                isinstance(s, ast.Constant) for s in sides
            ):
                how = "+"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and is_sql(node.func.value)
        ):
            how = ".format"
        if how:
            found.append((node.lineno, how, ast.get_source_segment(source, node) or ""))
    return found


def test_no_sql_is_built_from_values() -> None:
    unreviewed = []
    for path in sorted((ROOT / "reconciler").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        for line, how, code in _string_built_sql(path):
            if (relative, code) not in REVIEWED:
                unreviewed.append(f"{relative}:{line}: SQL built with {how}: {code}")
    assert unreviewed == [], (
        "SQL text built with f-string, %, + or .format: pass values as ? parameters, or, if only"
        " identifiers or constant fragments are joined, review it and add it to REVIEWED:\n"
        + "\n".join(unreviewed)
    )


def test_the_scan_finds_string_built_sql(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(cursor, name):\n"
        "    cursor.execute(f\"SELECT * FROM segments WHERE name = '{name}'\")\n"
        "    cursor.execute(\"DELETE FROM segments WHERE name = '%s'\" % name)\n"
        '    cursor.execute("UPDATE segments SET name = \'" + name + "\'")\n'
        "    cursor.execute(\"INSERT INTO segments VALUES ('{}')\".format(name))\n"
        '    cursor.execute("SELECT * FROM segments WHERE name = ?", (name,))\n',
        encoding="utf-8",
    )
    found = sorted((line, how) for line, how, _ in _string_built_sql(bad))
    assert [how for _, how in found] == ["f-string", "%", "+", ".format"]


def test_text_output_cannot_be_forged_by_a_name(tmp_path: Path) -> None:
    """A name with a newline cannot add a fake line to a plan under review; escape sequences and
    direction overrides are shown, not obeyed. The JSON plan keeps the name exactly."""
    forged = "Evil\n  + Fake Segment (99)\n      + gtm"
    escape = "Clear\x1b[2J\x1b[31mRED\u202eevil"
    segments = [
        {"id": 1, "name": forged, "created_via": "filters"},
        {"id": 2, "name": escape, "created_via": "filters"},
    ]
    (tmp_path / "catalog.json").write_text(json.dumps({"segments": segments}), "utf-8")
    assert _cli(tmp_path, "catalog", "import", "catalog.json").code == 0
    config = {
        "version": 1,
        "publications": [{"id": 1, "uses": ["api"]}, {"id": 2, "uses": ["gtm"]}],
    }
    (tmp_path / "config.json").write_text(json.dumps(config), "utf-8")
    planned = _cli(tmp_path, "--no-color", "plan", "config.json")
    assert planned.out == (
        "  + Clear\\x1b[2J\\x1b[31mRED\\u202eevil (2)\n"
        "      + gtm\n"
        "  + Evil\\n  + Fake Segment (99)\\n      + gtm (1)\n"
        "      + api\n"
        "\n"
        "1 violation:\n"
        "  config.json:1:61: gtm_ineligible: Clear\\x1b[2J\\x1b[31mRED\\u202eevil (2) cannot be"
        " published for gtm: it was created via filters (a dynamic segment). GTM segments must be"
        " created by account list upload, CRM report sync or CRM list sync, with no filters other"
        " than 'Account Profile Fit', 'Accounts in Salesforce Report', 'Salesforce Account List',"
        " 'Uploaded Account List'; remove gtm from this entry\n"
        "\n"
        "Plan: 2 to publish, 0 to update, 0 to unpublish. Published: 0 -> 2 of 200.\n"
    )
    as_json = json.loads(_cli(tmp_path, "plan", "config.json", "--format", "json").out)
    assert {c["segment_name"] for c in as_json["changes"]} == {forged, escape}
    # Every other text a person reads: the names stay on their one line, escapes shown.
    (tmp_path / "ok.json").write_text(
        json.dumps(
            {
                "version": 1,
                "publications": [
                    {"id": 1, "uses": ["api", "account_details"]},
                    {"id": 2, "uses": ["api"]},
                ],
            }
        ),
        "utf-8",
    )
    assert _cli(tmp_path, "apply", "ok.json", "--auto-approve").code == 0
    published = _cli(tmp_path, "unpublish", "1", "--use", "api")
    assert published.code == 0, published.err
    for args in (["status"], ["history"], ["history", "show", "3"], ["published"], ["segments"]):
        shown = _cli(tmp_path, "--no-color", *args)
        assert shown.code == 0, shown.err
        assert "\x1b" not in shown.out and "\u202e" not in shown.out, args
        for line in [published.out, *shown.out.splitlines()]:
            if "Fake Segment" in line:
                assert "Evil\\n  + Fake Segment (99)\\n      + gtm" in line, (args, line)


def test_printable_escapes_only_what_can_forge_or_hide_output() -> None:
    from reconciler.render.printable import printable

    assert printable("Plain name, émoji 😀, RLM \u200f and quotes '\"") == (
        "Plain name, émoji 😀, RLM \u200f and quotes '\""
    )
    assert printable("a\nb\rc\td\x00e\x1bf\x7fg\x85h\u202ei\u2066j") == (
        "a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h\\u202ei\\u2066j"
    )


def test_every_reviewed_site_still_exists() -> None:
    found = {
        (str(path.relative_to(ROOT)), code)
        for path in sorted((ROOT / "reconciler").rglob("*.py"))
        for _, _, code in _string_built_sql(path)
    }
    stale = [key for key in REVIEWED if key not in found]
    assert stale == [], f"REVIEWED names SQL sites that are gone; remove them: {stale}"
