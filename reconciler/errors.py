"""The error types segpub raises, each carrying the exit code the CLI maps it to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.model import Violation

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130


class SegpubError(Exception):
    """Any failure segpub reports to the user: one line of message, exit code 1."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(SegpubError):
    """A file the user gave cannot be used; carries every violation found, not just the first."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        first = self.violations[0].describe() if self.violations else "invalid input"
        more = len(self.violations) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more)")


class WorkspaceError(SegpubError):
    """The workspace cannot be opened, read or written as asked."""


class LockedError(WorkspaceError):
    """Another writer holds the workspace."""


class RefusedError(SegpubError):
    """segpub will not carry out the request as given (no approval, stale plan, safety limit)."""


class UsageError(SegpubError):
    """The command line itself is wrong; exit 64 so CI never mistakes a typo for a result."""

    exit_code = EXIT_USAGE
