"""Kill -9 at every step of every write: the workspace is always exactly the old or the new state.

A real `segpub` process is paused at each fault point of its write transaction (see
reconciler/faults.py), killed with SIGKILL there, and the workspace is then checked: SQLite's
integrity_check is ok, the contents equal the state before or the state after (nothing between),
the serial matches a gap-free history, and running the command again converges."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_in_process, write
from tests.reliability import CATALOG, assert_consistent, kill_at, snapshot, trace_points, workspace


@dataclass(frozen=True)
class Scenario:
    """A workspace to start from, and the write command to kill."""

    name: str
    prepare: Callable[[Path], None]
    args: list[str]
    step: str  # the write transaction's fault-point prefix


def _imported(folder: Path) -> None:
    workspace(folder)


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "catalog.yaml", CATALOG)
    assert run_in_process(["status"], folder).code == 0


SCENARIOS = [
    Scenario("apply", _imported, ["apply", "publications.yaml", "--auto-approve"], "apply"),
    Scenario("catalog-import", _empty, ["catalog", "import", "catalog.yaml"], "import"),
]


def _expected_after(scenario: Scenario, start: Path) -> tuple[dict[str, object], list[str]]:
    """The state one uninterrupted run from `start` leaves, and the fault points it passes."""
    folder = start.parent / "reference"
    shutil.copytree(start, folder)
    points = [p for p in trace_points(scenario.args, folder) if p.startswith(scenario.step + ":")]
    return snapshot(folder / "segpub.db"), points


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_kill_at_every_step_leaves_old_or_new_state(scenario: Scenario, tmp_path: Path) -> None:
    start = tmp_path / "start"
    scenario.prepare(start)
    old = snapshot(start / "segpub.db")
    new, points = _expected_after(scenario, start)
    # Every point from the first statement to the commit, and after it.
    assert points[0] == f"{scenario.step}:begin"
    assert points[-2:] == [f"{scenario.step}:before-commit", f"{scenario.step}:committed"]
    assert len(points) >= 6
    assert old != new
    folders = []
    for index in range(len(points)):
        folders.append(tmp_path / f"kill-{index}")
        shutil.copytree(start, folders[-1])
    # The kills run side by side (each is a process paused on its own copy); the checks in turn.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: kill_at(scenario.args, *job), zip(folders, points, strict=True)))
    for folder, point in zip(folders, points, strict=True):
        db = folder / "segpub.db"
        assert_consistent(db)
        expected = new if point.endswith(":committed") else old
        assert snapshot(db) == expected, f"killed at {point}: not exactly the old or the new state"
        again = run_in_process(["--actor", "tester", *scenario.args], folder)
        assert again.code == 0, again.out + again.err
        assert_consistent(db)
        assert snapshot(db) == new, f"re-running after a kill at {point} did not converge"


def test_fault_points_are_inert_unless_set(tmp_path: Path) -> None:
    """No pause, no trace file, without the variables."""
    db = workspace(tmp_path)
    applied = run_in_process(["apply", "publications.yaml", "--auto-approve"], tmp_path)
    assert applied.code == 0
    made = {p.name for p in tmp_path.iterdir()} - {"catalog.yaml", "publications.yaml"}
    assert all(name.startswith("segpub.db") for name in made), made
    assert_consistent(db)
