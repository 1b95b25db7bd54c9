"""Reliability test helpers: a small workspace, its exact contents, and a killable segpub."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_in_process, write

# Four segments: two GTM ones (one locked by a custom 6QA), one dynamic, one with the legacy use.
CATALOG = """\
settings: {cap: 5}
segments:
  - {id: 1, name: Territory West, folder: GTM, created_via: account_list_upload,
     filters: [Uploaded Account List], published_uses: [gtm]}
  - {id: 2, name: Territory East, folder: GTM, created_via: crm_report_sync,
     filters: [Accounts in Salesforce Report], used_by: [{kind: custom_6qa, name: East 6QA}],
     published_uses: [gtm, account_details]}
  - {id: 3, name: Intent Surge, folder: Campaigns, created_via: filters,
     filters: [Intent Keywords], published_uses: [orchestration, api]}
  - {id: 4, name: Named Accounts, folder: Sales, created_via: crm_list_sync,
     filters: [Salesforce Account List]}
  - {id: 5, name: Legacy List, folder: Archive, created_via: account_list_upload,
     published_uses: [sales_intelligence_legacy, api]}
"""

# Removes and adds on several segments, so an apply runs many statements.
CONFIG = """\
version: 1
publications:
  - name: Territory West
    uses: [gtm, account_details, api]
  - name: Intent Surge
    uses: [data_workflows]
  - name: Named Accounts
    uses: [gtm, orchestration]
  - name: Legacy List
    uses: [sales_intelligence_legacy]
"""

TABLES = (
    "meta",
    "segments",
    "dependents",
    "publications",
    "history",
    "accounts",
    "members",
    "records",
    "enrichment_targets",
    "pushed_values",
    "users",
)
# Columns that differ between two runs of the same write.
VOLATILE = {"history": ("at",), "meta": ()}


def workspace(folder: Path, catalog: str = CATALOG, config: str = CONFIG) -> Path:
    """folder/segpub.db with the catalog imported (serial 1), and folder/publications.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "catalog.yaml", catalog)
    write(folder / "publications.yaml", config)
    imported = run_in_process(["--actor", "tester", "catalog", "import", "catalog.yaml"], folder)
    assert imported.code == 0, imported.err
    return folder / "segpub.db"


def snapshot(db: Path) -> dict[str, Any]:
    """Every row of every table (volatile columns blanked), sorted: two equal snapshots mean two
    byte-for-byte equal workspaces as far as segpub can tell."""
    conn = sqlite3.connect(str(db))
    try:
        out: dict[str, Any] = {}
        for table in TABLES:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            if not exists:
                continue
            cursor = conn.execute(f"SELECT * FROM {table}")  # table names are the constants above
            columns = [c[0] for c in cursor.description]
            blank = VOLATILE.get(table, ())
            rows = [
                tuple(
                    None if col in blank else value for col, value in zip(columns, row, strict=True)
                )
                for row in cursor.fetchall()
            ]
            out[table] = sorted(rows, key=repr)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        out.pop("meta", None)
        out["meta"] = meta
        return out
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(str(db))
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def assert_consistent(db: Path) -> None:
    """integrity_check ok; the serial is the last history entry and history has no gap."""
    assert integrity(db) == "ok"
    conn = sqlite3.connect(str(db))
    try:
        serial = int(conn.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()[0])
        serials = [int(r[0]) for r in conn.execute("SELECT serial FROM history ORDER BY serial")]
    finally:
        conn.close()
    assert serials == list(range(1, serial + 1)), (serial, serials)


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEGPUB_")}
    return {**base, "SEGPUB_ACTOR": "tester", "PYTHONPATH": str(ROOT), **extra}


def segpub_process(args: list[str], cwd: Path, extra_env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def trace_points(args: list[str], cwd: Path) -> list[str]:
    """The fault points one real run of `segpub args` passes, in order."""
    trace = cwd / "trace.txt"
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env(SEGPUB_TRACE_FILE=str(trace)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    points = trace.read_text(encoding="utf-8").splitlines() if trace.exists() else []
    trace.unlink(missing_ok=True)
    return points


def kill_at(args: list[str], cwd: Path, point: str, timeout: float = 30) -> None:
    """Run `segpub args`, wait until it pauses at `point`, and SIGKILL it there."""
    marker = cwd / "paused.txt"
    marker.unlink(missing_ok=True)
    process = segpub_process(
        args, cwd, {"SEGPUB_PAUSE_AT": point, "SEGPUB_PAUSE_FILE": str(marker)}
    )
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(
                    f"segpub ended ({process.returncode}) before {point}: {out}{err}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"segpub never reached {point}")
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    marker.unlink()
