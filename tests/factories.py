"""Small builders for domain objects in unit tests."""

from __future__ import annotations

from reconciler.model import (
    Config,
    CreatedVia,
    Dependent,
    DependentKind,
    DesiredPublication,
    Location,
    Scope,
    Segment,
    Settings,
    Use,
    WorkspaceState,
)

F = "pubs.yaml"


def seg(
    sid: int,
    name: str | None = None,
    via: str = "account_list_upload",
    filters: tuple[str, ...] = (),
    used_by: tuple[tuple[str, str], ...] = (),
) -> Segment:
    return Segment(
        id=sid,
        name=name or f"Segment {sid}",
        created_via=CreatedVia(via),
        filters=filters,
        used_by=tuple(Dependent(DependentKind(k), n) for k, n in used_by),
    )


def state(
    segments: list[Segment],
    published: dict[int, list[str]] | None = None,
    cap: int = 200,
    limits: dict[str, int] | None = None,
    serial: int = 0,
) -> WorkspaceState:
    return WorkspaceState(
        lineage="lineage-1",
        serial=serial,
        settings=Settings(cap, tuple(sorted((Use(u), n) for u, n in (limits or {}).items()))),
        segments={s.id: s for s in segments},
        publications={
            sid: frozenset(Use(u) for u in uses) for sid, uses in (published or {}).items() if uses
        },
    )


def config(entries: list[tuple[int | str, list[str]]], scope: str = "partial") -> Config:
    return Config(
        path=F,
        sha256="0" * 64,
        scope=Scope(scope),
        scope_location=Location(F, 2, 1),
        publications=tuple(
            DesiredPublication(
                ref,
                frozenset(Use(u) for u in uses),
                Location(F, 4 + 2 * i, 5),
                Location(F, 5 + 2 * i, 11),
            )
            for i, (ref, uses) in enumerate(entries)
        ),
    )
