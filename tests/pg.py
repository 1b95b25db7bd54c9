"""PostgreSQL for the tests: the server from SEGPUB_TEST_POSTGRES_URL, one fresh workspace (one
schema) per test, dropped after. A server that does not answer fails the test loudly in CI (CI set),
and elsewhere skips it with the same message, so a laptop with only Python can run the rest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("SEGPUB_TEST_POSTGRES_URL") or DEFAULT_URL


@lru_cache(maxsize=1)
def _server_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        psycopg.connect(server_url(), connect_timeout=5).close()
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


def require_server() -> None:
    """In CI, fail a PostgreSQL test whose server does not answer; elsewhere skip it, saying why."""
    problem = _server_problem()
    if problem is not None:
        from reconciler.redact import redact

        message = (
            f"PostgreSQL at {redact(server_url())} does not answer ({redact(problem)})."
            " The [postgres] tests need a PostgreSQL server: start it, or point"
            " SEGPUB_TEST_POSTGRES_URL at one (e.g. postgresql://postgres@127.0.0.1:5432/test)."
        )
        if os.environ.get("CI", "").lower() in ("", "0", "false", "no"):
            pytest.skip(message + " Skipped here; in CI (CI=true) this fails.")
        pytest.fail(message, pytrace=False)


def workspace_url(name: str, url: str | None = None) -> str:
    url = url or server_url()
    return f"{url}{'&' if '?' in url else '?'}workspace={name}"


def connect() -> Any:
    import psycopg

    return psycopg.connect(server_url(), autocommit=True)


def drop_workspace(name: str) -> None:
    from psycopg import sql

    with connect() as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(f"segpub_{name}"))
        )


@contextmanager
def fresh_workspace(init: bool = True) -> Iterator[str]:
    """A new uniquely named workspace on the test server (initialised unless `init` is False);
    yields its location and drops it after."""
    require_server()
    name = f"t_{uuid.uuid4().hex[:16]}"
    location = workspace_url(name)
    try:
        if init:
            from reconciler.store.admin import init_workspace

            store, _ = init_workspace(location)
            store.close()
        yield location
    finally:
        drop_workspace(name)
