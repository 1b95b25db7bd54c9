"""Workspaces for the CI-fit tests: a catalog of N published segments, configs over it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_in_process, write


def catalog_text(
    published: int, unpublished: int = 0, cap: int = 200, gtm_locked: tuple[int, ...] = ()
) -> str:
    """Segments 1..published published for api; then `unpublished` more with no use.
    Segment 900 is a filters-built (dynamic) segment, never GTM-eligible."""
    lines = [f"settings: {{cap: {cap}}}", "segments:"]
    for sid in range(1, published + unpublished + 1):
        lines += [
            f"- id: {sid}",
            f"  name: Segment {sid}",
            "  created_via: account_list_upload",
            "  filters: [Uploaded Account List]",
        ]
        if sid in gtm_locked:
            lines.append("  used_by: [{kind: custom_6qa, name: Model " + str(sid) + "}]")
            lines.append("  published_uses: [gtm, api]")
        else:
            lines.append(f"  published_uses: [{'api' if sid <= published else ''}]")
    lines += [
        "- id: 900",
        "  name: Dynamic",
        "  created_via: filters",
        "  filters: [Intent Keyword]",
        "  published_uses: []",
    ]
    return "\n".join(lines) + "\n"


def config_text(
    entries: list[tuple[int, list[str]]], scope: str = "partial", extra: str = ""
) -> str:
    lines = ["version: 1", f"scope: {scope}", extra.rstrip("\n"), "publications:"]
    lines = [line for line in lines if line]
    for sid, uses in entries:
        lines += [f"  - id: {sid}", f"    uses: [{', '.join(uses)}]"]
    if not entries:
        lines[-1] = "publications: []"
    return "\n".join(lines) + "\n"


def workspace(
    folder: Path,
    published: int,
    unpublished: int = 0,
    cap: int = 200,
    gtm_locked: tuple[int, ...] = (),
) -> Path:
    """`folder` with catalog.yaml imported into folder/segpub.db."""
    write(folder / "catalog.yaml", catalog_text(published, unpublished, cap, gtm_locked))
    imported = run_in_process(
        ["catalog", "import", "catalog.yaml"], folder, {"SEGPUB_ACTOR": "importer"}
    )
    assert imported.code == 0, imported.err
    return folder
