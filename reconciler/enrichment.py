"""Segment-name enrichment targets: the config's `enrichment:` section, parsed, checked and
planned like publications. `segpub enrich TARGET`, which fills the fields, is reconciler.enrich."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.loading import Document
from reconciler.model import (
    Config,
    EnrichmentTarget,
    Segment,
    TargetChange,
    Use,
    Violation,
    WorkspaceState,
)

# Rule 5: the fields segment names may be written to.
SUPPORTED_PAIRS = frozenset(
    {
        ("salesforce", "account"),
        ("salesforce", "contact"),
        ("salesforce", "lead"),
        ("marketo", "lead"),
        ("hubspot", "lead"),
        ("pardot", "lead"),
        ("eloqua", "lead"),
    }
)
SUPPORTED_TEXT = "salesforce account, contact or lead; marketo, hubspot, pardot or eloqua lead"

# -- the config -----------------------------------------------------------------------------------


def parse_targets(document: Document) -> tuple[EnrichmentTarget, ...]:
    """The schema-valid `enrichment:` section of a publications document, with locations."""
    targets = []
    for index, entry in enumerate(document.data.get("enrichment") or []):
        path: list[str | int] = ["enrichment", index]
        targets.append(
            EnrichmentTarget(
                name=entry["name"],
                via=Use(entry["via"]),
                system=entry["system"],
                record_type=entry["record_type"],
                field=entry["field"],
                delimiter=entry.get("delimiter", ";"),
                max_length=int(entry.get("max_length", 255)),
                scope=entry.get("scope", "all"),
                location=document.location(path),
                pair_location=document.location([*path, "record_type"]),
                scope_location=document.location([*path, "scope"]),
            )
        )
    return tuple(targets)


def check_targets(config: Config, state: WorkspaceState) -> list[Violation]:
    """Unsupported system/record type pairs, names given twice, scope segments not found."""
    violations: list[Violation] = []
    seen: dict[str, EnrichmentTarget] = {}
    for target in config.enrichment or ():
        if (target.system, target.record_type) not in SUPPORTED_PAIRS:
            violations.append(
                Violation.at(
                    "unsupported_enrichment_target",
                    f"enrichment target '{target.name}': {target.system} {target.record_type} is"
                    f" not a field segment names can be written to; supported: {SUPPORTED_TEXT}",
                    target.pair_location or target.location,
                )
            )
        first = seen.get(target.name)
        if first is not None:
            line = first.location.line if first.location else 0
            violations.append(
                Violation.at(
                    "duplicate_enrichment_target",
                    f"enrichment target '{target.name}' is declared twice (first at line {line});"
                    " target names must be unique",
                    target.location,
                )
            )
        else:
            seen[target.name] = target
        if isinstance(target.scope, dict) and "segment" in target.scope:
            _, problem = scope_segment(target.scope["segment"], state)
            if problem:
                violations.append(
                    Violation.at(
                        "unknown_segment",
                        f"enrichment target '{target.name}': scope {problem}",
                        target.scope_location or target.location,
                    )
                )
    return violations


def scope_segment(ref: int | str, state: WorkspaceState) -> tuple[Segment | None, str | None]:
    """The one segment a `scope: {segment: ...}` names, or why there is none."""
    if isinstance(ref, int):
        found = state.segments.get(ref)
        return (found, None) if found else (None, f"names no segment with id {ref}")
    matches = state.segments_named(ref)
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, f"names no segment called '{ref}'"
    ids = ", ".join(str(s.id) for s in sorted(matches, key=lambda s: s.id))
    return None, f"segment name '{ref}' is shared by ids {ids}; give the id"


def diff_targets(config: Config, state: WorkspaceState) -> list[TargetChange]:
    """Targets to add, change and remove; none when the config has no `enrichment:` section."""
    if config.enrichment is None:
        return []
    wanted: dict[str, EnrichmentTarget] = {}
    for target in config.enrichment:
        wanted.setdefault(target.name, target)
    current = state.enrichment_targets
    changes: list[TargetChange] = []
    for name in sorted(current.keys() - wanted.keys()):
        changes.append(TargetChange("remove", name, current[name], None))
    for name in sorted(wanted):
        spec = wanted[name].spec()
        before = current.get(name)
        if before is None:
            changes.append(TargetChange("add", name, None, spec, wanted[name].location))
        elif before != spec:
            changes.append(TargetChange("change", name, before, spec, wanted[name].location))
    return changes


def describe_spec(spec: dict[str, Any]) -> str:
    return (
        f"{spec['system']} {spec['record_type']} field {spec['field']}, segments published for"
        f" {spec['via']}"
    )


def render_target_changes(changes: Sequence[TargetChange]) -> list[str]:
    """The plan's text lines for enrichment target changes."""
    lines: list[str] = []
    symbols = {"add": "+", "change": "~", "remove": "-"}
    for change in changes:
        spec = change.after or change.before or {}
        lines.append(
            f"  {symbols[change.action]} enrichment target {change.name} ({describe_spec(spec)})"
        )
        if change.action == "change" and change.before and change.after:
            for key in sorted(change.after):
                old, new = change.before.get(key), change.after[key]
                if old != new:
                    lines.append(
                        f"      {key}: {json.dumps(old, ensure_ascii=False)} ->"
                        f" {json.dumps(new, ensure_ascii=False)}"
                    )
    return lines
