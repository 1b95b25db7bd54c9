"""Commands over publications: catalog import, validate, plan, apply, export, status, history."""

from __future__ import annotations

import json
import sys

import click
import yaml

from reconciler import pipeline
from reconciler.cli.app import Context, cli
from reconciler.config import load_config
from reconciler.errors import EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, RefusedError
from reconciler.render import json as json_render
from reconciler.render import report
from reconciler.render import text as text_render
from reconciler.render.text import render_violations

PLAN_RENDERERS = {"text": text_render.render_plan, "json": json_render.render_plan}


@cli.group()
def catalog() -> None:
    """The platform's segments: import them into the workspace."""


@catalog.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def catalog_import(obj: Context, file: str) -> int:
    """Import the platform's segments (and their current publications) from a YAML or JSON FILE.

    Segments are upserted by id; each listed segment's `used_by` is replaced, and its
    `published_uses`, where given, becomes its current publication. Where the platform's state
    already breaks a rule, segpub warns and imports it all the same.

    Example:

        segpub catalog import examples/catalog.yaml
    """
    store = obj.open()
    try:
        result, warnings = pipeline.import_catalog(
            file, store, pipeline.provenance(obj.actor, "import", "catalog import")
        )
    finally:
        store.close()
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
@click.pass_obj
def validate(obj: Context, config: str) -> int:
    """Check CONFIG: its schema, the segments it names, and every rule against the workspace.

    Exit 0 when valid, 1 when not.

    Example:

        segpub validate examples/publications.yaml
    """
    parsed = load_config(config)
    store = obj.open()
    try:
        plan = pipeline.make_plan(parsed, store.read_state())
    finally:
        store.close()
    for line in render_violations(plan.violations, obj.color):
        click.echo(line, err=True)
    if not plan.valid:
        return EXIT_FAILURE
    click.echo(f"{config} is valid: {len(plan.changes)} change(s) against the workspace.")
    return EXIT_OK


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(PLAN_RENDERERS)), default="text",
              show_default=True, help="Output format.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan is valid and has changes (0: no changes, 1: invalid).")
@click.pass_obj
def plan(obj: Context, config: str, fmt: str, detailed_exitcode: bool) -> int:
    """Show what applying CONFIG would change, and every rule it breaks. Changes nothing.

    Exit 0 when the plan is valid, 1 when it has violations, and with --detailed-exitcode,
    2 when it is valid and has changes.

    Example:

        segpub plan examples/publications.yaml --format json
    """
    parsed = load_config(config)
    store = obj.open()
    try:
        made = pipeline.make_plan(parsed, store.read_state())
    finally:
        store.close()
    click.echo(PLAN_RENDERERS[fmt](made, obj.color and fmt == "text"), nl=False)
    if not made.valid:
        return EXIT_FAILURE
    if detailed_exitcode and made.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.pass_obj
def apply(obj: Context, config: str, auto_approve: bool) -> int:
    """Apply CONFIG: make the plan, show it, ask, then write it in one transaction.

    Uses are removed before any are added, so room under the cap is freed first. The change is
    recorded in history and bumps the workspace serial. Without a terminal, --auto-approve is
    required.

    Example:

        segpub apply examples/publications.yaml --auto-approve
    """
    parsed = load_config(config)
    store = obj.open()
    try:
        made = pipeline.make_plan(parsed, store.read_state())
        click.echo(text_render.render_plan(made, obj.color), nl=False)
        if not made.valid:
            click.echo("segpub: the plan breaks the rules above; nothing was changed.", err=True)
            return EXIT_FAILURE
        if not made.has_changes:
            return EXIT_OK
        if not auto_approve:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "refusing to apply without confirmation: no terminal to ask on;"
                    " review the plan and pass --auto-approve"
                )
            answer = click.prompt(
                "Apply these changes? Only 'yes' will be accepted", default="", err=True,
                show_default=False,
            )
            if answer != "yes":
                click.echo("Apply cancelled; nothing was changed.", err=True)
                return EXIT_FAILURE
        entry = pipeline.apply_plan(
            store, made, pipeline.provenance(obj.actor, "apply", "apply", parsed)
        )
    finally:
        store.close()
    assert entry is not None
    click.echo(f"Applied. Workspace serial is now {entry.serial}.")
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True)
@click.pass_obj
def export(obj: Context, fmt: str) -> int:
    """Print today's publications as a `scope: full` config that plans to no changes.

    Segments are named where their name is unique, and given by id otherwise.

    Example:

        segpub export > current.yaml
    """
    store = obj.open()
    try:
        data = pipeline.export_config(store.read_state())
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(
            "# Exported by segpub: every published segment, as a config that plans to no changes.",
        )
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), nl=False)
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def status(obj: Context, fmt: str) -> int:
    """Show the published count against the cap, the count per use, the serial and the last change.

    Example:

        segpub status --format json
    """
    store = obj.open()
    try:
        state = store.read_state()
        last = store.history()[-1:] or []
        data = report.status(state, last[0] if last else None, store.display)
    finally:
        store.close()
    click.echo(report.render_status(data) if fmt == "text" else json.dumps(data, indent=2))
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def history(obj: Context, fmt: str) -> int:
    """Show every change to the workspace: when, who, what command, from which config, and what.

    Example:

        segpub history --format json
    """
    store = obj.open()
    try:
        entries = store.history()
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
    else:
        click.echo(report.render_history(entries), nl=False)
    return EXIT_OK
