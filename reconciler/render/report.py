"""Workspace reports (status, history) as data and as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.model import HistoryEntry, Use, WorkspaceState
from reconciler.render.printable import printable


def status(state: WorkspaceState, last: HistoryEntry | None, location: str) -> dict[str, Any]:
    per_use = {use.value: 0 for use in Use}
    for uses in state.publications.values():
        for use in uses:
            per_use[use.value] += 1
    return {
        "workspace": location,
        "lineage": state.lineage,
        "serial": state.serial,
        "segments": len(state.segments),
        "published": state.published_count,
        "cap": state.settings.cap,
        "per_use": per_use,
        "use_limits": {u.value: n for u, n in state.settings.use_limits},
        "last_change": last.to_dict() if last else None,
    }


def render_status(data: dict[str, Any]) -> str:
    limits = data["use_limits"]
    lines = [
        f"Workspace: {data['workspace']}",
        f"Lineage:   {data['lineage']}",
        f"Serial:    {data['serial']}",
        f"Segments:  {data['segments']}",
        f"Published: {data['published']}/{data['cap']}",
    ]
    width = max(len(u) for u in data["per_use"])
    for use, count in data["per_use"].items():
        limit = f"/{limits[use]}" if use in limits else ""
        lines.append(f"  {use:<{width}}  {count}{limit}")
    last = data["last_change"]
    if last:
        source = f" from {last['source']['path']}" if last["source"]["path"] else ""
        lines.append(
            f"Last change: serial {last['serial']} at {last['at']} by {last['actor']}"
            f" ({last['kind']}{source})"
        )
    else:
        lines.append("Last change: none yet")
    return "\n".join(lines)


def render_history(entries: Sequence[HistoryEntry]) -> str:
    if not entries:
        return "No changes recorded yet.\n"
    lines: list[str] = []
    for entry in entries:
        lines.append(f"#{entry.serial}  {entry.at}  {entry.actor}  {entry.kind} ({entry.command})")
        if entry.source_path:
            sha = f" sha256 {entry.source_sha256}" if entry.source_sha256 else ""
            commit = f" commit {entry.git_commit}" if entry.git_commit else ""
            lines.append(f"    source: {entry.source_path}{sha}{commit}")
        elif entry.kind in ("publish", "unpublish"):
            lines.append(f"    source: made outside a config (segpub {entry.command})")
        lines.append(f"    {printable(entry.summary)}")
        for change in entry.changes:
            lines.append(f"      {_describe_change(change)}")
    return "\n".join(lines) + "\n"


def _describe_change(change: dict[str, Any]) -> str:
    action = change.get("action", "?")
    who = printable(f"{change.get('segment_name', '')} ({change.get('segment_id', '')})")
    if action in ("publish", "update", "unpublish"):
        parts = [f"-{u}" for u in change.get("remove", [])] + [
            f"+{u}" for u in change.get("add", [])
        ]
        return f"{action} {who}: {' '.join(parts)}"
    if action == "settings":
        return f"settings: cap {change.get('cap')}, use limits {change.get('use_limits')}"
    return f"{action.replace('_', ' ')} {who}"
