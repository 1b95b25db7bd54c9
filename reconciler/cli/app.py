"""The `segpub` command group, its shared options, and the one place errors become exit codes."""

from __future__ import annotations

import datetime
import difflib
import importlib
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

import click

from reconciler import __version__
from reconciler.errors import (
    EXIT_FAILURE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    InputError,
    SegpubError,
)
from reconciler.redact import redact
from reconciler.render.text import render_violations
from reconciler.store import SqlStore, open_workspace


class Context(NamedTuple):
    """What every command gets from the group's options."""

    workspace: str | None
    actor: str | None
    color: bool

    def open(self) -> SqlStore:
        return open_workspace(self.workspace)


LOCK_TIMEOUT_HELP = (
    "Wait up to SECONDS for another writer to finish (default 0: fail at once if the workspace"
    " is locked)."
)


def lock_timeout_option(function: click.decorators.FC) -> click.decorators.FC:
    """--lock-timeout, for every command that writes."""
    return click.option(
        "--lock-timeout",
        "lock_timeout",
        type=click.FloatRange(min=0),
        default=0,
        metavar="SECONDS",
        show_default=True,
        help=LOCK_TIMEOUT_HELP,
    )(function)


def use_color(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


# The module that defines each command. A command's module, and all it imports, is loaded only
# when that command runs (or help lists it): `segpub plan` does not pay for `segpub enrich`.
COMMAND_MODULES = {
    **dict.fromkeys(
        ("catalog", "validate", "plan", "apply", "export", "status", "history"), "publications"
    ),
    **dict.fromkeys(("publish", "unpublish", "schema"), "ci"),
    **dict.fromkeys(("accounts", "members", "records", "enrich"), "platform"),
    **dict.fromkeys(("segments", "published", "account", "api"), "views"),
    **dict.fromkeys(("workspace", "users"), "workspace"),
}


class LazyGroup(click.Group):
    """The `segpub` group: it knows its commands' names and imports a command's module when the
    command is asked for; the module's decorators then register it on this group."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMAND_MODULES:
            close = difflib.get_close_matches(name, list(COMMAND_MODULES), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"reconciler.cli.{module}")
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--workspace",
    metavar="LOCATION",
    envvar="SEGPUB_WORKSPACE",
    help="The workspace: a SQLite file path, sqlite:///path, or"
    " postgresql://USER@HOST:PORT/DB?workspace=NAME. Default: segpub.db here"
    " (env SEGPUB_WORKSPACE).",
)
@click.option(
    "--actor",
    metavar="NAME",
    help="Who is acting, for history. Default: SEGPUB_ACTOR, the CI's user, or the OS user.",
)
@click.option("--no-color", is_flag=True, help="No colour in output (also NO_COLOR).")
@click.version_option(__version__, "--version", prog_name="segpub")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, actor: str | None, no_color: bool) -> None:
    """segpub: account-segment publications as code.

    Declare the publications you want in YAML, review them in git, and let segpub validate,
    plan and apply them against the workspace.

    Example:

    \b
        segpub catalog import examples/catalog.yaml
        segpub plan examples/publications.yaml
    """
    ctx.obj = Context(workspace=workspace, actor=actor, color=use_color(no_color))


def report_error(error: SegpubError) -> None:
    if isinstance(error, InputError):
        for line in render_violations(list(error.violations)):
            if line:
                click.echo(line, err=True)
        click.echo(
            f"segpub: {len(error.violations)} problem(s) found; nothing was changed.", err=True
        )
    else:
        click.echo(f"segpub: error: {redact(error.message)}", err=True)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and exit: 0 ok, 1 failure, 2 changes (--detailed-exitcode), 3 internal error,
    64 usage error, 130 interrupted."""
    try:
        result = cli.main(args=argv, prog_name="segpub", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.UsageError as error:
        error.show()
        code = EXIT_USAGE
    except click.exceptions.Exit as error:
        code = error.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("segpub: interrupted; nothing was changed by the step in progress.", err=True)
        code = EXIT_INTERRUPTED
    except SegpubError as error:
        report_error(error)
        code = error.exit_code
    except click.ClickException as error:
        error.show()
        code = EXIT_FAILURE
    except BrokenPipeError:
        code = EXIT_FAILURE
    except Exception:  # noqa: BLE001 - the one place an unexpected error is caught
        code = EXIT_INTERNAL
        log = _write_crash_log()
        click.echo(
            f"segpub: internal error ({sys.exc_info()[1].__class__.__name__}); details written to"
            f" {log}. Please report it.",
            err=True,
        )
    sys.exit(code)


def _write_crash_log() -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"segpub-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as log:
        # Workspace URLs may carry a password: the log shows them redacted.
        log.write(redact(f"segpub {__version__}, argv {sys.argv!r}\n"))
        log.write(redact(traceback.format_exc()))
    return path
