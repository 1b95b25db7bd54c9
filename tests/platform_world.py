"""A small platform world for the imports, views and enrichment tests: a catalog, accounts,
memberships and CRM records, written as files and imported through the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.store import open_workspace
from tests.conftest import Segpub, write

CATALOG = """\
settings: {cap: 200}
segments:
- {id: 1, name: Alpha, folder: GTM/Territories, created_via: account_list_upload,
   filters: [Uploaded Account List], published_uses: [orchestration, api, account_details]}
- {id: 2, name: "Bêta ñandú", folder: ABM/Tiers, created_via: account_list_upload,
   filters: [Uploaded Account List], published_uses: [orchestration, account_details]}
- {id: 3, name: "Ωmega 東京", folder: ABM/Tiers, created_via: filters, filters: [Intent],
   published_uses: [orchestration, api]}
- {id: 4, name: "Delta; semi", folder: Campaigns, created_via: filters, filters: [Intent],
   published_uses: [data_workflows]}
- {id: 5, name: Unpublished One, folder: Campaigns, created_via: filters, filters: [Intent],
   used_by: [{kind: alert, name: Spike}]}
- {id: 6, name: Locked GTM, folder: GTM/Industries, created_via: crm_list_sync,
   filters: [Salesforce Account List],
   used_by: [{kind: custom_6qa, name: Enterprise 6QA}, {kind: workflow, name: Routing}],
   published_uses: [gtm, api]}
- {id: 7, name: Alpha, folder: Sales/EMEA, created_via: account_list_upload,
   filters: [Uploaded Account List], published_uses: [orchestration]}
"""

ACCOUNTS = """\
account_id,name,domain,country
A1,Acme Inc,acme.example.com,United States
A2,Globex GmbH,globex.example.com,Germany
A3,Initech,initech.example.com,Japan
A4,Loner Ltd,loner.example.com,France
"""

MEMBERS = """\
segment_id,account_id
1,A1
2,A1
3,A1
7,A1
4,A1
1,A2
6,A2
3,A3
5,A4
"""

RECORDS = """\
system,record_type,record_id,account_id,created_at
salesforce,account,001-A1,A1,2026-01-05T09:00:00Z
salesforce,account,001-A2,A2,2026-01-06T09:00:00Z
salesforce,account,001-A3,A3,2026-01-07T09:00:00Z
salesforce,account,001-A4,A4,2026-01-08T09:00:00Z
salesforce,contact,003-A1,A1,
marketo,lead,L-9,A3,2026-01-01
"""

TARGET = """\
  - name: sfdc-accounts
    via: orchestration
    system: salesforce
    record_type: account
    field: X6sense_Segments__c
"""


def rows(segpub: Segpub, sql: str) -> list[tuple[Any, ...]]:
    """Read the test's workspace directly (either backend)."""
    store = open_workspace(segpub.workspace)
    try:
        return [tuple(r) for r in store._execute(store._cursor(), sql).fetchall()]
    finally:
        store.close()


def config(
    folder: Path, targets: str = TARGET, publications: str = "[]", name: str = "publications.yaml"
) -> Path:
    text = f"version: 1\npublications: {publications}\n"
    if targets is not None:
        text += "enrichment:\n" + targets if targets.strip() else "enrichment: []\n"
    return write(folder / name, text)


def world(segpub: Segpub, folder: Path, targets: str = TARGET, records: str = RECORDS) -> None:
    """Catalog, config with `targets` applied, accounts, members and records imported."""
    steps: list[tuple[Any, ...]] = [
        ("catalog", "import", write(folder / "catalog.yaml", CATALOG).name),
        ("apply", config(folder, targets).name, "--auto-approve"),
        ("accounts", "import", write(folder / "accounts.csv", ACCOUNTS).name),
        ("members", "import", write(folder / "members.csv", MEMBERS).name),
        ("records", "import", write(folder / "records.csv", records).name),
    ]
    for step in steps:
        result = segpub(*step)
        assert result.code == 0, (step, result.out, result.err)
