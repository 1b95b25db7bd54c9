"""The hostile corpus: each file in tests/hostile/ must be refused fast, in bounded memory, clearly.

A case is `<case>.expected` plus its input `<case>.<ext>` beside it, or, for inputs too big to
commit, a `generate:` line naming a generator below that writes it into tmp_path. Add a case by
adding files. `.expected` holds `key: value` lines: `rule`, then `message` (exact) or
`message_contains`, and `line` and `column` where the problem has a place; a blank line starts
the next expected violation. `peak_memory_mib` tightens the memory bound for one case.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler import loading
from reconciler.errors import InputError

CORPUS = Path(__file__).parent / "hostile"
REPO = Path(__file__).parent.parent
TIME_LIMIT_SECONDS = 1.0
PEAK_MEMORY_MIB = 64
# Valid YAML, refused later by the schema stage: loading must succeed.
LOADS_FINE_RULES = {"schema"}


def deep_nesting(path: Path) -> None:
    depth = 10_000
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")


def over_size_limit(path: Path) -> None:
    line = "# " + "x" * 97 + "\n"  # 100 bytes
    body = "scope: full\n" + line * (loading.MAX_BYTES // len(line))
    padding = loading.MAX_BYTES + 1 - len(body)
    path.write_text(body + "#" * (padding - 1) + "\n", encoding="utf-8")


def huge_string(path: Path) -> None:
    with path.open("w", encoding="utf-8") as stream:
        stream.write('name: "')
        chunk = "x" * (1024 * 1024)
        for _ in range(50):
            stream.write(chunk)
        stream.write('"\n')


GENERATORS: dict[str, Callable[[Path], None]] = {
    "deep_nesting": deep_nesting,
    "over_size_limit": over_size_limit,
    "huge_string": huge_string,
}


@dataclass
class ExpectedViolation:
    rule: str
    message: str | None = None
    message_contains: str | None = None
    line: int | None = None
    column: int | None = None

    def text(self) -> str:
        """What a user must be able to read in the output."""
        return self.message or self.message_contains or self.rule


@dataclass
class Case:
    name: str
    violations: list[ExpectedViolation] = field(default_factory=list)
    generate: str | None = None
    peak_memory_mib: float = PEAK_MEMORY_MIB

    @property
    def loads_fine(self) -> bool:
        return all(v.rule in LOADS_FINE_RULES for v in self.violations)

    def input_path(self, tmp_path: Path) -> Path:
        if self.generate is not None:
            path = tmp_path / f"{self.name}.yaml"
            GENERATORS[self.generate](path)
            return path
        inputs = [p for p in CORPUS.glob(f"{self.name}.*") if p.suffix != ".expected"]
        assert len(inputs) == 1, f"{self.name}: expected one input file, found {inputs}"
        return inputs[0]


def read_case(expected: Path) -> Case:
    case = Case(name=expected.stem)
    current: ExpectedViolation | None = None
    for raw_line in expected.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if line.startswith("#"):
            continue
        if not line:
            current = None
            continue
        key, _, value = line.partition(": ")
        if key == "generate":
            case.generate = value
        elif key == "peak_memory_mib":
            case.peak_memory_mib = float(value)
        elif key == "rule":
            current = ExpectedViolation(rule=value)
            case.violations.append(current)
        else:
            assert current is not None, f"{expected.name}: '{key}' before any 'rule'"
            if key in ("line", "column"):
                setattr(current, key, int(value))
            elif key in ("message", "message_contains"):
                setattr(current, key, value)
            else:
                raise AssertionError(f"{expected.name}: unknown key '{key}'")
    assert case.violations, f"{expected.name}: no rule"
    assert case.generate is None or case.generate in GENERATORS, case.generate
    return case


CASES = [read_case(path) for path in sorted(CORPUS.glob("*.expected"))]
PARSERS = ["libyaml", "python"] if loading._LIBYAML else ["python"]


def test_corpus_has_every_required_case() -> None:
    names = {case.name for case in CASES}
    required = {
        "python_object_tag",
        "alias_bomb",
        "deep_nesting",
        "over_size_limit",
        "duplicate_keys",
        "not_utf8",
        "byte_order_mark",
        "tab_indentation",
        "empty",
        "several_documents",
        "huge_string",
        "nul_byte",
        "config_is_list",
        "config_is_number",
        "config_is_null",
    }
    assert required <= names


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_load_refuses_hostile_input(
    case: Case, parser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "_LIBYAML", parser == "libyaml")
    path = case.input_path(tmp_path)

    started = time.perf_counter()
    outcome = load_outcome(path)
    elapsed = time.perf_counter() - started

    tracemalloc.start()
    try:
        load_outcome(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert elapsed < TIME_LIMIT_SECONDS, f"{case.name} took {elapsed:.3f}s"
    assert peak < case.peak_memory_mib * 1024 * 1024, f"{case.name} peaked at {peak:,} bytes"
    if case.loads_fine:
        assert not isinstance(outcome, BaseException), f"{case.name}: {outcome!r}"
        return
    assert isinstance(outcome, InputError), f"{case.name}: {outcome!r}"
    actual = outcome.violations
    assert len(actual) == len(case.violations), [v.describe() for v in actual]
    for expected, violation in zip(case.violations, actual, strict=True):
        assert violation.rule == expected.rule
        assert violation.file == str(path)
        if expected.message is not None:
            assert violation.message == expected.message
        if expected.message_contains is not None:
            assert expected.message_contains in violation.message
        assert (violation.line, violation.column) == (expected.line, expected.column)


def load_outcome(path: Path) -> loading.Document | BaseException:
    """The document, or the error: never RecursionError nor MemoryError."""
    try:
        return loading.load_file(path)
    except InputError as error:
        return error
    except (RecursionError, MemoryError) as error:  # the failures this corpus guards against
        pytest.fail(f"{path.name}: {type(error).__name__}")


CLI_AVAILABLE = importlib.util.find_spec("reconciler.cli") is not None


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cli_validate_refuses_hostile_input(case: Case, tmp_path: Path) -> None:
    if not CLI_AVAILABLE:
        pytest.skip("CLI not yet available")
    path = case.input_path(tmp_path)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "--workspace", str(tmp_path / "ws.db")]
        + ["validate", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert case.violations[0].text() in result.stderr
