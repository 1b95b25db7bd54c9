"""CI-facing commands through the real CLI: annotations, offline validation, schemas, publish and
unpublish, drift, targeting, history show, the actor, and the CI files in examples/."""

from __future__ import annotations

import json
import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import cli
from reconciler.schema import schema_text
from tests.ci_support import config_text, workspace
from tests.conftest import Segpub, run_in_process, write

ROOT = Path(__file__).resolve().parent.parent


# -- GitHub annotations -------------------------------------------------------------------------


def test_validate_format_github_prints_one_annotation_per_violation(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    write(
        segpub.cwd / "publications.yaml",
        config_text([(2, ["sales_intelligence_legacy"]), (900, ["gtm"])]),
    )
    validated = segpub("validate", "publications.yaml", "--format", "github")
    assert validated.code == 1
    assert validated.out == (
        "::error file=publications.yaml,line=4,col=5,title=legacy_use::Segment 2 (2) cannot be"
        " published for sales_intelligence_legacy: the legacy Sales Intelligence use can be kept"
        " or removed where it exists, never added; remove it from this entry\n"
        "::error file=publications.yaml,line=6,col=5,title=gtm_ineligible::Dynamic (900) cannot"
        " be published for gtm: it was created via filters (a dynamic segment) and it uses the"
        " filter 'Intent Keyword'. GTM segments must be created by account list upload, CRM"
        " report sync or CRM list sync, with no filters other than 'Account Profile Fit',"
        " 'Accounts in Salesforce Report', 'Salesforce Account List', 'Uploaded Account List';"
        " remove gtm from this entry\n"
    )


def test_schema_errors_as_annotations_offline(tmp_path: Path) -> None:
    write(tmp_path / "publications.yaml", "version: 1\npublications:\n  - id: 1\n    uses: [crm]\n")
    validated = run_in_process(
        ["validate", "--offline", "--format", "github", "publications.yaml"], tmp_path
    )
    assert validated.code == 1
    assert validated.out == (
        "::error file=publications.yaml,line=4,col=12,title=schema::$.publications[0].uses[0]:"
        " 'crm' is not one of: data_workflows, orchestration, account_details, gtm, api,"
        " sales_intelligence_legacy\n"
    )
    assert not (tmp_path / "segpub.db").exists()


def test_plan_format_github(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(2, ["api"])]))
    planned = segpub("plan", "publications.yaml", "--format", "github")
    assert planned.code == 0
    assert planned.out == (
        "::notice title=segpub plan::Plan: 1 to publish, 0 to update, 0 to unpublish."
        " Published: 1 -> 2 of 200.\n"
    )


def test_annotation_escaping() -> None:
    from reconciler.model import Violation
    from reconciler.render.github import annotation

    v = Violation("schema", "50% off\nnext", None, None, "a,b:c.yaml", 1, 2)
    assert annotation(v) == (
        "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=schema::50%25 off%0Anext"
    )


# -- validate --offline, schema -----------------------------------------------------------------


def test_validate_offline_needs_no_workspace(tmp_path: Path) -> None:
    write(tmp_path / "publications.yaml", config_text([(12345, ["api"])]))
    validated = run_in_process(["validate", "--offline", "publications.yaml"], tmp_path)
    assert validated.code == 0, validated.err
    assert validated.out == (
        "publications.yaml is valid (offline: schema and file only; no workspace read).\n"
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "publications.yaml"]


@pytest.mark.parametrize("name", ["publications", "catalog", "plan"])
def test_schema_command_prints_the_shipped_schema(tmp_path: Path, name: str) -> None:
    printed = run_in_process(["schema", name], tmp_path)
    assert printed.code == 0
    assert printed.out == schema_text(name)
    assert json.loads(printed.out)["$schema"].startswith("https://json-schema.org/")


def test_schema_defaults_to_publications_and_refuses_others(tmp_path: Path) -> None:
    assert run_in_process(["schema"], tmp_path).out == schema_text("publications")
    assert run_in_process(["schema", "nope"], tmp_path).code == 64


def test_plan_json_follows_the_plan_schema(segpub: Segpub) -> None:
    import jsonschema

    workspace(segpub.cwd, published=12)
    assert segpub("unpublish", "2").code == 0
    write(segpub.cwd / "publications.yaml", config_text([(i, []) for i in range(3, 8)]))
    data = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    jsonschema.validate(data, json.loads(schema_text("plan")))
    assert data["warnings"][0]["rule"] == "safety_limit"
    assert data["drift"][0]["kind"] == "unpublish"


def test_example_configs_point_editors_at_the_schemas() -> None:
    for name, schema in (("publications", "publications"), ("catalog", "catalog")):
        first = (ROOT / "examples" / f"{name}.yaml").read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, first
        assert (ROOT / "examples" / match.group(1)).resolve() == (
            ROOT / "reconciler" / "schemas" / f"{schema}.schema.json"
        )


# -- publish / unpublish, drift ---------------------------------------------------------------


def test_publish_and_unpublish_are_recorded_as_outside_a_config(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1)
    published = segpub("publish", "Segment 3", "--use", "api", "--use", "account_details")
    assert published.code == 0, published.err
    assert published.out.startswith(
        "Published Segment 3 (3): +account_details +api. Workspace serial is now 2."
    )
    removed = segpub("unpublish", "1")
    assert removed.code == 0, removed.err
    partial = segpub("unpublish", "3", "--use", "api")
    assert partial.code == 0
    again = segpub("unpublish", "1")
    assert again.out == "Nothing to change: segment 1 already is as asked.\n"
    entries = json.loads(segpub("history", "--format", "json").out)
    assert [(e["serial"], e["kind"], e["command"]) for e in entries[1:]] == [
        (2, "publish", "publish 'Segment 3' --use api --use account_details"),
        (3, "unpublish", "unpublish 1"),
        (4, "unpublish", "unpublish 3 --use api"),
    ]
    assert all(e["source"]["path"] is None for e in entries[1:])
    shown = segpub("history", "show", "3")
    assert shown.out == (
        f"#3  {entries[2]['at']}  tester  unpublish (unpublish 1)\n"
        "    source: made outside a config (segpub unpublish 1)\n"
        "    Unpublish: Segment 1 (1) -api, made outside a config.\n"
        "      unpublish Segment 1 (1): -api\n"
    )


def test_publish_obeys_the_rules(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1, cap=2, gtm_locked=(2,))
    over_cap = segpub("publish", "3", "--use", "api")
    assert over_cap.code == 1
    assert (
        "cap_exceeded: publishing Segment 3 (3) would leave 3 segments published, over the"
        " cap of 2 by 1" in over_cap.err
    )
    dynamic = segpub("publish", "Dynamic", "--use", "gtm")
    assert dynamic.code == 1
    assert "gtm_ineligible: Dynamic (900) cannot be published for gtm" in dynamic.err
    legacy = segpub("publish", "1", "--use", "sales_intelligence_legacy")
    assert legacy.code == 1
    assert (
        "legacy_use: Segment 1 (1) cannot be published for sales_intelligence_legacy" in legacy.err
    )
    locked = segpub("unpublish", "2")
    assert locked.code == 1
    assert "gtm_locked: Segment 2 (2) is a GTM segment used by Custom 6QA 'Model 2'" in locked.err
    unknown = segpub("publish", "Segmnt 1", "--use", "api")
    assert unknown.code == 1
    assert unknown.err.startswith(
        "segpub: error: segment 'Segmnt 1': no segment has that id or name; did you mean"
    )
    assert segpub("publish", "1").code == 64  # --use is required
    assert json.loads(segpub("status", "--format", "json").out)["serial"] == 1


def test_plan_lists_drift_since_the_last_apply_and_reverts_it(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(1, ["api"]), (2, ["api"])]))
    assert segpub("apply", "publications.yaml", "--auto-approve").code == 0
    assert segpub("unpublish", "2").code == 0
    assert segpub("publish", "3", "--use", "gtm").code == 0
    planned = segpub("--no-color", "plan", "publications.yaml", "--detailed-exitcode")
    assert planned.code == 2
    at = [e["at"] for e in json.loads(segpub("history", "--format", "json").out)]
    assert planned.out == (
        "Changed outside segpub since the last apply:\n"
        f"  #2 {at[1]} tester unpublish Segment 2 (2): -api\n"
        f"  #3 {at[2]} tester publish Segment 3 (3): +gtm\n"
        "  (the plan below reverts those the config manages, like any other difference)\n"
        "\n"
        "  + Segment 2 (2)\n"
        "      + api\n"
        "\n"
        "Plan: 1 to publish, 0 to update, 0 to unpublish. Published: 2 -> 3 of 200.\n"
    )
    data = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    assert [(d["serial"], d["kind"]) for d in data["drift"]] == [(2, "unpublish"), (3, "publish")]
    assert segpub("apply", "publications.yaml", "--auto-approve").code == 0
    after = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    assert after["drift"] == []


# -- targeting ----------------------------------------------------------------------------------


def test_target_and_exclude_limit_the_plan(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=3, unpublished=2)
    write(segpub.cwd / "publications.yaml", config_text([(1, []), (4, ["api"]), (5, ["api"])]))
    targeted = json.loads(
        segpub(
            "plan",
            "publications.yaml",
            "--format",
            "json",
            "--target",
            "4",
            "--target",
            "Segment 1",
        ).out
    )
    assert [c["segment_id"] for c in targeted["changes"]] == [1, 4]
    excluded = json.loads(
        segpub("plan", "publications.yaml", "--format", "json", "--exclude", "1").out
    )
    assert [c["segment_id"] for c in excluded["changes"]] == [4, 5]
    applied = segpub("apply", "publications.yaml", "--auto-approve", "--target", "5")
    assert applied.code == 0, applied.err
    rest = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    assert [c["segment_id"] for c in rest["changes"]] == [1, 4]


def test_rules_still_see_the_whole_workspace_when_targeting(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=3, unpublished=1, cap=3)
    write(segpub.cwd / "publications.yaml", config_text([(1, []), (4, ["api"])]))
    whole = segpub("plan", "publications.yaml")
    assert whole.code == 0
    # Without the unpublish of 1, publishing 4 goes over the cap, which counts every segment.
    targeted = segpub("--no-color", "plan", "publications.yaml", "--target", "4")
    assert targeted.code == 1
    assert (
        "cap_exceeded: publishing Segment 4 (4) would leave 4 segments published, over the"
        " cap of 3 by 1" in targeted.out
    )


def test_an_unknown_target_is_an_error(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    write(segpub.cwd / "publications.yaml", config_text([(1, [])]))
    planned = segpub("plan", "publications.yaml", "--target", "77")
    assert planned.code == 1
    assert planned.err.startswith("segpub: error: --target '77': no segment has that id or name")


# -- history, actor -----------------------------------------------------------------------------


def test_history_show_of_a_missing_serial(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    missing = segpub("history", "show", "9")
    assert missing.code == 1
    assert missing.err == (
        "segpub: error: no change made serial 9; `segpub history` lists the changes recorded\n"
    )


@pytest.mark.parametrize(
    ("args", "env", "actor"),
    [
        (["--actor", "dana"], {"SEGPUB_ACTOR": "sam", "GITHUB_ACTOR": "gh"}, "dana"),
        ([], {"SEGPUB_ACTOR": "sam", "GITHUB_ACTOR": "gh"}, "sam"),
        ([], {"SEGPUB_ACTOR": "", "GITHUB_ACTOR": "octocat"}, "octocat"),
        ([], {"SEGPUB_ACTOR": "", "GITLAB_USER_LOGIN": "tanuki"}, "tanuki"),
    ],
)
def test_the_actor(
    segpub: Segpub,
    args: list[str],
    env: dict[str, str],
    actor: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "CIRCLE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    workspace(segpub.cwd, published=1, unpublished=1)
    assert segpub(*args, "publish", "2", "--use", "api", env=env).code == 0
    shown = json.loads(segpub("history", "show", "2", "--format", "json").out)
    assert shown["actor"] == actor


# -- the CI files -------------------------------------------------------------------------------

GLOBAL_OPTIONS_WITH_VALUE = {"--workspace", "--actor"}
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "&", "(", ")"}


def _segpub_invocations(script: str) -> list[list[str]]:
    """Every `segpub ...` command in a shell script, as its arguments."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            at_command = i == 0 or tokens[i - 1] in SHELL_OPERATORS | {"then", "do", "!"}
            if token == "-c" and i > 0 and tokens[i - 1] in ("sh", "bash") and i + 1 < len(tokens):
                found.extend(_segpub_invocations(tokens[i + 1]))
            if token == "segpub" and at_command:
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in SHELL_OPERATORS:
                        break
                    args.append(arg)
                found.append(args)
    return found


def _unparsed(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args, 9.0 folds it in args
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _check_invocation(args: list[str]) -> None:
    """Parse `args` against the real click command tree (raises on an unknown command/option)."""
    ctx = cli.make_context("segpub", list(args), resilient_parsing=False)
    command: click.Command = cli
    rest = _unparsed(ctx)
    while isinstance(command, click.Group) and rest:
        name, rest = rest[0], rest[1:]
        sub = command.get_command(ctx, name)
        assert sub is not None, f"`segpub {' '.join(args)}`: no command {name!r}"
        ctx = sub.make_context(name, list(rest), parent=ctx)
        command = sub
        rest = _unparsed(ctx) if isinstance(sub, click.Group) else []
    assert command is not cli, f"`segpub {' '.join(args)}` names no command"


def _run_scripts(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if key in ("run", "script", "before_script", "after_script", "entry"):
                out.extend(value if isinstance(value, list) else [value])
            else:
                out.extend(_run_scripts(value))
        return [s for s in out if isinstance(s, str)]
    if isinstance(node, list):
        return [s for item in node for s in _run_scripts(item)]
    return []


def test_the_github_workflow_calls_only_segpub_commands_that_exist() -> None:
    workflow = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
    assert set(workflow["jobs"]) == {"plan", "apply", "drift"}
    invocations = [a for s in _run_scripts(workflow) for a in _segpub_invocations(s)]
    assert [a[0] for a in invocations] == ["validate", "plan", "apply", "plan"]
    for args in invocations:
        _check_invocation(args)
    assert ["apply", "segpub.plan", "--lock-timeout", "300"] in invocations
    assert ["plan", "$SEGPUB_CONFIG", "--detailed-exitcode"] in invocations
    steps = workflow["jobs"]["plan"]["steps"]
    script = next(s["with"]["script"] for s in steps if "github-script" in s.get("uses", ""))
    assert "updateComment" in script and "createComment" in script  # updated, not duplicated
    assert any("upload-artifact" in s.get("uses", "") for s in steps)


def test_the_gitlab_pipeline_and_pre_commit_hook_call_only_segpub_commands_that_exist() -> None:
    for path in ("examples/ci/gitlab-ci.yml", ".pre-commit-hooks.yaml"):
        document = yaml.safe_load((ROOT / path).read_text())
        invocations = [a for s in _run_scripts(document) for a in _segpub_invocations(s)]
        assert invocations, path
        for args in invocations:
            _check_invocation(args)


def test_an_unknown_command_fails_the_check() -> None:
    with pytest.raises(click.UsageError):
        _check_invocation(["plan", "x.yaml", "--no-such-flag"])
    with pytest.raises(AssertionError):
        _check_invocation(["deploy", "x.yaml"])


def test_plan_in_ci_formats_shows_an_unreadable_config_in_that_format(tmp_path: Path) -> None:
    write(tmp_path / "publications.yaml", "version: 2\npublications: []\n")
    github = run_in_process(["plan", "publications.yaml", "--format", "github"], tmp_path)
    assert github.code == 1
    assert github.out == (
        "::error file=publications.yaml,line=1,col=10,title=schema::$.version: must be 1, not 2\n"
    )
    markdown = run_in_process(["plan", "publications.yaml", "--format", "markdown"], tmp_path)
    assert markdown.code == 1
    assert markdown.out == (
        "### No plan: `publications.yaml` could not be read\n\n"
        "- `publications.yaml:1:10` **schema**: $.version: must be 1, not 2\n"
    )
    text = run_in_process(["plan", "publications.yaml"], tmp_path)
    assert text.code == 1 and text.out == ""
