"""What the CI-facing command options do: saved plans, offline and GitHub-format validation.

Kept apart from the click commands so that publications.py and ci.py can both call them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import click

from reconciler import pipeline, planfile
from reconciler.actor import who
from reconciler.cli.app import Context
from reconciler.config import load_config
from reconciler.errors import EXIT_FAILURE, EXIT_OK, InputError, UsageError
from reconciler.model import Config, Plan, SegmentRefs, Violation
from reconciler.render import github as github_render
from reconciler.render import markdown as markdown_render
from reconciler.render import text as text_render
from reconciler.render.text import render_violations


def save_plan(
    out: str,
    made: Plan,
    config: Config,
    force: bool,
    targets: Sequence[str],
    excludes: Sequence[str],
) -> None:
    """Write `plan --out FILE` (only a valid plan is saved) and say so on stderr."""
    if not made.valid:
        click.echo(f"segpub: the plan breaks the rules; no plan file written to {out}.", err=True)
        return
    document = planfile.plan_document(
        made,
        scope_location=config.scope_location,
        force=force,
        max_unpublish_percent=pipeline.max_unpublish_percent(config),
        git_commit=pipeline.git_commit(config.path),
        targets=tuple(targets),
        excludes=tuple(excludes),
    )
    planfile.write_plan_file(out, document)
    click.echo(f"Saved this plan to {out}; apply exactly it with: segpub apply {out}", err=True)


def apply_saved_plan(
    obj: Context, path: str, force: bool, lock_timeout: float, targeting: Sequence[str] = ()
) -> int:
    """`segpub apply PLANFILE`: verify the file, lock, check it against the workspace, write it.

    No prompt: the plan was reviewed when it was made. Any refusal writes nothing."""
    if targeting:
        raise UsageError(
            f"--target and --exclude do not apply to a saved plan: {path} is applied whole;"
            " give them to `segpub plan --out` instead"
        )
    saved = planfile.load_plan_file(path)
    actor = who(obj.actor)
    with obj.open() as store:
        with store.writer_lock(actor, f"apply {path}", lock_timeout):
            changed = SegmentRefs.of(c.segment_id for c in saved.plan.changes)
            checked = planfile.check_against(saved, store.read_state(only=changed))
            click.echo(text_render.render_plan(checked, obj.color), nl=False)
            if not checked.valid:
                click.echo(
                    "segpub: the saved plan breaks the rules above; nothing was changed.",
                    err=True,
                )
                return EXIT_FAILURE
            planfile.enforce_safety_limit(checked, force or saved.force)
            if not checked.changes:
                return EXIT_OK
            entry = planfile.apply_checked(
                store,
                saved,
                checked,
                planfile.provenance_of(
                    saved, datetime.now(UTC).isoformat(timespec="seconds"), actor
                ),
            )
    assert entry is not None
    click.echo(f"Applied {path}. Workspace serial is now {entry.serial}.")
    return EXIT_OK


def load_config_for(path: str, fmt: str) -> Config | None:
    """The config; for the github and markdown formats, a config that cannot be read is shown in
    that format (annotations, a PR comment) and None returned, so CI shows why."""
    try:
        return load_config(path)
    except InputError as error:
        if fmt == "github":
            click.echo(github_render.render_violations(error.violations), nl=False)
        elif fmt == "markdown":
            click.echo(markdown_render.render_unreadable(path, error.violations), nl=False)
        else:
            raise
        click.echo(
            f"segpub: {len(error.violations)} problem(s) found in {path}; nothing was changed.",
            err=True,
        )
        return None


def validate_run(obj: Context, config: str, offline: bool, fmt: str) -> int:
    """`validate --offline` (schema and the file alone) and/or `validate --format github`."""
    try:
        parsed = load_config(config)
    except InputError as error:
        if fmt != "github":
            raise
        _report(list(error.violations), fmt, obj.color)
        return EXIT_FAILURE
    if offline:
        click.echo(
            f"{config} is valid (offline: schema and file only; no workspace read).",
            err=fmt == "github",
        )
        return EXIT_OK
    with obj.open() as store:
        made = pipeline.plan_workspace(store, parsed)
    _report(list(made.violations), fmt, obj.color)
    if not made.valid:
        return EXIT_FAILURE
    click.echo(
        f"{config} is valid: {len(made.changes)} change(s) against the workspace.",
        err=fmt == "github",
    )
    return EXIT_OK


def _report(violations: list[Violation], fmt: str, color: bool) -> None:
    if fmt == "github":
        click.echo(github_render.render_violations(violations), nl=False)
        return
    for line in render_violations(violations, color):
        click.echo(line, err=True)
