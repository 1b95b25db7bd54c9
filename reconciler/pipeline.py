"""The pipeline, start to end: config + workspace -> Plan, and the writes that carry a Plan out."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from reconciler import enrichment, planner, rules
from reconciler.actor import who
from reconciler.catalog import parse_catalog
from reconciler.loading import load_file
from reconciler.model import Config, HistoryEntry, Plan, Violation, WorkspaceState
from reconciler.resolve import resolve
from reconciler.store import ImportResult, Provenance, SqlStore
from reconciler.targeting import Targeting, refs_of, resolve_targeting


def make_plan(config: Config, state: WorkspaceState, targeting: Targeting | None = None) -> Plan:
    """Everything an apply of `config` would change, and every rule the result would break.

    With `targeting`, only the targeted segments' changes; the rules still count them all."""
    resolved = resolve(config, state)
    desired = planner.desired_state(resolved, config.scope, config.scope_location, state)
    changes = planner.diff(desired, state)
    if targeting is not None:
        changes = targeting.select(changes)
    after = planner.published_after(changes, state)
    violations = [
        *resolved.violations,
        *enrichment.check_targets(config, state),
        *rules.check_all(
            changes,
            state,
            after,
            config.scope,
            config.scope_location,
            max_unpublish_percent(config),
        ),
    ]
    return Plan(
        lineage=state.lineage,
        serial=state.serial,
        scope=config.scope,
        cap=state.settings.cap,
        published_before=state.published_count,
        published_after=len(after),
        changes=tuple(changes),
        violations=tuple(sorted(violations, key=_violation_order)),
        config_path=config.path,
        config_sha256=config.sha256,
        target_changes=tuple(enrichment.diff_targets(config, state)),
    )


def plan_workspace(
    store: SqlStore, config: Config, targets: Sequence[str] = (), excludes: Sequence[str] = ()
) -> Plan:
    """make_plan against the workspace, limited by --target / --exclude. Reads only the segments
    the config and those options name, and the published ones: all a plan looks at. When one of
    them names a segment the workspace lacks, the whole catalog is read instead, so that the
    did-you-mean hint can choose among every name."""
    refs = config.segment_refs() | refs_of([*targets, *excludes])
    state = store.read_state(only=refs)
    if not refs.all_found_in(state.segments):
        state = store.read_state()
    return make_plan(config, state, resolve_targeting(state, targets, excludes))


def max_unpublish_percent(config: Config) -> float:
    """The config's `safety: {max_unpublish_percent: N}`, else the default (30)."""
    safety = config.raw.get("safety") if isinstance(config.raw, dict) else None
    value = safety.get("max_unpublish_percent") if isinstance(safety, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return rules.DEFAULT_MAX_UNPUBLISH_PERCENT


def apply_plan(store: SqlStore, plan: Plan, provenance: Provenance) -> HistoryEntry | None:
    """Write a valid plan's changes in one transaction; refuses if the workspace moved on."""
    summary = plan.summary_line()
    for action, done in (("add", "added"), ("change", "changed"), ("remove", "removed")):
        names = [t.name for t in plan.target_changes if t.action == action]
        if names:
            summary += f" Enrichment targets {done}: {', '.join(names)}."
    return store.apply_changes(
        plan.changes,
        provenance,
        summary,
        expected_serial=plan.serial,
        target_changes=plan.target_changes,
    )


def import_catalog(
    path: str, store: SqlStore, provenance: Provenance
) -> tuple[ImportResult, list[Violation]]:
    """Upsert a catalog; returns what changed and the warnings about the platform's state."""
    document = load_file(path)
    catalog = parse_catalog(document)
    result = store.import_catalog(
        catalog, provenance._replace(source_path=path, source_sha256=catalog.sha256)
    )
    state = store.read_state()
    where = {entry.segment.id: entry.location for entry in catalog.entries}
    warnings = []
    for warning in rules.check_current_state(state, None):
        if warning.segment_id is None:
            warnings.append(warning._replace(file=path))
        elif warning.segment_id in where:
            at = where[warning.segment_id]
            warnings.append(warning._replace(file=at.file, line=at.line, column=at.column))
    return result, warnings


def export_config(state: WorkspaceState) -> dict[str, object]:
    """Today's publications as a `scope: full` config that plans to no changes."""
    name_counts: dict[str, int] = {}
    for segment in state.segments.values():
        name_counts[segment.name] = name_counts.get(segment.name, 0) + 1
    entries: list[dict[str, object]] = []
    for sid in sorted(state.publications, key=lambda i: (state.segments[i].name.casefold(), i)):
        uses = state.publications[sid]
        if not uses:
            continue
        segment = state.segments[sid]
        ref: dict[str, object] = (
            {"name": segment.name} if name_counts[segment.name] == 1 else {"id": segment.id}
        )
        entries.append({**ref, "uses": sorted(u.value for u in uses)})
    return {"version": 1, "scope": "full", "publications": entries}


def provenance(
    actor: str | None, kind: str, command: str, config: Config | None = None
) -> Provenance:
    return Provenance(
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        actor=who(actor),
        kind=kind,
        command=command,
        source_path=config.path if config else None,
        source_sha256=config.sha256 if config else None,
        git_commit=git_commit(config.path) if config else None,
    )


def git_commit(path: str) -> str | None:
    """The commit checked out where the config lives, if it lives in a git work tree."""
    folder = Path(path).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


def _violation_order(v: Violation) -> tuple[int, int, str, str]:
    return (0 if v.severity == "error" else 1, v.line or 0, v.rule, v.message)
