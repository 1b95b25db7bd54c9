"""Each rule on its own: what fires, what does not, and the exact words a user reads."""

from __future__ import annotations

from reconciler.pipeline import make_plan
from tests.factories import config, seg, state


def rules_of(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [v.rule for v in plan.errors]


def test_cap_counts_segments_not_uses_and_blames_the_publishes_past_it() -> None:
    ws = state([seg(1), seg(2), seg(3), seg(4)], {1: ["api", "gtm", "orchestration"]}, cap=2)
    plan = make_plan(config([(2, ["api"]), (3, ["api"]), (4, ["api"])]), ws)
    assert plan.published_after == 4
    assert rules_of(plan) == ["cap_exceeded", "cap_exceeded"]
    assert [v.segment_id for v in plan.errors] == [3, 4]
    assert plan.errors[0].message == (
        "publishing Segment 3 (3) would leave 4 segments published, over the cap of 2 by 2;"
        " unpublish 2 other segments first, or drop this publish"
    )


def test_cap_is_met_when_removals_free_room_first() -> None:
    ws = state([seg(1), seg(2)], {1: ["api"]}, cap=1)
    plan = make_plan(config([(1, []), (2, ["api"])]), ws)
    assert plan.valid
    assert [c.action.value for c in plan.changes] == ["unpublish", "publish"]


def test_use_limit_only_where_set() -> None:
    ws = state([seg(1), seg(2)], {1: ["gtm"]}, limits={"gtm": 1})
    plan = make_plan(config([(2, ["gtm"])]), ws)
    assert rules_of(plan) == ["use_limit_exceeded"]
    unlimited = make_plan(config([(2, ["gtm"])]), state([seg(1), seg(2)], {1: ["gtm"]}))
    assert unlimited.valid


def test_gtm_ineligible_names_method_and_filters() -> None:
    ws = state([seg(1, "Dyn", via="filters", filters=("Web Visits", "Account Profile Fit"))])
    plan = make_plan(config([(1, ["gtm"])]), ws)
    assert rules_of(plan) == ["gtm_ineligible"]
    message = plan.errors[0].message
    assert message.startswith(
        "Dyn (1) cannot be published for gtm: it was created via filters (a dynamic segment)"
        " and it uses the filter 'Web Visits'."
    )


def test_gtm_eligible_for_every_stable_creation_method() -> None:
    for via in ("account_list_upload", "crm_report_sync", "crm_list_sync"):
        ws = state([seg(1, via=via, filters=("Salesforce Account List",))])
        assert make_plan(config([(1, ["gtm"])]), ws).valid


def test_gtm_kept_on_an_ineligible_segment_is_not_a_violation() -> None:
    ws = state([seg(1, via="filters")], {1: ["gtm"]})
    assert make_plan(config([(1, ["gtm", "api"])]), ws).valid


def test_gtm_lock_names_the_dependents_and_only_locking_kinds_lock() -> None:
    locked = seg(1, "Locked", used_by=(("custom_6qa", "E 6QA"), ("workflow", "W")))
    free = seg(2, "Free", used_by=(("workflow", "W"), ("alert", "A"), ("report", "R")))
    ws = state([locked, free], {1: ["gtm"], 2: ["gtm"]})
    plan = make_plan(config([(1, []), (2, [])]), ws)
    assert rules_of(plan) == ["gtm_locked"]
    assert plan.errors[0].message == (
        "Locked (1) is a GTM segment used by Custom 6QA 'E 6QA', so it cannot lose gtm"
        " (this entry unpublishes it); keep gtm, or remove that usage on the platform first"
    )


def test_gtm_lock_fires_for_omission_under_full_scope_at_the_scope_line() -> None:
    locked = seg(1, "Locked", used_by=(("pipeline_intelligence", "P"),))
    ws = state([locked, seg(2)], {1: ["gtm"]})
    plan = make_plan(config([(2, ["api"])], scope="full"), ws)
    assert rules_of(plan) == ["gtm_locked"]
    assert plan.errors[0].line == 2
    assert "scope: full would unpublish it" in plan.errors[0].message


def test_legacy_can_be_kept_or_removed_never_added() -> None:
    ws = state([seg(1), seg(2)], {1: ["sales_intelligence_legacy"]})
    assert make_plan(config([(1, ["sales_intelligence_legacy", "api"])]), ws).valid
    assert make_plan(config([(1, [])]), ws).valid
    plan = make_plan(config([(2, ["sales_intelligence_legacy"])]), ws)
    assert rules_of(plan) == ["legacy_use"]


def test_all_violations_are_collected_together() -> None:
    ws = state([seg(1, via="filters"), seg(2, used_by=(("custom_6qa", "x"),))], {2: ["gtm"]})
    plan = make_plan(config([(1, ["gtm", "sales_intelligence_legacy"]), (2, []), ("Nope", [])]), ws)
    assert sorted(rules_of(plan)) == [
        "gtm_ineligible",
        "gtm_locked",
        "legacy_use",
        "unknown_segment",
    ]


def test_a_workspace_already_over_the_cap_can_still_unpublish() -> None:
    # Found by the property test: the platform's own state may be over the cap; a plan that
    # publishes nothing new must not be blocked, only warned.
    ws = state([seg(1), seg(2), seg(3)], {1: ["api"], 2: ["api"], 3: ["api"]}, cap=1)
    plan = make_plan(config([(3, [])]), ws)
    assert plan.valid
    assert [(v.rule, v.severity) for v in plan.violations] == [("cap_exceeded", "warning")]
    blocked = make_plan(
        config([(3, []), (4, ["api"])]),
        state([seg(1), seg(2), seg(3), seg(4)], {1: ["api"], 2: ["api"], 3: ["api"]}, cap=1),
    )
    assert [v.rule for v in blocked.errors] == ["cap_exceeded"]
