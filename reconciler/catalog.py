"""A schema-valid catalog document -> the segments, dependents and publications it declares."""

from __future__ import annotations

from typing import NamedTuple

from reconciler.errors import InputError
from reconciler.loading import Document
from reconciler.model import (
    CreatedVia,
    Dependent,
    DependentKind,
    Location,
    Segment,
    Settings,
    Use,
    Violation,
)
from reconciler.schema import validate


class CatalogEntry(NamedTuple):
    segment: Segment
    published_uses: frozenset[Use] | None  # None: the catalog says nothing of its publication
    location: Location


class Catalog(NamedTuple):
    path: str
    sha256: str
    entries: tuple[CatalogEntry, ...]
    settings: Settings | None


def parse_catalog(document: Document) -> Catalog:
    """Turn a catalog document into segments; raises InputError on schema errors or repeated ids."""
    violations = validate(document, "catalog")
    if violations:
        raise InputError(violations)
    entries: list[CatalogEntry] = []
    first_seen: dict[int, Location] = {}
    for index, raw in enumerate(document.data["segments"]):
        location = document.location(["segments", index])
        segment = Segment(
            id=raw["id"],
            name=raw["name"],
            folder=raw.get("folder"),
            created_via=CreatedVia(raw["created_via"]),
            filters=tuple(raw.get("filters", ())),
            used_by=tuple(
                Dependent(DependentKind(d["kind"]), d["name"]) for d in raw.get("used_by", ())
            ),
        )
        if segment.id in first_seen:
            first = first_seen[segment.id]
            violations.append(
                Violation.at(
                    "duplicate_segment",
                    f"segment id {segment.id} is listed twice (first at line {first.line});"
                    " keep one entry per id",
                    location,
                    segment,
                )
            )
            continue
        first_seen[segment.id] = location
        published = raw.get("published_uses")
        entries.append(
            CatalogEntry(
                segment=segment,
                published_uses=None if published is None else frozenset(Use(u) for u in published),
                location=location,
            )
        )
    if violations:
        raise InputError(violations)
    settings = None
    if "settings" in document.data:
        raw_settings = document.data["settings"]
        settings = Settings(
            cap=raw_settings.get("cap", 200),
            use_limits=tuple(
                sorted((Use(u), n) for u, n in raw_settings.get("use_limits", {}).items())
            ),
        )
    return Catalog(document.path, document.sha256, tuple(entries), settings)
