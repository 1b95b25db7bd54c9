"""Properties over generated catalogs and configs: apply then plan is empty, export then plan is
empty, plans are deterministic, and a plan from the narrow read equals one from the whole state."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import pipeline
from reconciler.catalog import parse_catalog
from reconciler.config import parse_config
from reconciler.loading import load_bytes
from reconciler.store import open_workspace

USES = [
    "data_workflows",
    "orchestration",
    "account_details",
    "gtm",
    "api",
    "sales_intelligence_legacy",
]
METHODS = ["account_list_upload", "crm_report_sync", "crm_list_sync", "filters"]
FILTERS = ["Uploaded Account List", "Account Profile Fit", "Web Visits", "Intent Keywords"]
KINDS = ["custom_6qa", "workflow", "saved_6qa_report", "alert"]
NAMES = ["Alpha", "Beta", "Gamma", "Delta", "Épsilon 🚀", "Shared"]

segment = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "created_via": st.sampled_from(METHODS),
        "filters": st.lists(st.sampled_from(FILTERS), max_size=2, unique=True),
        "used_by": st.lists(
            st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "name": st.just("dep")}),
            max_size=2,
        ),
        "published_uses": st.lists(st.sampled_from(USES), max_size=3, unique=True),
    }
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    segments = draw(st.lists(segment, min_size=1, max_size=12))
    for index, entry in enumerate(segments, start=1):
        entry["id"] = index
    cap = draw(st.integers(min_value=1, max_value=15))
    catalog = {"settings": {"cap": cap}, "segments": segments}
    picked = draw(st.lists(st.integers(1, len(segments)), unique=True, max_size=len(segments)))
    entries = []
    for sid in picked:
        by_name = draw(st.booleans())
        ref = {"name": segments[sid - 1]["name"]} if by_name else {"id": sid}
        uses = draw(st.lists(st.sampled_from(USES[:-1]), max_size=3, unique=True))
        entries.append({**ref, "uses": uses})
    if draw(st.integers(0, 4)) == 0:  # now and then a segment the workspace does not have
        entries.append({**draw(st.sampled_from([{"name": "Alphx"}, {"id": 99}])), "uses": []})
    config = {
        "version": 1,
        "scope": draw(st.sampled_from(["partial", "full"])),
        "publications": entries,
    }
    return catalog, config


def _doc(data: dict[str, Any], name: str) -> Any:
    return load_bytes(yaml.safe_dump(data, allow_unicode=True).encode("utf-8"), name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_apply_then_plan_and_export_then_plan_show_no_changes(
    world: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    catalog, config_data = world
    with tempfile.TemporaryDirectory() as folder:
        store = open_workspace(str(Path(folder) / "ws.db"))
        try:
            provenance = pipeline.provenance("prop", "import", "catalog import")
            store.import_catalog(parse_catalog(_doc(catalog, "catalog.yaml")), provenance)
            config = parse_config(_doc(config_data, "pubs.yaml"))
            state = store.read_state()
            plan = pipeline.make_plan(config, state)
            assert plan == pipeline.make_plan(config, store.read_state())  # deterministic
            # Reading only the segments the config names (and the published ones) changes nothing.
            assert pipeline.plan_workspace(store, config) == plan
            if plan.valid:
                serial = state.serial
                entry = pipeline.apply_plan(store, plan, pipeline.provenance("p", "apply", "apply"))
                after = store.read_state()
                assert after.serial == (serial + 1 if plan.changes else serial)
                assert (entry is None) == (not plan.changes)
                assert pipeline.make_plan(config, after).changes == ()
                assert after.published_count == plan.published_after
            exported = parse_config(_doc(pipeline.export_config(store.read_state()), "x.yaml"))
            replan = pipeline.make_plan(exported, store.read_state())
            assert replan.changes == ()
            assert [v.rule for v in replan.errors] == []
        finally:
            store.close()
