"""Disk and permission faults: a read-only workspace, a full disk, a locked database.

Each gives a clear error and exit 1, and leaves the workspace exactly as it was."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import faults
from tests.conftest import Result, run_in_process
from tests.reliability import assert_consistent, segpub_process, snapshot, workspace

APPLY = ["apply", "publications.yaml", "--auto-approve"]


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    return done.returncode == 0


def _umount(target: Path) -> None:
    subprocess.run(["umount", str(target)], capture_output=True, check=False)


def _sqlite(folder: Path, *args: str) -> Result:
    return run_in_process(["--workspace", str(folder / "segpub.db"), *args], folder)


@pytest.fixture
def read_only_workspace(tmp_path: Path) -> Iterator[Path]:
    """A workspace whose file cannot be written: a read-only bind mount of it when root (root
    ignores file modes), else mode 0444."""
    db = workspace(tmp_path)
    if os.geteuid() != 0:
        db.chmod(0o444)
        yield tmp_path
        db.chmod(0o600)
        return
    if not (_mount("--bind", str(db), str(db)) and _mount("-o", "remount,ro,bind", str(db))):
        _umount(db)
        pytest.skip("cannot bind-mount here (no mount permission in this container)")
    try:
        yield tmp_path
    finally:
        _umount(db)


def test_read_only_workspace_file_is_a_clear_error(read_only_workspace: Path) -> None:
    folder = read_only_workspace
    db = folder / "segpub.db"
    before = snapshot(db)
    applied = _sqlite(folder, *APPLY)
    assert applied.code == 1
    # As root (a read-only mount) the write fails; as a user (mode 0444) SQLite may already
    # refuse to open the file for its WAL: either way the same words.
    assert re.fullmatch(
        rf"segpub: error: cannot (write|open) workspace {re.escape(str(db))}: attempt to write a"
        r" readonly database: the workspace file or its folder is read-only; make both writable"
        r" \(SQLite writes its -wal and -shm files beside it\)(; nothing was changed)?\n",
        applied.err,
    ), applied.err
    assert "Traceback" not in applied.out + applied.err
    assert snapshot(db) == before
    if os.geteuid() == 0:
        # Reading still works on the read-only mount: status needs no write.
        assert _sqlite(folder, "status").code == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    """A 4 MiB tmpfs holding a fresh workspace (and its contents then), filled up to the brim."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)):
        pytest.skip("cannot mount a tmpfs here; test_injected_disk_full covers the same path")
    try:
        before = snapshot(workspace(mount_point))
        (tmp_path / "accounts.csv").write_text(
            "account_id,name,domain,country\n"
            + "".join(f"A{i},Account {i} {'x' * 60},d{i}.example,US\n" for i in range(8000)),
            encoding="utf-8",
        )
        with open(mount_point / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        yield mount_point, before
    finally:
        _umount(mount_point)


def test_full_disk_is_a_clear_error_and_loses_nothing(
    small_disk: tuple[Path, dict[str, object]],
) -> None:
    folder, before = small_disk
    db = folder / "segpub.db"
    accounts = str(folder.parent / "accounts.csv")
    for args in (["accounts", "import", accounts], APPLY):
        result = _sqlite(folder, *args)
        assert result.code == 1, result.out + result.err
        assert re.fullmatch(
            rf"segpub: error: cannot (open|write) workspace {re.escape(str(db))}: .*: the disk is"
            r" full \([\d,]+ bytes free\); free some space and retry(; nothing was changed)?\n",
            result.err,
        ), result.err
    (folder / "filler").unlink()
    assert_consistent(db)
    assert snapshot(db) == before
    assert _sqlite(folder, *APPLY).code == 0
    assert _sqlite(folder, "accounts", "import", accounts).code == 0
    assert_consistent(db)


def test_injected_disk_full_at_a_write_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same promise where no tmpfs can be mounted: the disk fills at the 3rd statement."""
    db = workspace(tmp_path)
    before = snapshot(db)
    real = faults.statement
    seen = {"n": 0}

    def full_disk_at_third_statement(sql: str = "") -> None:
        real(sql)
        if faults._step == "apply":
            seen["n"] += 1
            if seen["n"] == 3:
                raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(faults, "statement", full_disk_at_third_statement)
    applied = _sqlite(tmp_path, *APPLY)
    assert applied.code == 1
    assert applied.err.startswith(
        f"segpub: error: cannot write workspace {db}: database or disk is full: the disk is full ("
    )
    assert applied.err.endswith("; free some space and retry; nothing was changed\n")
    assert snapshot(db) == before
    monkeypatch.setattr(faults, "statement", real)
    assert _sqlite(tmp_path, *APPLY).code == 0


def test_workspace_locked_by_another_segpub_is_refused(tmp_path: Path) -> None:
    db = workspace(tmp_path)
    before = snapshot(db)
    marker = tmp_path / "paused.txt"
    holder = segpub_process(
        APPLY, tmp_path, {"SEGPUB_PAUSE_AT": "apply:begin", "SEGPUB_PAUSE_FILE": str(marker)}
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        second = _sqlite(tmp_path, *APPLY, "--lock-timeout", "0")
        assert second.code == 1
        assert re.fullmatch(
            rf"segpub: error: workspace is locked by tester \(pid {holder.pid}, command apply\)"
            r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n",
            second.err,
        ), second.err
        assert snapshot(db) == before
    finally:
        holder.kill()
        holder.communicate()
    assert_consistent(db)
    assert snapshot(db) == before


def test_database_locked_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    """A DB browser or backup holding SQLite's own write lock (segpub waits 5 s, then says so)."""
    db = workspace(tmp_path)
    before = snapshot(db)
    other = sqlite3.connect(str(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        applied = _sqlite(tmp_path, *APPLY)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert applied.code == 1
    assert applied.err == (
        f"segpub: error: cannot write workspace {db}: database is locked: another program holds"
        " the database; close it (a DB browser, a backup) and retry; nothing was changed\n"
    )
    assert snapshot(db) == before
