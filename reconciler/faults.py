"""Named points in every workspace write where the crash tests pause or trace: inert unless set.

Set `SEGPUB_PAUSE_AT=<point>` (and `SEGPUB_PAUSE_FILE=<path>`) and the process writes that file
when it reaches the point, then sleeps there (up to `SEGPUB_PAUSE_SECONDS`, default 60) so a test
can kill it with SIGKILL. Set `SEGPUB_TRACE_FILE=<path>` and every point reached is appended to
that file, one name a line, so a test can learn the points of a command before killing at each.

The points of one write transaction named `<step>` (apply, import, ...):
`<step>:begin` once the write lock is held, `<step>:statement:<k>` after the k-th SQL write,
`<step>:before-commit`, and `<step>:committed` once it is durable.
With neither variable set each point costs two dictionary look-ups and does nothing.
"""

from __future__ import annotations

import os
import time

PAUSE_AT = "SEGPUB_PAUSE_AT"
PAUSE_FILE = "SEGPUB_PAUSE_FILE"
PAUSE_SECONDS = "SEGPUB_PAUSE_SECONDS"
TRACE_FILE = "SEGPUB_TRACE_FILE"

_step: str | None = None
_statements = 0


def checkpoint(name: str) -> None:
    """Reached point `name`: trace it and pause there if the environment asks to."""
    trace = os.environ.get(TRACE_FILE)
    pause = os.environ.get(PAUSE_AT)
    if not trace and not pause:
        return
    if trace:
        with open(trace, "a", encoding="utf-8") as out:
            out.write(name + "\n")
    if pause == name:
        marker = os.environ.get(PAUSE_FILE)
        if marker:
            with open(marker, "w", encoding="utf-8") as out:
                out.write(f"{os.getpid()} {name}\n")
        time.sleep(float(os.environ.get(PAUSE_SECONDS, "60")))


def begin(step: str) -> None:
    """A write transaction named `step` has started (its lock is held)."""
    global _step, _statements
    _step, _statements = step, 0
    checkpoint(f"{step}:begin")


def statement(sql: str = "") -> None:
    """One more SQL statement ran; a point only for a write inside a write transaction (reads
    change nothing, so a kill after one is the same as a kill before the next write)."""
    global _statements
    if _step is None or sql.lstrip()[:6].upper() == "SELECT":
        return
    _statements += 1
    checkpoint(f"{_step}:statement:{_statements}")


def before_commit() -> None:
    if _step is not None:
        checkpoint(f"{_step}:before-commit")


def end(committed: bool) -> None:
    """The write transaction is over: committed, or rolled back."""
    global _step
    step, _step = _step, None
    if committed and step is not None:
        checkpoint(f"{step}:committed")
