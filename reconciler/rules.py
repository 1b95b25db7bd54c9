"""The publishing rules: one small function per rule, each returning violations, never raising."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import (
    GTM_CREATION_METHODS,
    GTM_FILTERS,
    Action,
    Change,
    Location,
    Scope,
    Segment,
    Use,
    Violation,
    WorkspaceState,
)

CREATION_LABELS = {
    "account_list_upload": "account list upload",
    "crm_report_sync": "CRM report sync",
    "crm_list_sync": "CRM list sync",
    "filters": "filters (a dynamic segment)",
}


def _segments(n: int) -> str:
    return "segment" if n == 1 else "segments"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def check_cap(
    changes: Sequence[Change], state: WorkspaceState, published_after: int
) -> list[Violation]:
    """Rule 1: at most `cap` segments published, whatever the number of uses each has."""
    cap = state.settings.cap
    over = published_after - cap
    if over <= 0:
        return []
    publishes = [c for c in changes if c.action is Action.PUBLISH]
    # Blame the publishes that do not fit, latest in the file first to go.
    publishes.sort(key=lambda c: (c.location.line if c.location else 0, c.segment_id))
    blamed = publishes[-over:] if publishes else []
    if not blamed:
        # Already over the cap before this plan (the platform's state) and it publishes nothing
        # new: not this change's fault, so warn rather than block the unpublishes that help.
        return [
            Violation(
                rule="cap_exceeded",
                message=f"{published_after} segments are published, over the cap of {cap} by"
                f" {over}; unpublish {over} {_segments(over)}",
                severity="warning",
            )
        ]
    return [
        Violation.at(
            "cap_exceeded",
            f"publishing {_label(c)} would leave {published_after} segments published, over the"
            f" cap of {cap} by {over}; unpublish {over} other {_segments(over)}"
            " first, or drop this publish",
            c.location,
            _segment(c, state),
        )
        for c in blamed
    ]


def check_use_limits(
    changes: Sequence[Change], state: WorkspaceState, after: dict[int, frozenset[Use]]
) -> list[Violation]:
    """Optional per-use limits (e.g. 100 for gtm or api), where the workspace sets them."""
    violations: list[Violation] = []
    for use, limit in state.settings.use_limits:
        count = sum(1 for uses in after.values() if use in uses)
        over = count - limit
        if over <= 0:
            continue
        adding = [c for c in changes if use in c.add]
        adding.sort(key=lambda c: (c.location.line if c.location else 0, c.segment_id))
        for change in adding[-over:]:
            violations.append(
                Violation.at(
                    "use_limit_exceeded",
                    f"adding {use.value} to {_label(change)} would leave {count} segments published"
                    f" for {use.value}, over this workspace's limit of {limit} by {over};"
                    f" remove {use.value} from {over} other {_segments(over)} first",
                    change.location,
                    _segment(change, state),
                )
            )
    return violations


def gtm_disqualifiers(segment: Segment) -> list[str]:
    """Why `segment` may not be a GTM segment; empty when it may."""
    reasons = []
    if segment.created_via not in GTM_CREATION_METHODS:
        reasons.append(f"it was created via {CREATION_LABELS[segment.created_via.value]}")
    bad_filters = [f for f in segment.filters if f not in GTM_FILTERS]
    if bad_filters:
        word = "filter" if len(bad_filters) == 1 else "filters"
        reasons.append(f"it uses the {word} {_quoted(bad_filters)}")
    return reasons


def check_gtm_eligibility(changes: Sequence[Change], state: WorkspaceState) -> list[Violation]:
    """Rule 2: gtm only for low-churn segments (upload or CRM sync, with only stable filters)."""
    violations = []
    for change in changes:
        if Use.GTM not in change.add:
            continue
        segment = state.segments[change.segment_id]
        reasons = gtm_disqualifiers(segment)
        if reasons:
            violations.append(
                Violation.at(
                    "gtm_ineligible",
                    f"{segment.label()} cannot be published for gtm: {' and '.join(reasons)}."
                    " GTM segments must be created by account list upload, CRM report sync or"
                    f" CRM list sync, with no filters other than {_quoted(sorted(GTM_FILTERS))};"
                    " remove gtm from this entry",
                    change.location,
                    segment,
                )
            )
    return violations


def check_gtm_lock(
    changes: Sequence[Change], state: WorkspaceState, scope: Scope, scope_location: Location
) -> list[Violation]:
    """Rule 3: a gtm segment that saved reports or 6QA models depend on cannot lose gtm."""
    violations = []
    for change in changes:
        if Use.GTM not in change.remove:
            continue
        segment = state.segments[change.segment_id]
        lockers = segment.gtm_lockers
        if not lockers:
            continue
        users = ", ".join(d.describe() for d in lockers)
        omitted = scope is Scope.FULL and change.location == scope_location
        how = (
            "scope: full would unpublish it because the config does not list it"
            if omitted
            else ("this entry unpublishes it" if not change.after else "this entry removes gtm")
        )
        fix = (
            "list it with gtm kept, or remove that usage on the platform first"
            if omitted
            else "keep gtm, or remove that usage on the platform first"
        )
        violations.append(
            Violation.at(
                "gtm_locked",
                f"{segment.label()} is a GTM segment used by {users}, so it cannot lose gtm"
                f" ({how}); {fix}",
                change.location,
                segment,
            )
        )
    return violations


def check_legacy(changes: Sequence[Change], state: WorkspaceState) -> list[Violation]:
    """Rule 4: sales_intelligence_legacy may be kept or removed, never newly added."""
    return [
        Violation.at(
            "legacy_use",
            f"{_label(c)} cannot be published for sales_intelligence_legacy: the legacy Sales"
            " Intelligence use can be kept or removed where it exists, never added;"
            " remove it from this entry",
            c.location,
            _segment(c, state),
        )
        for c in changes
        if Use.SALES_INTELLIGENCE_LEGACY in c.add
    ]


def check_current_state(state: WorkspaceState, location: Location | None) -> list[Violation]:
    """Warnings about the platform's own state that breaks a rule (never refused: it is fact)."""
    warnings = []
    if state.published_count > state.settings.cap:
        warnings.append(
            Violation.at(
                "cap_exceeded",
                f"the workspace has {state.published_count} segments published, over the cap of"
                f" {state.settings.cap}; no new segment can be published until some are"
                " unpublished",
                location,
                severity="warning",
            )
        )
    for sid, uses in sorted(state.publications.items()):
        segment = state.segments[sid]
        if Use.GTM in uses:
            reasons = gtm_disqualifiers(segment)
            if reasons:
                warnings.append(
                    Violation.at(
                        "gtm_ineligible",
                        f"{segment.label()} is published for gtm but is not eligible:"
                        f" {' and '.join(reasons)}; it can keep gtm, but consider removing it",
                        location,
                        segment,
                        severity="warning",
                    )
                )
    for use, limit in state.settings.use_limits:
        count = sum(1 for uses in state.publications.values() if use in uses)
        if count > limit:
            warnings.append(
                Violation.at(
                    "use_limit_exceeded",
                    f"the workspace has {count} segments published for {use.value}, over the"
                    f" limit of {limit}",
                    location,
                    severity="warning",
                )
            )
    return warnings


def check_all(
    changes: Sequence[Change],
    state: WorkspaceState,
    after: dict[int, frozenset[Use]],
    scope: Scope,
    scope_location: Location,
    max_unpublish_percent: float | None = None,
) -> list[Violation]:
    """Every rule over a set of changes, all violations together; with `max_unpublish_percent`
    (a plan of a config, not a single imperative change) the safety limit too."""
    violations = [
        *check_cap(changes, state, len(after)),
        *check_use_limits(changes, state, after),
        *check_gtm_eligibility(changes, state),
        *check_gtm_lock(changes, state, scope, scope_location),
        *check_legacy(changes, state),
    ]
    if max_unpublish_percent is not None:
        violations += check_unpublish_limit(changes, state, max_unpublish_percent, scope_location)
    return violations


DEFAULT_MAX_UNPUBLISH_PERCENT = 30.0
# Below this many published segments a percentage says little: unpublishing 2 of 5 is no accident.
UNPUBLISH_LIMIT_MIN_PUBLISHED = 10


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def check_unpublish_limit(
    changes: Sequence[Change],
    state: WorkspaceState,
    max_percent: float,
    location: Location | None,
) -> list[Violation]:
    """Safety limit: unpublishing more than `max_percent` of the published segments at once
    (when at least 10 are published) is likely a mistake. A warning: apply refuses it unless
    --force."""
    published = state.published_count
    unpublishes = sum(1 for c in changes if c.action is Action.UNPUBLISH)
    if published < UNPUBLISH_LIMIT_MIN_PUBLISHED or not unpublishes:
        return []
    share = 100 * unpublishes / published
    if share <= max_percent:
        return []
    return [
        Violation.at(
            "safety_limit",
            f"too many unpublishes: {unpublishes} of {published} published ({_percent(share)}%)"
            f" is over the {_percent(max_percent)}% limit; review the plan and pass --force",
            location,
            severity="warning",
        )
    ]


def _segment(change: Change, state: WorkspaceState) -> Segment | None:
    return state.segments.get(change.segment_id)


def _label(change: Change) -> str:
    return f"{change.segment_name} ({change.segment_id})"
