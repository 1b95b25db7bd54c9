"""Drift: the publishes and unpublishes made outside a config since the last apply."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.model import HistoryEntry

DRIFT_HEADING = "Changed outside segpub since the last apply:"
# History kinds written by `segpub publish` / `segpub unpublish`: made outside any config.
OUTSIDE_KINDS = frozenset({"publish", "unpublish"})


def since_last_apply(entries: Sequence[HistoryEntry]) -> tuple[dict[str, Any], ...]:
    """The outside changes recorded after the latest apply (all of them if none was applied)."""
    last_apply = max((e.serial for e in entries if e.kind == "apply"), default=0)
    return tuple(
        {
            "serial": e.serial,
            "at": e.at,
            "actor": e.actor,
            "kind": e.kind,
            "command": e.command,
            "summary": e.summary,
            "changes": list(e.changes),
        }
        for e in sorted(entries, key=lambda e: e.serial)
        if e.kind in OUTSIDE_KINDS and e.serial > last_apply
    )


def describe_change(change: dict[str, Any]) -> str:
    """`Name (id): -gtm +api`, from a change as history records it."""
    parts = [f"-{u}" for u in change.get("remove", [])] + [f"+{u}" for u in change.get("add", [])]
    who = f"{change.get('segment_name', '?')} ({change.get('segment_id', '?')})"
    return f"{who}: {' '.join(parts)}" if parts else who


def drift_items(drift: Iterable[dict[str, Any]]) -> list[str]:
    """One line per outside change: serial, time, actor, kind and what it did."""
    return [
        f"#{item['serial']} {item['at']} {item['actor']} {item['kind']} {describe_change(change)}"
        for item in drift
        for change in item.get("changes", [])
    ]


def drift_lines(drift: Sequence[dict[str, Any]]) -> list[str]:
    """The text section shown above a plan; empty when nothing drifted."""
    if not drift:
        return []
    return [
        DRIFT_HEADING,
        *(f"  {line}" for line in drift_items(drift)),
        "  (the plan below reverts those the config manages, like any other difference)",
        "",
    ]
