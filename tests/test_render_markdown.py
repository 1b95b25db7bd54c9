"""The markdown plan for pull-request comments: summary first, never over 65,000 characters."""

from __future__ import annotations

import re

from reconciler.model import Change, Plan, Scope, Use, Violation
from reconciler.render.markdown import MAX_CHARS, render_plan
from tests.ci_support import config_text, workspace
from tests.conftest import Segpub, write


def _plan(
    changes: int, name_length: int = 12, errors: int = 0, warnings: int = 0, drift: int = 0
) -> Plan:
    return Plan(
        lineage="lineage-1",
        serial=7,
        scope=Scope.PARTIAL,
        cap=200_000,
        published_before=changes,
        published_after=changes,
        changes=tuple(
            Change(
                i,
                f"{'N' * (name_length - len(str(i)))}{i}",
                frozenset({Use.API}),
                frozenset({Use.API, Use.ACCOUNT_DETAILS}),
            )
            for i in range(1, changes + 1)
        ),
        violations=tuple(
            Violation("gtm_locked", f"problem {i}", i, f"S{i}", "pubs.yaml", 3 + i, 5)
            for i in range(errors)
        )
        + tuple(
            Violation(
                "gtm_ineligible", f"note {i}", i, f"S{i}", "pubs.yaml", 3 + i, 5, severity="warning"
            )
            for i in range(warnings)
        ),
        config_path="pubs.yaml",
        config_sha256="a" * 64,
        drift=tuple(
            {
                "serial": i,
                "at": "2026-12-04T10:00:00+00:00",
                "actor": "ana",
                "kind": "publish",
                "command": "publish",
                "summary": "",
                "changes": [
                    {"segment_id": i, "segment_name": f"S{i}", "add": ["api"], "remove": []}
                ],
            }
            for i in range(drift)
        ),
    )


def test_a_thousand_changes_stay_under_the_limit_with_the_summary_first() -> None:
    plan = _plan(1000)
    text = render_plan(plan)
    assert len(text) <= MAX_CHARS
    assert text.splitlines()[0] == (
        "### Plan: 0 to publish, 1000 to update, 0 to unpublish. Published: 1000 -> 1000 of 200000."
    )
    assert "<details><summary>Changes (1000)</summary>" in text
    assert "| action | segment | id | uses before | uses after |" in text
    assert "| update | NNNNNNNNNNN1 | 1 | api | account_details, api |" in text
    assert "| update | NNNNNNNN1000 | 1000 | api | account_details, api |" in text
    assert "left out" not in text


def test_a_plan_too_long_drops_rows_from_the_end_and_says_how_many() -> None:
    plan = _plan(3000, name_length=60, errors=5, warnings=200, drift=3)
    text = render_plan(plan)
    assert len(text) <= MAX_CHARS
    assert text.startswith("### Plan: 0 to publish, 3000 to update, 0 to unpublish.")
    assert ":x: **5 violations**" in text
    # Violations and drift come before the table: they are kept whole.
    assert text.count("**gtm\\_locked**") == 5
    assert "#### Changed outside segpub since the last apply:" in text
    shown = len(re.findall(r"^\| update \|", text, flags=re.MULTILINE))
    match = re.search(
        r"^_(\d+) rows left out to stay under 65,000 characters; run"
        r" `segpub plan CONFIG` for the whole plan\._$",
        text,
        flags=re.MULTILINE,
    )
    assert match, text[-500:]
    warnings_shown = text.count("**gtm\\_ineligible**")
    assert int(match.group(1)) == (3000 - shown) + (200 - warnings_shown)
    assert 0 < shown < 3000
    assert warnings_shown == 0  # the end goes first
    assert text.rstrip().endswith("for the whole plan._")


def test_no_changes() -> None:
    text = render_plan(_plan(0))
    assert text.startswith("### No changes. Published: 0 of 200000.\n")
    assert "| action |" not in text


def test_cells_cannot_break_the_table_or_inject_html() -> None:
    plan = _plan(1)
    name = "A | B <script>alert(1)</script> @team\nnext"
    evil = Change(5, name, frozenset(), frozenset({Use.GTM}))
    text = render_plan(Plan(**{**plan.__dict__, "changes": (evil,)}))
    assert (
        "| publish | A \\| B &lt;script&gt;alert(1)&lt;/script&gt; &#64;team next | 5 | — | gtm |"
        in text
    )
    assert "<script>" not in text


def test_markdown_through_the_cli(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=2, unpublished=1)
    write(segpub.cwd / "publications.yaml", config_text([(3, ["api"]), (1, [])]))
    planned = segpub("plan", "publications.yaml", "--format", "markdown")
    assert planned.code == 0, planned.err
    assert planned.out.startswith(
        "### Plan: 1 to publish, 0 to update, 1 to unpublish. Published: 2 -> 2 of 200.\n\n"
        ":white_check_mark: Valid: the plan breaks no rule.\n\n"
        "Config `publications.yaml` (sha256 `"
    )
    assert (
        "| unpublish | Segment 1 | 1 | api | — |\n| publish | Segment 3 | 3 | — | api |"
        in planned.out
    )
    write(segpub.cwd / "same.yaml", config_text([(1, ["api"])]))
    same = segpub("plan", "same.yaml", "--format", "markdown")
    assert same.out.startswith("### No changes. Published: 2 of 200.\n")
