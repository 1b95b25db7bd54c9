"""Resolve the segments a config names to workspace segments: unknown, ambiguous, duplicate."""

from __future__ import annotations

import difflib
from typing import NamedTuple

from reconciler.model import Config, DesiredPublication, Segment, Violation, WorkspaceState


class Resolved(NamedTuple):
    """The config's entries that name exactly one segment, each once, keyed by segment id."""

    entries: dict[int, tuple[Segment, DesiredPublication]]
    violations: tuple[Violation, ...]


def resolve(config: Config, state: WorkspaceState) -> Resolved:
    by_name: dict[str, list[Segment]] = {}
    for segment in state.segments.values():
        by_name.setdefault(segment.name, []).append(segment)
    entries: dict[int, tuple[Segment, DesiredPublication]] = {}
    violations: list[Violation] = []
    for desired in config.publications:
        found, problem = _find(desired, state, by_name)
        if found is None:
            if problem is not None:
                violations.append(problem)
            continue
        segment = found
        if segment.id in entries:
            first = entries[segment.id][1].location
            violations.append(
                Violation.at(
                    "duplicate_segment",
                    f"segment {segment.label()} is listed twice, at lines {first.line} and"
                    f" {desired.location.line}; keep one entry and merge their uses",
                    desired.location,
                    segment,
                )
            )
            continue
        entries[segment.id] = (segment, desired)
    return Resolved(entries, tuple(violations))


def _find(
    desired: DesiredPublication, state: WorkspaceState, by_name: dict[str, list[Segment]]
) -> tuple[Segment | None, Violation | None]:
    if isinstance(desired.ref, int):
        found = state.segments.get(desired.ref)
        if found is None:
            return None, Violation.at(
                "unknown_segment",
                f"no segment has id {desired.ref}; check the id, or import the catalog that has it",
                desired.location,
            )
        return found, None
    matches = by_name.get(desired.ref, [])
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        suggestions = difflib.get_close_matches(desired.ref, list(by_name), n=3, cutoff=0.6)
        hint = (
            "; did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"
            if suggestions
            else "; check the name, or refer to the segment by `id`"
        )
        return None, Violation(
            rule="unknown_segment",
            message=f"no segment is named '{desired.ref}'{hint}",
            segment_name=desired.ref,
            file=desired.location.file,
            line=desired.location.line,
            column=desired.location.column,
        )
    ids = ", ".join(str(s.id) for s in sorted(matches, key=lambda s: s.id))
    return None, Violation(
        rule="ambiguous_segment",
        message=f"{len(matches)} segments are named '{desired.ref}' (ids {ids});"
        " refer to the one you mean by `id`",
        segment_name=desired.ref,
        file=desired.location.file,
        line=desired.location.line,
        column=desired.location.column,
    )
