"""Desired vs current publications -> the list of Changes (deepdiff stays inside this file)."""

from __future__ import annotations

from typing import NamedTuple

from deepdiff import DeepDiff

from reconciler.model import Change, Location, Scope, Segment, Use, WorkspaceState
from reconciler.resolve import Resolved


class Desired(NamedTuple):
    """The publications the config asks for, for every segment it manages."""

    uses: dict[int, frozenset[Use]]
    locations: dict[int, Location]


def desired_state(
    resolved: Resolved, scope: Scope, scope_location: Location, state: WorkspaceState
) -> Desired:
    uses = {sid: desired.uses for sid, (_, desired) in resolved.entries.items()}
    locations = {sid: desired.location for sid, (_, desired) in resolved.entries.items()}
    if scope is Scope.FULL:
        # Under full scope a published segment the config leaves out is to be unpublished;
        # the change points at the `scope:` line, the line that asked for it.
        for sid, current in state.publications.items():
            if current and sid not in uses:
                uses[sid] = frozenset()
                locations[sid] = scope_location
    return Desired(uses, locations)


def diff(desired: Desired, state: WorkspaceState) -> list[Change]:
    """The changes that take the workspace from its current publications to `desired`."""
    current_view = {str(s): key for s in desired.uses if (key := _uses_key(state.uses_of(s)))}
    desired_view = {str(s): key for s, uses in desired.uses.items() if (key := _uses_key(uses))}
    # Each segment's uses are one sorted, comma-joined string: order means nothing, and deepdiff
    # compares two strings at the root instead of descending into two lists (a third of the
    # time). threshold_to_diff_deeper=0: always report per segment, even when no key is shared
    # (by default deepdiff would call two wholly different mappings one root-level change).
    delta = DeepDiff(current_view, desired_view, threshold_to_diff_deeper=0)
    changes = []
    for key in delta.affected_root_keys:
        sid = int(key)
        segment: Segment = state.segments[sid]
        changes.append(
            Change(
                segment_id=sid,
                segment_name=segment.name,
                before=state.uses_of(sid),
                after=desired.uses[sid],
                location=desired.locations.get(sid),
            )
        )
    return sorted(changes, key=Change.sort_key)


def published_after(changes: list[Change], state: WorkspaceState) -> dict[int, frozenset[Use]]:
    """The workspace's publications once `changes` are applied (segments with no use left out)."""
    result = {sid: uses for sid, uses in state.publications.items() if uses}
    for change in changes:
        if change.after:
            result[change.segment_id] = change.after
        else:
            result.pop(change.segment_id, None)
    return result


def _uses_key(uses: frozenset[Use]) -> str:
    """`api,gtm`: a segment's uses as deepdiff compares them; empty for none."""
    return ",".join(sorted(use.value for use in uses))
