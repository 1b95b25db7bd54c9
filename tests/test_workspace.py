"""`segpub workspace init|copy` and `segpub users`, through the real CLI on both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests import pg
from tests.conftest import EXAMPLES, run_in_process


@pytest.fixture
def example(tmp_path: Path, segpub):  # type: ignore[no-untyped-def]
    for name in ("catalog.yaml", "publications.yaml", "accounts.csv", "members.csv", "records.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    assert segpub("catalog", "import", "catalog.yaml").code == 0
    return segpub


def test_init_is_idempotent(segpub) -> None:  # type: ignore[no-untyped-def]
    first = segpub("workspace", "init")
    assert first.code == 0, first.err
    again = segpub("workspace", "init")
    assert again.code == 0
    assert "already up to date (schema version 2); lineage " in again.out
    assert again.out.endswith(", serial 0.\n")


def test_no_users_means_everyone_may_apply(example) -> None:  # type: ignore[no-untyped-def]
    listed = example("users", "list")
    assert listed.out == "No users: everyone may apply, publish, unpublish and import.\n"
    assert example("apply", "publications.yaml", "--auto-approve").code == 0


def test_marketing_may_not_publish(example) -> None:  # type: ignore[no-untyped-def]
    assert example("users", "set", "alice", "--role", "primary_admin").out == (
        "alice is now primary_admin.\n"
    )
    assert example("users", "set", "tester", "--role", "marketing").code == 0
    refused = example("apply", "publications.yaml", "--auto-approve")
    assert refused.code == 1
    assert "segpub: error: tester (role marketing) may not publish segments;" in refused.err
    assert json.loads(example("status", "--format", "json").out)["serial"] == 1
    imported = example("catalog", "import", "catalog.yaml")  # unchanged catalog: no write
    assert imported.code == 0
    changed = example("--actor", "carol", "publish", "1006", "--use", "api")
    assert changed.code == 1
    assert "carol (role none) may not publish segments; carol is not a user" in changed.err
    assert example("users", "set", "tester", "--role", "operations").out == (
        "tester is now operations (was marketing).\n"
    )
    assert example("apply", "publications.yaml", "--auto-approve").code == 0
    assert example("users", "list").out == "alice   primary_admin\ntester  operations\n"


def test_view_only_may_still_look(example) -> None:  # type: ignore[no-untyped-def]
    assert example("users", "set", "tester", "--role", "view_only").code == 0
    for args in (["plan", "publications.yaml"], ["status"], ["export"], ["history"]):
        assert example(*args).code == 0, args


def test_unknown_role_is_a_usage_error(segpub) -> None:  # type: ignore[no-untyped-def]
    result = segpub("users", "set", "alice", "--role", "owner")
    assert result.code == 64
    assert "'owner' is not one of 'primary_admin', 'admin', 'operations'" in result.err


def _copy_round_trip(example, tmp_path: Path, target: str) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ["accounts", "import", "accounts.csv"],
        ["members", "import", "members.csv"],
        ["records", "import", "records.csv"],
        ["users", "set", "tester", "--role", "admin"],
        ["apply", "publications.yaml", "--auto-approve"],
    ):
        done = example(*args)
        assert done.code == 0, (args, done.err)
    copied = example("workspace", "copy", example.workspace, target)
    assert copied.code == 0, copied.err
    lines = copied.out.splitlines()
    assert lines[0].startswith("Copied ") and lines[-1].startswith("Verified: lineage ")
    tables = {line.split()[0]: int(line.split()[1]) for line in lines[1:-1]}
    assert tables["segments"] == 36 and tables["history"] == 2 and tables["users"] == 1
    assert tables["members"] > 0 and tables["accounts"] > 0 and tables["records"] > 0
    assert all(line.endswith("  ok") for line in lines[1:-1])
    source_status = json.loads(example("status", "--format", "json").out)
    target_status = json.loads(example("--workspace", target, "status", "--format", "json").out)
    for key in ("lineage", "serial", "published"):
        assert target_status[key] == source_status[key], key
    planned = example("--workspace", target, "plan", "publications.yaml", "--detailed-exitcode")
    assert planned.code == 0, planned.out + planned.err
    assert planned.out.splitlines()[-1].startswith("No changes.")
    assert (
        example("--workspace", target, "history", "--format", "json").out
        == example("history", "--format", "json").out
    )
    again = example("workspace", "copy", example.workspace, target)
    assert again.code == 1
    assert "is not empty (" in again.err and "nothing there is overwritten" in again.err


def test_copy_to_postgres_then_plan_shows_no_changes(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pg.fresh_workspace(init=False) as target:
        _copy_round_trip(example, tmp_path, target)


def test_copy_to_sqlite(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _copy_round_trip(example, tmp_path, str(tmp_path / "copy.db"))


def test_copy_from_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    result = run_in_process(["workspace", "copy", "nothere.db", "copy.db"], tmp_path)
    assert result.code == 1
    assert "workspace nothere.db does not exist; nothing to copy" in result.err
    assert not (tmp_path / "nothere.db").exists() and not (tmp_path / "copy.db").exists()
