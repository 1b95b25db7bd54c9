"""`segpub publish` / `segpub unpublish`: one segment changed outside a config, same rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler import planner, rules
from reconciler.errors import InputError, SegpubError
from reconciler.model import Change, HistoryEntry, Location, Scope, Use, WorkspaceState
from reconciler.store import Provenance, SqlStore
from reconciler.targeting import find_segment


@dataclass(frozen=True)
class Outcome:
    change: Change | None  # None: the segment already was as asked
    entry: HistoryEntry | None


def desired_change(
    state: WorkspaceState, segment_ref: str, uses: Sequence[str], publish: bool
) -> Change | None:
    """The change `publish SEGMENT --use ...` (adds uses) or `unpublish SEGMENT [--use ...]`
    (removes them; all of them without --use) asks for; None when there is nothing to do."""
    segment = find_segment(state, segment_ref)
    try:
        asked = frozenset(Use(u) for u in uses)
    except ValueError:
        bad = next(u for u in uses if u not in {x.value for x in Use})
        raise SegpubError(
            f"'{bad}' is not a use; uses are: {', '.join(u.value for u in Use)}"
        ) from None
    before = state.uses_of(segment.id)
    if publish:
        after = before | asked
    else:
        after = before - asked if asked else frozenset()
    if after == before:
        return None
    return Change(segment.id, segment.name, before, after)


def check(change: Change, state: WorkspaceState) -> None:
    """The same rules as an apply: cap, per-use limits, GTM eligibility and lock, legacy."""
    after = planner.published_after([change], state)
    # There is no config line to blame: the location is the command itself.
    violations = rules.check_all([change], state, after, Scope.PARTIAL, _NOWHERE)
    if violations:
        raise InputError(violations)


# A location no change has, so the GTM lock never reads this as `scope: full`.
_NOWHERE = Location("<command line>", 0, 0)


def carry_out(
    store: SqlStore,
    segment_ref: str,
    uses: Sequence[str],
    publish: bool,
    provenance: Provenance,
) -> Outcome:
    """Check and write one imperative change; the caller holds the writer lock."""
    state = store.read_state()
    change = desired_change(state, segment_ref, uses, publish)
    if change is None:
        return Outcome(None, None)
    check(change, state)
    parts = [f"-{u}" for u in sorted_uses_of(change.remove)]
    parts += [f"+{u}" for u in sorted_uses_of(change.add)]
    summary = (
        f"{provenance.kind.capitalize()}: {change.segment_name} ({change.segment_id})"
        f" {' '.join(parts)}, made outside a config."
    )
    entry = store.apply_changes([change], provenance, summary, expected_serial=state.serial)
    return Outcome(change, entry)


def sorted_uses_of(uses: frozenset[Use]) -> list[str]:
    return sorted(u.value for u in uses)
