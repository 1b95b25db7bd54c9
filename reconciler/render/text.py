"""Plans as text for people: + publish, ~ update, - unpublish, then violations and summary."""

from __future__ import annotations

from collections.abc import Callable

import click

from reconciler.drift import drift_lines
from reconciler.enrichment import render_target_changes
from reconciler.model import ACTION_SYMBOLS, Action, Plan, Violation, sorted_uses
from reconciler.render.printable import printable

COLORS = {Action.PUBLISH: "green", Action.UPDATE: "yellow", Action.UNPUBLISH: "red"}


def render_plan(plan: Plan, color: bool = False) -> str:
    paint = _painter(color)
    lines: list[str] = drift_lines(plan.drift)
    for change in plan.changes:
        symbol = ACTION_SYMBOLS[change.action]
        lines.append(
            paint(
                f"  {symbol} {printable(change.segment_name)} ({change.segment_id})",
                COLORS[change.action],
            )
        )
        for use in sorted_uses(change.remove):
            lines.append(paint(f"      - {use}", "red"))
        for use in sorted_uses(change.add):
            lines.append(paint(f"      + {use}", "green"))
        if change.action is Action.UPDATE:
            kept = sorted_uses(change.before & change.after)
            if kept:
                lines.append(f"        (keeps {', '.join(kept)})")
    lines.extend(render_target_changes(plan.target_changes))
    if lines:
        lines.append("")
    lines.extend(render_violations(plan.violations, color))
    if not plan.has_changes:
        lines.append(f"No changes. Published: {plan.published_before} of {plan.cap}.")
    else:
        if plan.target_changes:
            lines.append(paint(plan.target_summary_line(), "bright_white", bold=True))
        lines.append(paint(plan.summary_line(), "bright_white", bold=True))
    return "\n".join(lines) + "\n"


def render_violations(
    violations: tuple[Violation, ...] | list[Violation], color: bool = False
) -> list[str]:
    paint = _painter(color)
    lines: list[str] = []
    errors = [v for v in violations if v.severity == "error"]
    warnings = [v for v in violations if v.severity == "warning"]
    if errors:
        word = "violation" if len(errors) == 1 else "violations"
        lines.append(paint(f"{len(errors)} {word}:", "red", bold=True))
        lines.extend(f"  {printable(v.describe())}" for v in errors)
        lines.append("")
    if warnings:
        word = "warning" if len(warnings) == 1 else "warnings"
        lines.append(paint(f"{len(warnings)} {word}:", "yellow", bold=True))
        lines.extend(f"  {printable(v.describe())}" for v in warnings)
        lines.append("")
    return lines


def _painter(color: bool) -> Callable[..., str]:
    def paint(text: str, fg: str, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if color else text

    return paint
