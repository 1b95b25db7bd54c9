"""JSON Schema validation of loaded documents; each error carries file:line:column and JSON path."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, relevance

from reconciler.loading import Document
from reconciler.model import Violation

SCHEMA_NAMES = ("publications", "catalog", "plan")


@cache
def schema_text(name: str) -> str:
    """The shipped JSON Schema `name` (publications, catalog or plan), as text."""
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    return (
        resources.files("reconciler").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    )


def _inline_refs(node: Any, defs: dict[str, Any], expanding: frozenset[str] = frozenset()) -> Any:
    """`node` with every `{"$ref": "#/$defs/NAME"}` replaced by that definition. The same
    constraints, but jsonschema no longer resolves a reference per entry: a 200-entry config
    validates in about half the time. A definition that refers to itself is left a reference."""
    if isinstance(node, list):
        return [_inline_refs(item, defs, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
        name = ref.removeprefix("#/$defs/")
        if name in defs and name not in expanding:
            return _inline_refs(defs[name], defs, expanding | {name})
    return {key: _inline_refs(value, defs, expanding) for key, value in node.items()}


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_text(name))
    schema = _inline_refs(schema, schema.get("$defs", {}))
    cls = jsonschema.validators.validator_for(schema)
    # The shipped schemas are checked against their meta-schema by tests/test_schema.py, not at
    # every start: that check costs more than validating a 200-entry config.
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def json_path(path: Sequence[str | int]) -> str:
    """`$.publications[3].uses` style, the form check-jsonschema and jq users read."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def validate(document: Document, schema: str) -> list[Violation]:
    """All schema violations of `document`, best first; empty when it is valid."""
    errors = sorted(_validator(schema).iter_errors(document.data), key=relevance)
    violations = [_violation(document, error) for error in errors]
    # One error per place: the first (most relevant) says it best.
    seen: set[tuple[int | None, int | None, str]] = set()
    unique: list[Violation] = []
    for violation in violations:
        key = (violation.line, violation.column, violation.message)
        if key not in seen:
            seen.add(key)
            unique.append(violation)
    # Reported in file order, as a reader goes through the file.
    return sorted(unique, key=lambda v: (v.line or 0, v.column or 0))


def validate_data(data: Any, schema: str) -> list[str]:
    """Schema errors of plain data that has no source file (a plan file, say), as path: message."""
    errors = sorted(_validator(schema).iter_errors(data), key=relevance)
    return [f"{json_path(list(e.absolute_path))}: {e.message}" for e in errors]


def _violation(document: Document, error: ValidationError) -> Violation:
    path = list(error.absolute_path)
    location = document.location(path)
    message = _message(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(_properties(error))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            location = document.entry_location([*path, extra[0]])
            path = [*path, extra[0]]
    return Violation.at("schema", f"{json_path(path)}: {message}", location)


def _properties(error: ValidationError) -> dict[str, Any]:
    """The `properties` of the schema the error was raised under (empty if it has none)."""
    schema = error.schema
    return dict(schema.get("properties", {})) if isinstance(schema, dict) else {}


def _message(error: ValidationError) -> str:
    instance = error.instance
    publication = isinstance(instance, dict) and "uses" in _properties(error)
    if error.validator == "not" and publication:  # the publication's "not both name and id"
        return "give exactly one of `name` or `id`, not both"
    if error.validator == "anyOf" and publication:  # its "name or id"
        return "give the segment's `name` or its `id`"
    if error.validator == "enum" and isinstance(instance, str):
        choices = [str(c) for c in error.validator_value]  # type: ignore[union-attr]
        close = difflib.get_close_matches(instance, choices, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"'{instance}' is not one of: {', '.join(choices)}{hint}"
    if error.validator == "const":
        return f"must be {json.dumps(error.validator_value)}, not {json.dumps(instance)}"
    if error.validator == "uniqueItems":
        return f"{json.dumps(instance, ensure_ascii=False)} lists an item twice; list each once"
    if error.validator == "type" and not error.absolute_path:
        return f"the file must hold a mapping (key: value pairs), not {_kind(instance)}"
    if error.validator == "required" and not error.absolute_path and not isinstance(instance, dict):
        return f"the file must hold a mapping (key: value pairs), not {_kind(instance)}"
    return error.message


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
