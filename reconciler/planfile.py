"""Saved plans: `plan --out FILE` writes one, `apply FILE` checks it and applies exactly it."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import __version__, planner, rules
from reconciler.errors import RefusedError, SegpubError
from reconciler.model import (
    Change,
    HistoryEntry,
    Location,
    Plan,
    Scope,
    Use,
    Violation,
    WorkspaceState,
)
from reconciler.render.json import plan_to_dict
from reconciler.schema import validate_data
from reconciler.store import Provenance, SqlStore

FORMAT = "segpub-plan"
FORMAT_VERSION = 1
# A plan of every segment of a large workspace is a few MiB; anything far past that is not ours.
MAX_BYTES = 64 * 1024 * 1024
# Names a plan file is likely to have; such a file is never read as a config.
PLAN_SUFFIXES = (".plan", ".segpubplan", ".tfplan")
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class SavedPlan:
    """A plan file, verified: the plan, and what an apply of it must know."""

    path: str
    plan: Plan
    scope_location: Location
    force: bool
    max_unpublish_percent: float
    git_commit: str | None
    targets: tuple[str, ...]
    excludes: tuple[str, ...]


def checksum(document: dict[str, Any]) -> str:
    """sha256 of the document's canonical JSON, without its own `checksum` key."""
    body = {k: v for k, v in document.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"file": location.file, "line": location.line, "column": location.column}


def plan_document(
    plan: Plan,
    *,
    scope_location: Location,
    force: bool,
    max_unpublish_percent: float,
    git_commit: str | None,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The plan file's content, checksum included."""
    rendered = plan_to_dict(plan)
    for change, data in zip(plan.changes, rendered["changes"], strict=True):
        data["location"] = _location(change.location)
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "segpub_version": __version__,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "config": {
            "path": plan.config_path,
            "sha256": plan.config_sha256,
            "git_commit": git_commit,
        },
        "scope_location": _location(scope_location),
        "force": force,
        "safety": {"max_unpublish_percent": max_unpublish_percent},
        "targets": list(targets),
        "excludes": list(excludes),
        "plan": rendered,
    }
    document["checksum"] = checksum(document)
    return document


def _serialize(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_plan_file(path: str, document: dict[str, Any]) -> None:
    """Write the plan file whole or not at all (a CI artifact must never be half a plan)."""
    target = Path(path)
    text = _serialize(document)
    try:
        fd, temp = tempfile.mkstemp(prefix=".segpub-plan-", dir=target.parent or Path("."))
    except OSError as error:
        raise SegpubError(f"cannot write plan file {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise SegpubError(f"cannot write plan file {path}: {error.strerror}") from None


def looks_like_plan_file(path: str) -> bool:
    """Whether `apply` should read `path` as a plan file rather than a config, by its content.

    A JSON object that is not a publications config (no `publications` key) is taken for a plan,
    so that a broken or foreign plan file gets a plan file's error, not a config's."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(MAX_BYTES + 1)
    except OSError:
        return False
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        try:
            data = json.loads(head.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return b'"format"' in head[:200] or path.endswith((".json", *PLAN_SUFFIXES))
        return isinstance(data, dict) and "publications" not in data
    if path.endswith(PLAN_SUFFIXES):
        return True
    if path.lower().endswith(CONFIG_SUFFIXES):
        return False
    # Neither name nor content says config: a YAML config names its publications.
    return b"publications" not in head


def _not_a_plan(path: str, why: str) -> SegpubError:
    return SegpubError(
        f"{path} is not a segpub plan file ({why}); make one with `segpub plan CONFIG --out {path}`"
    )


def _edited(path: str) -> SegpubError:
    return SegpubError(
        f"plan file {path} was edited after it was made (its checksum does not match its"
        " content); run plan again and apply the new plan file"
    )


def load_plan_file(path: str) -> SavedPlan:
    """Read and verify a plan file: segpub's format, unedited, made by this version."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise SegpubError(f"cannot read plan file {path}: {error.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise _not_a_plan(path, "it is far larger than any plan")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _not_a_plan(path, "it is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _not_a_plan(path, f'it has no "format": "{FORMAT}"')
    # Any change to the bytes is an edit, even one that leaves the JSON meaning alone.
    if document.get("checksum") != checksum(document) or raw != _serialize(document).encode():
        raise _edited(path)
    if document.get("format_version") != FORMAT_VERSION:
        raise SegpubError(
            f"plan file {path} has format version {document.get('format_version')!r}; this segpub"
            f" reads version {FORMAT_VERSION}; run plan again with this segpub"
        )
    if document.get("segpub_version") != __version__:
        raise RefusedError(
            f"plan file {path} was made by segpub {document.get('segpub_version')}, this is segpub"
            f" {__version__}; run plan again with this version"
        )
    problems = validate_data(document.get("plan"), "plan")
    if problems:
        raise _not_a_plan(path, f"its plan does not match the plan schema: {problems[0]}")
    try:
        return _parse(path, document)
    except (KeyError, TypeError, ValueError) as error:
        raise _not_a_plan(path, f"unreadable field {error}") from None


def _parse_location(data: Any) -> Location | None:
    if data is None:
        return None
    return Location(str(data["file"]), int(data["line"]), int(data["column"]))


def _parse(path: str, document: dict[str, Any]) -> SavedPlan:
    data = document["plan"]
    changes = tuple(
        Change(
            segment_id=int(c["segment_id"]),
            segment_name=str(c["segment_name"]),
            before=frozenset(Use(u) for u in c["before"]),
            after=frozenset(Use(u) for u in c["after"]),
            location=_parse_location(c.get("location")),
        )
        for c in data["changes"]
    )
    violations = tuple(
        Violation(
            rule=v["rule"],
            message=v["message"],
            segment_id=v["segment_id"],
            segment_name=v["segment_name"],
            file=v["file"],
            line=v["line"],
            column=v["column"],
            severity=v.get("severity", "error"),
        )
        for v in data["violations"]
    )
    summary = data["summary"]
    config = document.get("config") or {}
    plan = Plan(
        lineage=str(document["lineage"]),
        serial=int(document["serial"]),
        scope=Scope(data["scope"]),
        cap=int(summary["cap"]),
        published_before=int(summary["published_before"]),
        published_after=int(summary["published_after"]),
        changes=changes,
        violations=violations,
        config_path=config.get("path"),
        config_sha256=config.get("sha256"),
        drift=tuple(data.get("drift", ())),
    )
    scope_location = _parse_location(document.get("scope_location")) or Location(
        plan.config_path or path, 1, 1
    )
    return SavedPlan(
        path=path,
        plan=plan,
        scope_location=scope_location,
        force=bool(document.get("force", False)),
        max_unpublish_percent=float(document["safety"]["max_unpublish_percent"]),
        git_commit=config.get("git_commit"),
        targets=tuple(str(t) for t in document.get("targets", [])),
        excludes=tuple(str(e) for e in document.get("excludes", [])),
    )


def check_against(saved: SavedPlan, state: WorkspaceState) -> Plan:
    """The saved plan, its rules checked again against the workspace as it is now.

    Refuses a plan for another workspace, or one the workspace has moved on from."""
    plan = saved.plan
    if plan.lineage != state.lineage:
        raise RefusedError("plan was made for another workspace")
    stale = RefusedError(
        f"plan is stale: the workspace changed since the plan was made (serial {plan.serial},"
        f" now {state.serial}); run plan again"
    )
    if plan.serial != state.serial:
        raise stale
    for change in plan.changes:
        known = change.segment_id in state.segments
        if not known or state.uses_of(change.segment_id) != change.before:
            raise stale
    after = planner.published_after(list(plan.changes), state)
    violations = rules.check_all(
        plan.changes,
        state,
        after,
        plan.scope,
        saved.scope_location,
        saved.max_unpublish_percent,
    )
    return Plan(
        lineage=plan.lineage,
        serial=plan.serial,
        scope=plan.scope,
        cap=state.settings.cap,
        published_before=state.published_count,
        published_after=len(after),
        changes=plan.changes,
        violations=tuple(violations),
        config_path=plan.config_path,
        config_sha256=plan.config_sha256,
    )


def provenance_of(saved: SavedPlan, at: str, actor: str) -> Provenance:
    return Provenance(
        at=at,
        actor=actor,
        kind="apply",
        command=f"apply {saved.path}",
        source_path=saved.plan.config_path,
        source_sha256=saved.plan.config_sha256,
        git_commit=saved.git_commit,
    )


def apply_checked(
    store: SqlStore, saved: SavedPlan, checked: Plan, provenance: Provenance
) -> HistoryEntry | None:
    """Write a checked saved plan in one transaction, at the serial it was made against."""
    return store.apply_changes(
        checked.changes, provenance, checked.summary_line(), expected_serial=saved.plan.serial
    )


def enforce_safety_limit(plan: Plan, force: bool) -> None:
    """Refuse an apply over the safety limit unless --force (given at plan or apply time)."""
    if force:
        return
    for warning in plan.warnings:
        if warning.rule == "safety_limit":
            raise RefusedError(warning.message)
