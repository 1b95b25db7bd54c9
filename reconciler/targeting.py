"""--target / --exclude: which segments a plan or an apply may touch (the rules still see all)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from reconciler.errors import SegpubError
from reconciler.model import Change, Segment, SegmentRefs, WorkspaceState


class Targeting(NamedTuple):
    """Segment ids a plan is limited to (None: all of them), less the ones it leaves out."""

    targets: frozenset[int] | None
    excludes: frozenset[int]

    def allows(self, segment_id: int) -> bool:
        if self.targets is not None and segment_id not in self.targets:
            return False
        return segment_id not in self.excludes

    def select(self, changes: Iterable[Change]) -> list[Change]:
        return [c for c in changes if self.allows(c.segment_id)]


def refs_of(texts: Sequence[str]) -> SegmentRefs:
    """What --target / --exclude values name: digits an id, anything else a name. (Digits that
    are no segment's id may still be a name: the caller reads the whole catalog then.)"""
    stripped = [text.strip() for text in texts]
    return SegmentRefs(
        frozenset(int(t) for t in stripped if t.isdigit()),
        frozenset(t for t in stripped if not t.isdigit()),
    )


def find_segment(state: WorkspaceState, ref: str, what: str = "segment") -> Segment:
    """The one segment `ref` names: an id, or a name that only one segment has."""
    text = ref.strip()
    if text.isdigit() and int(text) in state.segments:
        return state.segments[int(text)]
    named = state.segments_named(text)
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(str(s.id) for s in sorted(named, key=lambda s: s.id))
        raise SegpubError(
            f"{what} '{ref}' is ambiguous: {len(named)} segments have that name (ids {ids});"
            " give the id of the one you mean"
        )
    names = sorted({s.name for s in state.segments.values()})
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
    hint = (
        "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        if close
        else "; give a segment id or an exact name (see `segpub export`)"
    )
    raise SegpubError(f"{what} '{ref}': no segment has that id or name{hint}")


def resolve_targeting(
    state: WorkspaceState, targets: Sequence[str], excludes: Sequence[str]
) -> Targeting | None:
    """The Targeting that --target and --exclude ask for; None when neither is given."""
    if not targets and not excludes:
        return None
    return Targeting(
        targets=frozenset(find_segment(state, t, "--target").id for t in targets)
        if targets
        else None,
        excludes=frozenset(find_segment(state, e, "--exclude").id for e in excludes),
    )
