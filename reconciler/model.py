"""The domain: segments, uses, publications, changes, violations and plans, as frozen data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import field as _field  # EnrichmentTarget has a data field named `field`
from enum import StrEnum
from typing import Any, NamedTuple


class Use(StrEnum):
    """A publish scenario: what publishing a segment enables."""

    DATA_WORKFLOWS = "data_workflows"
    ORCHESTRATION = "orchestration"
    ACCOUNT_DETAILS = "account_details"
    GTM = "gtm"
    API = "api"
    SALES_INTELLIGENCE_LEGACY = "sales_intelligence_legacy"


USE_LABELS: dict[Use, str] = {
    Use.DATA_WORKFLOWS: "Data Workflows segment name enrichment",
    Use.ORCHESTRATION: "Orchestration segment name enrichment",
    Use.ACCOUNT_DETAILS: "Account details experience",
    Use.GTM: "GTM segment nomination",
    Use.API: "APIs",
    Use.SALES_INTELLIGENCE_LEGACY: "Sales Intelligence (Legacy)",
}


class CreatedVia(StrEnum):
    ACCOUNT_LIST_UPLOAD = "account_list_upload"
    CRM_REPORT_SYNC = "crm_report_sync"
    CRM_LIST_SYNC = "crm_list_sync"
    FILTERS = "filters"


# GTM segments must not be highly dynamic: only these creation methods and filters qualify.
GTM_CREATION_METHODS = frozenset(
    {CreatedVia.ACCOUNT_LIST_UPLOAD, CreatedVia.CRM_REPORT_SYNC, CreatedVia.CRM_LIST_SYNC}
)
GTM_FILTERS = frozenset(
    {
        "Account Profile Fit",
        "Accounts in Salesforce Report",
        "Salesforce Account List",
        "Uploaded Account List",
    }
)


class DependentKind(StrEnum):
    SAVED_6QA_REPORT = "saved_6qa_report"
    SAVED_FUNNEL_INSIGHTS_REPORT = "saved_funnel_insights_report"
    CUSTOM_6QA = "custom_6qa"
    AI_ORCHESTRATION = "ai_orchestration"
    PIPELINE_INTELLIGENCE = "pipeline_intelligence"
    WORKFLOW = "workflow"
    ALERT = "alert"
    REPORT = "report"


DEPENDENT_LABELS: dict[DependentKind, str] = {
    DependentKind.SAVED_6QA_REPORT: "Saved 6QA report",
    DependentKind.SAVED_FUNNEL_INSIGHTS_REPORT: "Saved Funnel Insights report",
    DependentKind.CUSTOM_6QA: "Custom 6QA",
    DependentKind.AI_ORCHESTRATION: "AI orchestration",
    DependentKind.PIPELINE_INTELLIGENCE: "Pipeline Intelligence",
    DependentKind.WORKFLOW: "Workflow",
    DependentKind.ALERT: "Alert",
    DependentKind.REPORT: "Report",
}

# A segment published for gtm with one of these dependents cannot lose gtm.
GTM_LOCKING_KINDS = frozenset(
    {
        DependentKind.SAVED_6QA_REPORT,
        DependentKind.SAVED_FUNNEL_INSIGHTS_REPORT,
        DependentKind.CUSTOM_6QA,
        DependentKind.AI_ORCHESTRATION,
        DependentKind.PIPELINE_INTELLIGENCE,
    }
)

DEFAULT_CAP = 200


def sorted_uses(uses: frozenset[Use] | set[Use]) -> list[str]:
    """Uses in their canonical order (alphabetical by id), as plain strings."""
    return sorted(u.value for u in uses)


class Location(NamedTuple):
    """Where something sits in a file the user wrote: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Dependent(NamedTuple):
    kind: DependentKind
    name: str

    @property
    def locks_gtm(self) -> bool:
        return self.kind in GTM_LOCKING_KINDS

    def describe(self) -> str:
        return f"{DEPENDENT_LABELS[self.kind]} '{self.name}'"


class Segment(NamedTuple):
    """A platform segment. A NamedTuple, like the other small records here: status, export and
    the views read every segment of a workspace (20,000 and more), and a tuple is built several
    times faster than a frozen dataclass."""

    id: int
    name: str
    created_via: CreatedVia
    folder: str | None = None
    filters: tuple[str, ...] = ()
    used_by: tuple[Dependent, ...] = ()

    @property
    def gtm_lockers(self) -> tuple[Dependent, ...]:
        return tuple(d for d in self.used_by if d.locks_gtm)

    def label(self) -> str:
        return f"{self.name} ({self.id})"


class Settings(NamedTuple):
    """Workspace settings: the publish cap and optional per-use limits."""

    cap: int = DEFAULT_CAP
    use_limits: tuple[tuple[Use, int], ...] = ()

    def limit_for(self, use: Use) -> int | None:
        return dict(self.use_limits).get(use)


@dataclass(frozen=True)
class WorkspaceState:
    """Everything the rules and the planner need to know about the workspace, read at one moment."""

    lineage: str
    serial: int
    settings: Settings
    segments: dict[int, Segment]
    publications: dict[int, frozenset[Use]]  # only segments with at least one use
    # Enrichment targets as applied: name -> spec (EnrichmentTarget.spec()).
    enrichment_targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def published_count(self) -> int:
        return sum(1 for uses in self.publications.values() if uses)

    def uses_of(self, segment_id: int) -> frozenset[Use]:
        return self.publications.get(segment_id, frozenset())

    def segments_named(self, name: str) -> list[Segment]:
        return [s for s in self.segments.values() if s.name == name]


class SegmentRefs(NamedTuple):
    """The segments a run names, by id and by name. A plan needs only these and the published
    ones, so the workspace can read just those instead of its whole catalog."""

    ids: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, refs: Iterable[int | str]) -> SegmentRefs:
        """Refs as a config writes them: an int is an id, a str a name."""
        listed = list(refs)
        return cls(
            frozenset(r for r in listed if isinstance(r, int)),
            frozenset(r for r in listed if isinstance(r, str)),
        )

    def __or__(self, other: object) -> SegmentRefs:
        if not isinstance(other, SegmentRefs):
            return NotImplemented
        return SegmentRefs(self.ids | other.ids, self.names | other.names)

    def all_found_in(self, segments: dict[int, Segment]) -> bool:
        """Whether every id and every name is one of `segments`."""
        names = {s.name for s in segments.values()}
        return self.ids <= segments.keys() and self.names <= names


class Scope(StrEnum):
    PARTIAL = "partial"
    FULL = "full"


class DesiredPublication(NamedTuple):
    """One entry of a publications config: a reference to a segment and the uses it should have."""

    ref: int | str  # an id (int) or a name (str)
    uses: frozenset[Use]
    location: Location
    uses_location: Location

    def describe_ref(self) -> str:
        return f"id {self.ref}" if isinstance(self.ref, int) else f"'{self.ref}'"


@dataclass(frozen=True)
class EnrichmentTarget:
    """A CRM/MAP field that segment names are written into (the config's `enrichment:`)."""

    name: str
    via: Use  # orchestration or data_workflows: whose published segments are written
    system: str
    record_type: str
    field: str
    delimiter: str = ";"
    max_length: int = 255
    scope: str | dict[str, Any] = "all"  # all | {created_within_days: N} | {segment: NAME_OR_ID}
    location: Location | None = _field(default=None, compare=False)
    pair_location: Location | None = _field(default=None, compare=False)
    scope_location: Location | None = _field(default=None, compare=False)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "via": self.via.value,
            "system": self.system,
            "record_type": self.record_type,
            "field": self.field,
            "delimiter": self.delimiter,
            "max_length": self.max_length,
            "scope": self.scope,
        }


TARGET_ACTIONS = ("add", "change", "remove")


class TargetChange(NamedTuple):
    """One enrichment target added, changed or removed: its spec before and after."""

    action: str  # add | change | remove
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    location: Location | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Config:
    """A publications config as the user wrote it, with where each part came from."""

    path: str
    sha256: str
    scope: Scope
    scope_location: Location
    publications: tuple[DesiredPublication, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The `enrichment:` section; None when the config has none (targets are then left alone).
    enrichment: tuple[EnrichmentTarget, ...] | None = None

    def segment_refs(self) -> SegmentRefs:
        """Every segment the config names: its publications and its enrichment scopes."""
        refs: list[int | str] = [p.ref for p in self.publications]
        for target in self.enrichment or ():
            if isinstance(target.scope, dict) and "segment" in target.scope:
                refs.append(target.scope["segment"])
        return SegmentRefs.of(refs)


class Violation(NamedTuple):
    """A rule the input breaks. Never raised by the rules: collected and reported together."""

    rule: str
    message: str
    segment_id: int | None = None
    segment_name: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # "error" stops an apply; "warning" is only reported

    def where(self) -> str:
        if self.file is None:
            return ""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def describe(self) -> str:
        where = self.where()
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.rule}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "segment_id": self.segment_id,
            "segment_name": self.segment_name,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }

    @classmethod
    def at(
        cls,
        rule: str,
        message: str,
        location: Location | None,
        segment: Segment | None = None,
        severity: str = "error",
    ) -> Violation:
        return cls(
            rule=rule,
            message=message,
            segment_id=segment.id if segment else None,
            segment_name=segment.name if segment else None,
            file=location.file if location else None,
            line=location.line if location else None,
            column=location.column if location else None,
            severity=severity,
        )


class Action(StrEnum):
    PUBLISH = "publish"
    UPDATE = "update"
    UNPUBLISH = "unpublish"


ACTION_ORDER = {Action.UNPUBLISH: 0, Action.UPDATE: 1, Action.PUBLISH: 2}
ACTION_SYMBOLS = {Action.PUBLISH: "+", Action.UPDATE: "~", Action.UNPUBLISH: "-"}


class Change(NamedTuple):
    """One segment's publication going from `before` to `after`."""

    segment_id: int
    segment_name: str
    before: frozenset[Use]
    after: frozenset[Use]
    location: Location | None = None

    @property
    def action(self) -> Action:
        if not self.before:
            return Action.PUBLISH
        if not self.after:
            return Action.UNPUBLISH
        return Action.UPDATE

    @property
    def add(self) -> frozenset[Use]:
        return self.after - self.before

    @property
    def remove(self) -> frozenset[Use]:
        return self.before - self.after

    def sort_key(self) -> tuple[int, str, int]:
        # Removals first: an apply frees room under the cap before it takes any.
        return (ACTION_ORDER[self.action], self.segment_name.casefold(), self.segment_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "segment_id": self.segment_id,
            "segment_name": self.segment_name,
            "before": sorted_uses(self.before),
            "after": sorted_uses(self.after),
            "add": sorted_uses(self.add),
            "remove": sorted_uses(self.remove),
        }


@dataclass(frozen=True)
class Plan:
    """What an apply would do to the workspace, and every rule the result would break."""

    lineage: str
    serial: int
    scope: Scope
    cap: int
    published_before: int
    published_after: int
    changes: tuple[Change, ...]
    violations: tuple[Violation, ...]
    config_path: str | None = None
    config_sha256: str | None = None
    # Changes made outside segpub (publish/unpublish) since the last apply, as history dicts.
    drift: tuple[dict[str, Any], ...] = ()
    target_changes: tuple[TargetChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        """Anything to write: publication changes or enrichment target changes."""
        return bool(self.changes or self.target_changes)

    def target_summary_line(self) -> str:
        n = {a: sum(1 for t in self.target_changes if t.action == a) for a in TARGET_ACTIONS}
        return (
            f"Enrichment targets: {n['add']} to add, {n['change']} to change,"
            f" {n['remove']} to remove."
        )

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "error")

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "warning")

    @property
    def valid(self) -> bool:
        return not self.errors

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    def summary_line(self) -> str:
        return (
            f"Plan: {self.count(Action.PUBLISH)} to publish, {self.count(Action.UPDATE)} to update,"
            f" {self.count(Action.UNPUBLISH)} to unpublish."
            f" Published: {self.published_before} -> {self.published_after} of {self.cap}."
        )


class HistoryEntry(NamedTuple):
    """One state-changing write, as the workspace records it. Its serial is the serial it made."""

    serial: int
    at: str  # ISO 8601, UTC
    actor: str
    kind: str  # apply, publish, unpublish, import
    command: str
    source_path: str | None = None
    source_sha256: str | None = None
    git_commit: str | None = None
    changes: tuple[dict[str, Any], ...] = ()
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "at": self.at,
            "actor": self.actor,
            "kind": self.kind,
            "command": self.command,
            "source": {
                "path": self.source_path,
                "sha256": self.source_sha256,
                "git_commit": self.git_commit,
            },
            "summary": self.summary,
            "changes": list(self.changes),
        }
