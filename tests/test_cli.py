"""Acceptance tests for the core commands: the real CLI on real files and a real workspace."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from reconciler.schema import schema_text
from tests.conftest import EXAMPLES, ROOT, run_process, write


@pytest.fixture
def example(tmp_path: Path, segpub):  # type: ignore[no-untyped-def]
    """The bundled example catalog imported into a fresh workspace; configs copied beside it."""
    shutil.copy(EXAMPLES / "catalog.yaml", tmp_path / "catalog.yaml")
    shutil.copy(EXAMPLES / "publications.yaml", tmp_path / "publications.yaml")
    imported = segpub("catalog", "import", "catalog.yaml")
    assert imported.code == 0, imported.err
    return segpub


def test_example_plan_text(example) -> None:  # type: ignore[no-untyped-def]
    result = example("--no-color", "plan", "publications.yaml")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        "Plan: 1 to publish, 3 to update, 2 to unpublish. Published: 29 -> 28 of 30."
    )
    assert "  + NA Mid-Market East (1006)\n      + gtm\n      + orchestration\n" in result.out


def test_plan_json_follows_the_shipped_schema(example) -> None:  # type: ignore[no-untyped-def]
    result = example("plan", "publications.yaml", "--format", "json")
    assert result.code == 0
    plan = json.loads(result.out)
    jsonschema.validate(plan, json.loads(schema_text("plan")))
    assert plan["summary"] == {
        "publish": 1,
        "update": 3,
        "unpublish": 2,
        "published_before": 29,
        "published_after": 28,
        "cap": 30,
    }
    assert plan["valid"] is True
    assert plan["workspace"]["serial"] == 1
    first = plan["changes"][0]
    assert set(first) == {
        "action",
        "segment_id",
        "segment_name",
        "before",
        "after",
        "add",
        "remove",
    }


def test_detailed_exitcode(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert example("plan", "publications.yaml", "--detailed-exitcode").code == 2
    assert example("plan", "publications.yaml").code == 0
    write(tmp_path / "bad.yaml", "version: 1\npublications:\n  - name: Nope\n    uses: [api]\n")
    assert example("plan", "bad.yaml", "--detailed-exitcode").code == 1


def test_apply_then_plan_is_empty_and_serial_moves_once(example) -> None:  # type: ignore[no-untyped-def]
    applied = example("apply", "publications.yaml", "--auto-approve")
    assert applied.code == 0, applied.err
    assert applied.out.splitlines()[-1] == "Applied. Workspace serial is now 2."
    again = example("--no-color", "plan", "publications.yaml", "--detailed-exitcode")
    assert again.code == 0
    assert again.out == "No changes. Published: 28 of 30.\n"
    noop = example("apply", "publications.yaml", "--auto-approve")
    assert noop.code == 0
    status = json.loads(example("status", "--format", "json").out)
    assert status["serial"] == 2
    assert status["published"] == 28
    assert status["cap"] == 30
    assert status["per_use"]["gtm"] == 9


def test_apply_without_a_terminal_refuses(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "catalog.yaml", tmp_path)
    shutil.copy(EXAMPLES / "publications.yaml", tmp_path)
    assert run_process(["catalog", "import", "catalog.yaml"], tmp_path).code == 0
    result = run_process(["apply", "publications.yaml"], tmp_path, input_text="yes\n")
    assert result.code == 1
    assert "refusing to apply without confirmation" in result.err
    assert "--auto-approve" in result.err
    status = json.loads(run_process(["status", "--format", "json"], tmp_path).out)
    assert status["serial"] == 1


def test_apply_with_violations_writes_nothing(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(
        tmp_path / "bad.yaml",
        "version: 1\npublications:\n  - name: Old Campaign\n    uses: []\n"
        "  - name: Manufacturing\n    uses: []\n",
    )
    result = example("--no-color", "apply", "bad.yaml", "--auto-approve")
    assert result.code == 1
    assert "bad.yaml:5:5: gtm_locked: Manufacturing (1012)" in result.out
    assert "nothing was changed" in result.err
    history = json.loads(example("history", "--format", "json").out)
    assert [h["kind"] for h in history] == ["import"]


def test_export_plans_to_no_changes(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert example("apply", "publications.yaml", "--auto-approve").code == 0
    exported = example("export")
    assert exported.code == 0
    write(tmp_path / "current.yaml", exported.out)
    assert "scope: full" in exported.out
    assert "- id: 1023" in exported.out  # "Target Accounts" is not a unique name
    planned = example("plan", "current.yaml", "--format", "json")
    assert planned.code == 0, planned.err
    assert json.loads(planned.out)["changes"] == []
    as_json = example("export", "--format", "json")
    write(tmp_path / "current.json", as_json.out)
    assert json.loads(example("plan", "current.json", "--format", "json").out)["changes"] == []


def test_history_records_actor_command_source_and_changes(example) -> None:  # type: ignore[no-untyped-def]
    assert example("--actor", "alice", "apply", "publications.yaml", "--auto-approve").code == 0
    history = json.loads(example("history", "--format", "json").out)
    last = history[-1]
    assert last["actor"] == "alice"
    assert last["kind"] == "apply"
    assert last["source"]["path"] == "publications.yaml"
    assert len(last["source"]["sha256"]) == 64
    assert last["serial"] == 2
    assert {c["segment_id"] for c in last["changes"]} == {1062, 1061, 1060, 1001, 1023, 1006}
    text = example("history").out
    assert (
        "#2" in text
        and "alice" in text
        and "publish NA Mid-Market East (1006): +gtm +orchestration" in text
    )


def test_actor_falls_back_to_segpub_actor(example) -> None:  # type: ignore[no-untyped-def]
    assert example("apply", "publications.yaml", "--auto-approve").code == 0
    assert json.loads(example("history", "--format", "json").out)[-1]["actor"] == "tester"


def test_import_is_idempotent_and_reimport_leaves_serial(example) -> None:  # type: ignore[no-untyped-def]
    again = example("catalog", "import", "catalog.yaml")
    assert again.code == 0
    assert "0 created, 0 updated, 36 unchanged, 0 publications set (serial unchanged)" in again.out
    assert json.loads(example("status", "--format", "json").out)["serial"] == 1


def test_import_warns_about_platform_state_that_breaks_rules(segpub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(
        tmp_path / "cat.yaml",
        "settings: {cap: 1}\nsegments:\n"
        "  - {id: 1, name: A, created_via: filters, published_uses: [gtm]}\n"
        "  - {id: 2, name: B, created_via: filters, published_uses: [api]}\n",
    )
    result = segpub("--no-color", "catalog", "import", "cat.yaml")
    assert result.code == 0
    assert "cap_exceeded: the workspace has 2 segments published, over the cap of 1" in result.err
    assert (
        "cat.yaml:3:5: gtm_ineligible: A (1) is published for gtm but is not eligible" in result.err
    )


def test_catalog_errors_name_file_line_and_column(segpub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(
        tmp_path / "cat.yaml",
        "segments:\n  - {id: 1, name: A, created_via: magic}\n"
        "  - {id: 1, name: B, created_via: filters}\n",
    )
    result = segpub("--no-color", "catalog", "import", "cat.yaml")
    assert result.code == 1
    assert "cat.yaml:2:35: schema: $.segments[0].created_via: 'magic' is not one of" in result.err
    assert "Traceback" not in result.err


def test_usage_errors_exit_64(segpub) -> None:  # type: ignore[no-untyped-def]
    assert segpub("plan").code == 64
    assert segpub("plan", "x.yaml", "--bogus").code == 64
    assert segpub("no-such-command").code == 64
    assert segpub("plan", "x.yaml", "--format", "xml").code == 64


def test_missing_config_is_a_clear_error(segpub) -> None:  # type: ignore[no-untyped-def]
    result = segpub("plan", "missing.yaml")
    assert result.code == 1
    assert "missing.yaml" in result.err
    assert "Traceback" not in result.err


def test_internal_error_exits_3_with_one_line_and_a_log(
    example,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from reconciler import pipeline

    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "make_plan", broken)
    result = example("plan", "publications.yaml")
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("segpub: internal error (ZeroDivisionError); details written to ")
    log = Path(lines[0].split("details written to ")[1].split(". Please")[0])
    assert "ZeroDivisionError: a bug" in log.read_text()
    log.unlink()


def test_a_file_that_is_not_a_workspace_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "segpub.db").write_bytes(b"this is not a database" * 100)
    result = run_process(["status"], tmp_path)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "segpub.db" in result.err


def test_python_dash_m_and_console_script_agree(tmp_path: Path) -> None:
    module = run_process(["--version"], tmp_path)
    assert module.code == 0
    assert module.out.startswith("segpub, version ")


def test_no_color_and_workspace_env(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "catalog.yaml", tmp_path)
    shutil.copy(EXAMPLES / "publications.yaml", tmp_path)
    env = {"SEGPUB_WORKSPACE": f"sqlite:///{tmp_path / 'ws.db'}", "NO_COLOR": "1"}
    assert run_process(["catalog", "import", "catalog.yaml"], tmp_path, env).code == 0
    assert (tmp_path / "ws.db").exists()
    assert not (tmp_path / "segpub.db").exists()
    planned = run_process(["plan", "publications.yaml"], tmp_path, env)
    assert "\x1b[" not in planned.out


@pytest.mark.sqlite_only  # looks inside the SQLite file
def test_apply_is_one_transaction_in_wal_mode(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert example("apply", "publications.yaml", "--auto-approve").code == 0
    with sqlite3.connect(tmp_path / "segpub.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        serials = [r[0] for r in db.execute("SELECT serial FROM history ORDER BY serial")]
    assert serials == [1, 2]


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    import click

    from reconciler.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        found = []
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, f"`segpub {prefix} {name}` is listed but not found"
            full = f"{prefix} {name}".strip()
            if isinstance(command, click.Group):
                found.extend(walk(command, full))
            else:
                found.append((full, command))
        return found

    for name, command in walk(cli, ""):
        assert command.help, f"`segpub {name}` has no help"
        assert "Example:" in command.help, f"`segpub {name}` help has no Example: block"
        assert f"segpub {name}" in readme, f"`segpub {name}` is not in README.md"


def _apply_on_a_terminal(folder: Path, answer: str) -> tuple[int, str]:
    """Run `segpub apply` with a real pseudo-terminal as stdin and type `answer` at the prompt."""
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "publications.yaml"],
        cwd=folder,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    os.write(master, answer.encode() + b"\n")
    out, err = process.communicate(timeout=60)
    os.close(master)
    return process.returncode, out + err


@pytest.mark.parametrize(("answer", "code", "serial"), [("yes", 0, 2), ("y", 1, 1)])
def test_apply_on_a_terminal_asks_and_only_yes_applies(
    tmp_path: Path, answer: str, code: int, serial: int
) -> None:
    shutil.copy(EXAMPLES / "catalog.yaml", tmp_path)
    shutil.copy(EXAMPLES / "publications.yaml", tmp_path)
    assert run_process(["catalog", "import", "catalog.yaml"], tmp_path).code == 0
    returned, output = _apply_on_a_terminal(tmp_path, answer)
    assert returned == code, output
    assert "Apply these changes? Only 'yes' will be accepted" in output
    status = json.loads(run_process(["status", "--format", "json"], tmp_path).out)
    assert status["serial"] == serial


def test_the_lazy_command_table_names_each_command_s_own_module() -> None:
    import importlib

    from reconciler.cli.app import COMMAND_MODULES, cli

    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"reconciler.cli.{module}")
    assert set(cli.commands) == set(COMMAND_MODULES)
    for name, command in cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"reconciler.cli.{COMMAND_MODULES[name]}", name


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import sys\nfrom reconciler.cli import main\n"
        "try:\n    main(['schema', 'catalog'])\nexcept SystemExit:\n    pass\n"
        "from reconciler.cli.app import COMMAND_MODULES\n"
        "print(sorted(m for m in set(COMMAND_MODULES.values()) if f'reconciler.cli.{m}' in"
        " sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines()[-1] == "['ci']"


def test_a_mistyped_command_is_a_usage_error_that_suggests_the_command(segpub) -> None:  # type: ignore[no-untyped-def]
    result = segpub("plna", "publications.yaml")
    assert result.code == 64
    assert "No such command 'plna'. Did you mean 'plan'?" in result.err
    unknown = segpub("deploy")
    assert unknown.code == 64 and "No such command 'deploy'." in unknown.err
    assert "Did you mean" not in unknown.err
