"""The case corpus: tests/cases/{valid,invalid}/<case>/ holds catalog.yaml, publications.yaml and
expected.txt. Valid cases expect exactly that `plan` text; invalid ones exactly those violation
lines. Add a case by adding a folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_in_process

CASES = Path(__file__).resolve().parent / "cases"


def _cases(kind: str) -> list[str]:
    return sorted(p.name for p in (CASES / kind).iterdir() if p.is_dir())


def _prepare(kind: str, case: str, tmp_path: Path) -> Path:
    folder = tmp_path / case
    shutil.copytree(CASES / kind / case, folder)
    imported = run_in_process(["catalog", "import", "catalog.yaml"], folder)
    assert imported.code == 0, imported.err
    return folder


@pytest.mark.parametrize("case", _cases("valid"))
def test_valid_case_plans_exactly_as_expected(case: str, tmp_path: Path) -> None:
    folder = _prepare("valid", case, tmp_path)
    planned = run_in_process(["--no-color", "plan", "publications.yaml"], folder)
    assert planned.code == 0, planned.out + planned.err
    assert planned.out == (folder / "expected.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", _cases("valid"))
def test_valid_case_applies_then_plans_no_changes(case: str, tmp_path: Path) -> None:
    folder = _prepare("valid", case, tmp_path)
    applied = run_in_process(["apply", "publications.yaml", "--auto-approve"], folder)
    assert applied.code == 0, applied.out + applied.err
    again = run_in_process(["plan", "publications.yaml", "--format", "json"], folder)
    assert json.loads(again.out)["changes"] == []


@pytest.mark.parametrize("case", _cases("invalid"))
def test_invalid_case_reports_exactly_the_expected_violations(case: str, tmp_path: Path) -> None:
    folder = _prepare("invalid", case, tmp_path)
    expected = (folder / "expected.txt").read_text(encoding="utf-8").splitlines()
    validated = run_in_process(["--no-color", "validate", "publications.yaml"], folder)
    assert validated.code == 1
    reported = [line.strip() for line in validated.err.splitlines() if line.startswith("  ")]
    assert reported == expected


def test_corpus_covers_every_rule_id() -> None:
    rules = set()
    for case in _cases("invalid"):
        for line in (CASES / "invalid" / case / "expected.txt").read_text().splitlines():
            rules.add(line.split(": ")[1])
    assert rules >= {
        "schema",
        "duplicate_key",
        "unknown_segment",
        "ambiguous_segment",
        "duplicate_segment",
        "cap_exceeded",
        "gtm_ineligible",
        "gtm_locked",
        "legacy_use",
        "use_limit_exceeded",
    }
