"""The platform's views, read from the workspace: the segments list with its Activations column,
the Published Segments grid, an account's Segments tab, and the API's segments for an account."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from reconciler.errors import SegpubError
from reconciler.model import DEPENDENT_LABELS, Use, WorkspaceState, sorted_uses
from reconciler.render.printable import printable
from reconciler.store.base import SqlStore

GRID_USES: tuple[Use, ...] = tuple(Use)


class NotFoundError(SegpubError):
    """What the user asked for is not in the workspace."""


def activations(state: WorkspaceState, segment_id: int) -> str:
    """`Published: api, gtm; Custom 6QA: Enterprise 6QA`: publish uses, then other activations."""
    parts: list[str] = []
    uses = state.uses_of(segment_id)
    if uses:
        parts.append("Published: " + ", ".join(sorted_uses(uses)))
    by_kind: dict[str, list[str]] = {}
    for dependent in state.segments[segment_id].used_by:
        by_kind.setdefault(DEPENDENT_LABELS[dependent.kind], []).append(dependent.name)
    parts += [f"{label}: {', '.join(names)}" for label, names in by_kind.items()]
    return "; ".join(parts)


def _account_counts(store: SqlStore) -> dict[int, int]:
    rows = store._execute(
        store._cursor(), "SELECT segment_id, count(*) FROM members GROUP BY segment_id"
    ).fetchall()
    return {int(sid): int(n) for sid, n in rows}


def segments_rows(
    store: SqlStore,
    search: str | None = None,
    folder: str | None = None,
    published: bool | None = None,
) -> list[dict[str, Any]]:
    """The segments list: sorted by name then id, filtered as asked."""
    state = store.read_state()
    counts = _account_counts(store)
    needle = search.casefold() if search else None
    rows = []
    for segment in sorted(state.segments.values(), key=lambda s: (s.name.casefold(), s.id)):
        if needle and needle not in segment.name.casefold() and needle != str(segment.id):
            continue
        if folder and not (segment.folder or "").startswith(folder):
            continue
        is_published = bool(state.uses_of(segment.id))
        if published is not None and is_published != published:
            continue
        rows.append(
            {
                "id": segment.id,
                "name": segment.name,
                "folder": segment.folder,
                "creation_method": segment.created_via.value,
                "accounts": counts.get(segment.id, 0),
                "activations": activations(state, segment.id),
                "published_uses": sorted_uses(state.uses_of(segment.id)),
                "used_by": [{"kind": d.kind.value, "name": d.name} for d in segment.used_by],
            }
        )
    return rows


SEGMENT_COLUMNS = (
    ("id", "ID"),
    ("name", "Name"),
    ("folder", "Folder"),
    ("creation_method", "Creation method"),
    ("accounts", "Accounts"),
    ("activations", "Activations"),
)


def render_segments(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([key for key, _ in SEGMENT_COLUMNS])
        writer.writerows(
            [[r[key] if r[key] is not None else "" for key, _ in SEGMENT_COLUMNS] for r in rows]
        )
        return buffer.getvalue()
    table = _table(
        [title for _, title in SEGMENT_COLUMNS],
        [[_cell(r[key]) for key, _ in SEGMENT_COLUMNS] for r in rows],
        right={4},
    )
    return table + f"{len(rows)} segment{'' if len(rows) == 1 else 's'}.\n"


def published_rows(store: SqlStore, search: str | None = None) -> list[dict[str, Any]]:
    """The Published Segments grid: one row per published segment, one cell per use."""
    state = store.read_state()
    needle = search.casefold() if search else None
    rows = []
    for sid in sorted(state.publications, key=lambda i: (state.segments[i].name.casefold(), i)):
        uses = state.publications[sid]
        segment = state.segments[sid]
        if not uses or (needle and needle not in segment.name.casefold() and needle != str(sid)):
            continue
        cells: dict[str, dict[str, Any]] = {}
        for use in GRID_USES:
            cell: dict[str, Any] = {"checked": use in uses, "locked": False, "locked_by": []}
            if use is Use.GTM and use in uses and segment.gtm_lockers:
                cell["locked"] = True
                cell["locked_by"] = [d.describe() for d in segment.gtm_lockers]
            cells[use.value] = cell
        rows.append({"id": sid, "name": segment.name, "folder": segment.folder, "uses": cells})
    return rows


def render_published(rows: list[dict[str, Any]], fmt: str, cap: int) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    body = []
    for row in rows:
        line = [str(row["id"]), row["name"]]
        for use in GRID_USES:
            cell = row["uses"][use.value]
            text = "[x]" if cell["checked"] else "[ ]"
            if cell["locked"]:
                text += " locked by " + ", ".join(cell["locked_by"])
            line.append(text)
        body.append(line)
    table = _table(["ID", "Name", *(u.value for u in GRID_USES)], body)
    return table + f"{len(rows)} published (cap {cap}).\n"


def find_account(store: SqlStore, ref: str) -> dict[str, Any]:
    """An account by id, else by domain (case-insensitive)."""
    cursor = store._cursor()
    columns = "SELECT id, name, domain, country FROM accounts"
    rows = store._execute(cursor, columns + " WHERE id = ?", (ref,)).fetchall()
    if not rows:
        rows = store._execute(
            cursor, columns + " WHERE domain = ? ORDER BY id", (ref.strip().lower(),)
        ).fetchall()
    if not rows:
        raise NotFoundError(
            f"no account has id or domain '{ref}'; import accounts with `segpub accounts import`"
        )
    if len(rows) > 1:
        ids = ", ".join(str(r[0]) for r in rows)
        raise NotFoundError(
            f"{len(rows)} accounts have domain '{ref}' ({ids}); give the account id"
        )
    account_id, name, domain, country = rows[0]
    return {"id": account_id, "name": name, "domain": domain, "country": country}


def account_segments(store: SqlStore, account_id: str, use: Use) -> list[dict[str, Any]]:
    """The segments published for `use` that contain the account, sorted by id."""
    rows = store._execute(
        store._cursor(),
        "SELECT s.id, s.name, s.folder FROM members m"
        " JOIN publications p ON p.segment_id = m.segment_id AND p.use_id = ?"
        " JOIN segments s ON s.id = m.segment_id"
        " WHERE m.account_id = ? ORDER BY s.id",
        (use.value, account_id),
    ).fetchall()
    return [{"id": int(sid), "name": name, "folder": folder} for sid, name, folder in rows]


def account_view(store: SqlStore, ref: str) -> dict[str, Any]:
    account = find_account(store, ref)
    segments = account_segments(store, account["id"], Use.ACCOUNT_DETAILS)
    segments.sort(key=lambda s: (s["name"].casefold(), s["id"]))
    return {"account": account, "segments": segments}


def render_account(view: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(view, indent=2, ensure_ascii=False) + "\n"
    account = view["account"]
    where = ", ".join(str(v) for v in (account["domain"], account["country"]) if v)
    title = printable(f"{account['name']} ({account['id']})" + (f", {where}" if where else ""))
    lines = [title, ""]
    segments = view["segments"]
    if not segments:
        lines.append("Account appears in no segments published for account_details.")
        return "\n".join(lines) + "\n"
    lines.append("Account appears in these segments:")
    table = _table(
        ["ID", "Name", "Folder"], [[str(s["id"]), s["name"], s["folder"] or ""] for s in segments]
    )
    lines += ["  " + line for line in table.splitlines()]
    return "\n".join(lines) + "\n"


def api_segments(store: SqlStore, ref: str) -> dict[str, Any]:
    """The API's `segments` for an account: exactly {ids, names, list}, sorted by id."""
    account = find_account(store, ref)
    segments = account_segments(store, account["id"], Use.API)
    return {
        "ids": [s["id"] for s in segments],
        "names": [s["name"] for s in segments],
        "list": [{"id": s["id"], "name": s["name"]} for s in segments],
    }


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _width(text: str) -> int:
    """Columns a terminal gives `text`: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | None = None
) -> str:
    right = right or set()
    rows = [[printable(cell) for cell in row] for row in rows]  # names are data: show, never obey
    widths = [_width(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _width(cell))

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(header), *(fmt(r) for r in rows)]) + "\n"
