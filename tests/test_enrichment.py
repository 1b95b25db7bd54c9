"""Enrichment targets (config, plan, apply) and `segpub enrich` through the CLI: values, the
length limit with multi-byte names, clearing, each scope, --changed-only after --mark-pushed,
and an unpublish removing a name on the next run."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Segpub, write
from tests.platform_world import TARGET, config, rows, world

FULL = "001-A1,Alpha;Alpha;Bêta ñandú;Ωmega 東京\n"  # 31 characters of value


def target(**fields: object) -> str:
    text = TARGET
    for key, value in fields.items():
        line = f"    {key}: {json.dumps(value, ensure_ascii=False)}\n"
        text, replaced = re.subn(rf"^    {key}: .*\n", line, text, flags=re.M)
        if not replaced:
            text += line
    return text


def summary(err: str) -> str:
    return re.sub(r" in \d+\.\ds\.", " in Ns.", err)


@pytest.fixture
def platform(segpub: Segpub, tmp_path: Path) -> Segpub:
    world(segpub, tmp_path)
    return segpub


def reapply(segpub: Segpub, folder: Path, targets: str, publications: str = "[]") -> None:
    config(folder, targets, publications)
    result = segpub("apply", "publications.yaml", "--auto-approve")
    assert result.code == 0, result.out + result.err


# -- values --------------------------------------------------------------------------------------


def test_enrich_csv_values_sorted_by_name_then_id_and_cleared(platform: Segpub) -> None:
    result = platform("enrich", "sfdc-accounts")
    assert result.code == 0, result.err
    assert result.out == ("record_id,value\n" + FULL + "001-A2,Alpha\n001-A3,Ωmega 東京\n001-A4,\n")
    assert summary(result.err) == (
        "Enriched sfdc-accounts: 4 records written (0 truncated at 255 characters, 1 empty)"
        " in Ns.\n"
    )
    assert platform("enrich", "sfdc-accounts").out == result.out  # identical run to run


def test_jsonl(platform: Segpub) -> None:
    result = platform("enrich", "sfdc-accounts", "--format", "jsonl")
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines == [
        {"record_id": "001-A1", "value": "Alpha;Alpha;Bêta ñandú;Ωmega 東京", "truncated": False},
        {"record_id": "001-A2", "value": "Alpha", "truncated": False},
        {"record_id": "001-A3", "value": "Ωmega 東京", "truncated": False},
        {"record_id": "001-A4", "value": "", "truncated": False},
    ]
    assert "東京" in result.out  # not \u-escaped


@pytest.mark.parametrize(
    ("limit", "a1", "truncated"),
    [
        (31, "Alpha;Alpha;Bêta ñandú;Ωmega 東京", False),  # exactly the limit, in characters
        (30, "Alpha;Alpha;Bêta ñandú", True),  # Ωmega 東京 does not fit whole: dropped
        (22, "Alpha;Alpha;Bêta ñandú", True),
        (21, "Alpha;Alpha", True),
    ],
)
def test_max_length_counts_characters_and_drops_whole_names(
    platform: Segpub, tmp_path: Path, limit: int, a1: str, truncated: bool
) -> None:
    reapply(platform, tmp_path, target(max_length=limit))
    result = platform("enrich", "sfdc-accounts", "--format", "jsonl")
    first = json.loads(result.out.splitlines()[0])
    assert first == {"record_id": "001-A1", "value": a1, "truncated": truncated}
    assert len(first["value"]) <= limit
    assert summary(result.err) == (
        f"Enriched sfdc-accounts: 4 records written ({int(truncated)} truncated at {limit}"
        " characters, 1 empty) in Ns.\n"
    )


def test_a_single_name_longer_than_the_limit_leaves_the_field_empty(
    platform: Segpub, tmp_path: Path
) -> None:
    reapply(platform, tmp_path, target(max_length=4))
    result = platform("enrich", "sfdc-accounts")
    assert result.out == "record_id,value\n001-A1,\n001-A2,\n001-A3,\n001-A4,\n"
    assert "(3 truncated at 4 characters, 4 empty)" in result.err


def test_delimiter_and_csv_quoting(platform: Segpub, tmp_path: Path) -> None:
    reapply(platform, tmp_path, target(delimiter=", "))
    result = platform("enrich", "sfdc-accounts")
    assert result.out.splitlines()[1] == '001-A1,"Alpha, Alpha, Bêta ñandú, Ωmega 東京"'


def test_data_workflows_names_holding_the_delimiter_stay_whole(
    platform: Segpub, tmp_path: Path
) -> None:
    reapply(platform, tmp_path, target(via="data_workflows", max_length=12))
    result = platform("enrich", "sfdc-accounts")
    assert result.out.splitlines()[1] == "001-A1,Delta; semi"


# -- scopes --------------------------------------------------------------------------------------


def test_scope_created_within_days(segpub: Segpub, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    recent = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = (
        "system,record_type,record_id,account_id,created_at\n"
        f"salesforce,account,001-A1,A1,{recent}\n"
        f"salesforce,account,001-A2,A2,{old}\n"
        "salesforce,account,001-A3,A3,\n"
    )
    world(segpub, tmp_path, target(scope={"created_within_days": 7}), records)
    assert segpub("enrich", "sfdc-accounts").out == "record_id,value\n" + FULL
    reapply(segpub, tmp_path, target(scope={"created_within_days": 30}))
    assert segpub("enrich", "sfdc-accounts").out == "record_id,value\n" + FULL + "001-A2,Alpha\n"


def test_scope_segment_by_name_or_id(platform: Segpub, tmp_path: Path) -> None:
    reapply(platform, tmp_path, target(scope={"segment": "Bêta ñandú"}))
    assert platform("enrich", "sfdc-accounts").out == "record_id,value\n" + FULL
    reapply(platform, tmp_path, target(scope={"segment": 6}))
    assert platform("enrich", "sfdc-accounts").out == "record_id,value\n001-A2,Alpha\n"


def test_scope_segment_must_name_one_segment(platform: Segpub, tmp_path: Path) -> None:
    config(tmp_path, target(scope={"segment": "Alpha"}))
    result = platform("--no-color", "validate", "publications.yaml")
    assert result.code == 1
    assert (
        "  publications.yaml:9:12: unknown_segment: enrichment target 'sfdc-accounts': scope"
        " segment name 'Alpha' is shared by ids 1, 7; give the id\n"
    ) in result.err


def test_contacts_take_their_accounts_segments(platform: Segpub, tmp_path: Path) -> None:
    contacts = (
        target()
        .replace("sfdc-accounts", "sfdc-contacts")
        .replace("record_type: account", "record_type: contact")
    )
    reapply(platform, tmp_path, TARGET + contacts)
    assert platform("enrich", "sfdc-contacts").out == (
        "record_id,value\n003-A1,Alpha;Alpha;Bêta ñandú;Ωmega 東京\n"
    )


# -- pushed values -------------------------------------------------------------------------------


def test_changed_only_after_mark_pushed(platform: Segpub, tmp_path: Path) -> None:
    first = platform("enrich", "sfdc-accounts", "--out", "values.csv", "--mark-pushed")
    assert first.code == 0, first.err
    assert first.out == ""
    assert summary(first.err) == (
        "Enriched sfdc-accounts: 4 records written to values.csv (0 truncated at 255 characters,"
        " 1 empty) in Ns. Marked as pushed.\n"
    )
    assert (tmp_path / "values.csv").read_text(encoding="utf-8").startswith("record_id,value\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".segpub-enrich")] == []
    again = platform("enrich", "sfdc-accounts", "--changed-only")
    assert again.out == "record_id,value\n"
    assert (
        "0 records written (0 truncated at 255 characters, 0 empty, 4 unchanged not written)"
        in again.err
    )
    write(tmp_path / "more.csv", "segment_id,account_id\n2,A4\n")
    assert platform("members", "import", "--append", "more.csv").code == 0
    changed = platform("enrich", "sfdc-accounts", "--changed-only", "--format", "jsonl")
    assert changed.out == '{"record_id": "001-A4", "value": "Bêta ñandú", "truncated": false}\n'
    # Without --mark-pushed nothing was recorded: the same change is still pending.
    assert platform("enrich", "sfdc-accounts", "--changed-only").out == (
        "record_id,value\n001-A4,Bêta ñandú\n"
    )


def test_an_unpublish_removes_the_name_on_the_next_run(platform: Segpub, tmp_path: Path) -> None:
    assert platform("enrich", "sfdc-accounts", "--mark-pushed").code == 0
    reapply(platform, tmp_path, TARGET, publications="[{id: 3, uses: []}]")
    result = platform("enrich", "sfdc-accounts", "--changed-only", "--mark-pushed")
    assert result.out == "record_id,value\n001-A1,Alpha;Alpha;Bêta ñandú\n001-A3,\n"
    assert platform("enrich", "sfdc-accounts", "--changed-only").out == "record_id,value\n"


def test_output_failure_marks_nothing(platform: Segpub, tmp_path: Path) -> None:
    result = platform("enrich", "sfdc-accounts", "--out", "missing/values.csv", "--mark-pushed")
    assert result.code == 1
    assert result.err.startswith("segpub: error: cannot write missing/values.csv: ")
    assert rows(platform, "SELECT count(*) FROM pushed_values") == [(0,)]


def test_unknown_target(platform: Segpub) -> None:
    result = platform("enrich", "nope")
    assert result.code == 1
    assert result.err == (
        "segpub: error: no enrichment target named 'nope' in the workspace"
        " (targets: sfdc-accounts); declare it under `enrichment:` in the publications config"
        " and apply it\n"
    )


# -- config, plan, apply -------------------------------------------------------------------------


def test_plan_shows_targets_added_changed_removed(segpub: Segpub, tmp_path: Path) -> None:
    world(segpub, tmp_path)
    config(tmp_path, target(max_length=100) + TARGET.replace("sfdc-accounts", "sfdc-2"))
    plan = segpub("--no-color", "plan", "publications.yaml")
    assert plan.code == 0, plan.err
    assert plan.out == (
        "  + enrichment target sfdc-2 (salesforce account field X6sense_Segments__c, segments"
        " published for orchestration)\n"
        "  ~ enrichment target sfdc-accounts (salesforce account field X6sense_Segments__c,"
        " segments published for orchestration)\n"
        "      max_length: 255 -> 100\n"
        "\n"
        "Enrichment targets: 1 to add, 1 to change, 0 to remove.\n"
        "Plan: 0 to publish, 0 to update, 0 to unpublish. Published: 6 -> 6 of 200.\n"
    )
    data = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    assert [(t["action"], t["name"]) for t in data["target_changes"]] == [
        ("add", "sfdc-2"),
        ("change", "sfdc-accounts"),
    ]
    assert data["target_changes"][1]["after"]["max_length"] == 100
    assert segpub("plan", "publications.yaml", "--detailed-exitcode").code == 2
    config(tmp_path, "")  # `enrichment: []`: every target removed
    removed = segpub("--no-color", "plan", "publications.yaml")
    assert "  - enrichment target sfdc-accounts (" in removed.out
    assert "Enrichment targets: 0 to add, 0 to change, 1 to remove.\n" in removed.out


def test_apply_stores_targets_once_and_a_config_without_targets_leaves_them(
    segpub: Segpub, tmp_path: Path
) -> None:
    world(segpub, tmp_path)
    status = json.loads(segpub("status", "--format", "json").out)
    history = json.loads(segpub("history", "--format", "json").out)
    assert history[-1]["summary"].endswith(" Enrichment targets added: sfdc-accounts.")
    assert segpub("--no-color", "plan", "publications.yaml").out.startswith("No changes.")
    write(tmp_path / "plain.yaml", "version: 1\npublications: []\n")
    assert segpub("--no-color", "plan", "plain.yaml").out.startswith("No changes.")
    reapply(segpub, tmp_path, "")
    assert json.loads(segpub("status", "--format", "json").out)["serial"] == status["serial"] + 1
    assert segpub("enrich", "sfdc-accounts").code == 1


def test_unsupported_enrichment_target(segpub: Segpub, tmp_path: Path) -> None:
    world(segpub, tmp_path)
    config(
        tmp_path,
        TARGET.replace("system: salesforce", "system: marketo").replace(
            "record_type: account", "record_type: contact"
        ),
    )
    result = segpub("--no-color", "plan", "publications.yaml")
    assert result.code == 1
    assert (
        "  publications.yaml:7:18: unsupported_enrichment_target: enrichment target"
        " 'sfdc-accounts': marketo contact is not a field segment names can be written to;"
        " supported: salesforce account, contact or lead; marketo, hubspot, pardot or eloqua"
        " lead\n"
    ) in result.out
    applied = segpub("apply", "publications.yaml", "--auto-approve")
    assert applied.code == 1


@pytest.mark.parametrize(
    ("system", "record_type"),
    [
        ("salesforce", "lead"),
        ("salesforce", "contact"),
        ("hubspot", "lead"),
        ("pardot", "lead"),
        ("eloqua", "lead"),
        ("marketo", "lead"),
    ],
)
def test_supported_pairs(segpub: Segpub, tmp_path: Path, system: str, record_type: str) -> None:
    write(tmp_path / "catalog.yaml", "segments: []\n")
    assert segpub("catalog", "import", "catalog.yaml").code == 0
    config(tmp_path, TARGET.replace("salesforce", system).replace("account\n", record_type + "\n"))
    assert segpub("validate", "publications.yaml").code == 0


def test_schema_rejects_a_bad_scope(segpub: Segpub, tmp_path: Path) -> None:
    world(segpub, tmp_path)
    config(tmp_path, target(scope={"created_within_days": 0}))
    result = segpub("--no-color", "validate", "publications.yaml")
    assert result.code == 1
    assert "publications.yaml:9:" in result.err


# Names and record ids that CSV and JSON must quote or escape: the lines are built in SQL, so each
# engine's quoting is checked against what Python's csv and json modules read and write.
AWKWARD = [
    "Comma, Inc",
    'Say "hi"',
    "Line\nbreak",
    "Carriage\rreturn",
    "Tab\there",
    "Back\\slash",
    "Ctl\x01\x1fchars",
    "Del\x7f",
    "Sep\u2028ara",
    "Émoji 🚀",
    "Plain",
]


def test_awkward_names_and_ids_are_quoted_and_escaped_as_python_would(
    segpub: Segpub, tmp_path: Path
) -> None:
    segments = "".join(
        f"- {{id: {i}, name: {_yaml_text(name)}, created_via: filters,"
        " published_uses: [orchestration]}\n"
        for i, name in enumerate(AWKWARD, start=1)
    )
    ids = ["r,1", 'r"2', "r3"]
    members = "".join(f"{i},A{n}\n" for n in (1, 2) for i in range(1, len(AWKWARD) + 1))
    records = "".join(
        f'salesforce,account,"{rid.replace(chr(34), chr(34) * 2)}",A{n}\n'
        for n, rid in enumerate(ids, start=1)
    )
    steps = [
        ("catalog", "import", write(tmp_path / "c.yaml", "segments:\n" + segments).name),
        ("apply", config(tmp_path, target(max_length=10_000)).name, "--auto-approve"),
        (
            "accounts",
            "import",
            write(
                tmp_path / "a.csv",
                "account_id,name,domain,country\nA1,One,,\nA2,Two,,\nA3,Three,,\n",
            ).name,
        ),
        ("members", "import", write(tmp_path / "m.csv", "segment_id,account_id\n" + members).name),
        (
            "records",
            "import",
            write(tmp_path / "r.csv", "system,record_type,record_id,account_id\n" + records).name,
        ),
    ]
    for step in steps:
        done = segpub(*step)
        assert done.code == 0, (step, done.out, done.err)
    value = ";".join(sorted(AWKWARD))
    expected = sorted([(ids[0], value), (ids[1], value), (ids[2], "")])  # by record_id

    as_csv = segpub("enrich", "sfdc-accounts")
    assert as_csv.code == 0, as_csv.err
    assert list(csv.reader(io.StringIO(as_csv.out, newline=""))) == [
        ["record_id", "value"],
        *[list(pair) for pair in expected],
    ]
    as_jsonl = segpub("enrich", "sfdc-accounts", "--format", "jsonl")
    assert as_jsonl.out == "".join(
        json.dumps({"record_id": r, "value": v, "truncated": False}, ensure_ascii=False) + "\n"
        for r, v in expected
    )


def _yaml_text(text: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes, plus DEL, which YAML forbids raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
