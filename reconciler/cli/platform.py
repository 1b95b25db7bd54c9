"""Commands over the platform's data: CSV imports, the platform's views, and `segpub enrich`."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from reconciler import enrich, imports, views
from reconciler.actor import who
from reconciler.cli.app import Context, cli
from reconciler.cli.runs import lock_timeout_option
from reconciler.errors import EXIT_OK
from reconciler.store import SqlStore
from reconciler.store.users import require_publisher


def _import(
    obj: Context,
    command: str,
    lock_timeout: float,
    run: Callable[[SqlStore], imports.ImportSummary],
) -> int:
    store = obj.open()
    try:
        with store.writer_lock(who(obj.actor), command, lock_timeout):
            require_publisher(store, who(obj.actor), "import")  # roles (issue 5)
            summary = run(store)
    finally:
        store.close()
    click.echo(summary.line())
    return EXIT_OK


@cli.group()
def accounts() -> None:
    """The platform's accounts: import them from CSV."""


@accounts.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@lock_timeout_option
@click.pass_obj
def accounts_import(obj: Context, file: str, lock_timeout: float = 0) -> int:
    """Upsert accounts by account_id from a CSV FILE with the header
    `account_id,name,domain,country`.

    The file is streamed (any size) and written in one transaction; if any row is bad, nothing
    is written and the bad rows are listed with their line numbers (the first 20, and a count).

    Example:

        segpub accounts import examples/accounts.csv
    """
    return _import(
        obj, "accounts import", lock_timeout, lambda store: imports.import_accounts(store, file)
    )


@cli.group()
def members() -> None:
    """Segment memberships: which accounts each segment contains."""


@members.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--append",
    is_flag=True,
    help="Add the file's memberships instead of refreshing the segments it lists.",
)
@lock_timeout_option
@click.pass_obj
def members_import(obj: Context, file: str, append: bool, lock_timeout: float = 0) -> int:
    """Import memberships from a CSV FILE with the header `segment_id,account_id`.

    Every segment that appears in the file gets exactly the file's accounts (a refresh);
    with --append they are added. Unknown segments or accounts are bad rows; any bad row
    means nothing is written.

    Example:

        segpub members import examples/members.csv
    """
    return _import(
        obj,
        "members import",
        lock_timeout,
        lambda store: imports.import_members(store, file, append=append),
    )


@cli.group()
def records() -> None:
    """CRM/MAP records: what segment-name enrichment writes to."""


@records.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@lock_timeout_option
@click.pass_obj
def records_import(obj: Context, file: str, lock_timeout: float = 0) -> int:
    """Upsert CRM/MAP records from a CSV FILE with the header
    `system,record_type,record_id,account_id` and an optional `created_at` (ISO 8601).

    system is one of salesforce, marketo, hubspot, pardot, eloqua; record_type one of
    account, contact, lead.

    Example:

        segpub records import examples/records.csv
    """
    return _import(
        obj, "records import", lock_timeout, lambda store: imports.import_records(store, file)
    )


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
    store = obj.open()
    try:
        rows = views.segments_rows(store, search, folder, published)
    finally:
        store.close()
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
    store = obj.open()
    try:
        rows = views.published_rows(store, search)
        cap = store.read_state().settings.cap
    finally:
        store.close()
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
    store = obj.open()
    try:
        view = views.account_view(store, account)
    finally:
        store.close()
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
    store = obj.open()
    try:
        data = views.api_segments(store, account)
    finally:
        store.close()
    click.echo(json.dumps(data, ensure_ascii=False))
    return EXIT_OK


@cli.command("enrich")
@click.argument("target")
@click.option(
    "--out",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write to FILE (atomically: a temporary file renamed when complete).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--changed-only",
    is_flag=True,
    help="Only records whose value differs from the last value marked as pushed.",
)
@click.option(
    "--mark-pushed",
    is_flag=True,
    help="Mark the written values as pushed, once the output is completely written.",
)
@lock_timeout_option
@click.pass_obj
def enrich_cmd(
    obj: Context,
    target: str,
    out: str | None,
    fmt: str,
    changed_only: bool,
    mark_pushed: bool,
    lock_timeout: float = 0,
) -> int:
    """Compute the segment-name field of every record in TARGET's scope: the names of the
    segments published for the target's use that contain the record's account, sorted by name
    then id, joined by the delimiter, at most max_length characters (whole names are dropped
    from the end, and the record counted as truncated). An empty value clears the field.

    CSV columns record_id,value; jsonl rows {"record_id", "value", "truncated"}; ordered by
    record_id. The summary goes to stderr.

    Example:

        segpub enrich sfdc-accounts --out sfdc.csv --changed-only --mark-pushed
    """
    enrich.output_path_ok(out)
    store = obj.open()
    try:
        result, max_length = enrich.enrich(
            store,
            target,
            out,
            fmt,
            changed_only,
            mark_pushed,
            lock=lambda: store.writer_lock(who(obj.actor), "enrich --mark-pushed", lock_timeout),
        )
    finally:
        store.close()
    click.echo(result.summary(out, max_length), err=True)
    return EXIT_OK
