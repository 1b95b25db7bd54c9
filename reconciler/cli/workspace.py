"""Commands over the workspace itself: init, copy, and its users' roles."""

from __future__ import annotations

import click

from reconciler.actor import who
from reconciler.cli.app import Context, cli
from reconciler.errors import EXIT_OK
from reconciler.store import users as workspace_users
from reconciler.store.admin import copy_workspace, init_workspace


@cli.group()
def workspace() -> None:
    """The workspace itself: create or upgrade it, copy it to another location."""


@workspace.command("init")
@click.pass_obj
def workspace_init(obj: Context) -> int:
    """Create the workspace (tables, lineage, serial 0), or bring an older one's schema up to date.

    On PostgreSQL every other command refuses to run until this has been run; a SQLite file is
    also created on its first use. Running it again on an up-to-date workspace changes nothing.

    Example:

        export SEGPUB_WORKSPACE='postgresql://ci@db.internal:5432/segpub?workspace=default'
        segpub workspace init
    """
    store, result = init_workspace(obj.workspace)
    store.close()
    if result.before == 0:
        what = f"created (schema version {result.after})"
    elif result.before < result.after:
        what = f"upgraded from schema version {result.before} to {result.after}"
    else:
        what = f"already up to date (schema version {result.after})"
    click.echo(
        f"Workspace {result.display} {what}; lineage {result.lineage}, serial {result.serial}."
    )
    return EXIT_OK


@workspace.command("copy")
@click.argument("source", metavar="FROM")
@click.argument("target", metavar="TO")
@click.pass_obj
def workspace_copy(obj: Context, source: str, target: str) -> int:
    """Copy the whole workspace FROM into a new workspace TO, and verify the copy.

    Everything is copied: segments and their dependents, accounts, memberships, records,
    publications, enrichment targets, pushed values, users, history, lineage and serial. TO is
    created (or initialised) if needed and must hold no data. The copy is one transaction: each
    table's row count and checksum are compared with FROM's before it commits.

    Example:

        segpub workspace copy segpub.db 'postgresql://ci@db.internal:5432/segpub?workspace=default'
    """
    result = copy_workspace(source, target, who(obj.actor))
    click.echo(f"Copied {result.source} to {result.target}:")
    for check in result.checks:
        click.echo(f"  {check.table:<20} {check.rows:>9} rows  checksum {check.checksum[:16]}  ok")
    click.echo(f"Verified: lineage {result.lineage}, serial {result.serial}.")
    return EXIT_OK


@cli.group()
def users() -> None:
    """The workspace's users and their roles: who may publish.

    With no users, everyone may apply, publish, unpublish and import (a single-user workspace).
    Once there is one, only primary_admin, admin and operations users may.
    """


@users.command("set")
@click.argument("actor")
@click.option(
    "--role",
    required=True,
    type=click.Choice(workspace_users.ROLES),
    help="What ACTOR may do: primary_admin, admin, operations (may publish),"
    " marketing, view_only (may only look).",
)
@click.pass_obj
def users_set(obj: Context, actor: str, role: str) -> int:
    """Give ACTOR (the name segpub records for them: --actor, SEGPUB_ACTOR, the CI user) a ROLE.

    Example:

        segpub users set alice --role primary_admin
        segpub users set bob --role marketing
    """
    with obj.open() as store:
        before = workspace_users.set_user(store, actor, role)
    was = "" if before is None else f" (was {before})"
    click.echo(f"{actor} is now {role}{was}.")
    return EXIT_OK


@users.command("remove")
@click.argument("actor")
@click.pass_obj
def users_remove(obj: Context, actor: str) -> int:
    """Remove ACTOR from the workspace's users.

    Example:

        segpub users remove bob
    """
    with obj.open() as store:
        existed = workspace_users.remove_user(store, actor)
    click.echo(f"{actor} removed." if existed else f"{actor} was not a user; nothing changed.")
    return EXIT_OK


@users.command("list")
@click.pass_obj
def users_list(obj: Context) -> int:
    """List the workspace's users and their roles.

    Example:

        segpub users list
    """
    with obj.open() as store:
        rows = workspace_users.list_users(store)
    if not rows:
        click.echo("No users: everyone may apply, publish, unpublish and import.")
        return EXIT_OK
    width = max(len(actor) for actor, _ in rows)
    for actor, role in rows:
        click.echo(f"{actor:<{width}}  {role}")
    return EXIT_OK
