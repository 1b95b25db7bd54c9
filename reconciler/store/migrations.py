"""The workspace schema, as numbered migrations in SQL that both SQLite and PostgreSQL accept."""

from __future__ import annotations

# Each entry takes the schema from version i to i + 1. Never edit a released entry: append one.
# Types are kept to the subset both engines share (BIGINT, TEXT, PRIMARY KEY, no AUTOINCREMENT);
# the history's key is the serial the write made, so it needs no sequence.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE segments (
            id BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            folder TEXT,
            created_via TEXT NOT NULL,
            filters TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX segments_name ON segments (name)",
        """CREATE TABLE dependents (
            segment_id BIGINT NOT NULL REFERENCES segments (id),
            position BIGINT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (segment_id, position)
        )""",
        """CREATE TABLE publications (
            segment_id BIGINT NOT NULL REFERENCES segments (id),
            use_id TEXT NOT NULL,
            PRIMARY KEY (segment_id, use_id)
        )""",
        """CREATE TABLE history (
            serial BIGINT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            command TEXT NOT NULL,
            source_path TEXT,
            source_sha256 TEXT,
            git_commit TEXT,
            summary TEXT NOT NULL,
            changes TEXT NOT NULL
        )""",
    ],
    # 2: the platform side (accounts, memberships, CRM/MAP records, enrichment targets and the
    # values last pushed to them) and the workspace's users and their roles.
    [
        """CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            domain TEXT,
            country TEXT
        )""",
        "CREATE INDEX accounts_domain ON accounts (domain)",
        """CREATE TABLE members (
            segment_id BIGINT NOT NULL,
            account_id TEXT NOT NULL,
            PRIMARY KEY (segment_id, account_id)
        )""",
        "CREATE INDEX members_account ON members (account_id, segment_id)",
        """CREATE TABLE records (
            system TEXT NOT NULL,
            record_type TEXT NOT NULL,
            record_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            created_at TEXT,
            PRIMARY KEY (system, record_type, record_id)
        )""",
        "CREATE INDEX records_account ON records (account_id)",
        """CREATE TABLE enrichment_targets (
            name TEXT PRIMARY KEY,
            spec TEXT NOT NULL
        )""",
        """CREATE TABLE pushed_values (
            target TEXT NOT NULL,
            record_id TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (target, record_id)
        )""",
        """CREATE TABLE users (
            actor TEXT PRIMARY KEY,
            role TEXT NOT NULL
        )""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
