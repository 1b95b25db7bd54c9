"""Commands that write the platform's data: the CSV imports and `segpub enrich`."""

from __future__ import annotations

from collections.abc import Callable

import click

from reconciler import enrich, imports
from reconciler.actor import who
from reconciler.cli.app import Context, cli, lock_timeout_option
from reconciler.errors import EXIT_OK
from reconciler.store import SqlStore
from reconciler.store.users import require_publisher


def _import(
    obj: Context,
    command: str,
    lock_timeout: float,
    run: Callable[[SqlStore], imports.ImportSummary],
) -> int:
    with obj.open() as store:
        with store.writer_lock(who(obj.actor), command, lock_timeout):
            require_publisher(store, who(obj.actor), "import")  # roles (issue 5)
            summary = run(store)
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
    with obj.open() as store:
        result, max_length = enrich.enrich(
            store,
            target,
            out,
            fmt,
            changed_only,
            mark_pushed,
            lock=lambda: store.writer_lock(who(obj.actor), "enrich --mark-pushed", lock_timeout),
        )
    click.echo(result.summary(out, max_length), err=True)
    return EXIT_OK
