"""AVIV's status callbacks: a real `webhook --listen` process, the sandbox calling it back over real
sockets, the state store, and the agency's next report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from test_load_helpers import (TEST_ENV, accepted, feed, pg_url, running_sandbox, write_config,  # noqa: F401
                               write_payloads)

from etl.load.state import ListingState, StateStore
from etl.load.statuses import webhook_token

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-webhook-key-for-tests"
ENV = {**os.environ, **TEST_ENV, "ETL_TEST_WEBHOOK_SECRET": SECRET}


def cli(cfg: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etl.pipeline", *args, "--config", str(cfg)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def with_webhook(cfg: Path, public_url: str = "http://127.0.0.1:9/aviv", **extra: Any) -> Path:
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw["webhook"] = {"public_url": public_url, "secret_env": "ETL_TEST_WEBHOOK_SECRET", **extra}
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return cfg


class Listener:
    def __init__(self, proc: subprocess.Popen[str], port: int, lines: list[str]) -> None:
        self.proc, self.port, self.lines = proc, port, lines
        self.root = f"http://127.0.0.1:{port}"

    def url(self, intermediary: str, classified_id: str, *, prefix: str = "/aviv") -> str:
        return f"{self.root}{prefix}/{webhook_token(SECRET, intermediary)}/classifieds/{classified_id}/statuses"


@contextmanager
def listening(cfg: Path, *extra: str) -> Iterator[Listener]:
    proc = subprocess.Popen([sys.executable, "-m", "etl.pipeline", "webhook", "--listen", "127.0.0.1:0", "--config",
                             str(cfg), "--log-format", "json", *extra], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    port = None
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        event = json.loads(line)
        if event["event"] == "webhook_listening":
            port = event["port"]
    assert port is not None, "".join(lines)
    # read its log as it comes: a full pipe would block the listener
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        yield Listener(proc, port, lines)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)


def status_body(status: str, at: str, portals: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"portals": portals or ["SL"], "status": status, "message": f"{status.lower()}", "statusDate": at, **extra}


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def listing(url: str, agency: str, key: str) -> ListingState:
    with StateStore.open(url) as store:
        found = store.listing(agency, key)
    assert found is not None
    return found


def seed(url: str, agency: str, key: str, classified_id: str, portals: list[str] | None = None) -> None:
    with StateStore.open(url) as store:
        store.put_listing(ListingState(agency, key, f"{agency}-{key}", classified_id, "h", None, portals or ["SL"], "live"))


def events(url: str) -> list[Any]:
    with StateStore.open(url) as store:
        return store.status_events()


def unapplied(url: str) -> list[Any]:
    with StateStore.open(url) as store:
        return store.unapplied_status_events()


# ------------------------------------------------------------------------------------------ end to end

def test_portal_outcomes_received_by_callback_reach_the_agencys_next_report(tmp_path: Path) -> None:
    with running_sandbox() as sb:
        outcomes = feed("ag1", 3)
        outcomes[0].body["portals"] = ["SL", "BD"]  # too cheap for Belles Demeures: published on SeLoger only
        outcomes[0].requested_portals[:] = ["SL", "BD"]
        outcomes[1].body["media"][0]["url"] = "https://photos.agence.invalid/K00001/1.jpg"
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                           agencies={"ag1": write_payloads(tmp_path / "ag1.jsonl", outcomes)})
        with listening(with_webhook(cfg)) as hook:
            with_webhook(cfg, f"{hook.root}/aviv")
            sub = cli(cfg, "webhook", "--subscribe")
            assert sub.returncode == 0, sub.stderr
            assert "int-ag1 : abonné" in sub.stdout and webhook_token(SECRET, "int-ag1") not in sub.stdout
            [subscription] = sb.webhooks()["subscriptions"]
            assert subscription["url"] == f"{hook.root}/aviv/{webhook_token(SECRET, 'int-ag1')}"

            first = cli(cfg, "run")
            assert first.returncode == 0, first.stderr
            # every callback answered 201, each kept once, folded by the listener (SQLite: no workers)
            wait_for(lambda: sb.webhooks()["deliveries"] and all(d["state"] == "delivered"
                                                                  for d in sb.webhooks()["deliveries"]), what="callbacks")
            delivered = sb.webhooks()["deliveries"]
            state = f"sqlite:///{tmp_path / 'state.sqlite'}"
            assert len(events(state)) == len(delivered)
            wait_for(lambda: listing(state, "ag1", "K00002").publication_status == "CREATED", what="the fold")
        assert listing(state, "ag1", "K00000").publication_status == "CREATED"
        assert listing(state, "ag1", "K00001").publication_status == "CREATED_WITH_MEDIA_ERROR"
        log = "".join(hook.lines)
        assert SECRET not in log and webhook_token(SECRET, "int-ag1") not in log

        second = cli(cfg, "run")  # nothing changed in the feed: the report is about the portals' side
        assert second.returncode == 0, second.stderr
    run_dir = sorted((tmp_path / "reports").glob("run-*"))[-1]
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    agency = summary["agencies"]["ag1"]["run"]
    notes = {n["source_key"]: n for n in agency["portal_notes"]}
    assert set(notes) == {"K00000", "K00001"}
    assert notes["K00000"]["refused"] == ["BD"] and "Belles Demeures n'accepte" in notes["K00000"]["why"]
    assert notes["K00001"]["failed_media"] == ["https://photos.agence.invalid/K00001/1.jpg"]
    assert agency["confirmed_online"] == 3
    html = (run_dir / "report-ag1.html").read_text(encoding="utf-8")
    assert "refusée sur Belles Demeures" in html and "Belles Demeures n&#39;accepte" in html
    assert "https://photos.agence.invalid/K00001/1.jpg" in html and "3 confirmées en ligne par les portails" in html


# ------------------------------------------------------------------- duplicates, order, forgeries

def test_duplicated_and_out_of_order_callbacks_leave_the_newest_status(tmp_path: Path) -> None:
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "ag1.jsonl"}))
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    seed(state, "ag1", "K1", "c-1")
    with listening(cfg) as hook, httpx.Client(timeout=10) as http:
        url = hook.url("int-ag1", "c-1")
        done = status_body("UPDATED_WITH_MEDIA_ERROR", "2026-11-30T02:00:05Z",
                           mediaStatuses=[{"url": "https://x.test/1.jpg", "status": "DOWNLOADING_FAILED"}])
        assert http.post(url, json=done).status_code == 201
        assert http.post(url, json=done).status_code == 201          # redelivered
        older = status_body("UPDATING", "2026-11-30T02:00:01Z")
        assert http.post(url, json=older).status_code == 201         # late
        same_instant = status_body("UPDATING", "2026-11-30T02:00:05Z")  # same stamp, earlier in the lifecycle
        assert http.post(url, json=same_instant).status_code == 201
        # every callback kept once, and every one folded: the late ones too, not merely never looked at
        wait_for(lambda: len(events(state)) == 3 and not unapplied(state), what="the fold of all three")
    assert [e.status for e in events(state)] == ["UPDATED_WITH_MEDIA_ERROR", "UPDATING", "UPDATING"]
    held = listing(state, "ag1", "K1")
    assert held.publication_status == "UPDATED_WITH_MEDIA_ERROR"
    assert json.loads(held.publication_detail or "{}")["failed_media"] == ["https://x.test/1.jpg"]


def test_forged_and_malformed_callbacks_are_refused_and_touch_nothing(tmp_path: Path) -> None:
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "a.jsonl", "ag2": tmp_path / "b.jsonl"}), max_body=2048)
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    seed(state, "ag1", "K1", "c-1")
    seed(state, "ag2", "K9", "c-9")
    good = status_body("CREATED", "2026-11-30T02:00:00Z")
    with listening(cfg) as hook, httpx.Client(timeout=10) as http:
        base = hook.url("int-ag1", "c-1")
        forged = base.replace(webhook_token(SECRET, "int-ag1"), webhook_token("another-secret-of-16+", "int-ag1"))
        assert http.post(forged, json=good).status_code == 404
        assert http.post(f"{hook.root}/aviv/classifieds/c-1/statuses", json=good).status_code == 404
        assert http.post(base, content=b"{not json").status_code == 400
        assert http.post(base, json={"status": "CREATED"}).status_code == 400       # not a ClassifiedStatus
        assert http.post(base, json={**good, "message": "x" * 4000}).status_code == 413
        assert http.get(base).status_code == 405
        # a genuine URL of int-ag1 cannot speak for int-ag2's classified
        assert http.post(hook.url("int-ag1", "c-9"), json=good).status_code == 201
        assert http.get(f"{hook.root}/healthz").status_code == 200
    assert [(e.intermediary_id, e.classified_id) for e in events(state)] == [("int-ag1", "c-9")]
    from etl.load.statuses import fold_status_events
    with StateStore.open(state) as store:  # folded now, whatever the listener got to: it matches no listing
        folded = fold_status_events(store, {"int-ag1": ["ag1"], "int-ag2": ["ag2"]})
    assert (folded.applied, folded.unmatched) == (0, 1)
    assert listing(state, "ag2", "K9").publication_status is None
    assert listing(state, "ag1", "K1").publication_status is None
    log = "".join(hook.lines)
    assert SECRET not in log and webhook_token(SECRET, "int-ag1") not in log
    assert webhook_token("another-secret-of-16+", "int-ag1") not in log


def test_callbacks_from_an_address_not_allowed_are_refused(tmp_path: Path) -> None:
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "a.jsonl"}), allow_from=["192.0.2.0/24"])
    with listening(cfg) as hook, httpx.Client(timeout=10) as http:
        assert http.post(hook.url("int-ag1", "c-1"), json=status_body("CREATED", "2026-11-30T02:00:00Z")).status_code == 403
    assert events(f"sqlite:///{tmp_path / 'state.sqlite'}") == []


def test_a_callback_arriving_before_its_listing_is_recorded_is_applied_later(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "a.jsonl"}))
    with listening(cfg) as hook, httpx.Client(timeout=10) as http:
        assert http.post(hook.url("int-ag1", "c-new"), json=status_body("CREATED", "2026-11-30T02:00:00Z")).status_code == 201
        wait_for(lambda: len(events(state)) == 1, what="the callback")
    from etl.load.statuses import fold_status_events
    with StateStore.open(state) as store:
        assert fold_status_events(store, {"int-ag1": ["ag1"]}).unmatched == 1
    seed(state, "ag1", "K1", "c-new")  # the POST's answer is recorded after the callback came
    with StateStore.open(state) as store:
        assert fold_status_events(store, {"int-ag1": ["ag1"]}).applied == 1
        # folded callbacks are dropped once older than keep_applied; unmatched ones after forget_after
        assert fold_status_events(store, {}, keep_applied=-1).pruned == 1
        store.record_status_event(intermediary_id="int-ag1", classified_id="c-never", status="CREATED", status_at=1.0,
                                  body="{}", digest="d" * 64)
        assert fold_status_events(store, {"int-ag1": ["ag1"]}, forget_after=-1).forgotten == 1
    assert listing(state, "ag1", "K1").publication_status == "CREATED"
    assert events(state) == []


def test_a_fold_that_fails_is_logged_and_asked_again_by_the_next_callback() -> None:
    import asyncio
    import io

    from etl.log import RunLog
    from etl.pipeline.webhook_cli import Coalesced

    calls: list[int] = []

    async def fold() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("database is locked")

    async def scenario(log: RunLog) -> None:
        coalesced = Coalesced(fold, log, every=0.0)
        await coalesced()
        await coalesced.wait()
        await coalesced()
        await coalesced.wait()

    out = io.StringIO()
    asyncio.run(scenario(RunLog("json", out)))
    events_logged = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events_logged == ["fold_deferred"] and len(calls) == 2


def test_a_poll_older_than_a_callback_does_not_undo_it(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    seed(state, "ag1", "K1", "c-1")
    with StateStore.open(state) as store:
        assert store.apply_status(["ag1"], "c-1", status_body("UPDATED", "2026-11-30T03:00:00Z"), 1e9 + 10) == "applied"
        assert store.apply_status(["ag1"], "c-1", status_body("UPDATING", "2026-11-30T02:00:00Z"), 1e9) == "outdated"
        assert store.apply_status(["ag2"], "c-1", status_body("DELETED", "2026-11-30T04:00:00Z"), 1e9 + 20) == "unmatched"
    assert listing(state, "ag1", "K1").publication_status == "UPDATED"


def test_a_listing_created_again_under_a_new_classified_forgets_what_the_portals_said_of_the_old_one(
        tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    seed(state, "ag1", "K1", "c-old")
    with StateStore.open(state) as store:
        store.apply_status(["ag1"], "c-old", status_body("CREATING_FAILED", "2026-11-30T02:00:00Z"), 1e9)
        with store.transaction() as conn:
            store.record_live(conn, agency_id="ag1", source_key="K1", offerer_estate_id="ag1-K1", classified_id="c-old",
                              body_hash="h2", body=None, etag=None, portals=["SL"], run_id=2)
        assert store.listing("ag1", "K1").publication_status == "CREATING_FAILED"  # same classified: kept
        with store.transaction() as conn:
            store.record_live(conn, agency_id="ag1", source_key="K1", offerer_estate_id="ag1-K1", classified_id="c-new",
                              body_hash="h3", body=None, etag=None, portals=["SL"], run_id=3)
        again = store.listing("ag1", "K1")
    assert (again.publication_status, again.publication_at, again.publication_detail) == (None, None, None)


# ------------------------------------------------------------------------- PostgreSQL: the worker folds

def test_on_postgresql_the_listener_only_stores_and_a_worker_folds(tmp_path: Path, pg_url: str) -> None:
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "a.jsonl"}, state_url=pg_url))
    seed(pg_url, "ag1", "K1", "c-1")
    with listening(cfg) as hook, httpx.Client(timeout=10) as http:
        started = time.monotonic()
        answer = http.post(hook.url("int-ag1", "c-1"), json=status_body("CREATED", "2026-11-30T02:00:00Z"))
        assert answer.status_code == 201
        assert time.monotonic() - started < 2.0
    assert listing(pg_url, "ag1", "K1").publication_status is None  # kept, not folded by the listener
    with StateStore.open(pg_url) as s, s.engine.connect() as conn:
        jobs = conn.execute(sa.text("SELECT task_name, status::text FROM procrastinate_jobs")).all()
    assert [(j.task_name, j.status) for j in jobs] == [("etl.fold_statuses", "todo")]
    worker = cli(cfg, "worker", "--until-empty", "--stall-timeout", "10")
    assert worker.returncode == 0, worker.stderr
    assert listing(pg_url, "ag1", "K1").publication_status == "CREATED"


def test_unsubscribe_cancels_each_intermediarys_subscription(tmp_path: Path) -> None:
    with running_sandbox() as sb:
        cfg = with_webhook(write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                                        agencies={"ag1": tmp_path / "a.jsonl", "ag2": tmp_path / "b.jsonl"}))
        assert cli(cfg, "webhook", "--subscribe").returncode == 0
        assert len(sb.webhooks()["subscriptions"]) == 2
        off = cli(cfg, "webhook", "--unsubscribe")
        assert off.returncode == 0 and off.stdout.count("désabonné") == 2, off.stdout + off.stderr
        assert sb.webhooks()["subscriptions"] == []


def test_a_webhook_without_its_secret_is_a_configuration_error(tmp_path: Path) -> None:
    cfg = with_webhook(write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                    agencies={"ag1": tmp_path / "a.jsonl"}), secret_env="ETL_TEST_NO_SUCH_SECRET")
    p = cli(cfg, "webhook", "--listen", "127.0.0.1:0")
    assert p.returncode == 2 and "ETL_TEST_NO_SUCH_SECRET" in p.stderr and "Traceback" not in p.stderr
