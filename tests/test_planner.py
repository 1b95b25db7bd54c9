"""The planner: desired vs current -> ordered changes."""

from __future__ import annotations

from reconciler.model import Action, Use
from reconciler.pipeline import make_plan
from tests.factories import config, seg, state


def test_changes_carry_before_after_add_remove_sorted() -> None:
    ws = state([seg(1, "B"), seg(2, "A"), seg(3, "C")], {1: ["api", "gtm"], 3: ["api"]})
    plan = make_plan(config([(1, ["gtm", "orchestration"]), (2, ["api"]), (3, [])]), ws)
    assert [(c.action, c.segment_id) for c in plan.changes] == [
        (Action.UNPUBLISH, 3),
        (Action.UPDATE, 1),
        (Action.PUBLISH, 2),
    ]
    update = plan.changes[1].to_dict()
    assert update == {
        "action": "update",
        "segment_id": 1,
        "segment_name": "B",
        "before": ["api", "gtm"],
        "after": ["gtm", "orchestration"],
        "add": ["orchestration"],
        "remove": ["api"],
    }


def test_unchanged_and_unlisted_segments_make_no_change_under_partial_scope() -> None:
    ws = state([seg(1), seg(2)], {1: ["api"], 2: ["gtm"]})
    plan = make_plan(config([(1, ["api"])]), ws)
    assert plan.changes == ()
    assert plan.published_before == plan.published_after == 2


def test_full_scope_unpublishes_what_it_does_not_list() -> None:
    ws = state([seg(1), seg(2)], {1: ["api"], 2: ["gtm"]})
    plan = make_plan(config([(1, ["api"])], scope="full"), ws)
    assert [(c.action, c.segment_id) for c in plan.changes] == [(Action.UNPUBLISH, 2)]
    assert plan.changes[0].before == frozenset({Use.GTM})


def test_listing_an_unpublished_segment_as_unpublished_is_no_change() -> None:
    plan = make_plan(config([(1, [])]), state([seg(1)]))
    assert plan.changes == ()


def test_plans_are_deterministic() -> None:
    ws = state([seg(i, f"S{i % 7}") for i in range(1, 60)], {i: ["api"] for i in range(1, 30)})
    cfg = config([(i, ["gtm"] if i % 2 else []) for i in range(1, 60)])
    assert make_plan(cfg, ws) == make_plan(cfg, ws)
