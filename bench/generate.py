"""Generate the benchmark world: accounts, segments, memberships and Salesforce account records.

Full scale (the issue's world): 1,000,000 accounts, 2,000 segments (200 published for
orchestration), 10,000,000 memberships, 1,000,000 Salesforce account records; and, for the plan
benchmark, a 20,000-segment catalog with a 200-publication config. Deterministic.

    python bench/generate.py --out bench/world            # full scale
    python bench/generate.py --out bench/small --scale 0.01
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

import yaml

WORDS = [
    "Enterprise",
    "Mid-Market",
    "Intent",
    "Healthcare",
    "Finance",
    "Retail",
    "Security",
    "Analytics",
    "Renewals",
    "Expansion",
    "Churn Risk",
    "Webinar",
    "Partners",
    "Tier 1",
    "Tier 2",
    "Zürich",
    "São Paulo",
    "東京",
    "Open Opps",
    "Closed Lost",
]
FOLDERS = [
    "GTM/Territories",
    "GTM/Industries",
    "ABM/Tiers",
    "Campaigns/2026",
    "Sales/Pipeline",
    "Customers",
    "Archive",
    "Partners",
]


def segment_name(rng: random.Random, sid: int) -> str:
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)} {sid}"


def catalog(rng: random.Random, first_id: int, count: int, published: int) -> dict[str, object]:
    segments = []
    for n in range(count):
        sid = first_id + n
        segments.append(
            {
                "id": sid,
                "name": segment_name(rng, sid),
                "folder": rng.choice(FOLDERS),
                "created_via": "account_list_upload",
                "filters": ["Uploaded Account List"],
                "published_uses": ["orchestration"] if n < published else [],
            }
        )
    return {"settings": {"cap": 200}, "segments": segments}


def write_yaml(path: Path, data: object) -> None:
    with open(path, "w", encoding="utf-8") as out:
        yaml.safe_dump(
            data, out, sort_keys=False, allow_unicode=True, width=200, default_flow_style=None
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/world")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of the full world's accounts, memberships and records",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261204)
    accounts = max(100, int(1_000_000 * args.scale))
    segments, published, per_account = (
        2000,
        200,
        10,
    )  # 10 memberships per account: 10M at full scale
    first_id = 100_001
    started = time.monotonic()

    world = catalog(rng, first_id, segments, published)
    write_yaml(out / "catalog.yaml", world)
    publications = {
        "version": 1,
        "scope": "partial",
        "publications": [{"id": first_id + n, "uses": ["orchestration"]} for n in range(published)],
        "enrichment": [
            {
                "name": "sfdc-accounts",
                "via": "orchestration",
                "system": "salesforce",
                "record_type": "account",
                "field": "X6sense_Segments__c",
                "delimiter": ";",
                "max_length": 255,
                "scope": "all",
            }
        ],
    }
    write_yaml(out / "publications.yaml", publications)

    # The plan benchmark's catalog: 20,000 segments, 200 of them published, and a config that
    # changes 20 of the 200 (10 unpublished, 10 newly published).
    big = catalog(random.Random(7), first_id, 20_000, published)
    write_yaml(out / "catalog20k.yaml", big)
    entries = [{"id": first_id + n, "uses": ["orchestration"]} for n in range(10, published)]
    entries += [{"id": first_id + n, "uses": []} for n in range(10)]
    entries += [
        {"id": first_id + published + n, "uses": ["orchestration", "api"]} for n in range(10)
    ]
    write_yaml(
        out / "publications20k.yaml", {"version": 1, "scope": "partial", "publications": entries}
    )

    with open(out / "accounts.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["account_id", "name", "domain", "country"])
        writer.writerows(
            (f"A{n:07d}", f"Company {n}", f"company{n}.example.com", "US") for n in range(accounts)
        )
    ids = list(range(first_id, first_id + segments))
    with open(out / "members.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["segment_id", "account_id"])
        sample = rng.sample
        for n in range(accounts):
            account = f"A{n:07d}"
            writer.writerows((sid, account) for sid in sample(ids, per_account))
    with open(out / "records.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["system", "record_type", "record_id", "account_id", "created_at"])
        writer.writerows(
            (
                "salesforce",
                "account",
                f"001{n:012d}",
                f"A{n:07d}",
                f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:00:00Z",
            )
            for n in range(accounts)
        )
    print(
        f"wrote {out}: {accounts} accounts, {segments} segments ({published} published),"
        f" {accounts * per_account} memberships, {accounts} records"
        f" in {time.monotonic() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
