"""The safety limit on unpublishes, via the real CLI: plan warns, apply refuses unless --force."""

from __future__ import annotations

import json

import pytest

from reconciler import rules
from tests import factories as f
from tests.ci_support import config_text, workspace
from tests.conftest import Segpub, write

MESSAGE = (
    "too many unpublishes: 13 of 40 published (32.5%) is over the 30% limit; review the plan"
    " and pass --force"
)


def _thirteen_of_forty(segpub: Segpub, extra: str = "") -> None:
    workspace(segpub.cwd, published=40)
    write(
        segpub.cwd / "publications.yaml",
        config_text([(sid, []) for sid in range(1, 14)], extra=extra),
    )


def _published_count(segpub: Segpub) -> int:
    return int(json.loads(segpub("status", "--format", "json").out)["published"])


def test_plan_shows_the_warning_and_stays_valid(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub)
    planned = segpub("--no-color", "plan", "publications.yaml")
    assert planned.code == 0, planned.err
    assert f"1 warning:\n  publications.yaml:2:1: safety_limit: {MESSAGE}\n" in planned.out
    data = json.loads(segpub("plan", "publications.yaml", "--format", "json").out)
    assert [w["message"] for w in data["warnings"]] == [MESSAGE]
    assert data["valid"] is True


def test_apply_is_refused_over_the_limit_and_writes_nothing(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub)
    applied = segpub("apply", "publications.yaml", "--auto-approve")
    assert applied.code == 1
    assert applied.err == f"segpub: error: {MESSAGE}\n"
    assert _published_count(segpub) == 40


def test_apply_with_force_goes_ahead(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub)
    applied = segpub("apply", "publications.yaml", "--auto-approve", "--force")
    assert applied.code == 0, applied.err
    assert _published_count(segpub) == 27


def test_a_saved_plan_obeys_the_limit_with_force_at_plan_or_apply_time(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub)
    assert segpub("plan", "publications.yaml", "--out", "a.plan").code == 0
    refused = segpub("apply", "a.plan")
    assert refused.code == 1
    assert refused.err == f"segpub: error: {MESSAGE}\n"
    assert _published_count(segpub) == 40
    # --force given when the plan was made travels in the plan file.
    assert segpub("plan", "publications.yaml", "--out", "b.plan", "--force").code == 0
    applied = segpub("apply", "b.plan")
    assert applied.code == 0, applied.err
    assert _published_count(segpub) == 27


def test_force_at_apply_time_for_a_saved_plan(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub)
    assert segpub("plan", "publications.yaml", "--out", "a.plan").code == 0
    applied = segpub("apply", "a.plan", "--force")
    assert applied.code == 0, applied.err
    assert _published_count(segpub) == 27


def test_the_limit_is_set_in_the_config(segpub: Segpub) -> None:
    _thirteen_of_forty(segpub, extra="safety: {max_unpublish_percent: 50}")
    applied = segpub("apply", "publications.yaml", "--auto-approve")
    assert applied.code == 0, applied.err
    write(
        segpub.cwd / "strict.yaml",
        config_text([(27, [])], extra="safety: {max_unpublish_percent: 2.5}"),
    )
    strict = segpub("apply", "strict.yaml", "--auto-approve")
    assert strict.code == 1
    assert strict.err == (
        "segpub: error: too many unpublishes: 1 of 27 published (3.7%) is over the 2.5% limit;"
        " review the plan and pass --force\n"
    )


def test_a_bad_limit_is_a_schema_error(segpub: Segpub) -> None:
    workspace(segpub.cwd, published=1)
    write(
        segpub.cwd / "publications.yaml",
        config_text([], extra="safety: {max_unpublish_percent: 130}"),
    )
    validated = segpub("validate", "--offline", "publications.yaml")
    assert validated.code == 1
    assert (
        "publications.yaml:3:33: schema: $.safety.max_unpublish_percent: 130 is greater"
        in validated.err
    )


@pytest.mark.parametrize(
    ("published", "unpublishes", "warned"),
    [(40, 12, False), (40, 13, True), (9, 9, False), (10, 4, True), (10, 3, False)],
)
def test_limit_edges(published: int, unpublishes: int, warned: bool) -> None:
    segments = [f.seg(i) for i in range(1, published + 1)]
    state = f.state(segments, {i: ["api"] for i in range(1, published + 1)})
    from reconciler.model import Change, Use

    changes = [
        Change(i, f"Segment {i}", frozenset({Use.API}), frozenset())
        for i in range(1, unpublishes + 1)
    ]
    found = rules.check_unpublish_limit(changes, state, 30.0, None)
    assert bool(found) is warned
    assert all(v.severity == "warning" and v.rule == "safety_limit" for v in found)
