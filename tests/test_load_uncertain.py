"""Writes whose outcome the loader never saw: killed in flight, answers lost, retries exhausted, 412.

Each test runs the real loader against the sandbox over real sockets and ends by checking the
invariant itself: the API holds exactly the last feed, the state store equals the API, and no
PUT ever re-sent a body the API already held.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from test_load_apply import assert_state_equals_sandbox
from test_load_helpers import (  # noqa: F401  (fixtures)
    TEST_ENV, accepted, feed, running_sandbox, sandbox, store_url, test_env, write_config, write_payloads,
)

from etl.agencies import load_config
from etl.pipeline.run import run
from etl.load.state import PENDING, StateStore

ROOT = Path(__file__).resolve().parents[1]


def no_op_puts(sb, since: int = 0) -> list[dict]:
    """PUTs of a body identical to the one the API held: what the use-case page forbids."""
    return [r for r in sb.requests(since=since, kind="api") if r["method"] == "PUT" and r.get("note") == "unchanged"]


def _night_b(night_a: list) -> list:
    night_b = list(night_a)
    for i in (2, 5, 9, 13, 17):
        night_b[i] = accepted("ag", f"K{i:05d}", price=123_000 + i)
    return night_b


def _pending(url: str, op: str) -> int:
    with StateStore.open(url) as s:
        return sum(1 for e in s.journal_entries("ag") if e.op == op and e.state == PENDING)


def _published(tmp_path: Path, sb, store_url: str, n: int, **settings) -> tuple:
    """Night A: ``n`` listings published, and processed by AVIV (a night later, its lag is long over)."""
    night_a = feed("ag", n)
    feed_path = write_payloads(tmp_path / "ag.jsonl", night_a)
    cfg = load_config(write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                                   agencies={"ag": feed_path}, state_url=store_url, **settings))
    assert run(cfg).exit_code == 0
    sb.complete_pending()
    return cfg, feed_path, night_a


def test_put_killed_in_flight_is_looked_up_and_reverted_when_the_feed_goes_back(
        tmp_path: Path, store_url: str) -> None:
    with running_sandbox() as sb:
        night_a = feed("ag", 20)
        feed_path = write_payloads(tmp_path / "ag.jsonl", night_a)
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           state_url=store_url, concurrency=5)
        env = {**os.environ, **TEST_ENV}
        cmd = [sys.executable, "-m", "etl.pipeline", "run", "--config", str(cfg)]
        assert subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True).returncode == 0
        sb.complete_pending()

        # night B reprices 5 listings; the API sits on each PUT for 1.5 s, and the run is killed meanwhile
        write_payloads(feed_path, _night_b(night_a))
        sb.set_faults(latency_ms=1500, methods=["PUT"])
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _pending(store_url, "update") < 5:
            assert time.monotonic() < deadline and proc.poll() is None, "the PUTs never left"
            time.sleep(0.02)
        # an entry is journaled just before its request leaves: give the five time to reach the API,
        # which sits on each for 1.5 s, then kill the run while they are in flight
        time.sleep(0.6)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(2.5)  # the PUTs land after the kill
        sb.clear_faults()
        landed = {c["offererEstateId"] for c in sb.classifieds(with_body=True)
                  if c["body"]["data"]["prices"]["buy"]["price"]["amount"] != 289000}
        assert len(landed) == 5, "the scenario needs PUTs that landed after the kill"

        # night C is night A again: the 5 listings must get night A's price back
        write_payloads(feed_path, night_a)
        seq = sb.last_seq()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        calls = sb.requests(since=seq, kind="api")
        assert sorted(r["method"] for r in calls) == ["GET"] * 5 + ["PUT"] * 5
        assert no_op_puts(sb) == []
        assert_state_equals_sandbox(store_url, "ag", sb, {o.key.source_key for o in night_a})
        prices = {c["body"]["data"]["prices"]["buy"]["price"]["amount"] for c in sb.classifieds(with_body=True)}
        assert prices == {289000}


def test_delete_with_lost_answer_then_503s_stays_unknown_and_the_listing_comes_back(
        tmp_path: Path, sandbox, store_url: str, test_env) -> None:
    cfg, feed_path, night_a = _published(tmp_path, sandbox, store_url, 10, max_attempts=3)

    # K00009 leaves the feed: its DELETE is processed but the answer is lost, then every call fails
    write_payloads(feed_path, night_a[:9])
    sandbox.set_faults(error_rate=1.0, error_statuses=[503], methods=["DELETE", "GET"],
                       script=[{"action": "lost_response", "method": "DELETE"}])
    res = run(cfg)
    a = res.agencies[0]
    assert res.exit_code == 1 and a.count("unknown") == 1 and "issue inconnue" in (a.message or "")
    assert [c for c in sandbox.classifieds() if c["offererEstateId"] == "ag-K00009"] == []
    assert _pending(store_url, "delete") == 1

    # next night the listing is back, unchanged: it must be online again
    sandbox.clear_faults()
    write_payloads(feed_path, night_a)
    seq = sandbox.last_seq()
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("created") == 1
    assert [r["method"] for r in sandbox.requests(since=seq, kind="api")] == ["GET", "POST"]
    assert_state_equals_sandbox(store_url, "ag", sandbox, {o.key.source_key for o in night_a})
    assert _pending(store_url, "delete") == 0


def test_put_processed_with_every_answer_lost_is_undone_when_the_old_price_comes_back(
        tmp_path: Path, sandbox, store_url: str, test_env) -> None:
    cfg, feed_path, night_a = _published(tmp_path, sandbox, store_url, 6, max_attempts=3)

    night_b = list(night_a)
    night_b[4] = accepted("ag", "K00004", price=1)
    write_payloads(feed_path, night_b)
    sandbox.set_faults(lost_response_rate=1.0, methods=["PUT"],
                       script=[{"action": "error", "status": 503, "method": "GET"}] * 12)
    res = run(cfg)
    assert res.exit_code == 1 and res.agencies[0].count("unknown") == 1
    held = next(c for c in sandbox.classifieds(with_body=True) if c["offererEstateId"] == "ag-K00004")
    assert held["body"]["data"]["prices"]["buy"]["price"]["amount"] == 1  # it did land

    sandbox.clear_faults()
    write_payloads(feed_path, night_a)
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("updated") == 1
    assert no_op_puts(sandbox) == []
    assert_state_equals_sandbox(store_url, "ag", sandbox, {o.key.source_key for o in night_a})
    held = next(c for c in sandbox.classifieds(with_body=True) if c["offererEstateId"] == "ag-K00004")
    assert held["body"]["data"]["prices"]["buy"]["price"]["amount"] == 289000


def test_retry_of_a_put_that_landed_meets_its_own_412_and_sends_nothing_more(
        tmp_path: Path, sandbox, store_url: str, test_env) -> None:
    cfg, feed_path, night_a = _published(tmp_path, sandbox, store_url, 3)
    night_b = list(night_a)
    night_b[1] = accepted("ag", "K00001", price=7)
    write_payloads(feed_path, night_b)
    # a 412 (another writer), then our PUT with the re-read ETag lands but its answer is lost
    sandbox.set_faults(script=[{"action": "precondition_failed", "method": "PUT"},
                               {"action": "lost_response", "method": "PUT"}])
    seq = sandbox.last_seq()
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("updated") == 1
    calls = [(r["method"], r["status"] or r.get("processed_status")) for r in sandbox.requests(since=seq, kind="api")]
    assert calls == [("PUT", 412), ("GET", 200), ("PUT", 202), ("PUT", 412), ("GET", 200)]
    assert no_op_puts(sandbox) == []
    assert_state_equals_sandbox(store_url, "ag", sandbox, {o.key.source_key for o in night_b})


def test_lost_post_answer_is_adopted_without_a_no_op_put(tmp_path: Path, sandbox, store_url: str,
                                                         test_env) -> None:
    night_a = feed("ag", 4)
    feed_path = write_payloads(tmp_path / "ag.jsonl", night_a)
    cfg = load_config(write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                                   agencies={"ag": feed_path}, state_url=store_url))
    sandbox.set_faults(script=[{"action": "lost_response", "method": "POST"}])
    seq = sandbox.last_seq()
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("created") == 4
    methods = [r["method"] for r in sandbox.requests(since=seq, kind="api")]
    # the retry meets "Duplicated classified"; the copy AVIV holds is ours (seen once the lag is over)
    assert methods.count("POST") == 5 and "PUT" not in methods
    assert no_op_puts(sandbox) == []
    assert_state_equals_sandbox(store_url, "ag", sandbox, {o.key.source_key for o in night_a})


def test_journal_entry_is_committed_before_each_write_request_leaves(tmp_path: Path, sandbox,
                                                                     test_env) -> None:
    """Checked at the moment httpx sends: the entry exists, keyed by that request's traceparent."""
    from etl.load.applier import Applier
    from etl.load.client import AvivClient
    from etl.load.planner import plan
    from etl.load.tokens import TokenFile

    night = feed("ag", 6)
    cfg = load_config(write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                                   agencies={"ag": write_payloads(tmp_path / "ag.jsonl", night)}))
    seen: list[tuple[str, bool]] = []

    async def main() -> None:
        with StateStore.open(cfg.state_url) as store:
            api = AvivClient(cfg.config.defaults.api, TokenFile(None))

            async def on_request(request: httpx.Request) -> None:
                if request.method in ("POST", "PUT", "DELETE") and "/classifieds" in request.url.path:
                    tp = request.headers["traceparent"]
                    entries = store.journal_entries("ag")
                    seen.append((request.method, any(e.traceparent == tp and e.state == PENDING for e in entries)))

            api._http.event_hooks["request"].append(on_request)
            applier = Applier(store, api, cfg.config.agencies[0].credentials.resolve(), agency_id="ag",
                              run_id=store.start_run("ag"))
            await applier.apply(plan("ag", night, store.listings("ag")).operations)
            changed = [accepted("ag", o.key.source_key, price=5) for o in night[:3]]
            await applier.apply(plan("ag", changed, store.listings("ag"), full_snapshot=False).operations)
            await applier.apply(plan("ag", night[:4], store.listings("ag")).deletes)
            await api.aclose()

    asyncio.run(main())
    assert [m for m, _ in seen] == ["POST"] * 6 + ["PUT"] * 3 + ["DELETE"] * 2
    assert all(ok for _, ok in seen), seen


def test_killed_first_import_leaves_only_what_was_sent_to_look_up(tmp_path: Path, store_url: str) -> None:
    """Requests queued behind the rate limit are not journaled: the rerun's look-ups are bounded
    by the requests that were in flight, not by the size of the import."""
    with running_sandbox() as sb:
        feed_path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 120))
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           state_url=store_url, rate_limit=20, concurrency=4)
        env = {**os.environ, **TEST_ENV}
        cmd = [sys.executable, "-m", "etl.pipeline", "run", "--config", str(cfg)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not sb.requests(kind="api"):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        posts = len([r for r in sb.requests(kind="api") if r["method"] == "POST"])
        pending = _pending(store_url, "create")
        with StateStore.open(store_url) as s:
            journaled = len(s.journal_entries("ag"))
        assert 0 < posts < 120
        assert journaled <= posts + 4, (journaled, posts)  # at most the in-flight ones beyond what arrived
        assert pending <= 4 + 1
        seq = sb.last_seq()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        lookups = [r for r in sb.requests(since=seq, kind="api") if r["method"] == "GET"]
        assert len(lookups) <= 2 * pending  # one look-up each, one more after AVIV's lag at most
        assert len(sb.classifieds()) == 120 and no_op_puts(sb) == []


def test_token_refused_mid_apply_stops_sending_and_the_next_run_finishes(tmp_path: Path, store_url: str) -> None:
    with running_sandbox() as sb:
        night = feed("ag", 40)
        feed_path = write_payloads(tmp_path / "ag.jsonl", night)
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           state_url=store_url, rate_limit=40, concurrency=2, max_attempts=2)
        env = {**os.environ, **TEST_ENV}
        cmd = [sys.executable, "-m", "etl.pipeline", "run", "--config", str(cfg)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(sb.requests(kind="api")) < 5:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        # every token issued so far stops working, and the token endpoint now fails
        sb.set_faults(include_token_endpoint=True,
                      script=[{"action": "error", "status": 503, "path_regex": "/oauth/token"}] * 10)
        sb.expire_tokens()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        assert "authentification impossible" in err and "never awaited" not in err and "Traceback" not in err
        posts = [r["status"] for r in sb.requests(kind="api") if r["method"] == "POST"]
        first_refusal = posts.index(401)
        assert 5 <= posts.count(202) < 40
        # after the refusal, only what was already in flight (concurrency 2) reached the API
        assert len(posts) - first_refusal <= 2, (posts, err)
        assert "demo-secret" not in err + out

        sb.clear_faults()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert len(sb.classifieds()) == 40 and no_op_puts(sb) == []
        assert_state_equals_sandbox(store_url, "ag", sb, {o.key.source_key for o in night})
