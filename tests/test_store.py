"""The store contract, the same on both engines: SQLite files and PostgreSQL workspaces.

Real databases, real processes: two applies at once, a lock holder killed with kill -9, and on
PostgreSQL a role that may only SELECT."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import LockedError, RefusedError, WorkspaceError
from reconciler.model import Change, SegmentRefs, Use
from reconciler.store import Provenance, SqlStore, open_workspace
from reconciler.store.admin import init_workspace
from tests import pg
from tests.conftest import EXAMPLES, ROOT, run_process, write


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, initialised workspace on each engine."""
    if request.param == "sqlite":
        yield str(tmp_path / "segpub.db")
        return
    with pg.fresh_workspace() as url:
        yield url


def _provenance(kind: str = "apply", actor: str = "tester") -> Provenance:
    return Provenance(at="2026-01-01T00:00:00+00:00", actor=actor, kind=kind, command=kind)


def _import_example(location: str, folder: Path) -> None:
    shutil.copy(EXAMPLES / "catalog.yaml", folder / "catalog.yaml")
    done = run_process(["--workspace", location, "catalog", "import", "catalog.yaml"], folder)
    assert done.code == 0, done.err


def _serials(store: SqlStore) -> list[int]:
    return [entry.serial for entry in store.history()]


def test_a_new_workspace_has_a_lineage_and_serial_zero(location: str) -> None:
    store, result = init_workspace(location)
    try:
        state = store.read_state()
        assert state.serial == 0 and result.serial == 0
        assert len(state.lineage) == 36 and state.lineage == result.lineage
        assert state.segments == {} and store.history() == []
    finally:
        store.close()


def test_apply_bumps_the_serial_once_and_a_stale_plan_is_refused(
    location: str, tmp_path: Path
) -> None:
    _import_example(location, tmp_path)
    store = open_workspace(location)
    try:
        state = store.read_state()
        sid = next(iter(sorted(state.segments)))
        before = state.uses_of(sid)
        change = Change(sid, state.segments[sid].name, before, before | {Use.API})
        if before == before | {Use.API}:
            change = Change(sid, state.segments[sid].name, before, before - {Use.API})
        entry = store.apply_changes([change], _provenance(), "one change", state.serial)
        assert entry is not None and entry.serial == state.serial + 1
        assert store.read_state().uses_of(sid) == change.after
        with pytest.raises(RefusedError, match=r"plan is stale: .*\(serial 1, now 2\)"):
            store.apply_changes([change], _provenance(), "again", state.serial)
        assert _serials(store) == [1, 2]
    finally:
        store.close()


def test_a_failure_midway_leaves_nothing_behind(location: str, tmp_path: Path) -> None:
    _import_example(location, tmp_path)
    store = open_workspace(location)
    try:
        before = store.read_state()
        with pytest.raises(RuntimeError), store.write() as cursor:
            store._execute(cursor, "DELETE FROM publications")
            store._set_meta(cursor, "serial", "99")
            raise RuntimeError("midway")
        after = store.read_state()
        assert after.serial == before.serial
        assert after.publications == before.publications
        # and the lock did not survive the rollback
        with store.writer_lock("tester", "check", 0):
            pass
    finally:
        store.close()


def test_the_writer_lock_names_its_holder_and_is_released(location: str) -> None:
    first, _ = init_workspace(location)
    second = open_workspace(location)
    try:
        with first.writer_lock("alice", "apply", 0):
            started = time.monotonic()
            with pytest.raises(LockedError) as caught, second.writer_lock("bob", "apply", 0.3):
                pass
            assert time.monotonic() - started >= 0.25
            message = caught.value.message
            assert message.startswith(f"workspace is locked by alice (pid {os.getpid()},")
            assert ", command apply) since " in message
        with second.writer_lock("bob", "apply", 0):
            pass
    finally:
        first.close()
        second.close()


def test_users_and_roles_are_stored(location: str) -> None:
    from reconciler.store import users

    store, _ = init_workspace(location)
    try:
        assert users.list_users(store) == []
        assert users.set_user(store, "bob", "marketing") is None
        assert users.set_user(store, "alice", "primary_admin") is None
        assert users.set_user(store, "bob", "operations") == "marketing"
        assert users.list_users(store) == [("alice", "primary_admin"), ("bob", "operations")]
        assert users.remove_user(store, "bob") is True
        assert users.list_users(store) == [("alice", "primary_admin")]
    finally:
        store.close()


# -- real processes ------------------------------------------------------------------------------


def _two_configs(folder: Path) -> tuple[Path, Path]:
    a = write(folder / "a.yaml", "version: 1\npublications:\n  - id: 1006\n    uses: [api]\n")
    b = write(folder / "b.yaml", "version: 1\npublications:\n  - id: 1003\n    uses: [gtm, api]\n")
    return a, b


def _start(
    args: list[str], folder: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_applying_at_once_serialize(location: str, tmp_path: Path) -> None:
    _import_example(location, tmp_path)
    a, b = _two_configs(tmp_path)
    runs = [
        _start(
            [
                "--workspace",
                location,
                "apply",
                str(config),
                "--auto-approve",
                "--lock-timeout",
                "60",
            ],
            tmp_path,
        )
        for config in (a, b)
    ]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    for code, out, err in results:
        assert code == 0, out + err
        assert "Traceback" not in err
    store = open_workspace(location)
    try:
        assert _serials(store) == [1, 2, 3]
        state = store.read_state()
        assert Use.API in state.uses_of(1006) and Use.API in state.uses_of(1003)
    finally:
        store.close()


def test_a_second_writer_without_timeout_is_refused_naming_the_holder(
    location: str, tmp_path: Path
) -> None:
    _import_example(location, tmp_path)
    holder = _hold_lock(location, tmp_path, "alice")
    try:
        a, _ = _two_configs(tmp_path)
        refused = run_process(
            ["--workspace", location, "apply", str(a), "--auto-approve"],
            tmp_path,
            {"SEGPUB_ACTOR": "bob"},
        )
        assert refused.code == 1
        assert (
            f"workspace is locked by alice (pid {holder.pid}, command hold) since " in refused.err
        )
        assert "Traceback" not in refused.err
    finally:
        holder.kill()
        holder.wait()


def _hold_lock(location: str, folder: Path, actor: str) -> subprocess.Popen[str]:
    """A real process that takes the writer lock, says so, and sleeps holding it."""
    code = (
        "import sys, time\n"
        "from reconciler.store import open_workspace\n"
        "store = open_workspace(sys.argv[1])\n"
        "with store.writer_lock(sys.argv[2], 'hold', 0):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, location, actor],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line == "locked\n", process.stderr.read() if process.stderr else line
    return process


def test_a_lock_holder_killed_with_kill_9_frees_the_lock(location: str, tmp_path: Path) -> None:
    _import_example(location, tmp_path)
    holder = _hold_lock(location, tmp_path, "alice")
    store = open_workspace(location)
    try:
        with pytest.raises(LockedError, match="workspace is locked by alice"):
            with store.writer_lock("bob", "apply", 0):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        with store.writer_lock("bob", "apply", 10):  # freed as soon as the server sees it gone
            pass
        a, _ = _two_configs(tmp_path)
        applied = run_process(
            ["--workspace", location, "apply", str(a), "--auto-approve"], tmp_path
        )
        assert applied.code == 0, applied.err
        assert _serials(store) == [1, 2]
    finally:
        if holder.poll() is None:
            holder.kill()
        store.close()


# -- PostgreSQL only: a role that may only SELECT ------------------------------------------------


@pytest.fixture
def read_only_url(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(writer location, read-only location, role): a workspace with the example imported, and
    a login role with USAGE on its schema and SELECT on its tables, dropped after."""
    pg.require_server()
    from psycopg import sql

    with pg.fresh_workspace() as location:
        _import_example(location, tmp_path)
        role = f"segpub_ro_{uuid.uuid4().hex[:10]}"
        schema = "segpub_" + location.rsplit("workspace=", 1)[1]
        with pg.connect() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
            conn.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(location)
        host = parts.netloc.rsplit("@", 1)[-1]
        read_only = urlunsplit((parts.scheme, f"{role}@{host}", parts.path, parts.query, ""))
        try:
            yield location, read_only, role
        finally:
            with pg.connect() as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_select_only_role_can_look_but_not_apply(
    read_only_url: tuple[str, str, str], tmp_path: Path
) -> None:
    _, read_only, role = read_only_url
    shutil.copy(EXAMPLES / "publications.yaml", tmp_path / "publications.yaml")
    env = {"SEGPUB_WORKSPACE": read_only}
    for args in (["plan", "publications.yaml"], ["status"], ["export"], ["history"]):
        looked = run_process(args, tmp_path, env)
        assert looked.code == 0, (args, looked.err)
    status = json.loads(run_process(["status", "--format", "json"], tmp_path, env).out)
    assert status["serial"] == 1
    applied = run_process(["apply", "publications.yaml", "--auto-approve"], tmp_path, env)
    assert applied.code == 1
    assert f"segpub: error: this workspace is read-only for role {role}" in applied.err
    assert "Traceback" not in applied.err
    after = json.loads(run_process(["status", "--format", "json"], tmp_path, env).out)
    assert after["serial"] == 1


def test_a_select_only_role_can_use_the_views_and_enrich_without_marking(
    read_only_url: tuple[str, str, str], tmp_path: Path
) -> None:
    writer, read_only, _ = read_only_url
    config = write(
        tmp_path / "enrich.yaml",
        "version: 1\npublications: []\nenrichment:\n  - name: sfdc_accounts\n"
        "    via: orchestration\n    system: salesforce\n    record_type: account\n"
        "    field: Segments__c\n",
    )
    for name in ("accounts.csv", "members.csv", "records.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    for args in (
        ["accounts", "import", "accounts.csv"],
        ["members", "import", "members.csv"],
        ["records", "import", "records.csv"],
        ["apply", str(config), "--auto-approve"],
    ):
        done = run_process(["--workspace", writer, *args], tmp_path)
        assert done.code == 0, (args, done.err)
    env = {"SEGPUB_WORKSPACE": read_only}
    published = run_process(["published"], tmp_path, env)
    assert published.code == 0, published.err
    enriched = run_process(["enrich", "sfdc_accounts", "--format", "csv"], tmp_path, env)
    assert enriched.code == 0, enriched.err
    with_writer = run_process(
        ["--workspace", writer, "enrich", "sfdc_accounts", "--format", "csv"], tmp_path
    )
    assert enriched.out == with_writer.out and enriched.out.count("\n") > 1


def test_an_uninitialised_postgres_workspace_is_refused(tmp_path: Path) -> None:
    pg.require_server()
    with pg.fresh_workspace(init=False) as location:
        result = run_process(["--workspace", location, "status"], tmp_path)
        assert result.code == 1
        assert "is not initialised; create it with `segpub workspace init`" in result.err
        with pg.connect() as conn:
            name = "segpub_" + location.rsplit("workspace=", 1)[1]
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,))
            assert found.fetchone() is None  # nothing created behind the user's back


def test_bad_workspace_name_and_missing_driver_are_clear_errors(tmp_path: Path) -> None:
    bad = run_process(
        ["--workspace", "postgresql://u:pw@127.0.0.1:1/db?workspace=no;drop", "status"], tmp_path
    )
    assert bad.code == 1
    assert "workspace name 'no;drop'" in bad.err and "pw" not in bad.err
    code = (
        "import sys\nsys.modules['psycopg'] = None\n"
        "from reconciler.cli import main\nmain(['--workspace', sys.argv[1], 'status'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "postgresql://u:pw@127.0.0.1:1/db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 1
    assert "install it with: pip install 'segpub[postgres]'" in done.stderr


def test_passwords_never_show(tmp_path: Path) -> None:
    from reconciler.redact import redact

    assert redact("postgresql://ci:s3cr%40t@db:5432/x?workspace=a") == (
        "postgresql://ci:***@db:5432/x?workspace=a"
    )
    assert redact("postgres://db/x?password=s3cret&workspace=a") == (
        "postgres://db/x?password=***&workspace=a"
    )
    assert redact("host=db password='a b' user=x") == "host=db password=*** user=x"
    pg.require_server()
    with pg.fresh_workspace() as location:
        with_password = location.replace("://postgres@", "://postgres:s3cret@")
        status = run_process(["--workspace", with_password, "status"], tmp_path)
        assert status.code == 0, status.err
        assert "s3cret" not in status.out and "postgres:***@" in status.out
        unreachable = "postgresql://postgres:s3cret@127.0.0.1:1/test?workspace=x"
        failed = run_process(["--workspace", unreachable, "status"], tmp_path)
        assert failed.code == 1 and "s3cret" not in failed.err
        assert "cannot connect to workspace postgresql://postgres:***@127.0.0.1:1/" in failed.err


def test_workspaces_in_one_database_are_independent(tmp_path: Path) -> None:
    pg.require_server()
    with pg.fresh_workspace() as first, pg.fresh_workspace() as second:
        _import_example(first, tmp_path)
        one, two = open_workspace(first), open_workspace(second)
        try:
            assert one.read_state().serial == 1 and two.read_state().serial == 0
            assert one.read_state().lineage != two.read_state().lineage
            with one.writer_lock("alice", "apply", 0), two.writer_lock("bob", "apply", 0):
                pass  # each has its own lock
        finally:
            one.close()
            two.close()


def test_an_older_schema_is_refused(tmp_path: Path) -> None:
    pg.require_server()
    with pg.fresh_workspace() as location:
        store = open_workspace(location)
        with store.write() as cursor:
            store._set_meta(cursor, "schema_version", "1")
        store.close()
        refused = run_process(["--workspace", location, "status"], tmp_path)
        assert refused.code == 1
        assert "has schema version 1, older than this segpub's" in refused.err
        assert "segpub workspace init" in refused.err
        with pytest.raises(WorkspaceError):
            open_workspace(location)


def test_libpq_variables_fill_in_what_the_url_leaves_out(tmp_path: Path) -> None:
    pg.require_server()
    from urllib.parse import urlsplit

    server = urlsplit(pg.server_url())
    name = f"t_{uuid.uuid4().hex[:16]}"
    env = {
        "PGHOST": server.hostname or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "PGUSER": server.username or "postgres",
        "PGPASSWORD": "never-shown",
    }
    location = f"postgres://{server.path}?workspace={name}"
    try:
        init = run_process(["--workspace", location, "workspace", "init"], tmp_path, env)
        assert init.code == 0, init.err
        assert init.out.startswith(f"Workspace postgres://{server.path}?workspace={name} created")
        status = run_process(["--workspace", location, "status"], tmp_path, env)
        assert status.code == 0 and "never-shown" not in status.out + status.err
    finally:
        pg.drop_workspace(name)


def test_a_narrow_read_holds_the_published_and_the_named_segments_whole(
    location: str, tmp_path: Path
) -> None:
    _import_example(location, tmp_path)
    store = open_workspace(location)
    try:
        full = store.read_state()
        unpublished = sorted(sid for sid in full.segments if sid not in full.publications)
        by_id, by_name = unpublished[0], full.segments[unpublished[1]]
        refs = SegmentRefs(frozenset({by_id, 999_999}), frozenset({by_name.name, "No such"}))
        narrow = store.read_state(only=refs)
    finally:
        store.close()
    named = {by_id} | {s.id for s in full.segments.values() if s.name == by_name.name}
    assert set(narrow.segments) == set(full.publications) | named
    assert all(narrow.segments[sid] == full.segments[sid] for sid in narrow.segments)
    assert any(s.used_by for s in narrow.segments.values())  # dependents come along
    assert (narrow.publications, narrow.settings, narrow.serial) == (
        full.publications,
        full.settings,
        full.serial,
    )
    assert not refs.all_found_in(narrow.segments)
    assert SegmentRefs(frozenset({by_id}), frozenset({by_name.name})).all_found_in(narrow.segments)


def test_a_snapshot_does_not_see_a_write_committed_while_it_reads(
    location: str, tmp_path: Path
) -> None:
    _import_example(location, tmp_path)
    store = open_workspace(location)
    try:
        before = store.read_state()
        sid = min(sid for sid in before.segments if sid not in before.publications)
        with store.snapshot():
            first = store.read_state()
            done = run_process(
                ["--workspace", location, "publish", str(sid), "--use", "api"], tmp_path
            )
            assert done.code == 0, done.err
            assert store.read_state() == first  # the other process's commit is not seen
            assert store.history(latest=True)[0].serial == first.serial
        after = store.read_state()
    finally:
        store.close()
    assert after.serial == first.serial + 1
    assert after.publications[sid] == frozenset({Use.API})
