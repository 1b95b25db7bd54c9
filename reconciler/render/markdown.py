"""Plans as Markdown for a pull-request comment: summary first, never over GitHub's size limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from reconciler.drift import DRIFT_HEADING, drift_items
from reconciler.model import Plan, Use, Violation, sorted_uses

# GitHub refuses comments over 65,536 characters; stay clear of it.
MAX_CHARS = 65_000
# No one cell may crowd out the rest: names and messages are cut past this.
MAX_CELL = 400
# Up to this many changes the table is shown open; past it, folded in <details>.
OPEN_ROWS = 20


def _escape(text: str, limit: int = MAX_CELL) -> str:
    """Text made inert in Markdown/HTML (a segment name must not open a tag or a table cell)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = " ".join(text.split())
    out = []
    for char in text:
        if char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == "&":
            out.append("&amp;")
        elif char == "@":
            out.append("&#64;")  # no @mentions from a segment name
        elif char in "\\`*_[]|#~!":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _code(text: str, limit: int = MAX_CELL) -> str:
    """Text for a code span: shown as is, so only a backquote or a line break could break it."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def _uses(uses: frozenset[Use]) -> str:
    return ", ".join(sorted_uses(uses)) or "—"


def _violation_row(violation: Violation) -> str:
    where = violation.where()
    place = f"{_code(where)} " if where else ""
    return f"- {place}**{_escape(violation.rule)}**: {_escape(violation.message)}"


class _Section(NamedTuple):
    """A part of the comment that may lose rows from its end; `render` gets the rows kept."""

    rows: list[str]
    render: Callable[[list[str]], list[str]]


def render_plan(plan: Plan, color: bool = False) -> str:
    head = [_heading(plan), "", *_status(plan), ""]
    sections = [
        _Section(
            [_violation_row(v) for v in plan.errors],
            lambda rows: ["#### Violations", "", *rows, ""],
        ),
        _Section(
            [f"- {_escape(line)}" for line in drift_items(plan.drift)],
            lambda rows: [
                f"#### {DRIFT_HEADING}",
                "",
                *rows,
                "",
                "The plan below reverts those the config manages, like any other difference.",
                "",
            ],
        ),
        _Section(
            [
                f"| {c.action.value} | {_escape(c.segment_name)} | {c.segment_id}"
                f" | {_uses(c.before)} | {_uses(c.after)} |"
                for c in plan.changes
            ],
            lambda rows: _changes_table(rows, len(plan.changes)),
        ),
        _Section(
            [_violation_row(v) for v in plan.warnings],
            lambda rows: _details(f"Warnings ({len(plan.warnings)})", rows),
        ),
    ]
    total = sum(len(s.rows) for s in sections)
    low, high = 0, total
    if len(_assemble(head, sections, total, total)) <= MAX_CHARS:
        return _assemble(head, sections, total, total)
    # The largest number of rows (kept from the start) that fits, with the note saying so.
    while low < high:
        middle = (low + high + 1) // 2
        if len(_assemble(head, sections, middle, total)) <= MAX_CHARS:
            low = middle
        else:
            high = middle - 1
    return _assemble(head, sections, low, total)


def render_unreadable(path: str, violations: Sequence[Violation]) -> str:
    """A config that could not be read at all (YAML, schema): what is wrong, where, no plan."""
    rows = [_violation_row(v) for v in violations]
    lines = [f"### No plan: {_code(path, 200)} could not be read", ""]
    size = sum(len(line) + 1 for line in lines)
    kept = 0
    for row in rows:
        if size + len(row) + 1 > MAX_CHARS - 200:
            break
        size += len(row) + 1
        kept += 1
    lines += rows[:kept]
    if kept < len(rows):
        lines += ["", f"_{len(rows) - kept} more left out; run `segpub validate` for all._"]
    return "\n".join(lines) + "\n"


def _assemble(head: list[str], sections: list[_Section], kept: int, total: int) -> str:
    lines = list(head)
    budget = kept
    for section in sections:
        if not section.rows:
            continue
        rows = section.rows[:budget]
        budget -= len(rows)
        if rows:
            lines.extend(section.render(rows))
    if kept < total:
        left_out = total - kept
        word = "row" if left_out == 1 else "rows"
        lines.append(
            f"_{left_out} {word} left out to stay under {MAX_CHARS:,} characters; run"
            " `segpub plan CONFIG` for the whole plan._"
        )
        lines.append("")
    return "\n".join(lines)


def _heading(plan: Plan) -> str:
    if not plan.changes:
        return f"### No changes. Published: {plan.published_before} of {plan.cap}."
    return f"### {plan.summary_line()}"


def _status(plan: Plan) -> list[str]:
    lines = []
    errors = len(plan.errors)
    if errors:
        word = "violation" if errors == 1 else "violations"
        lines.append(f":x: **{errors} {word}**: this plan cannot be applied until they are fixed.")
    else:
        lines.append(":white_check_mark: Valid: the plan breaks no rule.")
    source = []
    if plan.config_path:
        sha = f" (sha256 `{plan.config_sha256[:12]}`)" if plan.config_sha256 else ""
        source.append(f"Config {_code(plan.config_path, 200)}{sha}")
    source.append(f"workspace serial {plan.serial}")
    lines.append("")
    lines.append(", ".join(source) + ".")
    return lines


def _changes_table(rows: list[str], total: int) -> list[str]:
    table = [
        "| action | segment | id | uses before | uses after |",
        "|---|---|---|---|---|",
        *rows,
    ]
    if total <= OPEN_ROWS:
        return ["#### Changes", "", *table, ""]
    return _details(f"Changes ({total})", table)


def _details(summary: str, body: list[str]) -> list[str]:
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]
