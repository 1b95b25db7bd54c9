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
    imported = example("catalog", "import", "catalog.yaml")  # refused even though unchanged
    assert imported.code == 1
    assert "segpub: error: tester (role marketing) may not publish segments;" in imported.err
    for kind in ("accounts", "members", "records"):
        csv_import = example(kind, "import", f"{kind}.csv")
        assert csv_import.code == 1, kind
        assert "tester (role marketing) may not publish segments" in csv_import.err
    no_op = example("export")
    (example.cwd / "current.yaml").write_text(no_op.out)
    refused = example("apply", "current.yaml", "--auto-approve")  # even one with no changes
    assert refused.code == 1 and "may not publish segments" in refused.err
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


# -- the case corpus on PostgreSQL (tests/test_cases.py runs it on SQLite) -----------------------

CASES = Path(__file__).resolve().parent / "cases"


def _cases(kind: str) -> list[str]:
    return sorted(p.name for p in (CASES / kind).iterdir() if p.is_dir())


@pytest.mark.parametrize("case", _cases("valid"))
def test_valid_case_on_postgres_plans_as_expected_then_applies(case: str, tmp_path: Path) -> None:
    folder = tmp_path / case
    shutil.copytree(CASES / "valid" / case, folder)
    with pg.fresh_workspace() as location:
        env = {"SEGPUB_WORKSPACE": location}
        assert run_in_process(["catalog", "import", "catalog.yaml"], folder, env).code == 0
        planned = run_in_process(["--no-color", "plan", "publications.yaml"], folder, env)
        assert planned.code == 0, planned.out + planned.err
        assert planned.out == (folder / "expected.txt").read_text(encoding="utf-8")
        applied = run_in_process(["apply", "publications.yaml", "--auto-approve"], folder, env)
        assert applied.code == 0, applied.out + applied.err
        again = run_in_process(["plan", "publications.yaml", "--format", "json"], folder, env)
        assert json.loads(again.out)["changes"] == []


@pytest.mark.parametrize("case", _cases("invalid"))
def test_invalid_case_on_postgres_reports_the_expected_violations(
    case: str, tmp_path: Path
) -> None:
    folder = tmp_path / case
    shutil.copytree(CASES / "invalid" / case, folder)
    with pg.fresh_workspace() as location:
        env = {"SEGPUB_WORKSPACE": location}
        assert run_in_process(["catalog", "import", "catalog.yaml"], folder, env).code == 0
        validated = run_in_process(["--no-color", "validate", "publications.yaml"], folder, env)
        assert validated.code == 1
        reported = [line.strip() for line in validated.err.splitlines() if line.startswith("  ")]
        assert reported == (folder / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_a_crash_log_never_shows_the_password(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "import reconciler.cli.app as app\n"
        "def broken(self):\n"
        "    raise ZeroDivisionError('a bug near ' + sys.argv[2])\n"
        "app.Context.open = broken\n"
        "sys.argv = ['segpub', *sys.argv[1:]]\n"
        "from reconciler.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    url = "postgresql://ci:s3cret@db.invalid:5432/x?workspace=a"
    done = subprocess.run(
        [sys.executable, "-c", code, "--workspace", url, "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 3, done.stderr
    log = Path(done.stderr.split("details written to ")[1].split(". Please")[0])
    text = log.read_text()
    log.unlink()
    assert "s3cret" not in text and "s3cret" not in done.stderr
    assert "postgresql://ci:***@db.invalid:5432/x?workspace=a" in text
