"""Eight real processes apply eight different configs to one workspace at the same time.

Every apply either succeeds or is refused for the writer lock (nothing else); the serials of the
successful ones are gap-free; the final state is the one the last successful apply asked for;
history has every successful apply exactly once, with its own config."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path

from tests.conftest import run_in_process, write
from tests.reliability import assert_consistent, segpub_process

SEGMENTS = 8
CATALOG = "segments:\n" + "".join(
    f"  - {{id: {i}, name: Segment {i}, created_via: filters}}\n" for i in range(1, SEGMENTS + 1)
)
LOCKED = re.compile(
    r"segpub: error: workspace is locked by tester \(pid \d+, command apply\) since \S+\n"
)


def _desired(n: int) -> dict[int, list[str]]:
    """Config n publishes segment n for api and orchestration, and the next one for api."""
    return {n: ["api", "orchestration"], n % SEGMENTS + 1: ["api"]}


def _config(n: int) -> str:
    lines = ["version: 1", "scope: full", "publications:"]
    for sid, uses in sorted(_desired(n).items()):
        lines.append(f"  - {{id: {sid}, uses: [{', '.join(uses)}]}}")
    return "\n".join(lines) + "\n"


def test_eight_concurrent_applies_serialize_cleanly(backend: str, tmp_path: Path) -> None:
    """On each backend (the conftest parametrizes `backend`): a SQLite file, a PostgreSQL one."""
    with ExitStack() as stack:
        if backend == "sqlite":
            location = str(tmp_path / "segpub.db")
        else:
            from tests.pg import fresh_workspace

            location = stack.enter_context(fresh_workspace())
        _eight_concurrent_applies(location, tmp_path)


def _eight_concurrent_applies(location: str, tmp_path: Path) -> None:
    write(tmp_path / "catalog.yaml", CATALOG)
    write(tmp_path / "publications.yaml", "version: 1\npublications: []\n")
    imported = run_in_process(
        ["--workspace", location, "catalog", "import", "catalog.yaml"], tmp_path
    )
    assert imported.code == 0, imported.err
    for n in range(1, SEGMENTS + 1):
        write(tmp_path / f"config{n}.yaml", _config(n))
    # Half wait for the lock, half give up at once: both outcomes must be clean.
    processes = {
        n: segpub_process(
            [
                "--workspace",
                location,
                "apply",
                f"config{n}.yaml",
                "--auto-approve",
                "--lock-timeout",
                "60" if n % 2 else "0",
            ],
            tmp_path,
            # Each holds the lock 0.5 s before committing, so that they surely overlap.
            {"SEGPUB_PAUSE_AT": "apply:before-commit", "SEGPUB_PAUSE_SECONDS": "0.5"},
        )
        for n in range(1, SEGMENTS + 1)
    }
    applied: dict[int, int] = {}  # serial -> config
    refused = 0
    for n, process in processes.items():
        out, err = process.communicate(timeout=120)
        if process.returncode == 0:
            serial = int(re.findall(r"Applied\. Workspace serial is now (\d+)\.", out)[-1])
            applied[serial] = n
        else:
            assert process.returncode == 1, out + err
            assert LOCKED.fullmatch(err), out + err
            assert n % 2 == 0, "an apply willing to wait 60 s was refused"
            refused += 1
    assert len(applied) + refused == SEGMENTS
    assert len(applied) >= SEGMENTS // 2
    assert refused >= 1
    # Serial 1 was the catalog import; the applies follow without a gap.
    assert sorted(applied) == list(range(2, 2 + len(applied)))
    if not location.startswith("postgresql://"):
        assert_consistent(Path(location))
    history = json.loads(
        run_in_process(["--workspace", location, "history", "--format", "json"], tmp_path).out
    )
    assert [e["serial"] for e in history] == list(range(1, 2 + len(applied)))
    applies = [e for e in history if e["kind"] == "apply"]
    assert [(e["serial"], e["source"]["path"]) for e in applies] == [
        (serial, f"config{applied[serial]}.yaml") for serial in sorted(applied)
    ]
    last = applied[max(applied)]
    exported = json.loads(
        run_in_process(["--workspace", location, "export", "--format", "json"], tmp_path).out
    )
    assert {e["name"]: e["uses"] for e in exported["publications"]} == {
        f"Segment {sid}": uses for sid, uses in _desired(last).items()
    }
    again = run_in_process(
        ["--workspace", location, "plan", f"config{last}.yaml", "--detailed-exitcode"], tmp_path
    )
    assert again.code == 0, again.out
