"""Files segpub creates, and what it prints: the workspace (and its -wal, -shm and lock files)
is owner-only whatever the umask; plan files and enrich outputs are never group- or
world-writable; and no output ever shows a database password."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_in_process, run_process
from tests.reliability import segpub_process, workspace
from tests.test_crash import _ready_to_enrich


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, the worst case: only segpub's own modes protect its files."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_workspace_and_its_wal_shm_and_lock_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    db = workspace(tmp_path)
    assert _mode(db) == 0o600
    # -wal and -shm exist while a write is in progress: look at them there.
    marker = tmp_path / "paused.txt"
    writer = segpub_process(
        ["apply", "publications.yaml", "--auto-approve"],
        tmp_path,
        {"SEGPUB_PAUSE_AT": "apply:before-commit", "SEGPUB_PAUSE_FILE": str(marker)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        made = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("segpub.db"))
        assert made == ["segpub.db", "segpub.db-shm", "segpub.db-wal", "segpub.db.lock"]
        for name in made:
            assert _mode(tmp_path / name) == 0o600, f"{name} is {oct(_mode(tmp_path / name))}"
    finally:
        writer.kill()
        writer.communicate()


def test_plan_files_and_enrich_outputs_are_not_writable_by_others(
    tmp_path: Path, open_umask: None
) -> None:
    _ready_to_enrich(tmp_path)
    planned = run_in_process(["plan", "publications.yaml", "--out", "plan.json"], tmp_path)
    assert planned.code == 0, planned.err
    enriched = run_in_process(["enrich", "sfdc", "--out", "sfdc.csv"], tmp_path)
    assert enriched.code == 0, enriched.err
    for name in ("plan.json", "sfdc.csv"):
        assert _mode(tmp_path / name) & 0o022 == 0, f"{name} is {oct(_mode(tmp_path / name))}"


PASSWORD = "s3cr3t-Pa55"
URLS = [
    f"postgresql://alice:{PASSWORD}@127.0.0.1:1/segpub",
    f"postgresql://alice:{PASSWORD}%40x@127.0.0.1:1/segpub?connect_timeout=2",
    f"postgresql://alice@127.0.0.1:1/segpub?password={PASSWORD}&connect_timeout=2",
]


@pytest.mark.parametrize("url", URLS, ids=["userinfo", "encoded", "query"])
@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["plan", "publications.yaml"],
        ["apply", "publications.yaml", "--auto-approve"],
        ["catalog", "import", "catalog.yaml"],
        ["history"],
        ["export"],
    ],
    ids=lambda a: a[0],
)
def test_no_output_shows_the_password_of_a_workspace_url(
    url: str, args: list[str], tmp_path: Path
) -> None:
    workspace(tmp_path)
    for how in ("flag", "env"):
        if how == "flag":
            done = run_in_process(["--workspace", url, *args], tmp_path)
        else:
            done = run_in_process(args, tmp_path, {"SEGPUB_WORKSPACE": url})
        assert done.code == 1, done.out + done.err
        printed = done.out + done.err
        assert "cannot connect to workspace postgresql://alice" in printed
        assert PASSWORD not in printed, printed
        assert "Traceback" not in printed


def test_a_real_process_never_prints_the_password(tmp_path: Path) -> None:
    workspace(tmp_path)
    done = run_process(
        ["--workspace", URLS[0], "apply", "publications.yaml", "--auto-approve"], tmp_path
    )
    assert done.code == 1
    assert done.err.startswith(
        "segpub: error: cannot connect to workspace postgresql://alice:***@127.0.0.1:1/segpub: "
    )
    assert PASSWORD not in done.out + done.err
