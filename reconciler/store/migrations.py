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
]

SCHEMA_VERSION = len(MIGRATIONS)
