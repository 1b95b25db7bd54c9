"""Violations as GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=RULE::MSG`."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model import Plan, Violation


def _data(text: str) -> str:
    # GitHub's escaping of a command's message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(violation: Violation) -> str:
    command = "error" if violation.severity == "error" else "warning"
    properties = []
    if violation.file is not None:
        properties.append(f"file={_property(violation.file)}")
        if violation.line is not None:
            properties.append(f"line={violation.line}")
            properties.append(f"col={violation.column or 1}")
    properties.append(f"title={_property(violation.rule)}")
    return f"::{command} {','.join(properties)}::{_data(violation.message)}"


def render_violations(violations: Iterable[Violation]) -> str:
    lines = [annotation(v) for v in violations]
    return "".join(line + "\n" for line in lines)


def render_plan(plan: Plan, color: bool = False) -> str:
    """Each violation as an annotation, then the summary as a notice."""
    summary = (
        plan.summary_line()
        if plan.changes
        else f"No changes. Published: {plan.published_before} of {plan.cap}."
    )
    return render_violations(plan.violations) + f"::notice title=segpub plan::{_data(summary)}\n"
