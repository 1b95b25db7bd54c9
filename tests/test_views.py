"""The platform's views through the CLI: segments list (Activations), the Published Segments
grid (locked gtm cells), an account's Segments tab, and the API's segments for an account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Segpub
from tests.platform_world import world


@pytest.fixture
def platform(segpub: Segpub, tmp_path: Path) -> Segpub:
    world(segpub, tmp_path)
    return segpub


def test_segments_table_with_activations(platform: Segpub) -> None:
    result = platform("segments")
    assert result.code == 0, result.err
    assert result.out == (
        "ID  Name             Folder           Creation method      Accounts  Activations\n"
        "1   Alpha            GTM/Territories  account_list_upload         2"
        "  Published: account_details, api, orchestration\n"
        "7   Alpha            Sales/EMEA       account_list_upload         1"
        "  Published: orchestration\n"
        "2   Bêta ñandú       ABM/Tiers        account_list_upload         1"
        "  Published: account_details, orchestration\n"
        "4   Delta; semi      Campaigns        filters                     1"
        "  Published: data_workflows\n"
        "6   Locked GTM       GTM/Industries   crm_list_sync               1"
        "  Published: api, gtm; Custom 6QA: Enterprise 6QA; Workflow: Routing\n"
        "5   Unpublished One  Campaigns        filters                     1  Alert: Spike\n"
        "3   Ωmega 東京       ABM/Tiers        filters                     2"
        "  Published: api, orchestration\n"
        "7 segments.\n"
    )


def test_segments_filters(platform: Segpub) -> None:
    folder = platform("segments", "--folder", "GTM/")
    assert [line.split()[0] for line in folder.out.splitlines()[1:-1]] == ["1", "6"]
    assert folder.out.splitlines()[-1] == "2 segments."
    unpublished = platform("segments", "--unpublished")
    assert unpublished.out.splitlines()[1:] == [
        "5   Unpublished One  Campaigns  filters                 1  Alert: Spike",
        "1 segment.",
    ]
    published = platform("segments", "--published", "--format", "json")
    assert [r["id"] for r in json.loads(published.out)] == [1, 7, 2, 4, 6, 3]
    search = platform("segments", "--search", "ALPHA", "--format", "json")
    rows = json.loads(search.out)
    assert [r["id"] for r in rows] == [1, 7]
    assert rows[0] == {
        "id": 1,
        "name": "Alpha",
        "folder": "GTM/Territories",
        "creation_method": "account_list_upload",
        "accounts": 2,
        "activations": "Published: account_details, api, orchestration",
        "published_uses": ["account_details", "api", "orchestration"],
        "used_by": [],
    }


def test_segments_csv(platform: Segpub) -> None:
    result = platform("segments", "--search", "Locked", "--format", "csv")
    assert result.out == (
        "id,name,folder,creation_method,accounts,activations\n"
        '6,Locked GTM,GTM/Industries,crm_list_sync,1,"Published: api, gtm; Custom 6QA:'
        ' Enterprise 6QA; Workflow: Routing"\n'
    )


def test_published_grid_shows_locked_gtm_cells(platform: Segpub) -> None:
    result = platform("published")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "ID",
        "Name",
        "data_workflows",
        "orchestration",
        "account_details",
        "gtm",
        "api",
        "sales_intelligence_legacy",
    ]
    assert lines[5] == (
        "6   Locked GTM   [ ]             [ ]            [ ]              [x] locked by"
        " Custom 6QA 'Enterprise 6QA'  [x]  [ ]"
    )
    assert lines[1].startswith("1   Alpha        [ ]             [x]            [x]")
    assert lines[-1] == "6 published (cap 200)."
    grid = json.loads(platform("published", "--search", "locked", "--format", "json").out)
    assert len(grid) == 1
    assert grid[0]["uses"]["gtm"] == {
        "checked": True,
        "locked": True,
        "locked_by": ["Custom 6QA 'Enterprise 6QA'"],
    }
    assert grid[0]["uses"]["api"] == {"checked": True, "locked": False, "locked_by": []}


def test_account_segments_tab_by_domain_or_id(platform: Segpub) -> None:
    result = platform("account", "ACME.example.com")
    assert result.code == 0, result.err
    assert result.out == (
        "Acme Inc (A1), acme.example.com, United States\n"
        "\n"
        "Account appears in these segments:\n"
        "  ID  Name        Folder\n"
        "  1   Alpha       GTM/Territories\n"
        "  2   Bêta ñandú  ABM/Tiers\n"
    )
    none = platform("account", "A4")
    assert none.out == (
        "Loner Ltd (A4), loner.example.com, France\n\n"
        "Account appears in no segments published for account_details.\n"
    )
    data = json.loads(platform("account", "A2", "--format", "json").out)
    assert data == {
        "account": {
            "id": "A2",
            "name": "Globex GmbH",
            "domain": "globex.example.com",
            "country": "Germany",
        },
        "segments": [{"id": 1, "name": "Alpha", "folder": "GTM/Territories"}],
    }


def test_api_segments_exact_json_sorted_by_id(platform: Segpub) -> None:
    result = platform("api", "segments", "acme.example.com")
    assert result.code == 0
    assert json.loads(result.out) == {
        "ids": [1, 3],
        "names": ["Alpha", "Ωmega 東京"],
        "list": [{"id": 1, "name": "Alpha"}, {"id": 3, "name": "Ωmega 東京"}],
    }
    assert list(json.loads(result.out)) == ["ids", "names", "list"]
    assert json.loads(platform("api", "segments", "A2").out)["ids"] == [1, 6]
    assert json.loads(platform("api", "segments", "A4").out) == {"ids": [], "names": [], "list": []}


def test_unknown_account(platform: Segpub) -> None:
    for command in (["account"], ["api", "segments"]):
        result = platform(*command, "nope.example.com")
        assert result.code == 1
        assert result.out == ""
        assert result.err == (
            "segpub: error: no account has id or domain 'nope.example.com'; import accounts"
            " with `segpub accounts import`\n"
        )


def test_views_after_an_unpublish(platform: Segpub, tmp_path: Path) -> None:
    (tmp_path / "unpub.yaml").write_text(
        "version: 1\npublications:\n  - {id: 3, uses: []}\n", encoding="utf-8"
    )
    assert platform("apply", "unpub.yaml", "--auto-approve").code == 0
    assert json.loads(platform("api", "segments", "A1").out)["ids"] == [1]
    row = json.loads(platform("segments", "--search", "mega", "--format", "json").out)[0]
    assert row["activations"] == ""
