"""Shared fixtures: run the real CLI in-process (fast) or as a subprocess (end to end)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_in_process(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Call segpub's own entry point, as the console script does, capturing output and exit."""
    from reconciler.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()
    old_env = dict(os.environ)
    os.chdir(cwd)
    os.environ.update(env or {})
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(args)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    return Result(code, out.getvalue(), err.getvalue())


def run_process(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 60,
) -> Result:
    """Run `python -m reconciler` as a real process."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


BACKENDS = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: a `segpub` test about the SQLite file itself (not run on postgres)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using the `segpub` fixture runs on both backends: [sqlite] and [postgres]."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", ["sqlite"] if only else list(BACKENDS), scope="function")


class Segpub:
    """segpub(*args) in-process in tmp_path, against the test's workspace: tmp_path/segpub.db
    on [sqlite], a fresh PostgreSQL workspace (SEGPUB_WORKSPACE, initialised) on [postgres]."""

    def __init__(self, cwd: Path, backend: str, workspace: str) -> None:
        self.cwd = cwd
        self.backend = backend
        self.workspace = workspace  # the location, as --workspace / SEGPUB_WORKSPACE take it

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_in_process(list(args), self.cwd, env)


@pytest.fixture
def segpub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> Iterator[Segpub]:
    """segpub(*args) in tmp_path, in-process, on each backend in turn (see Segpub)."""
    monkeypatch.setenv("SEGPUB_ACTOR", "tester")
    if backend == "sqlite":
        monkeypatch.delenv("SEGPUB_WORKSPACE", raising=False)
        yield Segpub(tmp_path, backend, str(tmp_path / "segpub.db"))
        return
    from tests.pg import fresh_workspace

    with fresh_workspace() as location:
        monkeypatch.setenv("SEGPUB_WORKSPACE", location)  # real processes inherit it too
        yield Segpub(tmp_path, backend, location)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
