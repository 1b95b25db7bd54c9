"""The workspace's users and their roles, and the one check of who may change publications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.errors import RefusedError, UsageError

if TYPE_CHECKING:
    from reconciler.store.base import Cursor, Provenance, SqlStore

ROLES = ("primary_admin", "admin", "operations", "marketing", "view_only")
#: The roles that may apply, publish, unpublish or import (the platform's own rule).
PUBLISHER_ROLES = frozenset({"primary_admin", "admin", "operations"})
#: History kinds that change which segments are published (or what the platform holds).
GUARDED_KINDS = frozenset({"apply", "publish", "unpublish", "import"})


def set_user(store: SqlStore, actor: str, role: str) -> str | None:
    """Give `actor` `role`; returns the role it had before (None if it was not a user)."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if not actor.strip():
        raise UsageError("the actor name is empty; give the name segpub records for them")
    with store.write("users") as cursor:
        before = role_of(store, cursor, actor)
        store._execute(cursor, "DELETE FROM users WHERE actor = ?", (actor,))
        store._execute(cursor, "INSERT INTO users (actor, role) VALUES (?, ?)", (actor, role))
    return before


def remove_user(store: SqlStore, actor: str) -> bool:
    with store.write("users") as cursor:
        existed = role_of(store, cursor, actor) is not None
        store._execute(cursor, "DELETE FROM users WHERE actor = ?", (actor,))
    return existed


def list_users(store: SqlStore) -> list[tuple[str, str]]:
    rows = store._execute(store._cursor(), "SELECT actor, role FROM users").fetchall()
    return sorted(
        ((str(a), str(r)) for a, r in rows),
        key=lambda u: (ROLES.index(u[1]) if u[1] in ROLES else len(ROLES), u[0]),
    )


def role_of(store: SqlStore, cursor: Cursor, actor: str) -> str | None:
    row = store._execute(cursor, "SELECT role FROM users WHERE actor = ?", (actor,)).fetchone()
    return None if row is None else str(row[0])


def check_may_write(store: SqlStore, cursor: Cursor, provenance: Provenance) -> None:
    """Refuse a guarded write by an actor whose role may only look. A workspace without users
    is a single-user one: everyone may. Runs inside the write's transaction, before it commits,
    so a refused write leaves nothing behind."""
    check_actor(store, cursor, provenance.actor, provenance.kind)


def require_publisher(store: SqlStore, actor: str, kind: str = "apply") -> None:
    """Refuse up front, before anything is planned or written, an actor who may only look."""
    check_actor(store, store._cursor(), actor, kind)


def check_actor(store: SqlStore, cursor: Cursor, actor: str, kind: str) -> None:
    if kind not in GUARDED_KINDS:
        return
    if store._execute(cursor, "SELECT 1 FROM users LIMIT 1").fetchone() is None:
        return
    role = role_of(store, cursor, actor)
    if role in PUBLISHER_ROLES:
        return
    who = "" if role is not None else f"{actor} is not a user of this workspace; "
    raise RefusedError(
        f"{actor} (role {role or 'none'}) may not publish segments; {who}only primary_admin,"
        " admin and operations users may apply, publish, unpublish or import (see `segpub"
        " users list`)"
    )
