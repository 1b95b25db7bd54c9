"""Plans as JSON for machines, following schemas/plan.schema.json."""

from __future__ import annotations

import json
from typing import Any

from reconciler.model import Action, Plan

FORMAT_VERSION = 1


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "workspace": {"lineage": plan.lineage, "serial": plan.serial},
        "config": (
            {"path": plan.config_path, "sha256": plan.config_sha256} if plan.config_path else None
        ),
        "scope": plan.scope.value,
        "summary": {
            "publish": plan.count(Action.PUBLISH),
            "update": plan.count(Action.UPDATE),
            "unpublish": plan.count(Action.UNPUBLISH),
            "published_before": plan.published_before,
            "published_after": plan.published_after,
            "cap": plan.cap,
        },
        "changes": [c.to_dict() for c in plan.changes],
        "target_changes": [t.to_dict() for t in plan.target_changes],
        "violations": [v.to_dict() for v in plan.violations],
        "warnings": [v.to_dict() for v in plan.warnings],
        "drift": list(plan.drift),
        "valid": plan.valid,
    }


def render_plan(plan: Plan, color: bool = False) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
