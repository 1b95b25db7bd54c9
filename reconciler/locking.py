"""The one-writer lock of a file workspace: an flock'd file beside it, naming who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.errors import LockedError, WorkspaceError

# How often a waiting writer tries again; short enough that --lock-timeout 1 means about 1s.
POLL_SECONDS = 0.05


def lock_path(workspace: Path) -> Path:
    """The lock file of the workspace file `workspace`: `segpub.db` -> `segpub.db.lock`."""
    return workspace.with_name(workspace.name + ".lock")


def holder_record(actor: str, command: str) -> dict[str, Any]:
    return {
        "actor": actor,
        "pid": os.getpid(),
        "command": command,
        # The same form as the PostgreSQL store's lock gives.
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def locked_message(holder: dict[str, Any] | None) -> str:
    """The contract message naming who holds the lock (what it can tell when the file is blank)."""
    holder = holder or {}
    return (
        f"workspace is locked by {holder.get('actor', 'unknown')} (pid {holder.get('pid', '?')},"
        f" command {holder.get('command', 'unknown')}) since {holder.get('since', 'unknown')}"
    )


@contextmanager
def file_lock(path: Path, actor: str, command: str, timeout: float = 0) -> Iterator[None]:
    """Hold the exclusive lock on `path` for the block, waiting up to `timeout` seconds for it.

    The kernel drops an flock when its process dies however it dies, so a crashed holder never
    leaves the workspace locked; the JSON in the file only says who holds it, for the message.
    The file is never deleted: removing it would let two writers lock two different files."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise WorkspaceError(f"cannot open the lock file {path}: {error.strerror}") from None
    try:
        _acquire(fd, path, timeout)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder_record(actor, command)).encode("utf-8"), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + max(timeout, 0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        except OSError as error:
            raise WorkspaceError(f"cannot lock {path}: {error.strerror}") from None
        if time.monotonic() >= deadline:
            raise LockedError(locked_message(read_holder(path)))
        time.sleep(POLL_SECONDS)


def read_holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock, as its holder wrote it; None when it cannot be told."""
    # The holder writes its record right after it takes the lock: give it a moment to.
    for _ in range(20):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                return data
        time.sleep(0.01)
    return None
