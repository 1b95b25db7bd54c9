"""Measure segpub against its floors, side by side in one run, and print each ratio.

    python bench/generate.py --out bench/world        # once
    python bench/run.py --world bench/world           # prints a Markdown table

1. `segpub members import` of members.csv vs the sqlite3 shell's `.import` of the same CSV into
   a table with the same indexes (goal: at most 1.5x);
2. `segpub enrich sfdc-accounts` vs one SQL query computing the same values in the sqlite3
   shell writing CSV (goal: at most 1.5x; segpub's peak memory at most 300 MB);
3. `segpub account DOMAIN` vs `segpub --version`, whole processes (goal: at most 1.3x);
4. `segpub plan` on a 20,000-segment catalog with 200 publications vs
   `python -c "import yaml, jsonschema, click, deepdiff, sqlite3"` (goal: at most 1.3x).

Whole processes. The short commands and enrich run in turn with their floors (A B A B ...) and
the ratio is the median of the pairs' ratios, so a machine that slows down midway slows both.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

SEGPUB = shutil.which("segpub") or "segpub"
MEMBERS_DDL = (
    "CREATE TABLE members (segment_id BIGINT NOT NULL, account_id TEXT NOT NULL,"
    " PRIMARY KEY (segment_id, account_id));"
    " CREATE INDEX members_account ON members (account_id, segment_id);"
)
# The same values as `segpub enrich sfdc-accounts` (scope all, via orchestration, ";").
ENRICH_SQL = (
    "SELECT r.record_id AS record_id,"
    " coalesce((SELECT group_concat(x.name, ';') FROM"
    "   (SELECT s.name AS name FROM members m"
    "    JOIN publications p ON p.segment_id = m.segment_id AND p.use_id = 'orchestration'"
    "    JOIN segments s ON s.id = m.segment_id"
    "    WHERE m.account_id = r.account_id ORDER BY s.name, s.id) AS x), '') AS value"
    " FROM records r WHERE r.system = 'salesforce' AND r.record_type = 'account'"
    " ORDER BY r.record_id;"
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return elapsed


def peak_rss_of(args: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one child process."""
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter();"
        " r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
        " e = time.perf_counter() - t;"
        " print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        " sys.exit(r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def paired(n: int, ours: list[str], floor: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run the two commands in turn, n times each (after one warm-up of each), so that a drift in
    the machine's speed hits both; the median times and the median of the n pair ratios."""
    run(ours, cwd), run(floor, cwd)
    pairs = [(run(ours, cwd), run(floor, cwd)) for _ in range(n)]
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a / b for a, b in pairs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="bench/world")
    parser.add_argument("--work", default=None, help="scratch folder (default: WORLD/run)")
    parser.add_argument("--repeat", type=int, default=9, help="runs for the short commands")
    args = parser.parse_args()
    world = Path(args.world).resolve()
    work = Path(args.work or world / "run").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "segpub.db"
    env = {"SEGPUB_WORKSPACE": str(db), "SEGPUB_ACTOR": "bench"}
    os.environ.update(env)
    _compile_bytecode()

    def step(label: str, argv: list[str]) -> float:
        seconds = run(argv, work)
        print(f"  setup: {label}: {seconds:.1f}s", file=sys.stderr)
        return seconds

    print(f"world {world}", file=sys.stderr)
    step("catalog import", [SEGPUB, "catalog", "import", str(world / "catalog.yaml")])
    step("apply", [SEGPUB, "apply", str(world / "publications.yaml"), "--auto-approve"])
    step("accounts import", [SEGPUB, "accounts", "import", str(world / "accounts.csv")])
    step("records import", [SEGPUB, "records", "import", str(world / "records.csv")])
    members_rows = sum(1 for _ in open(world / "members.csv", "rb")) - 1

    # (measure, segpub s, floor, floor s, ratio, goal, notes)
    results: list[tuple[str, float, str, float, float, float, str]] = []

    # 1. members import vs sqlite3 .import
    shell_db = work / "shell.db"
    run(["sqlite3", str(shell_db), MEMBERS_DDL], work)
    cpu = children_cpu()
    shell = run(
        ["sqlite3", str(shell_db), f".import --csv --skip 1 {world / 'members.csv'} members"], work
    )
    shell_cpu, cpu = children_cpu() - cpu, children_cpu()
    ours, ours_mb = peak_rss_of([SEGPUB, "members", "import", str(world / "members.csv")], work)
    ours_cpu = children_cpu() - cpu
    results.append(
        (
            f"members import ({members_rows:,} rows)",
            ours,
            "sqlite3 .import",
            shell,
            ours / shell,
            1.5,
            f"peak {ours_mb:.0f} MB; CPU {ours_cpu:.1f}s vs {shell_cpu:.1f}s",
        )
    )

    # 2. enrich vs one SQL query in the sqlite3 shell writing CSV, in turn, three times each
    shell_times, ours_times, peaks = [], [], []
    cpu = children_cpu()
    shell_cpu = ours_cpu = 0.0
    for _ in range(3):
        with open(work / "shell-enrich.csv", "w") as out:
            started = time.perf_counter()
            subprocess.run(
                ["sqlite3", "-csv", "-header", str(db), ENRICH_SQL], stdout=out, check=True
            )
            shell_times.append(time.perf_counter() - started)
        shell_cpu, cpu = shell_cpu + children_cpu() - cpu, children_cpu()
        seconds, peak = peak_rss_of(
            [SEGPUB, "enrich", "sfdc-accounts", "--out", str(work / "enrich.csv")], work
        )
        ours_cpu, cpu = ours_cpu + children_cpu() - cpu, children_cpu()
        ours_times.append(seconds)
        peaks.append(peak)
    same = _same_values(work / "enrich.csv", work / "shell-enrich.csv")
    results.append(
        (
            "enrich sfdc-accounts (1,000,000 records)",
            statistics.median(ours_times),
            "sqlite3 -csv one query",
            statistics.median(shell_times),
            statistics.median(a / b for a, b in zip(ours_times, shell_times, strict=True)),
            1.5,
            f"3 pairs; peak {max(peaks):.0f} MB (goal 300); CPU {ours_cpu / 3:.1f}s vs"
            f" {shell_cpu / 3:.1f}s; outputs {'identical' if same else 'DIFFER'}",
        )
    )

    # 3. account lookup vs --version
    accounts = sum(1 for _ in open(world / "accounts.csv", "rb")) - 1
    domain = f"company{accounts // 2}.example.com"
    lookup, version, ratio = paired(
        args.repeat, [SEGPUB, "account", domain], [SEGPUB, "--version"], work
    )
    results.append(
        (
            f"account {domain}",
            lookup,
            "segpub --version",
            version,
            ratio,
            1.3,
            f"median of {args.repeat} pairs",
        )
    )

    # 4. plan on 20,000 segments vs the import floor
    big = work / "big.db"
    run(
        [SEGPUB, "--workspace", str(big), "catalog", "import", str(world / "catalog20k.yaml")], work
    )
    planned, floor, ratio = paired(
        args.repeat,
        [SEGPUB, "--workspace", str(big), "plan", str(world / "publications20k.yaml")],
        [sys.executable, "-c", "import yaml, jsonschema, click, deepdiff, sqlite3"],
        work,
    )
    results.append(
        (
            "plan (20,000 segments, 200 publications)",
            planned,
            "python -c 'import yaml, jsonschema, click, deepdiff, sqlite3'",
            floor,
            ratio,
            1.3,
            f"median of {args.repeat} pairs",
        )
    )

    print(
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node()}:"
        f" {os.cpu_count()} cores, {_memory()}, {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}, SQLite {_sqlite_version()}; world {world.name}"
    )
    print()
    print("| measure | segpub (s) | floor | floor (s) | ratio | goal | notes |")
    print("|---|---:|---|---:|---:|---:|---|")
    for label, ours, floor_label, floor_s, ratio, goal, note in results:
        verdict = "ok" if ratio <= goal else "OVER"
        print(
            f"| {label} | {ours:.2f} | {floor_label} | {floor_s:.2f} | {ratio:.2f}x |"
            f" {goal}x {verdict} | {note} |"
        )


def _compile_bytecode() -> None:
    """Measure segpub as installed: `pip install` compiles each module's bytecode, but an editable
    checkout under PYTHONDONTWRITEBYTECODE=1 would compile every module at every start."""
    import compileall

    import reconciler

    compileall.compile_dir(Path(reconciler.__file__).parent, quiet=1)


def _same_values(ours: Path, theirs: Path) -> bool:
    import csv

    with open(ours, newline="") as a, open(theirs, newline="") as b:
        return all(x == y for x, y in zip(csv.reader(a), csv.reader(b), strict=True))


def _memory() -> str:
    try:
        with open("/proc/meminfo") as info:
            kb = int(info.readline().split()[1])
        return f"{kb / 1024 / 1024:.0f} GB RAM"
    except OSError:
        return "RAM unknown"


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
