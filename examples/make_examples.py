"""Write the bundled example world: catalog.yaml (segments) and, for the platform views, the
accounts, memberships and CRM records that go with it. Deterministic: same files every run.

    python examples/make_examples.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

UPLOAD, REPORT, LIST, FILTERS = "account_list_upload", "crm_report_sync", "crm_list_sync", "filters"

# (id, name, folder, created_via, filters, used_by, published_uses)
SEGMENTS: list[tuple[int, str, str, str, list[str], list[tuple[str, str]], list[str]]] = [
    (
        1001,
        "NA Enterprise ICP",
        "GTM/Territories",
        UPLOAD,
        ["Uploaded Account List", "Account Profile Fit"],
        [("custom_6qa", "Enterprise 6QA")],
        ["gtm", "account_details"],
    ),
    (
        1002,
        "EMEA Enterprise ICP",
        "GTM/Territories",
        UPLOAD,
        ["Uploaded Account List"],
        [("saved_6qa_report", "EMEA 6QA by week")],
        ["gtm", "account_details", "orchestration"],
    ),
    (
        1003,
        "APAC Mid-Market",
        "GTM/Territories",
        REPORT,
        ["Accounts in Salesforce Report"],
        [],
        ["gtm"],
    ),
    (
        1004,
        "LATAM Named Accounts",
        "GTM/Territories",
        LIST,
        ["Salesforce Account List"],
        [],
        ["gtm", "api"],
    ),
    (
        1005,
        "NA Mid-Market West",
        "GTM/Territories",
        REPORT,
        ["Accounts in Salesforce Report"],
        [("saved_funnel_insights_report", "West funnel Q4")],
        ["gtm", "orchestration"],
    ),
    (
        1006,
        "NA Mid-Market East",
        "GTM/Territories",
        REPORT,
        ["Accounts in Salesforce Report"],
        [],
        [],
    ),
    (
        1010,
        "Healthcare Providers",
        "GTM/Industries",
        UPLOAD,
        ["Uploaded Account List"],
        [("ai_orchestration", "Healthcare nurture agent")],
        ["gtm", "orchestration", "data_workflows"],
    ),
    (
        1011,
        "Financial Services",
        "GTM/Industries",
        LIST,
        ["Salesforce Account List"],
        [],
        ["gtm", "orchestration"],
    ),
    (
        1012,
        "Manufacturing",
        "GTM/Industries",
        REPORT,
        ["Accounts in Salesforce Report", "Account Profile Fit"],
        [("pipeline_intelligence", "Manufacturing pipeline")],
        ["gtm"],
    ),
    (
        1013,
        "Retail & eCommerce",
        "GTM/Industries",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["orchestration"],
    ),
    (1014, "Public Sector", "GTM/Industries", LIST, ["Salesforce Account List"], [], []),
    (
        1020,
        "Tier 1 Strategic",
        "ABM/Tiers",
        UPLOAD,
        ["Uploaded Account List"],
        [("workflow", "Tier 1 SDR routing")],
        ["account_details", "api", "orchestration"],
    ),
    (
        1021,
        "Tier 2 Growth",
        "ABM/Tiers",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["account_details", "orchestration"],
    ),
    (1022, "Tier 3 Scale", "ABM/Tiers", UPLOAD, ["Uploaded Account List"], [], ["account_details"]),
    (1023, "Target Accounts", "ABM/Tiers", LIST, ["Salesforce Account List"], [], ["api"]),
    (1024, "Target Accounts", "Sales/EMEA", LIST, ["Salesforce Account List"], [], []),
    (
        1030,
        "High Intent - Security",
        "Campaigns/2026",
        FILTERS,
        ["Intent Keywords", "Account Profile Fit"],
        [("alert", "Security intent spike")],
        ["orchestration", "data_workflows"],
    ),
    (
        1031,
        "High Intent - Analytics",
        "Campaigns/2026",
        FILTERS,
        ["Intent Keywords"],
        [],
        ["orchestration"],
    ),
    (
        1032,
        "Webinar Attendees Q4",
        "Campaigns/2026",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["data_workflows"],
    ),
    (
        1033,
        "Website Visitors 30d",
        "Campaigns/2026",
        FILTERS,
        ["Web Visits", "Account Profile Fit"],
        [("report", "Weekly web engagement")],
        ["account_details"],
    ),
    (
        1034,
        "6QA Accounts",
        "Campaigns/2026",
        FILTERS,
        ["Buying Stage", "Profile Fit Grade"],
        [],
        ["api", "orchestration"],
    ),
    (1035, "Competitor Users", "Campaigns/2026", FILTERS, ["Technographics"], [], []),
    (
        1036,
        "Event Follow-up Dreamforce",
        "Campaigns/2026",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["data_workflows"],
    ),
    (
        1040,
        "Open Opportunities",
        "Sales/Pipeline",
        REPORT,
        ["Accounts in Salesforce Report"],
        [],
        ["account_details", "api"],
    ),
    (
        1041,
        "Closed Lost 12m",
        "Sales/Pipeline",
        REPORT,
        ["Accounts in Salesforce Report"],
        [],
        ["orchestration"],
    ),
    (
        1042,
        "Renewals Next Quarter",
        "Sales/Pipeline",
        LIST,
        ["Salesforce Account List"],
        [("workflow", "Renewal risk review")],
        ["account_details", "orchestration"],
    ),
    (
        1043,
        "Expansion Candidates",
        "Sales/Pipeline",
        FILTERS,
        ["Account Profile Fit", "Product Usage"],
        [],
        [],
    ),
    (
        1050,
        "Customers - Active",
        "Customers",
        LIST,
        ["Salesforce Account List"],
        [],
        ["api", "account_details", "data_workflows"],
    ),
    (
        1051,
        "Customers - Churned",
        "Customers",
        REPORT,
        ["Accounts in Salesforce Report"],
        [],
        ["data_workflows"],
    ),
    (1052, "Customer Advocates", "Customers", UPLOAD, ["Uploaded Account List"], [], []),
    (
        1060,
        "Legacy SI Territory",
        "Archive",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["sales_intelligence_legacy", "account_details"],
    ),
    (1061, "Old Campaign", "Archive", FILTERS, ["Intent Keywords"], [], ["orchestration"]),
    (
        1062,
        "2025 Trade Show Leads",
        "Archive",
        UPLOAD,
        ["Uploaded Account List"],
        [],
        ["data_workflows"],
    ),
    (1063, "Q2 Partner Push", "Archive", FILTERS, ["Partner Tier"], [], ["api"]),
    (
        1070,
        "Partners - Resellers",
        "Partners",
        LIST,
        ["Salesforce Account List"],
        [],
        ["account_details"],
    ),
    (1071, "Partners - Referral", "Partners", LIST, ["Salesforce Account List"], [], []),
]

COUNTRIES = [
    "United States",
    "Canada",
    "Germany",
    "United Kingdom",
    "France",
    "Japan",
    "Brazil",
    "Australia",
    "India",
    "Netherlands",
]
WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Monarch",
    "Pied Piper",
    "Dunder",
    "Sterling",
    "Nakatomi",
]
SUFFIXES = ["Inc", "GmbH", "Ltd", "SA", "KK", "LLC", "Group", "Holdings"]


def write_catalog() -> None:
    segments = []
    for sid, name, folder, via, filters, used_by, published in SEGMENTS:
        entry: dict[str, object] = {
            "id": sid,
            "name": name,
            "folder": folder,
            "created_via": via,
            "filters": filters,
        }
        if used_by:
            entry["used_by"] = [{"kind": k, "name": n} for k, n in used_by]
        entry["published_uses"] = published
        segments.append(entry)
    header = (
        "# yaml-language-server: $schema=../schemas/catalog.schema.json\n"
        "# The platform's segments as segpub sees them: made by examples/make_examples.py.\n"
        "# `published_uses` is what the platform has published today. The cap is lowered to 30\n"
        "# (the platform's default is 200) and gtm is limited to 10, so that the example config\n"
        "# can show those rules with a handful of segments.\n"
    )
    world = {"settings": {"cap": 30, "use_limits": {"gtm": 10}}, "segments": segments}
    text = yaml.safe_dump(
        world, sort_keys=False, allow_unicode=True, width=120, default_flow_style=None
    )
    (HERE / "catalog.yaml").write_text(header + text, encoding="utf-8")


def write_platform_files(accounts: int = 400) -> None:
    rng = random.Random(20261204)
    rows = []
    for n in range(1, accounts + 1):
        name = f"{rng.choice(WORDS)} {rng.choice(SUFFIXES)} {n}"
        domain = f"{name.split()[0].lower()}{n}.example.com"
        rows.append((f"A{n:05d}", name, domain, rng.choice(COUNTRIES)))
    with open(HERE / "accounts.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["account_id", "name", "domain", "country"])
        writer.writerows(rows)
    with open(HERE / "members.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["segment_id", "account_id"])
        for sid, *_ in SEGMENTS:
            for account in sorted(rng.sample(rows, rng.randint(10, 80))):
                writer.writerow([sid, account[0]])
    with open(HERE / "records.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["system", "record_type", "record_id", "account_id", "created_at"])
        for n, account in enumerate(rows, start=1):
            day = 1 + n % 28
            writer.writerow(
                [
                    "salesforce",
                    "account",
                    f"001{n:012d}",
                    account[0],
                    f"2026-11-{day:02d}T09:00:00Z",
                ]
            )
            if n % 3 == 0:
                writer.writerow(
                    [
                        "salesforce",
                        "contact",
                        f"003{n:012d}",
                        account[0],
                        f"2026-11-{day:02d}T10:00:00Z",
                    ]
                )
            if n % 4 == 0:
                writer.writerow(
                    ["marketo", "lead", f"{100000 + n}", account[0], f"2026-11-{day:02d}T11:00:00Z"]
                )


if __name__ == "__main__":
    write_catalog()
    write_platform_files()
