"""Fuzzing load -> validate -> plan: whatever the bytes, only segpub's own errors come out.

Two generators: arbitrary bytes (and arbitrary text), and arbitrary structured documents built
from the config's and catalog's own vocabulary so the fuzz gets past the loader into the schema,
the resolver, the planner and the rules. A short bounded run is part of the normal suite; the
long one is `python -m pytest -m fuzz` (SEGPUB_FUZZ_SECONDS, default 60). Every input that ever
crashed is kept in tests/fuzz_regressions/ and replayed here."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.catalog import parse_catalog
from reconciler.config import parse_config
from reconciler.errors import SegpubError
from reconciler.loading import load_bytes
from reconciler.model import WorkspaceState
from reconciler.pipeline import make_plan, provenance
from reconciler.store import open_workspace
from tests.factories import seg, state

REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"

STATE: WorkspaceState = state(
    [
        seg(1, "Territory West", filters=("Uploaded Account List",)),
        seg(
            2,
            "Territory East",
            via="crm_report_sync",
            filters=("Accounts in Salesforce Report",),
            used_by=(("custom_6qa", "East 6QA"),),
        ),
        seg(3, "Intent Surge", via="filters", filters=("Intent Keywords",)),
        seg(4, "Shared", via="crm_list_sync"),
        seg(5, "Shared"),
    ],
    {
        1: ["gtm"],
        2: ["gtm", "account_details"],
        3: ["orchestration"],
        5: ["sales_intelligence_legacy", "api"],
    },
    cap=3,
    limits={"gtm": 2},
)

USES = [
    "data_workflows",
    "orchestration",
    "account_details",
    "gtm",
    "api",
    "sales_intelligence_legacy",
]
KEYS = [
    "version",
    "scope",
    "publications",
    "name",
    "id",
    "uses",
    "segments",
    "settings",
    "cap",
    "use_limits",
    "created_via",
    "filters",
    "used_by",
    "kind",
    "published_uses",
    "folder",
    "safety",
    "enrichment",
    "<<",
    "",
    "0",
]
WORDS = [
    *USES,
    "partial",
    "full",
    "Territory West",
    "Shared",
    "Intent Surge",
    "filters",
    "account_list_upload",
    "custom_6qa",
    "Uploaded Account List",
    "!!python/object:os.system",
    "\x00",
    "\ufeff",
    "\u202e",
    "😀",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-2, max_value=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(-2, 6))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=25,
)


def _publications_like() -> st.SearchStrategy[Any]:
    """Mostly-valid configs: the right shape with wrong details, to reach the rules."""
    entry = st.fixed_dictionaries(
        {"uses": st.lists(st.sampled_from(USES), max_size=4)},
        optional={"name": st.sampled_from(WORDS), "id": st.integers(-1, 7)},
    )
    return st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 2, "1"]), "publications": st.lists(entry, max_size=6)},
        optional={"scope": st.sampled_from(["partial", "full", "other"])},
    )


def _catalog_like() -> st.SearchStrategy[Any]:
    """Mostly-valid catalogs: they get imported into a real workspace."""
    segment = st.fixed_dictionaries(
        {
            "id": st.one_of(st.integers(1, 6), st.integers(min_value=1)),
            "name": st.sampled_from(WORDS),
            "created_via": st.sampled_from(["filters", "account_list_upload", "crm_list_sync"]),
        },
        optional={
            "published_uses": st.lists(st.sampled_from(USES), max_size=3, unique=True),
            "filters": st.lists(st.sampled_from(WORDS), max_size=2),
            "used_by": st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["custom_6qa", "workflow"]),
                        "name": st.sampled_from(WORDS),
                    }
                ),
                max_size=2,
            ),
        },
    )
    return st.fixed_dictionaries(
        {"segments": st.lists(segment, max_size=5)},
        optional={
            "settings": st.fixed_dictionaries(
                {},
                optional={
                    "cap": st.integers(min_value=0),
                    "use_limits": st.dictionaries(st.sampled_from(USES), st.integers()),
                },
            )
        },
    )


def _encode(data: Any, form: str) -> bytes:
    if form == "json":
        return json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")


def run_pipeline(raw: bytes, name: str = "fuzz.yaml") -> None:
    """Load, validate and plan `raw` as a config and as a catalog; a catalog that parses is also
    imported into a real workspace. A SegpubError is fine, anything else is a crash."""
    try:
        document = load_bytes(raw, name)
    except SegpubError:
        return
    try:
        config = parse_config(document)
        plan = make_plan(config, STATE)
        assert plan.published_after >= 0
    except SegpubError:
        pass
    try:
        catalog = parse_catalog(document)
    except SegpubError:
        return
    with tempfile.TemporaryDirectory() as folder:
        store = open_workspace(str(Path(folder) / "segpub.db"))
        try:
            store.import_catalog(catalog, provenance("fuzz", "import", "catalog import"))
            imported = store.read_state()
            assert {e.segment.id for e in catalog.entries} <= set(imported.segments)
            for ref in [*imported.segments][:3]:
                make_plan(parse_config(load_bytes(_config_for(ref), "p.yaml")), imported)
        except SegpubError:
            pass
        finally:
            store.close()


def _config_for(segment_id: int) -> bytes:
    return (
        f"version: 1\nscope: full\npublications:\n  - {{id: {segment_id}, uses: [api]}}\n".encode()
    )


def _bytes_property(raw: bytes) -> None:
    run_pipeline(raw)


def _text_property(text: str) -> None:
    run_pipeline(text.encode("utf-8", "surrogatepass"))


def _document_property(data: Any, form: str) -> None:
    try:
        raw = _encode(data, form)
    except (ValueError, yaml.YAMLError):
        return
    run_pipeline(raw, f"fuzz.{form}")


QUICK = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

test_arbitrary_bytes_give_only_segpub_errors = QUICK(
    given(st.binary(max_size=400))(_bytes_property)
)
test_arbitrary_text_gives_only_segpub_errors = QUICK(given(st.text(max_size=300))(_text_property))
test_arbitrary_documents_give_only_segpub_errors = QUICK(
    given(documents, st.sampled_from(["yaml", "json"]))(_document_property)
)
test_config_like_documents_give_only_segpub_errors = QUICK(
    given(_publications_like(), st.sampled_from(["yaml", "json"]))(_document_property)
)
test_catalog_like_documents_import_or_give_segpub_errors = QUICK(
    given(_catalog_like(), st.sampled_from(["yaml", "json"]))(_document_property)
)


@pytest.mark.parametrize(
    "case",
    sorted(p.name for p in REGRESSIONS.iterdir() if p.is_file()) if REGRESSIONS.is_dir() else [],
)
def test_every_crash_found_stays_fixed(case: str) -> None:
    run_pipeline((REGRESSIONS / case).read_bytes(), case)


@pytest.mark.fuzz
def test_long_fuzz_for_a_bounded_time() -> None:
    """Round after round of every generator until SEGPUB_FUZZ_SECONDS (default 60) are spent."""
    deadline = time.monotonic() + float(os.environ.get("SEGPUB_FUZZ_SECONDS", "60"))
    long = settings(
        max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    properties = [
        long(given(st.binary(max_size=4000))(_bytes_property)),
        long(given(st.text(max_size=2000))(_text_property)),
        long(given(documents, st.sampled_from(["yaml", "json"]))(_document_property)),
        long(given(_publications_like(), st.sampled_from(["yaml", "json"]))(_document_property)),
        long(given(_catalog_like(), st.sampled_from(["yaml", "json"]))(_document_property)),
    ]
    rounds = 0
    while time.monotonic() < deadline:
        properties[rounds % len(properties)]()  # each call is a fresh run with a new seed
        rounds += 1
    assert rounds >= 1


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a small catalog, for the command-line fuzz."""
    from tests.reliability import workspace

    folder = tmp_path_factory.mktemp("cli-fuzz")
    workspace(folder)
    return folder


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.one_of(st.binary(max_size=300), _publications_like().map(lambda d: _encode(d, "yaml"))))
def test_the_cli_answers_any_file_with_exit_0_or_1(cli_folder: Path, raw: bytes) -> None:
    """Through the real command line: a verdict (0 or 1) and words, never an internal error."""
    from tests.conftest import run_in_process

    (cli_folder / "fuzz.yaml").write_bytes(raw)
    for command in (
        ["validate", "fuzz.yaml"],
        ["plan", "fuzz.yaml"],
        ["catalog", "import", "fuzz.yaml"],
    ):
        result = run_in_process(
            ["--workspace", str(cli_folder / "segpub.db"), *command], cli_folder
        )
        assert result.code in (0, 1), result.out + result.err
        assert "internal error" not in result.err and "Traceback" not in result.err


CSV_IMPORTS = ["accounts", "members", "records"]
CSV_HEADERS = {
    "accounts": "account_id,name,domain,country\n",
    "members": "segment_id,account_id\n",
    "records": "system,record_type,record_id,account_id,created_at\n",
}


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(CSV_IMPORTS),
    body=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet=st.sampled_from(list('A1,;"\r\n\t x\u00e9\x00')), max_size=200).map(
            lambda t: t.encode("utf-8")
        ),
    ),
    with_header=st.booleans(),
)
def test_csv_imports_give_only_segpub_errors(
    cli_folder: Path, kind: str, body: bytes, with_header: bool
) -> None:
    """Any bytes, with or without the right header, into every CSV import: it imports, or it is
    refused with a SegpubError; and a refused file changes nothing."""
    from reconciler import imports
    from tests.reliability import snapshot

    path = cli_folder / f"{kind}.csv"
    path.write_bytes((CSV_HEADERS[kind].encode() if with_header else b"") + body)
    db = cli_folder / "segpub.db"
    before = snapshot(db)
    store = open_workspace(str(db))
    try:
        run = {
            "accounts": imports.import_accounts,
            "members": imports.import_members,
            "records": imports.import_records,
        }[kind]
        run(store, str(path))
    except SegpubError:
        assert snapshot(db) == before
    finally:
        store.close()
