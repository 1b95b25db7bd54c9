"""A schema-valid publications document -> Config, keeping where each entry was written."""

from __future__ import annotations

from reconciler import enrichment
from reconciler.errors import InputError
from reconciler.loading import Document, load_file
from reconciler.model import Config, DesiredPublication, Scope, Use
from reconciler.schema import validate


def parse_config(document: Document) -> Config:
    """Turn a publications document into a Config; raises InputError with every schema violation."""
    violations = validate(document, "publications")
    if violations:
        raise InputError(violations)
    data = document.data
    entries = []
    for index, entry in enumerate(data["publications"]):
        ref: int | str = entry["id"] if "id" in entry else entry["name"]
        entries.append(
            DesiredPublication(
                ref=ref,
                uses=frozenset(Use(u) for u in entry["uses"]),
                location=document.location(["publications", index]),
                uses_location=document.location(["publications", index, "uses"]),
            )
        )
    scope_path = ["scope"] if "scope" in data else []
    return Config(
        path=document.path,
        sha256=document.sha256,
        scope=Scope(data.get("scope", Scope.PARTIAL.value)),
        scope_location=document.entry_location(scope_path),
        publications=tuple(entries),
        raw=data,
        enrichment=enrichment.parse_targets(document) if "enrichment" in data else None,
    )


def load_config(path: str) -> Config:
    """Load, validate and parse the publications config at `path`."""
    return parse_config(load_file(path))
