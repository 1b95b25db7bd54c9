"""Kill -9 at every step of every write: the workspace is always exactly the old or the new state.

A real `segpub` process is paused at each fault point of its write transaction (see
reconciler/faults.py), killed with SIGKILL there, and the workspace is then checked: SQLite's
integrity_check is ok, the contents equal the state before or the state after (nothing between),
the serial matches a gap-free history, and running the command again converges."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_in_process, write
from tests.reliability import assert_consistent, kill_at, snapshot, trace_points, workspace


@dataclass(frozen=True)
class Scenario:
    """A workspace to start from, and the write command to kill."""

    name: str
    prepare: Callable[[Path], None]
    args: list[str]
    step: str  # the write transaction's fault-point prefix


def _imported(folder: Path) -> None:
    workspace(folder)


# Every kind of write an import makes (segment, dependent, publications, settings, history) in
# few statements: each statement is one more process to kill.
IMPORT_CATALOG = """\
settings: {cap: 5, use_limits: {gtm: 2}}
segments:
  - {id: 1, name: Territory West, created_via: account_list_upload,
     filters: [Uploaded Account List], used_by: [{kind: custom_6qa, name: West 6QA}],
     published_uses: [gtm, api]}
  - {id: 2, name: Intent Surge, created_via: filters}
"""


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "catalog.yaml", IMPORT_CATALOG)
    assert run_in_process(["status"], folder).code == 0


ACCOUNTS_CSV = "account_id,name,domain,country\nA1,Acme,acme.example,US\nA2,Beta,beta.example,DE\n"
MEMBERS_CSV = "segment_id,account_id\n3,A1\n3,A2\n1,A1\n"
RECORDS_CSV = (
    "system,record_type,record_id,account_id\nsalesforce,account,r1,A1\nsalesforce,account,r2,A2\n"
)
ENRICHED_CONFIG = """\
version: 1
publications:
  - {name: Intent Surge, uses: [orchestration]}
  - {name: Territory West, uses: [gtm, orchestration]}
enrichment:
  - {name: sfdc, via: orchestration, system: salesforce, record_type: account, field: Segments__c}
"""


def _csv_files(folder: Path) -> None:
    workspace(folder)
    write(folder / "accounts.csv", ACCOUNTS_CSV)
    write(folder / "members.csv", MEMBERS_CSV)
    write(folder / "records.csv", RECORDS_CSV)


def _with_accounts(folder: Path) -> None:
    _csv_files(folder)
    assert run_in_process(["accounts", "import", "accounts.csv"], folder).code == 0


def _ready_to_enrich(folder: Path) -> None:
    _with_accounts(folder)
    for args in (["members", "import", "members.csv"], ["records", "import", "records.csv"]):
        done = run_in_process(args, folder)
        assert done.code == 0, done.err
    write(folder / "enriched.yaml", ENRICHED_CONFIG)
    applied = run_in_process(["apply", "enriched.yaml", "--auto-approve"], folder)
    assert applied.code == 0, applied.out + applied.err


SCENARIOS = [
    Scenario("apply", _imported, ["apply", "publications.yaml", "--auto-approve"], "apply"),
    Scenario("catalog-import", _empty, ["catalog", "import", "catalog.yaml"], "import"),
    Scenario("publish", _imported, ["publish", "Named Accounts", "--use", "api"], "apply"),
    Scenario("unpublish", _imported, ["unpublish", "Intent Surge"], "apply"),
    Scenario("accounts-import", _csv_files, ["accounts", "import", "accounts.csv"], "write"),
    Scenario("members-import", _with_accounts, ["members", "import", "members.csv"], "write"),
    Scenario("records-import", _with_accounts, ["records", "import", "records.csv"], "write"),
    Scenario(
        "enrich-mark-pushed",
        _ready_to_enrich,
        ["enrich", "sfdc", "--out", "sfdc.csv", "--mark-pushed"],
        "write",
    ),
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
    assert len(points) >= 3
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


# -- PostgreSQL workspaces ------------------------------------------------------------------------


def _pg_contents(location: str) -> tuple[object, ...]:
    """What a PostgreSQL workspace holds, as segpub reads it (history without its times)."""
    from reconciler.store import open_workspace

    store = open_workspace(location)
    try:
        state = store.read_state()
        history = [(e.serial, e.kind, e.summary, e.changes) for e in store.history()]
    finally:
        store.close()
    serials = [entry[0] for entry in history]
    assert serials == list(range(1, state.serial + 1)), (state.serial, serials)
    return (state.serial, state.settings, state.segments, state.publications, history)


def test_kill_at_every_step_of_an_apply_on_postgresql(tmp_path: Path) -> None:
    """The same promise on a PostgreSQL workspace: the server rolls back a killed client."""
    from tests.pg import fresh_workspace

    args = ["apply", "publications.yaml", "--auto-approve"]
    folder = tmp_path / "files"
    workspace(folder)  # catalog.yaml and publications.yaml (and a SQLite file, unused here)
    with ExitStack() as stack:

        def prepared() -> str:
            location = stack.enter_context(fresh_workspace())
            done = run_in_process(
                ["--workspace", location, "catalog", "import", "catalog.yaml"], folder
            )
            assert done.code == 0, done.err
            return location

        reference = prepared()
        old = _pg_contents(reference)
        points = [
            p
            for p in trace_points(["--workspace", reference, *args], folder)
            if p.startswith("apply:")
        ]
        new = _pg_contents(reference)
        assert old != new and len(points) >= 5 and points[-1] == "apply:committed"
        locations = [prepared() for _ in points]
        kill_dirs = []
        for index in range(len(points)):
            kill_dirs.append(tmp_path / f"kill-{index}")
            shutil.copytree(folder, kill_dirs[-1])
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(
                pool.map(
                    lambda job: kill_at(["--workspace", job[0], *args], job[1], job[2]),
                    zip(locations, kill_dirs, points, strict=True),
                )
            )
        for location, point in zip(locations, points, strict=True):
            expected = new if point.endswith(":committed") else old
            assert _pg_contents(location) == expected, f"killed at {point}"
            again = run_in_process(["--workspace", location, *args], folder)
            assert again.code == 0, again.out + again.err
            assert _pg_contents(location) == new, f"re-running after a kill at {point}"
