"""Commands over publications: catalog import, validate, plan, apply, export, status, history."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import click
import yaml

from reconciler import pipeline
from reconciler.actor import who
from reconciler.cli import runs
from reconciler.cli.app import Context, cli, lock_timeout_option
from reconciler.config import load_config
from reconciler.drift import OUTSIDE_KINDS, since_last_apply
from reconciler.errors import EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, RefusedError, SegpubError
from reconciler.planfile import enforce_safety_limit, looks_like_plan_file
from reconciler.render import github as github_render
from reconciler.render import json as json_render
from reconciler.render import markdown as markdown_render
from reconciler.render import report
from reconciler.render import text as text_render
from reconciler.render.text import render_violations
from reconciler.store.users import require_publisher

PLAN_RENDERERS = {"text": text_render.render_plan, "json": json_render.render_plan}
PLAN_RENDERERS.update(markdown=markdown_render.render_plan, github=github_render.render_plan)

TARGET_HELP = "Only this segment (id or unique name); repeatable. The rules still count all."
EXCLUDE_HELP = "Leave this segment (id or unique name) out; repeatable."
FORCE_HELP = "Allow an apply over the safety limit on unpublishes (config `safety:`)."


@cli.group()
def catalog() -> None:
    """The platform's segments: import them into the workspace."""


@catalog.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@lock_timeout_option
@click.pass_obj
def catalog_import(obj: Context, file: str, lock_timeout: float = 0) -> int:
    """Import the platform's segments (and their current publications) from a YAML or JSON FILE.

    Segments are upserted by id; each listed segment's `used_by` is replaced, and its
    `published_uses`, where given, becomes its current publication. Where the platform's state
    already breaks a rule, segpub warns and imports it all the same.

    Example:

        segpub catalog import examples/catalog.yaml
    """
    with (
        obj.open() as store,
        store.writer_lock(who(obj.actor), "catalog import", lock_timeout),
    ):
        result, warnings = pipeline.import_catalog(
            file, store, pipeline.provenance(obj.actor, "import", "catalog import")
        )
    for line in render_violations(warnings, obj.color):
        click.echo(line, err=True)
    serial = f"serial {result.entry.serial}" if result.entry else "serial unchanged"
    click.echo(
        f"Imported {file}: {result.created} created, {result.updated} updated,"
        f" {result.unchanged} unchanged, {result.publications_changed} publications set ({serial})."
    )
    return EXIT_OK


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--offline",
    is_flag=True,
    help="Check the schema and the file alone, without a workspace (for pre-commit).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: each violation as a GitHub Actions annotation.",
)
@click.pass_obj
def validate(obj: Context, config: str, offline: bool = False, fmt: str = "text") -> int:
    """Check CONFIG: its schema, the segments it names, and every rule against the workspace.

    Exit 0 when valid, 1 when not.

    Example:

    \b
        segpub validate examples/publications.yaml
        segpub validate --offline --format github examples/publications.yaml
    """
    if offline or fmt != "text":
        return runs.validate_run(obj, config, offline, fmt)
    parsed = load_config(config)
    with obj.open() as store:
        plan = pipeline.plan_workspace(store, parsed)
    for line in render_violations(plan.violations, obj.color):
        click.echo(line, err=True)
    if not plan.valid:
        return EXIT_FAILURE
    click.echo(f"{config} is valid: {len(plan.changes)} change(s) against the workspace.")
    return EXIT_OK


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(PLAN_RENDERERS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan is valid and has changes (0: no changes, 1: invalid).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    metavar="PLANFILE",
    help="Also save the plan to PLANFILE, for `segpub apply PLANFILE`.",
)
@click.option("--target", "targets", multiple=True, metavar="SEGMENT", help=TARGET_HELP)
@click.option("--exclude", "excludes", multiple=True, metavar="SEGMENT", help=EXCLUDE_HELP)
@click.option("--force", is_flag=True, help=FORCE_HELP + " Saved into --out.")
@click.pass_obj
def plan(
    obj: Context,
    config: str,
    fmt: str,
    detailed_exitcode: bool,
    out: str | None = None,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    force: bool = False,
) -> int:
    """Show what applying CONFIG would change, and every rule it breaks. Changes nothing.

    Exit 0 when the plan is valid, 1 when it has violations, and with --detailed-exitcode,
    2 when it is valid and has changes.

    Example:

        segpub plan examples/publications.yaml --format json
    """
    parsed = runs.load_config_for(config, fmt)
    if parsed is None:
        return EXIT_FAILURE
    with obj.open() as store:
        made = pipeline.plan_workspace(store, parsed, targets, excludes)
        outside = store.history(since_last_apply=True, kinds=OUTSIDE_KINDS)
        made = replace(made, drift=since_last_apply(outside))
    click.echo(PLAN_RENDERERS[fmt](made, obj.color and fmt == "text"), nl=False)
    if out:
        runs.save_plan(out, made, parsed, force, targets, excludes)
    if not made.valid:
        return EXIT_FAILURE
    if detailed_exitcode and made.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option("--target", "targets", multiple=True, metavar="SEGMENT", help=TARGET_HELP)
@click.option("--exclude", "excludes", multiple=True, metavar="SEGMENT", help=EXCLUDE_HELP)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@lock_timeout_option
@click.pass_obj
def apply(
    obj: Context,
    config: str,
    auto_approve: bool,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    force: bool = False,
    lock_timeout: float = 0,
) -> int:
    """Apply CONFIG: make the plan, show it, ask, then write it in one transaction.

    Uses are removed before any are added, so room under the cap is freed first. The change is
    recorded in history and bumps the workspace serial. Without a terminal, --auto-approve is
    required.

    CONFIG may instead be a plan file saved by `segpub plan CONFIG --out PLANFILE`: then exactly
    that plan is applied, without a prompt, and refused (nothing written) if it was made for
    another workspace, if the workspace changed since, if the file was edited, or if it breaks
    a rule now. Only one writer at a time: see --lock-timeout.

    Example:

    \b
        segpub apply examples/publications.yaml --auto-approve
        segpub apply plan.json
    """
    if looks_like_plan_file(config):
        return runs.apply_saved_plan(obj, config, force, lock_timeout, targets + excludes)
    parsed = load_config(config)
    with obj.open() as store, store.writer_lock(who(obj.actor), "apply", lock_timeout):
        require_publisher(store, who(obj.actor))  # roles: before any plan is shown
        made = pipeline.plan_workspace(store, parsed, targets, excludes)
        click.echo(text_render.render_plan(made, obj.color), nl=False)
        if not made.valid:
            click.echo("segpub: the plan breaks the rules above; nothing was changed.", err=True)
            return EXIT_FAILURE
        enforce_safety_limit(made, force)
        if not made.has_changes:
            return EXIT_OK
        if not auto_approve:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "refusing to apply without confirmation: no terminal to ask on;"
                    " review the plan and pass --auto-approve"
                )
            answer = click.prompt(
                "Apply these changes? Only 'yes' will be accepted",
                default="",
                err=True,
                show_default=False,
            )
            if answer != "yes":
                click.echo("Apply cancelled; nothing was changed.", err=True)
                return EXIT_FAILURE
        entry = pipeline.apply_plan(
            store, made, pipeline.provenance(obj.actor, "apply", "apply", parsed)
        )
    assert entry is not None
    click.echo(f"Applied. Workspace serial is now {entry.serial}.")
    return EXIT_OK


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.pass_obj
def export(obj: Context, fmt: str) -> int:
    """Print today's publications as a `scope: full` config that plans to no changes.

    Segments are named where their name is unique, and given by id otherwise.

    Example:

        segpub export > current.yaml
    """
    with obj.open() as store:
        data = pipeline.export_config(store.read_state())
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(
            "# Exported by segpub: every published segment, as a config that plans to no changes.",
        )
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), nl=False)
    return EXIT_OK


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def status(obj: Context, fmt: str) -> int:
    """Show the published count against the cap, the count per use, the serial and the last change.

    Example:

        segpub status --format json
    """
    with obj.open() as store:
        state = store.read_state()
        last = store.history(latest=True)
        data = report.status(state, last[0] if last else None, store.display)
    click.echo(report.render_status(data) if fmt == "text" else json.dumps(data, indent=2))
    return EXIT_OK


@cli.group(invoke_without_command=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def history(ctx: click.Context, fmt: str) -> int:
    """Show every change to the workspace: when, who, what kind (apply, publish, unpublish,
    import), from which config (path, sha256, git commit), and what. `history show N`: one.

    Example:

    \b
        segpub history --format json
        segpub history show 3
    """
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    obj: Context = ctx.obj
    with obj.open() as store:
        entries = store.history()
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
    else:
        click.echo(report.render_history(entries), nl=False)
    return EXIT_OK


@history.command("show")
@click.argument("serial", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def history_show(obj: Context, serial: int, fmt: str) -> int:
    """Show one change: the one that made workspace serial SERIAL (the `#N` of `segpub history`).

    Example:

        segpub history show 3 --format json
    """
    with obj.open() as store:
        entries = store.history(serial)
    if not entries:
        raise SegpubError(
            f"no change made serial {serial}; `segpub history` lists the changes recorded"
        )
    if fmt == "json":
        click.echo(json.dumps(entries[0].to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.render_history(entries), nl=False)
    return EXIT_OK
