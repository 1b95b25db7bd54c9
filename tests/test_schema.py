"""The shipped JSON Schemas: valid against their meta-schema, the same in both places, and
turned into violations that name file:line:column and the JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.loading import load_bytes
from reconciler.schema import SCHEMA_NAMES, json_path, schema_text, validate

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_shipped_schema_is_valid_against_its_meta_schema(name: str) -> None:
    schema = json.loads(schema_text(name))
    jsonschema.validators.validator_for(schema).check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_editor_copy_in_schemas_folder_is_the_shipped_one(name: str) -> None:
    editor_copy = (ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert editor_copy == schema_text(name)


def test_json_path_form() -> None:
    assert json_path(["publications", 3, "uses"]) == "$.publications[3].uses"
    assert json_path(["odd key", 0]) == '$["odd key"][0]'


def test_violations_come_in_file_order_with_positions() -> None:
    document = load_bytes(
        b"version: 1\npublications:\n  - name: A\n    uses: [gtm, bogus]\n"
        b"  - id: 0\n    uses: []\n",
        "p.yaml",
    )
    found = [(v.line, v.column, v.message) for v in validate(document, "publications")]
    assert found[0][:2] == (4, 17)
    assert found[0][2].startswith("$.publications[0].uses[1]: 'bogus' is not one of:")
    assert found[1][:2] == (5, 9)
    assert "$.publications[1].id" in found[1][2]
