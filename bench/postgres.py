"""The same enrichment and plan measurements on SQLite and PostgreSQL, side by side.

    python bench/generate.py --out bench/world        # once (the full-scale world)
    python bench/run.py --world bench/world           # once: builds bench/world/run/segpub.db
    python bench/postgres.py --world bench/world      # prints a Markdown table

The PostgreSQL workspace is a `segpub workspace copy` of the SQLite one (so both hold exactly the
same rows); the server is SEGPUB_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/
test). Measured on each engine: `segpub enrich sfdc-accounts` over every record (time, peak
memory, and whether both outputs are identical) and `segpub plan` on the 20,000-segment catalog
(median of --repeat runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

# bench/run.py's process timers: `python bench/postgres.py` puts bench/ first on sys.path.
from run import peak_rss_of, run

SEGPUB = [sys.executable, "-m", "reconciler"]
SERVER = os.environ.get("SEGPUB_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def location(name: str) -> str:
    return f"{SERVER}{'&' if '?' in SERVER else '?'}workspace={name}"


def segpub(args: list[str], cwd: Path, stdout: int | None = subprocess.DEVNULL) -> float:
    """Seconds of one segpub process (it exits the bench if segpub fails)."""
    return run([*SEGPUB, *args], cwd, env={"SEGPUB_ACTOR": "bench"}, stdout=stdout)


def timed_with_peak(args: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one segpub process."""
    return peak_rss_of([*SEGPUB, *args], cwd)


def drop(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(f"segpub_{name}"))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="bench/world")
    parser.add_argument(
        "--source",
        default=None,
        help="the SQLite workspace bench/run.py built (default WORLD/run/segpub.db)",
    )
    parser.add_argument("--work", default=None, help="scratch folder (default: WORLD/pg)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    world = Path(args.world).resolve()
    work = Path(args.work or world / "pg").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = Path(args.source or world / "run" / "segpub.db")
    if not source.is_file():
        sys.exit(f"{source} does not exist: run bench/run.py first")
    sqlite_db = work / "segpub.db"
    shutil.copy(source, sqlite_db)  # a private copy: bench/run.py may be rebuilding its own
    pg_ws = location("bench")
    drop("bench")
    copy_seconds = segpub(["workspace", "copy", str(sqlite_db), pg_ws], work)
    print(f"  setup: workspace copy SQLite -> PostgreSQL: {copy_seconds:.1f}s", file=sys.stderr)

    rows: list[tuple[str, str, str, str]] = []
    # 1. enrichment, every record, on each engine
    results = {}
    for engine, ws in (("SQLite", str(sqlite_db)), ("PostgreSQL", pg_ws)):
        out = work / f"enrich-{engine}.csv"
        results[engine] = timed_with_peak(
            ["--workspace", ws, "enrich", "sfdc-accounts", "--out", str(out)], work
        )
    same = (work / "enrich-SQLite.csv").read_bytes() == (
        work / "enrich-PostgreSQL.csv"
    ).read_bytes()
    records = sum(1 for _ in open(work / "enrich-SQLite.csv", "rb")) - 1
    rows.append(
        (
            f"enrich sfdc-accounts ({records:,} records)",
            f"{results['SQLite'][0]:.2f} s, peak {results['SQLite'][1]:.0f} MB",
            f"{results['PostgreSQL'][0]:.2f} s, peak {results['PostgreSQL'][1]:.0f} MB",
            f"outputs {'identical' if same else 'DIFFER'}",
        )
    )

    # 2. plan on the 20,000-segment catalog
    big_sqlite = work / "big.db"
    big_pg = location("bench20k")
    drop("bench20k")
    segpub(["--workspace", big_pg, "workspace", "init"], work)
    plans = {}
    for engine, ws in (("SQLite", str(big_sqlite)), ("PostgreSQL", big_pg)):
        segpub(["--workspace", ws, "catalog", "import", str(world / "catalog20k.yaml")], work)
        plans[engine] = statistics.median(
            segpub(["--workspace", ws, "plan", str(world / "publications20k.yaml")], work)
            for _ in range(args.repeat)
        )
    rows.append(
        (
            "plan (20,000 segments, 200 publications)",
            f"{plans['SQLite']:.2f} s",
            f"{plans['PostgreSQL']:.2f} s",
            f"median of {args.repeat}",
        )
    )
    drop("bench")
    drop("bench20k")

    import psycopg

    with psycopg.connect(SERVER) as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    print(
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node()}:"
        f" {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL"
        f" {server_version.split()[0]} on the same machine; world {world.name};"
        f" workspace copy SQLite -> PostgreSQL {copy_seconds:.0f} s"
    )
    print()
    print("| measure | SQLite | PostgreSQL | notes |")
    print("|---|---:|---:|---|")
    for label, on_sqlite, on_pg, note in rows:
        print(f"| {label} | {on_sqlite} | {on_pg} | {note} |")


if __name__ == "__main__":
    main()
