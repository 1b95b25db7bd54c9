"""CI and out-of-config commands: publish, unpublish, schema."""

from __future__ import annotations

import shlex

import click

from reconciler import imperative, pipeline
from reconciler.actor import who
from reconciler.cli.app import Context, cli, lock_timeout_option
from reconciler.errors import EXIT_OK
from reconciler.model import Use
from reconciler.render.printable import printable
from reconciler.schema import SCHEMA_NAMES, schema_text

USES = [u.value for u in Use]


def _imperative(
    obj: Context, segment: str, uses: tuple[str, ...], publish: bool, lock_timeout: float
) -> int:
    kind = "publish" if publish else "unpublish"
    command = " ".join([kind, shlex.quote(segment), *(f"--use {u}" for u in uses)])
    actor = who(obj.actor)
    with obj.open() as store:
        with store.writer_lock(actor, kind, lock_timeout):
            outcome = imperative.carry_out(
                store, segment, uses, publish, pipeline.provenance(obj.actor, kind, command)
            )
    if outcome.change is None or outcome.entry is None:
        click.echo(f"Nothing to change: segment {segment} already is as asked.")
        return EXIT_OK
    change = outcome.change
    parts = [f"-{u}" for u in sorted(x.value for x in change.remove)]
    parts += [f"+{u}" for u in sorted(x.value for x in change.add)]
    click.echo(
        f"{kind.capitalize()}ed {printable(change.segment_name)} ({change.segment_id}):"
        f" {' '.join(parts)}."
        f" Workspace serial is now {outcome.entry.serial}. Recorded as made outside a config:"
        " the next plan shows it, and reverts it unless the config is changed to match."
    )
    return EXIT_OK


@cli.command()
@click.argument("segment")
@click.option(
    "--use",
    "uses",
    multiple=True,
    required=True,
    type=click.Choice(USES),
    metavar="USE",
    help=f"A use to publish it for (repeatable): {', '.join(USES)}.",
)
@lock_timeout_option
@click.pass_obj
def publish(obj: Context, segment: str, uses: tuple[str, ...], lock_timeout: float) -> int:
    """Publish SEGMENT (an id or a unique name) for each --use, outside any config.

    This is what the platform's settings page does. The same rules hold as for an apply (the
    cap, GTM eligibility, the legacy use), the workspace is locked while it writes, and history
    records it as made outside a config; the next `plan` lists it under "Changed outside segpub
    since the last apply".

    Example:

        segpub publish "NA Enterprise ICP" --use gtm --use api
    """
    return _imperative(obj, segment, uses, True, lock_timeout)


@cli.command()
@click.argument("segment")
@click.option(
    "--use",
    "uses",
    multiple=True,
    type=click.Choice(USES),
    metavar="USE",
    help="A use to remove (repeatable). Without --use, every use: fully unpublished.",
)
@lock_timeout_option
@click.pass_obj
def unpublish(obj: Context, segment: str, uses: tuple[str, ...], lock_timeout: float) -> int:
    """Unpublish SEGMENT (an id or a unique name), or remove only the given --use, outside a config.

    The GTM lock holds: a GTM segment that saved reports or 6QA depend on cannot lose gtm. The
    workspace is locked while it writes, and history records it as made outside a config.

    Example:

        segpub unpublish 1002 --use orchestration
    """
    return _imperative(obj, segment, uses, False, lock_timeout)


@cli.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="publications", required=False)
def schema(name: str) -> int:
    """Print the JSON Schema NAME (publications, catalog or plan; default publications).

    Point an editor at it to complete and check configs, e.g. with a first line
    `# yaml-language-server: $schema=publications.schema.json`.

    Example:

        segpub schema publications > publications.schema.json
    """
    click.echo(schema_text(name), nl=False)
    return EXIT_OK
