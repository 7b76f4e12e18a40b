"""The state store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from test_load_helpers import store_url  # noqa: F401  (fixture)

from etl.load.state import DONE, PENDING, StateStore


def test_migrations_create_the_schema_once_and_reopening_keeps_data(store_url: str) -> None:
    with StateStore.open(store_url) as s:
        run = s.start_run("ag1")
        with s.transaction() as conn:
            s.record_live(conn, agency_id="ag1", source_key="K1", offerer_estate_id="ag1-K1", classified_id="c-1",
                          body_hash="h1", body="{}", etag='"1"', portals=["SL"], run_id=run)
    with StateStore.open(store_url) as s:
        got = s.listings("ag1")
        assert list(got) == ["K1"]
        assert got["K1"].live and got["K1"].classified_id == "c-1" and got["K1"].portals == ["SL"]
        assert got["K1"].first_seen_run == run
        assert s.listings("other") == {}


def test_deleted_listing_is_not_live_and_forgets_its_hash(store_url: str) -> None:
    with StateStore.open(store_url) as s:
        with s.transaction() as conn:
            s.record_live(conn, agency_id="a", source_key="K", offerer_estate_id="a-K", classified_id="c",
                          body_hash="h", body=None, etag=None, portals=["SL"], run_id=1)
            s.record_deleted(conn, "a", "K")
        got = s.listings("a")["K"]
        assert not got.live and got.body_hash is None and got.status == "deleted"


def test_journal_entries_stay_pending_until_closed(store_url: str) -> None:
    with StateStore.open(store_url) as s:
        run = s.start_run("a")
        e1 = s.journal_begin(run_id=run, agency_id="a", source_key="K1", offerer_estate_id="a-K1", op="create",
                             classified_id=None, body_hash="h")
        e2 = s.journal_begin(run_id=run, agency_id="a", source_key="K2", offerer_estate_id="a-K2", op="delete",
                             classified_id="c2", body_hash=None)
        with s.transaction() as conn:
            s.journal_close(conn, e1, DONE, http_status=202, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                            classified_id="c1")
        pending = s.unfinished("a")
        assert [(p.id, p.op, p.state) for p in pending] == [(e2, "delete", PENDING)]
        done = [e for e in s.journal_entries("a", run) if e.id == e1][0]
        assert done.classified_id == "c1" and done.http_status == 202


def test_touch_seen_marks_every_listing_of_the_feed(store_url: str) -> None:
    with StateStore.open(store_url) as s:
        with s.transaction() as conn:
            for i in range(50):
                s.record_live(conn, agency_id="a", source_key=f"K{i}", offerer_estate_id=f"a-K{i}",
                              classified_id=f"c{i}", body_hash="h", body=None, etag=None, portals=["SL"], run_id=1)
        s.touch_seen("a", [f"K{i}" for i in range(0, 50, 2)], 7)
        seen = {k for k, v in s.listings("a").items() if v.last_seen_run == 7}
        assert seen == {f"K{i}" for i in range(0, 50, 2)}


def test_lock_is_exclusive_between_processes_and_released(store_url: str) -> None:
    with StateStore.open(store_url) as s:
        assert s.acquire_lock("a", 1) is None
        # a second process sees the holder, with a describable reason
        code = (
            "import sys; from etl.load.state import StateStore\n"
            f"s = StateStore.open({store_url!r}); h = s.acquire_lock('a', 2)\n"
            "print(h.pid if h else 'acquired')"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert out == str(os.getpid())
        assert s.acquire_lock("b", 3) is None  # other agencies are independent
        s.release_lock("a")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert out == "acquired"


def test_lock_of_a_dead_process_is_taken_over_and_its_run_marked_crashed(store_url: str) -> None:
    code = (
        "from etl.load.state import StateStore\n"
        f"s = StateStore.open({store_url!r}); r = s.start_run('a'); s.acquire_lock('a', r); print(r)"
    )
    dead_run = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    with StateStore.open(store_url) as s:
        holder = s.lock_holder("a")
        assert holder is not None and holder.run_id == dead_run
        assert s.acquire_lock("a", 99) is None
        assert s.lock_holder("a").pid == os.getpid()
        assert s.runs("a")[0]["status"] == "crashed"


def test_lock_not_refreshed_on_another_host_is_stale(store_url: str) -> None:
    import sqlalchemy as sa
    from etl.load.schema import locks
    with StateStore.open(store_url) as s:
        with s.transaction() as conn:
            conn.execute(sa.insert(locks).values(agency_id="a", run_id=None, host="elsewhere", pid=1,
                                                 acquired_at=0.0, heartbeat_at=0.0))
        assert s.acquire_lock("a", 5, stale_after=3600) is None
        with s.transaction() as conn:
            conn.execute(sa.update(locks).values(host="elsewhere", pid=1, heartbeat_at=1e12))
        assert s.acquire_lock("a", 6, stale_after=3600).host == "elsewhere"


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from etl.load.schema import HEAD_REVISION
    from etl.load.state import MIGRATIONS
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_migrated_schema_matches_the_table_definitions(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from etl.load.schema import include_name, metadata
    with StateStore.open(store_url) as s, s.engine.connect() as conn:
        # Procrastinate's tables (the queue, PostgreSQL only) share the schema; they are not ours to compare
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), metadata)
    assert diff == []
