"""The writer lock, with a real second process holding it: refusals, waiting, crashed holders."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reconciler.locking import file_lock, locked_message
from tests.ci_support import config_text, workspace
from tests.conftest import Segpub, run_process, write

ROOT = Path(__file__).resolve().parent.parent

HOLDER = textwrap.dedent(
    """
    import sys, time
    from reconciler.store import open_workspace
    store = open_workspace(sys.argv[1])
    with store.writer_lock("ci-bot", "apply plan.json", 0):
        print("locked", flush=True)
        # Hold until told (a line on stdin) or killed; then let go.
        if sys.argv[2] == "wait":
            sys.stdin.readline()
        else:
            time.sleep(float(sys.argv[2]))
    store.close()
    """
)

LOCKED = re.compile(
    r"^segpub: error: workspace is locked by ci-bot \(pid (\d+), command apply plan\.json\)"
    r" since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n$"
)


@contextmanager
def holder(location: str, cwd: Path, hold: str = "wait") -> Iterator[subprocess.Popen[str]]:
    """A real process that holds the workspace's writer lock until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, location, hold],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "locked\n"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _serial(segpub: Segpub) -> str:
    return segpub("status").out.split("Serial:")[1].split()[0]


def test_every_writer_is_refused_while_another_process_holds_the_lock(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=2)
    write(segpub.cwd / "publications.yaml", config_text([(3, ["api"])]))
    with holder(segpub.workspace, segpub.cwd) as process:
        for args in (
            ["apply", "publications.yaml", "--auto-approve"],
            ["catalog", "import", "catalog.yaml"],
            ["publish", "4", "--use", "api"],
            ["unpublish", "1"],
        ):
            # The first contender is a real process too; the rest run in-process, for speed.
            refused = run_process(args, segpub.cwd) if args[0] == "apply" else segpub(*args)
            assert refused.code == 1, (args, refused.err)
            match = LOCKED.match(refused.err)
            assert match, refused.err
            assert int(match.group(1)) == process.pid
        # Readers are not writers: plan and status still work.
        assert segpub("plan", "publications.yaml").code == 0
        assert _serial(segpub) == "1"


def test_a_saved_plan_apply_is_refused_while_locked(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(3, ["api"])]))
    assert segpub("plan", "publications.yaml", "--out", "segpub.plan").code == 0
    with holder(segpub.workspace, segpub.cwd):
        refused = segpub("apply", "segpub.plan")
        assert refused.code == 1
        assert LOCKED.match(refused.err), refused.err
    applied = segpub("apply", "segpub.plan")
    assert applied.code == 0, applied.err


def test_lock_timeout_waits_for_the_holder_to_finish(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    with holder(segpub.workspace, segpub.cwd, hold="0.7"):
        started = time.monotonic()
        waited = run_process(["publish", "2", "--use", "api", "--lock-timeout", "20"], segpub.cwd)
        assert waited.code == 0, waited.err
        assert time.monotonic() - started < 15
    assert _serial(segpub) == "2"


def test_lock_timeout_gives_up_after_the_time_given(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    with holder(segpub.workspace, segpub.cwd):
        started = time.monotonic()
        refused = run_process(["publish", "2", "--use", "api", "--lock-timeout", "1"], segpub.cwd)
        elapsed = time.monotonic() - started
        assert refused.code == 1
        assert LOCKED.match(refused.err), refused.err
        assert elapsed >= 1.0


def test_a_crashed_holder_never_leaves_the_workspace_locked(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1, unpublished=1)
    with holder(segpub.workspace, segpub.cwd) as process:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        applied = run_process(["publish", "2", "--use", "api"], segpub.cwd)
        assert applied.code == 0, applied.err
    assert _serial(segpub) == "2"


def test_lock_timeout_must_be_a_number(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    bad = segpub("unpublish", "1", "--lock-timeout", "soon")
    assert bad.code == 64


@pytest.mark.sqlite_only
def test_the_lock_file_names_its_holder_and_is_private(segpub: Segpub, tmp_path: Path) -> None:
    path = tmp_path / "ws.db.lock"
    with file_lock(path, "alice", "publish", 0):
        text = path.read_text()
        assert '"actor": "alice"' in text and f'"pid": {os.getpid()}' in text
        assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == ""  # released: nobody named


def test_locked_message_without_a_record() -> None:
    assert locked_message(None) == (
        "workspace is locked by unknown (pid ?, command unknown) since unknown"
    )


def test_an_apply_waiting_at_its_prompt_holds_the_lock(segpub: Segpub) -> None:
    """The holder is a real `segpub apply` on a terminal, waiting for its `yes`."""
    import pty
    import select

    workspace(segpub.cwd, published=2, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(3, ["api"])]))
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real interactive apply
        os.chdir(segpub.cwd)
        os.environ.update({"SEGPUB_ACTOR": "alice", "PYTHONPATH": str(ROOT)})
        os.execv(sys.executable, [sys.executable, "-m", "reconciler", "apply", "publications.yaml"])
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"Only 'yes'" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                seen += os.read(fd, 4096)
        assert b"Only 'yes'" in seen, seen
        refused = run_process(["publish", "3", "--use", "api"], segpub.cwd, {"SEGPUB_ACTOR": "bob"})
        assert refused.code == 1
        assert re.match(
            rf"^segpub: error: workspace is locked by alice \(pid {pid}, command apply\) since"
            r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$",
            refused.err,
        ), refused.err
        os.write(fd, b"yes\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)
    assert _serial(segpub) == "2"
