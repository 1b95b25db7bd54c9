"""Who is acting: the name history and the writer lock record for a command."""

from __future__ import annotations

import os

# CI systems name the person behind a run in their own variables.
CI_ACTOR_VARIABLES = (
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "CIRCLE_USERNAME",
)


def who(actor: str | None) -> str:
    """The actor: --actor, else SEGPUB_ACTOR, else the CI's own variables, else the OS user."""
    if actor:
        return actor
    for variable in ("SEGPUB_ACTOR", *CI_ACTOR_VARIABLES):
        value = os.environ.get(variable)
        if value:
            return value
    import getpass  # only here: it imports termios, which most commands never need

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
