"""reconciler.loading: plain data, exact positions, and every refusal with the words users read."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import loading
from reconciler.errors import InputError, SegpubError
from reconciler.loading import Document, load_bytes, load_file
from reconciler.model import Location

PARSERS = ["libyaml", "python"] if loading._LIBYAML else ["python"]


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test once with libyaml (when PyYAML has it) and once with pure Python."""
    monkeypatch.setattr(loading, "_LIBYAML", request.param == "libyaml")
    yield request.param


def load(text: str, name: str = "p.yaml") -> Document:
    return load_bytes(text.encode("utf-8"), name)


def refusal(
    text: str | bytes, name: str = "p.yaml"
) -> list[tuple[str, int | None, int | None, str]]:
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    with pytest.raises(InputError) as caught:
        load_bytes(raw, name)
    return [(v.rule, v.line, v.column, v.message) for v in caught.value.violations]


def at(line: int, column: int, file: str = "p.yaml") -> Location:
    return Location(file, line, column)


CONFIG = """\
scope: full
publications:
  - segment: 1234
    uses: [gtm, api]
  - segment: "EMEA accounts"
    uses:
      - data_workflows
    note:
"""


def test_data_is_plain(parser: str) -> None:
    assert load(CONFIG).data == {
        "scope": "full",
        "publications": [
            {"segment": 1234, "uses": ["gtm", "api"]},
            {"segment": "EMEA accounts", "uses": ["data_workflows"], "note": None},
        ],
    }


def test_positions_are_where_each_value_starts(parser: str) -> None:
    document = load(CONFIG)
    assert dict(document.positions) == {
        (): at(1, 1),
        ("scope",): at(1, 8),
        ("publications",): at(3, 3),
        ("publications", 0): at(3, 5),
        ("publications", 0, "segment"): at(3, 14),
        ("publications", 0, "uses"): at(4, 11),
        ("publications", 0, "uses", 0): at(4, 12),
        ("publications", 0, "uses", 1): at(4, 17),
        ("publications", 1): at(5, 5),
        ("publications", 1, "segment"): at(5, 14),
        ("publications", 1, "uses"): at(7, 7),
        ("publications", 1, "uses", 0): at(7, 9),
        # Nothing was written after `note:`: the empty value takes its key's position.
        ("publications", 1, "note"): at(8, 5),
    }


def test_key_positions_are_where_each_key_starts(parser: str) -> None:
    document = load(CONFIG)
    assert dict(document.key_positions) == {
        ("scope",): at(1, 1),
        ("publications",): at(2, 1),
        ("publications", 0, "segment"): at(3, 5),
        ("publications", 0, "uses"): at(4, 5),
        ("publications", 1, "segment"): at(5, 5),
        ("publications", 1, "uses"): at(6, 5),
        ("publications", 1, "note"): at(8, 5),
    }


def test_location_falls_back_to_the_nearest_known_ancestor(parser: str) -> None:
    document = load(CONFIG)
    assert document.location(["publications", 0, "uses", 1]) == at(4, 17)
    assert document.location(("publications", 0, "uses", 7)) == at(4, 11)
    assert document.location(["publications", 9, "segment"]) == at(3, 3)
    assert document.location(["nowhere"]) == at(1, 1)
    assert document.location([]) == at(1, 1)


def test_entry_location_prefers_the_key(parser: str) -> None:
    document = load(CONFIG)
    assert document.entry_location(["publications", 0, "uses"]) == at(4, 5)
    assert document.entry_location(["publications", 0, "uses", 1]) == at(4, 17)
    assert document.entry_location(["publications", 1, "missing"]) == at(5, 5)


def test_the_root_of_an_empty_document_is_line_1_column_1(parser: str) -> None:
    document = load("---\n")
    assert document.data is None
    assert document.location([]) == at(1, 1)


def test_columns_count_characters_not_bytes(parser: str) -> None:
    document = load("é: ü\nx: [ä, {k: v}]\n")
    assert document.positions[("é",)] == at(1, 4)
    assert document.positions[("x", 1, "k")] == at(2, 12)
    assert document.key_positions[("x", 1, "k")] == at(2, 9)


def test_json_loads_with_positions(parser: str) -> None:
    text = (
        '{\n  "scope": "full",\n  "publications": [\n    {"segment": 12, "uses": ["gtm"]}\n  ]\n}\n'
    )
    document = load(text, "p.json")
    assert document.data == json.loads(text)
    assert document.positions[("publications", 0, "segment")] == at(4, 17, "p.json")
    assert document.key_positions[("publications", 0, "uses")] == at(4, 21, "p.json")
    assert document.positions[("publications", 0, "uses", 0)] == at(4, 30, "p.json")


def test_json_indented_with_tabs_loads(parser: str) -> None:
    document = load('{\n\t"scope": "full",\n\t"publications": [\n\t\t1,\t2\n\t]\n}\n', "p.json")
    assert document.data == {"scope": "full", "publications": [1, 2]}
    assert document.positions[("publications", 1)] == at(4, 6, "p.json")


def test_scalars_resolve_like_safe_loader_but_timestamps_stay_text(parser: str) -> None:
    text = (
        "date: 2024-01-31\nstamp: 2024-01-31 10:00:00\nyes_word: yes\nhex: 0x1F\n"
        "octal: 017\nsexagesimal: 1:30\nfloat: 1.5\ninf: -.inf\ntilde: ~\nquoted: '12'\n"
        "explicit_int: !!int '12'\nexplicit_str: !!str 12\nnon_specific: ! 12\n"
        "underscored: 1_000\nexponent_without_sign: 1e5\n"
    )
    assert load(text).data == {
        "date": "2024-01-31",
        "stamp": "2024-01-31 10:00:00",
        "yes_word": True,
        "hex": 31,
        "octal": 15,
        "sexagesimal": 90,
        "float": 1.5,
        "inf": float("-inf"),
        "tilde": None,
        "quoted": "12",
        "explicit_int": 12,
        "explicit_str": "12",
        "non_specific": "12",
        "underscored": 1000,
        # YAML 1.1, as SafeLoader reads it: an exponent needs a dot and a sign to be a number.
        "exponent_without_sign": "1e5",
    }


def test_aliases_load_and_point_at_where_they_are_used(parser: str) -> None:
    text = "standard: &std [gtm, api]\npublications:\n  - segment: 1\n    uses: *std\n"
    document = load(text)
    assert document.data["publications"][0]["uses"] == ["gtm", "api"]
    assert document.positions[("publications", 0, "uses")] == at(4, 11)
    # What an alias expands to has no positions of its own: messages point at the alias.
    assert ("publications", 0, "uses", 1) not in document.positions
    assert document.location(["publications", 0, "uses", 1]) == at(4, 11)


def test_honest_reuse_of_an_anchor_loads(parser: str) -> None:
    uses = "uses: &std [gtm, api, data_workflows, orchestration]\npublications:\n"
    entries = "".join(f"  - {{segment: {n}, uses: *std}}\n" for n in range(1000))
    document = load(uses + entries)
    assert document.data["publications"][999] == {
        "segment": 999,
        "uses": ["gtm", "api", "data_workflows", "orchestration"],
    }


def test_aliases_may_add_as_many_values_as_the_file_writes_out() -> None:
    # 150,000 values come from aliases: more than 100,000, but fewer than the file writes out.
    uses = "uses: &std [gtm, api, data_workflows, orchestration]\npublications:\n"
    entries = "".join(
        f"  - {{segment: {n}, name: 'Segment {n}', note: reviewed, uses: *std}}\n"
        for n in range(30_000)
    )
    assert len(load(uses + entries).data["publications"]) == 30_000


def test_aliases_cannot_add_more_than_the_limit(parser: str) -> None:
    text = "a: &a [" + ", ".join(["x"] * 999) + "]\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    assert refusal(text) == [
        (
            "alias_expansion",
            2,
            5 + 4 * 100,
            "aliases expand to more than 100,000 values here;"
            " write the values out instead of nesting aliases",
        )
    ]


def test_an_alias_inside_its_own_value_is_refused(parser: str) -> None:
    assert refusal("a: &a {b: *a}\n") == [
        (
            "alias_expansion",
            1,
            11,
            "alias '*a' is used inside the value it names, which would never end; remove it",
        )
    ]


def test_an_alias_with_no_anchor_is_a_syntax_error(parser: str) -> None:
    assert refusal("a: *nowhere\n") == [
        ("syntax", 1, 4, "alias '*nowhere' has no anchor; define '&nowhere' first")
    ]


def test_an_anchor_defined_twice_is_refused(parser: str) -> None:
    assert refusal("a: &x 1\nb: &x 2\n") == [
        ("syntax", 2, 4, "anchor '&x' is defined twice; rename one")
    ]


def test_duplicate_keys_are_all_reported_at_once(parser: str) -> None:
    text = 'uses: 1\nsegment:\n  a: 1\n  "a": 2\n  a: 3\nuses: 2\n'
    assert refusal(text) == [
        ("duplicate_key", 4, 3, "key 'a' is defined twice (first at line 3, column 3); remove one"),
        (
            "duplicate_key",
            5,
            3,
            "key 'a' is defined 3 times (first at line 3, column 3); remove all but one",
        ),
        (
            "duplicate_key",
            6,
            1,
            "key 'uses' is defined twice (first at line 1, column 1); remove one",
        ),
    ]


def test_the_error_message_counts_the_others(parser: str) -> None:
    with pytest.raises(InputError) as caught:
        load("a: 1\na: 2\na: 3\n")
    assert str(caught.value) == (
        "p.yaml:2:1: duplicate_key: key 'a' is defined twice (first at line 1, column 1);"
        " remove one (and 1 more)"
    )


def test_reading_stops_after_a_hundred_problems(parser: str) -> None:
    with pytest.raises(InputError) as caught:
        load("a: 1\n" * 5000)
    assert len(caught.value.violations) == loading.MAX_VIOLATIONS


def test_keys_must_be_text_or_whole_numbers(parser: str) -> None:
    text = "1: int keys are kept\ntrue: x\n~: y\n1.5: z\n? [a]\n: w\n"
    assert refusal(text) == [
        ("unsupported_key", 2, 1, "key 'true' is read as true/false; quote it to use it as a key"),
        ("unsupported_key", 3, 1, "key '~' is read as null; quote it to use it as a key"),
        (
            "unsupported_key",
            4,
            1,
            "key '1.5' is read as a decimal number; quote it to use it as a key",
        ),
        ("unsupported_key", 5, 3, "a mapping key cannot be a list; use text as the key"),
    ]
    assert load("1: a\n'true': b\n").data == {1: "a", "true": "b"}


def test_merge_keys_are_refused(parser: str) -> None:
    text = "base: &base {uses: [gtm]}\nentry:\n  <<: *base\n  segment: 1\n"
    assert refusal(text) == [
        (
            "unsupported_tag",
            3,
            3,
            "merge keys ('<<') are not supported; write the merged keys out in full",
        )
    ]
    assert load("'<<': quoted is just text\n").data == {"<<": "quoted is just text"}


def test_unsupported_tags_are_never_constructed(parser: str, tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    code = f"open({str(marker)!r}, 'w').write('x')"
    text = f"a: !!python/object/apply:builtins.exec [{json.dumps(code)}]\nb: !custom 1\n"
    assert refusal(text) == [
        (
            "unsupported_tag",
            1,
            4,
            "tag '!!python/object/apply:builtins.exec' is not supported; remove it"
            " (only text, numbers, true/false, null, lists and mappings are allowed)",
        ),
        (
            "unsupported_tag",
            2,
            4,
            "tag '!custom' is not supported; remove it"
            " (only text, numbers, true/false, null, lists and mappings are allowed)",
        ),
    ]
    assert not marker.exists()


def test_values_that_cannot_be_read_as_their_tag(parser: str) -> None:
    text = "a: !!int twelve\nb: " + "9" * 5000 + "\n"
    assert refusal(text) == [
        (
            "syntax",
            1,
            4,
            "value 'twelve' cannot be read as a whole number; quote it to keep it as text",
        ),
        (
            "syntax",
            2,
            4,
            "value '" + "9" * 55 + "...'"
            " cannot be read as a whole number (it has more than 4300 digits);"
            " quote it to keep it as text",
        ),
    ]


def test_nesting_up_to_64_levels_loads(parser: str) -> None:
    assert load("[" * 64 + "]" * 64).location([0] * 63) == at(1, 64)


def test_nesting_deeper_than_64_levels_is_refused(parser: str) -> None:
    text = "a:\n" + "".join("  " * level + "b:\n" for level in range(1, 70))
    assert refusal(text) == [
        ("too_deep", 65, 129, "values are nested more than 64 levels deep; flatten the structure")
    ]


def test_an_alias_cannot_nest_deeper_than_64_levels(parser: str) -> None:
    text = "deep: &deep " + "[" * 40 + "]" * 40 + "\nuse: " + "[" * 30 + "*deep" + "]" * 30
    assert refusal(text) == [
        (
            "too_deep",
            2,
            36,
            "alias '*deep' nests values more than 64 levels deep; flatten the structure",
        )
    ]


def test_tabs_as_indentation_are_refused(parser: str) -> None:
    assert refusal("a:\n\t- b\n") == [
        (
            "syntax",
            2,
            1,
            "a tab is used for indentation here; YAML indents with spaces: replace the tab",
        )
    ]


def test_tabs_between_tokens_are_allowed_as_libyaml_allows_them(parser: str) -> None:
    assert load("a:\tb\t# comment\nc: [1,\t2]\nd: x\ty\n").data == {
        "a": "b",
        "c": [1, 2],
        "d": "x\ty",
    }


def test_several_documents_are_refused(parser: str) -> None:
    assert refusal("a: 1\n---\nb: 2\n") == [
        (
            "syntax",
            2,
            1,
            "file holds more than one YAML document (another starts here);"
            " keep a single document per file",
        )
    ]
    assert load("---\na: 1\n...\n").data == {"a": 1}


def test_other_syntax_errors_say_where_and_what_to_check(parser: str) -> None:
    [(rule, line, column, message)] = refusal("a: [1, 2\nb: 3\n")
    assert (rule, line, column) == ("syntax", 2, 2)
    # The problem itself is in libyaml's or PyYAML's words, which differ.
    assert message.startswith("invalid YAML: ")
    assert "(while parsing a flow sequence at line 1, column 4)" in message
    assert message.endswith("; check the indentation, quotes and brackets here")


@pytest.mark.parametrize("text", ["", "\n\n   \n", "# only a comment\n# and another"])
def test_an_empty_file_is_refused(parser: str, text: str) -> None:
    with pytest.raises(InputError) as caught:
        load(text)
    [violation] = caught.value.violations
    assert (violation.rule, violation.file, violation.line) == ("empty_file", "p.yaml", None)
    assert violation.message == (
        "file is empty (only whitespace or comments);"
        " it should hold one YAML mapping or JSON object"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"\xef\xbb\xbfa: 1\n",
            (
                "encoding",
                1,
                1,
                "file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM",
            ),
        ),
        (
            "a: 1\n".encode("utf-16"),
            (
                "encoding",
                1,
                1,
                "file starts with a UTF-16 byte-order mark (BOM); save it as UTF-8 without BOM",
            ),
        ),
        (
            b"a: 1\nb: caf\xe9\n",
            (
                "encoding",
                2,
                7,
                "file is not valid UTF-8: byte 0xe9 at offset 11 cannot be decoded;"
                " save the file as UTF-8",
            ),
        ),
        (
            "a: 1\nb: é".encode() + b"\xff",  # the column counts é as one character
            (
                "encoding",
                2,
                5,
                "file is not valid UTF-8: byte 0xff at offset 10 cannot be decoded;"
                " save the file as UTF-8",
            ),
        ),
        (
            b"a: 1\nb: x\x00y\n",
            ("encoding", 2, 5, "file contains a NUL byte; YAML files are text: remove it"),
        ),
        (
            b"a: 1\nb: \x07\n",
            (
                "encoding",
                2,
                4,
                "file contains the control character U+0007, which YAML does not allow; remove it",
            ),
        ),
        (
            "a: 1\n\ufeffb: 2\n".encode(),
            ("encoding", 2, 1, "file contains a byte-order mark (U+FEFF) inside it; remove it"),
        ),
    ],
)
def test_bytes_that_are_not_utf8_text_are_refused(
    parser: str, raw: bytes, expected: tuple[str, int, int, str]
) -> None:
    assert refusal(raw) == [expected]


def test_sha256_is_of_the_raw_bytes(parser: str) -> None:
    raw = b"a: 1\n"
    assert load_bytes(raw, "p.yaml").sha256 == hashlib.sha256(raw).hexdigest()


def test_load_file_names_the_file_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text("a: [1, 1]\n", encoding="utf-8")
    document = load_file("config.yaml")
    assert document.path == "config.yaml"
    assert document.positions[("a", 1)] == Location("config.yaml", 1, 8)
    assert load_file(tmp_path / "config.yaml").path == str(tmp_path / "config.yaml")


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * 3 * 1024 * 1024)
    with pytest.raises(InputError) as caught:
        load_file(path, max_bytes=2 * 1024 * 1024)
    [violation] = caught.value.violations
    assert (violation.rule, violation.file, violation.line) == ("file_too_large", str(path), None)
    assert violation.message == (
        "file is 3.0 MiB (3,145,733 bytes), over the limit of 2.0 MiB;"
        " check that this is the right file"
    )


def test_bytes_over_the_limit_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        load_bytes(b"a: 12345\n", "p.yaml", max_bytes=8)
    assert caught.value.violations[0].message == (
        "file is 9 bytes, over the limit of 8 bytes; check that this is the right file"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_file_with_no_size_is_read_only_up_to_the_limit() -> None:
    # /dev/zero reports size 0 and never ends, like a pipe that keeps writing.
    with pytest.raises(InputError) as caught:
        load_file("/dev/zero", max_bytes=2 * 1024 * 1024)
    assert caught.value.violations[0].message == (
        "file is at least 2.0 MiB (2,097,153 bytes), over the limit of 2.0 MiB;"
        " check that this is the right file"
    )


def test_a_file_at_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "exact.yaml"
    path.write_bytes(b"a: 1\n")
    assert load_file(path, max_bytes=5).data == {"a": 1}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.yaml", "cannot read {path}: no such file"),
        (lambda tmp: tmp, "cannot read {path}: it is a directory, not a file"),
    ],
)
def test_an_unreadable_path_is_one_clear_line(tmp_path: Path, make: object, message: str) -> None:
    assert callable(make)
    path = make(tmp_path)
    with pytest.raises(SegpubError) as caught:
        load_file(path)
    assert not isinstance(caught.value, InputError)
    assert str(caught.value) == message.format(path=path)


def test_a_large_config_loads_well_under_a_second() -> None:
    if not loading._LIBYAML:
        pytest.skip("the speed promise is for libyaml; pure Python is the slow fallback")
    lines = ["scope: full", "publications:"]
    for number in range(15_000):
        lines += [
            f"  - segment: {number}",
            f'    name: "Segment number {number} for accounts in EMEA"',
            "    uses: [gtm, api, data_workflows]",
            f"    note: plain text value {number}",
        ]
    raw = ("\n".join(lines) + "\n").encode()
    assert len(raw) > 2_000_000
    timings = []
    for _ in range(3):  # the best of three: a busy machine must not fail the test
        started = time.perf_counter()
        document = load_bytes(raw, "big.yaml")
        timings.append(time.perf_counter() - started)
    assert len(document.data["publications"]) == 15_000
    assert min(timings) < 1.0, f"{min(timings):.2f}s"


# libyaml and the pure-Python path must agree: the same data and positions, or both refuse.
AGREEMENT_SAMPLES = [
    CONFIG,
    '{"a": [1, 2.5, "x", null, true], "b": {"c": "d"}}',
    "a: |\n  literal\n  text\nb: >\n  folded\n  text\nc: 'single ''quoted'''\n",
    "a:\n  - b: 1\n    c: [x, {d: e}]\n  -\n  - ~\n",
    "? complex\n: value\nplain multi\n  line: x\n",
    "a: &x [1, 2]\nb: *x\nc: {k: }\n",
    "%YAML 1.1\n---\na: 1\n...\n",
    "\n\n  a: 1\n  b:\n    - 2\n",
]
TOKENS = [
    "a", "é", "1", "0x1F", "yes", "~", ":", ": ", "- ", "\n", "\n  ", " ", "\t", "[", "]",
    "{", "}", ",", "'q'", '"d"', "#c", "&x ", "*x", "!!str ", "! ", "? ", "---\n", "|\n  t\n",
    "<<", "1.5", '"k": ',
]  # fmt: skip


def outcome(text: str, *, libyaml: bool) -> object:
    try:
        data, values, keys = loading._build(text, "p.yaml", libyaml=libyaml)
    except InputError as error:
        return "refused", error.violations[0].rule
    where = {path: (mark.line, mark.column) for path, mark in values.items()}
    key_where = {path: (mark.line, mark.column) for path, mark in keys.items()}
    return repr(data), where, key_where


@pytest.mark.skipif(not loading._LIBYAML, reason="PyYAML was built without libyaml")
def test_libyaml_and_pure_python_agree_on_samples() -> None:
    for text in AGREEMENT_SAMPLES:
        assert outcome(text, libyaml=True) == outcome(text, libyaml=False), text


@pytest.mark.skipif(not loading._LIBYAML, reason="PyYAML was built without libyaml")
def test_libyaml_and_pure_python_agree_on_token_soup() -> None:
    # On malformed input the two may word a syntax error differently or place it elsewhere;
    # whatever loads must load the same, and what one refuses the other refuses.
    chooser = random.Random(20240131)
    for _ in range(3000):
        text = "".join(chooser.choice(TOKENS) for _ in range(chooser.randint(1, 12)))
        with_libyaml, pure = outcome(text, libyaml=True), outcome(text, libyaml=False)
        if with_libyaml[0] == "refused" or pure[0] == "refused":
            assert with_libyaml[0] == pure[0], repr(text)
        else:
            assert with_libyaml == pure, repr(text)


def test_the_forbidden_characters_are_exactly_those_yaml_does_not_allow() -> None:
    from reconciler.loading import _FORBIDDEN_CHARACTER

    allowed = re.compile(
        "[\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )
    every = "".join(chr(point) for point in range(0x110000))
    forbidden = {m.start() for m in _FORBIDDEN_CHARACTER.finditer(every)}
    not_allowed = set(range(0x110000)) - {m.start() for m in allowed.finditer(every)}
    assert forbidden == not_allowed | {0xFEFF}
