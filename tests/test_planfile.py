"""Saved plans through the real CLI: `plan --out`, `apply PLANFILE`, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.planfile import checksum
from tests.ci_support import config_text, workspace
from tests.conftest import Segpub, write

STALE = (
    "segpub: error: plan is stale: the workspace changed since the plan was made (serial {n},"
    " now {m}); run plan again\n"
)


def _serial(segpub: Segpub) -> int:
    status = segpub("status", "--format", "json")
    assert status.code == 0, status.err
    return int(json.loads(status.out)["serial"])


def _published(segpub: Segpub) -> dict[str, list[str]]:
    exported = segpub("export", "--format", "json")
    return {str(p.get("name")): p["uses"] for p in json.loads(exported.out)["publications"]}


def _saved(segpub: Segpub, entries: list[tuple[int, list[str]]], *extra: str) -> Path:
    write(segpub.cwd / "publications.yaml", config_text(entries))
    planned = segpub("plan", "publications.yaml", "--out", "segpub.plan", *extra)
    assert planned.code == 0, planned.out + planned.err
    assert planned.err == (
        "Saved this plan to segpub.plan; apply exactly it with: segpub apply segpub.plan\n"
    )
    return segpub.cwd / "segpub.plan"


def test_apply_of_a_saved_plan_applies_exactly_it_without_a_prompt(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=3, unpublished=2)
    _saved(segpub, [(4, ["api", "account_details"]), (1, [])])
    # The config changes after the review: the saved plan, not the config, is applied.
    write(segpub.cwd / "publications.yaml", config_text([(5, ["api"])]))
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 0, applied.err
    assert applied.out.endswith(
        "Plan: 1 to publish, 0 to update, 1 to unpublish. Published: 3 -> 3 of 200.\n"
        "Applied segpub.plan. Workspace serial is now 2.\n"
    )
    published = _published(segpub)
    assert published["Segment 4"] == ["account_details", "api"]
    assert "Segment 1" not in published and "Segment 5" not in published
    shown = json.loads(segpub("history", "show", "2", "--format", "json").out)
    assert shown["kind"] == "apply"
    assert shown["actor"] == "tester"
    assert shown["command"] == "apply segpub.plan"
    assert shown["source"]["path"] == "publications.yaml"
    assert len(shown["source"]["sha256"]) == 64


def test_plan_file_holds_lineage_serial_config_and_version(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2)
    path = _saved(segpub, [(1, [])])
    document = json.loads(path.read_text())
    lineage = json.loads(segpub("status", "--format", "json").out)["lineage"]
    assert document["format"] == "segpub-plan"
    assert document["lineage"] == lineage
    assert document["serial"] == 1
    assert document["config"]["path"] == "publications.yaml"
    assert len(document["config"]["sha256"]) == 64
    assert document["segpub_version"] == "0.1.0"
    assert document["checksum"] == checksum(document)
    assert document["plan"]["changes"][0]["action"] == "unpublish"


def test_a_stale_plan_is_refused_and_nothing_is_written(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=3, unpublished=2)
    _saved(segpub, [(4, ["api"])])
    assert segpub("publish", "5", "--use", "api").code == 0  # serial 1 -> 2
    before = _published(segpub)
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 1
    assert applied.err == STALE.format(n=1, m=2)
    assert _serial(segpub) == 2
    assert _published(segpub) == before


def test_a_plan_for_another_workspace_is_refused(segpub: Segpub, tmp_path: Path) -> None:
    workspace(segpub.cwd, published=3)
    _saved(segpub, [(1, [])])
    other = tmp_path / "other"
    other.mkdir()
    write(other / "catalog.yaml", (segpub.cwd / "catalog.yaml").read_text())
    assert (
        segpub(
            "--workspace", str(other / "ws.db"), "catalog", "import", str(other / "catalog.yaml")
        ).code
        == 0
    )
    applied = segpub("--workspace", str(other / "ws.db"), "apply", "segpub.plan")
    assert applied.code == 1
    assert applied.err == "segpub: error: plan was made for another workspace\n"
    assert "Segment 1" in {
        p["name"]
        for p in json.loads(
            segpub("--workspace", str(other / "ws.db"), "export", "--format", "json").out
        )["publications"]
    }


def test_a_plan_made_against_a_brand_new_workspace_cannot_be_replayed_later(
    tmp_path: Path, segpub: Segpub
) -> None:
    write(tmp_path / "empty.yaml", "version: 1\npublications: []\n")
    first = segpub("--workspace", "new.db", "plan", "empty.yaml", "--out", "new.plan")
    assert first.code == 0, first.err
    assert json.loads((tmp_path / "new.plan").read_text())["lineage"]
    for name in ("new.db", "new.db-wal", "new.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    segpub("--workspace", "new.db", "status")  # a new workspace at the same place
    again = segpub("--workspace", "new.db", "apply", "new.plan")
    assert again.code == 1
    assert again.err == "segpub: error: plan was made for another workspace\n"


def test_an_edited_plan_file_is_refused(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=3, unpublished=1)
    path = _saved(segpub, [(4, ["api"])])
    document = json.loads(path.read_text())
    document["plan"]["changes"][0]["after"] = ["api", "gtm"]
    document["plan"]["changes"][0]["add"] = ["api", "gtm"]
    path.write_text(json.dumps(document, indent=2))
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 1
    assert applied.err == (
        "segpub: error: plan file segpub.plan was edited after it was made (its checksum does"
        " not match its content); run plan again and apply the new plan file\n"
    )
    assert _serial(segpub) == 1


def test_a_file_that_is_not_a_segpub_plan_is_refused(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    write(segpub.cwd / "other.json", '{"terraform_version": "1.9.0", "planned_values": {}}\n')
    applied = segpub("apply", "other.json")
    assert applied.code == 1
    assert applied.err == (
        'segpub: error: other.json is not a segpub plan file (it has no "format": "segpub-plan");'
        " make one with `segpub plan CONFIG --out other.json`\n"
    )
    write(segpub.cwd / "broken.plan", "\x00\x01 not json")
    broken = segpub("apply", "broken.plan")
    assert broken.code == 1
    assert "broken.plan is not a segpub plan file (it is not JSON)" in broken.err
    assert _serial(segpub) == 1


def test_rules_are_checked_again_at_apply_time(segpub: Segpub) -> None:
    """A plan file rewritten with a fresh checksum still cannot bring in what the rules refuse."""
    workspace(segpub.cwd, published=2, unpublished=1)
    path = _saved(segpub, [(3, ["api"])])
    document = json.loads(path.read_text())
    change = document["plan"]["changes"][0]
    change["after"] = change["add"] = ["api", "sales_intelligence_legacy"]
    document["checksum"] = checksum(document)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    applied = segpub("--no-color", "apply", "segpub.plan")
    assert applied.code == 1
    assert (
        "publications.yaml:4:5: legacy_use: Segment 3 (3) cannot be published for"
        " sales_intelligence_legacy" in applied.out
    )
    assert applied.err == "segpub: the saved plan breaks the rules above; nothing was changed.\n"
    assert _serial(segpub) == 1


def test_an_invalid_plan_is_not_saved(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(2, ["sales_intelligence_legacy"])]))
    planned = segpub("plan", "publications.yaml", "--out", "segpub.plan")
    assert planned.code == 1
    assert planned.err == (
        "segpub: the plan breaks the rules; no plan file written to segpub.plan.\n"
    )
    assert not (segpub.cwd / "segpub.plan").exists()


def test_an_empty_saved_plan_applies_to_nothing(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    _saved(segpub, [(1, ["api"])])
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 0, applied.err
    assert applied.out == "No changes. Published: 1 of 200.\n"
    assert _serial(segpub) == 1


def test_targeting_belongs_to_plan_time_not_to_a_saved_plan(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1)
    _saved(segpub, [(3, ["api"]), (1, [])], "--target", "3")
    refused = segpub("apply", "segpub.plan", "--target", "1")
    assert refused.code == 64
    assert refused.err == (
        "segpub: error: --target and --exclude do not apply to a saved plan: segpub.plan is"
        " applied whole; give them to `segpub plan --out` instead\n"
    )
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 0, applied.err
    assert _published(segpub) == {"Segment 1": ["api"], "Segment 2": ["api"], "Segment 3": ["api"]}


def test_any_byte_changed_is_an_edit(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2)
    path = _saved(segpub, [(1, [])])
    path.write_text(path.read_text() + " ")
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 1
    assert "plan file segpub.plan was edited after it was made" in applied.err


def test_garbage_under_any_name_is_not_a_plan(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    write(segpub.cwd / "plan.out", "garbage\n")
    applied = segpub("apply", "plan.out")
    assert applied.code == 1
    assert applied.err.startswith("segpub: error: plan.out is not a segpub plan file")
