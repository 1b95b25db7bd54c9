"""The platform's views: segments, the published grid, an account's segments, the API's answer."""

from __future__ import annotations

import json

import click

from reconciler import views
from reconciler.cli.app import Context, cli
from reconciler.errors import EXIT_OK
from reconciler.model import SegmentRefs


@cli.command("segments")
@click.option("--search", metavar="TEXT", help="Only segments whose name contains TEXT.")
@click.option("--folder", metavar="PREFIX", help="Only segments whose folder starts with PREFIX.")
@click.option(
    "--published/--unpublished",
    "published",
    default=None,
    help="Only published (or only unpublished) segments.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def segments_cmd(
    obj: Context, search: str | None, folder: str | None, published: bool | None, fmt: str
) -> int:
    """List segments: id, name, folder, creation method, account count and Activations
    (publish uses and other activations, e.g. `Published: api, gtm; Custom 6QA: Enterprise 6QA`).

    Example:

        segpub segments --folder GTM/ --published
    """
    with obj.open() as store:
        rows = views.segments_rows(store, search, folder, published)
    click.echo(views.render_segments(rows, fmt), nl=False)
    return EXIT_OK


@cli.command("published")
@click.option("--search", metavar="TEXT", help="Only segments whose name contains TEXT.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def published_cmd(obj: Context, search: str | None, fmt: str) -> int:
    """The Published Segments grid: one row per published segment, one column per use.

    A gtm cell that is locked says by what (the dependents that lock it).

    Example:

        segpub published --search ICP
    """
    with obj.open() as store:
        rows = views.published_rows(store, search)
        cap = store.read_state(only=SegmentRefs()).settings.cap  # the settings alone
    click.echo(views.render_published(rows, fmt, cap), nl=False)
    return EXIT_OK


@cli.command("account")
@click.argument("account")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def account_cmd(obj: Context, account: str, fmt: str) -> int:
    """The Account details page's Segments tab for ACCOUNT (an account id or a domain): the
    segments published for account_details that contain it.

    Example:

        segpub account acme1.example.com
    """
    with obj.open() as store:
        view = views.account_view(store, account)
    click.echo(views.render_account(view, fmt), nl=False)
    return EXIT_OK


@cli.group()
def api() -> None:
    """What the platform's APIs return."""


@api.command("segments")
@click.argument("account")
@click.pass_obj
def api_segments_cmd(obj: Context, account: str) -> int:
    """The API's segments for ACCOUNT (an id or a domain), as JSON
    {"ids": [...], "names": [...], "list": [{"id", "name"}]}: the segments published for api
    that contain it, sorted by id.

    Example:

        segpub api segments A00001
    """
    with obj.open() as store:
        data = views.api_segments(store, account)
    click.echo(json.dumps(data, ensure_ascii=False))
    return EXIT_OK
