"""The night on Procrastinate workers: real `run --queue` and `worker --until-empty` processes, a real
PostgreSQL, the sandbox over real sockets; workers SIGKILLed mid-job."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_load_helpers import (TEST_ENV, accepted, body_hash, feed, pg_url, running_sandbox, write_config,
                               write_payloads)  # noqa: F401  (pg_url: fixture)

from etl.load.schema import locks
from etl.load.state import StateStore
from etl.pipeline.__main__ import main
from etl.sandbox.config import SandboxConfig

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, **TEST_ENV}


def queue_config(tmp: Path, sb: Any, feeds: dict[str, Path], state_url: str, *, stall: float = 10,
                 api_concurrency: int = 4, concurrency: int | None = None, queue: dict[str, Any] | None = None,
                 **kw: Any) -> Path:
    """``concurrency``: jobs per worker (the queue's), ``api_concurrency``: requests per run (the API's);
    ``queue``: other settings of the queue section; ``kw``: write_config's (rate_limit, intermediary…)."""
    kw.setdefault("max_share", 1.0)
    section = {"stall_timeout": stall, "retry_wait": 0, "exponential_wait": 1,
               **({"concurrency": concurrency} if concurrency is not None else {}), **(queue or {})}
    return write_config(tmp, base_url=sb.base_url, token_url=sb.token_url, agencies=feeds, state_url=state_url,
                        concurrency=api_concurrency, extra={"queue": section}, **kw)


def command(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "etl.pipeline", *args, "--config", str(cfg)]


def enqueue(cfg: Path) -> None:
    p = subprocess.run(command(cfg, "run", "--queue"), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def start_worker(cfg: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(command(cfg, "worker", "--until-empty", *extra), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def jobs_by_status(url: str) -> Counter[str]:
    with StateStore.open(url) as s, s.engine.connect() as conn:
        return Counter({r.status: r.n for r in conn.execute(sa.text(
            "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY status"))})


def _doing(url: str) -> int:
    return jobs_by_status(url)["doing"]


def done_runs(url: str) -> Counter[str]:
    with StateStore.open(url) as s, s.engine.connect() as conn:
        return Counter(r.agency_id for r in conn.execute(sa.text("SELECT agency_id FROM runs WHERE status = 'done'")))


def queue_results(url: str) -> dict[str, Any]:
    with StateStore.open(url) as s, s.engine.connect() as conn:
        return {r.agency_id: r for r in conn.execute(sa.text("SELECT * FROM queue_results"))}


def assert_sandbox_holds(sb: Any, feeds: dict[str, list]) -> None:
    """The sandbox's live classifieds are exactly the feeds' listings, with the feeds' bodies."""
    live = sb.classifieds(with_body=True)
    held = {c["offererEstateId"]: body_hash(c["body"]) for c in live}
    assert len(held) == len(live), "a duplicate classified appeared"
    want = {o.body["data"]["metaData"]["source"]["offererEstateId"]: o.body_hash for outs in feeds.values() for o in outs}
    assert held == want


def accepted_posts(sb: Any) -> Counter[str]:
    """Classifieds created per intermediary (a POST answered 202, even if the answer was lost)."""
    return Counter(r["intermediary_id"] for r in sb.requests(kind="api")
                   if r["method"] == "POST" and 202 in (r.get("status"), r.get("processed_status")))


def queue_night(tmp: Path, url: str, *, agencies: int, listings: int, workers: int, kills: int = 0,
                stall: float = 10, concurrency: int = 1, latency_ms: int = 0, seed: int = 15,
                log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Two nights of ``agencies`` × ``listings`` on ``workers`` worker processes, the second one under
    ``kills`` SIGKILLs of a worker mid-job (each replaced by a fresh worker).

    Night 1 creates everything; night 2 drops a tenth of each feed and reprices another tenth.
    Raises AssertionError at the first broken promise; returns the figures.
    """
    rng = random.Random(seed)
    figures: dict[str, Any] = {"kills": 0}
    with running_sandbox(SandboxConfig()) as sb:
        if latency_ms:
            sb.set_faults(latency_ms=latency_ms, latency_jitter_ms=latency_ms // 2)
        names = [f"ag{i:04d}" for i in range(agencies)]
        nights = {a: feed(a, listings) for a in names}
        paths = {a: write_payloads(tmp / f"{a}.jsonl", outs) for a, outs in nights.items()}
        cfg = queue_config(tmp, sb, paths, url, stall=stall, concurrency=concurrency)

        t0 = time.monotonic()
        enqueue(cfg)
        procs = [start_worker(cfg) for _ in range(workers)]
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-3000:]
        figures["night1_s"] = round(time.monotonic() - t0, 2)
        assert done_runs(url) == Counter({a: 1 for a in names}), "every agency done exactly once"
        assert accepted_posts(sb) == Counter({f"int-{a}": listings for a in names})
        assert_sandbox_holds(sb, nights)
        log(f"night 1: {figures['night1_s']} s")

        # night 2: deletes and updates, workers killed while they apply
        drop = max(1, listings // 10)
        for a in names:
            kept = nights[a][drop:]
            nights[a] = [accepted(a, o.key.source_key, price=123_456) if i < drop else o for i, o in enumerate(kept)]
            write_payloads(paths[a], nights[a])
        seq = sb.last_seq()
        t0 = time.monotonic()
        enqueue(cfg)
        procs = [start_worker(cfg) for _ in range(workers)]
        finished: list[subprocess.Popen] = []
        while figures["kills"] < kills:
            alive = [p for p in procs if p.poll() is None]
            if not alive:
                break
            if _doing(url) and sb.requests(since=seq, kind="api"):
                time.sleep(rng.uniform(0.2, 1.0))
                victim = rng.choice(alive)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                procs.remove(victim)
                figures["kills"] += 1
                procs.append(start_worker(cfg))  # the machine's supervisor restarts it
                log(f"kill {figures['kills']}")
                seq = sb.last_seq()
            time.sleep(0.05)
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-3000:]
            finished.append(p)
        figures["night2_s"] = round(time.monotonic() - t0, 2)
        assert figures["kills"] == kills, "the night ended before every kill could land"
        runs = done_runs(url)
        assert runs == Counter({a: 2 for a in names}), \
            f"every agency done exactly once a night: {[(a, n) for a, n in runs.items() if n != 2]}"
        assert jobs_by_status(url) == Counter({"succeeded": 2 * agencies})
        assert accepted_posts(sb) == Counter({f"int-{a}": listings for a in names}), "a listing was created twice"
        assert_sandbox_holds(sb, nights)  # the deletes landed, the updates too
        assert all(r.exit_code == 0 for r in queue_results(url).values())
        figures["requests"] = len(sb.requests(kind="api"))
        return figures


def test_queue_settings_are_checked_with_their_line() -> None:
    from etl.agencies import parse_config
    from etl.errors import ConfigError
    text = ("version: 1\nqueue:\n  stall_timeout: 1\n  schedule: every night\nagencies:\n- id: a\n  source: x\n"
            "  portals: [SL]\n  credentials: {client_id_env: A, client_secret_env: B, intermediary_id: '1'}\n")
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "agencies.yaml")
    assert "agencies.yaml:3: queue.stall_timeout" in str(exc.value) and "cron invalide" in str(exc.value)


def test_the_queue_refuses_a_sqlite_state_store_with_a_clear_error(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                       agencies={"ag": tmp_path / "ag.jsonl"})
    for argv in (["run", "--queue"], ["worker", "--until-empty"], ["schedule"]):
        assert main([*argv, "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert "demande un état PostgreSQL" in err and "Traceback" not in err


@pytest.mark.slow
def test_twenty_agencies_on_three_workers_each_run_once_a_night_without_duplicates(tmp_path: Path, pg_url: str) -> None:
    # one worker SIGKILLed mid-job on the second night (queue_night checks the kill landed)
    queue_night(tmp_path, pg_url, agencies=20, listings=5, workers=3, kills=1)


@pytest.mark.slow
def test_a_sigkilled_workers_job_is_resumed_by_another_after_the_stall_timeout(tmp_path: Path, pg_url: str) -> None:
    stall = 8.0
    with running_sandbox() as sb:
        sb.set_faults(latency_ms=300)  # the job lasts long enough to be killed in the middle
        outs = feed("ag", 30)
        cfg = queue_config(tmp_path, sb, {"ag": write_payloads(tmp_path / "ag.jsonl", outs)}, pg_url,
                           stall=stall, api_concurrency=2)
        enqueue(cfg)
        first = start_worker(cfg)
        deadline = time.monotonic() + 120
        while not [r for r in sb.requests(kind="api") if r["method"] == "POST"]:
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.stderr else ""
            time.sleep(0.05)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.time()
        second = start_worker(cfg)
        out, err = second.communicate(timeout=180)
        assert second.returncode == 0, err[-3000:]
        assert "reprise" in err  # the job was handed back by the stall watch, not enqueued afresh
        calls = sb.requests(kind="api")
        before = [r for r in calls if r["t"] <= killed_at + 1.0]  # the dead worker's, in flight ones included
        after = [r for r in calls if r["t"] > killed_at + 1.0]
        assert 0 < len([r for r in before if r["method"] == "POST"]) < 30, "the kill must land mid-job"
        assert after, "the second worker sent nothing"
        # not resumed before the dead worker's silence reached the stall timeout (its last heartbeat
        # may be up to a sixth of it before the kill)
        assert min(r["t"] for r in after) - killed_at >= stall * 5 / 6 - 0.5
        assert done_runs(pg_url) == Counter({"ag": 1})
        assert accepted_posts(sb) == Counter({"int-ag": 30}), "a listing was created twice"
        assert_sandbox_holds(sb, {"ag": outs})
        assert jobs_by_status(pg_url) == Counter({"succeeded": 1})


@pytest.mark.slow
def test_transient_failures_are_retried_and_refusals_are_not(tmp_path: Path, pg_url: str) -> None:
    with running_sandbox() as sb:
        feeds = {"held": write_payloads(tmp_path / "held.jsonl", feed("held", 3)),
                 "cut": write_payloads(tmp_path / "cut.jsonl", feed("cut", 4), truncate=True),
                 "absent": tmp_path / "absent.jsonl"}
        cfg = queue_config(tmp_path, sb, feeds, pg_url, stall=10)
        with StateStore.open(pg_url) as s, s.transaction() as conn:  # a manual run elsewhere holds "held"
            now = time.time()
            conn.execute(sa.insert(locks).values(agency_id="held", run_id=None, host="autre-machine", pid=7,
                                                  acquired_at=now, heartbeat_at=now))

        def release() -> None:  # alive (heartbeats) until the first attempt has met the lock, then done
            deadline = time.monotonic() + 150
            with StateStore.open(pg_url) as s:
                while time.monotonic() < deadline:
                    with s.transaction() as conn:
                        conn.execute(sa.update(locks).where(locks.c.agency_id == "held").values(heartbeat_at=time.time()))
                    held = queue_results(pg_url).get("held")
                    if held is not None and held.exit_code == 5:
                        break
                    time.sleep(0.3)
                with s.transaction() as conn:
                    conn.execute(sa.delete(locks).where(locks.c.agency_id == "held"))

        enqueue(cfg)
        releaser = threading.Thread(target=release)
        releaser.start()
        worker = start_worker(cfg, "--log-format", "json")
        out, err = worker.communicate(timeout=180)
        releaser.join()
        assert worker.returncode == 4, err[-3000:]  # the night's gravest: an unreadable feed
        results = queue_results(pg_url)
        assert (results["held"].exit_code, results["cut"].exit_code, results["absent"].exit_code) == (0, 3, 4)
        assert results["held"].attempt >= 2  # exit 5 (lock held) was retried until the lock was free
        assert results["cut"].attempt == 1 and results["absent"].attempt == 1  # a guard, a bad feed: never retried
        assert len(sb.classifieds(intermediary_id="int-held")) == 3
        assert sb.classifieds(intermediary_id="int-cut") == []
        import json
        last = json.loads(err.strip().splitlines()[-1])
        assert last["event"] == "run_finished" and last["exit_code"] == 4
        assert {a["agency"]: a["outcome"] for a in last["agencies"]} == {"held": "ok", "cut": "feed_truncated",
                                                                         "absent": "source_missing"}


def test_enqueuing_twice_queues_each_agency_once(tmp_path: Path, pg_url: str, capsys) -> None:
    cfg = queue_config(tmp_path, type("Sb", (), {"base_url": "http://127.0.0.1:9/caas/v4",
                                                  "token_url": "http://127.0.0.1:9/t"})(),
                       {"a1": tmp_path / "a1.jsonl", "a2": tmp_path / "a2.jsonl"}, pg_url)
    assert main(["run", "--queue", "--config", str(cfg)]) == 0
    assert "2 agences mises en file" in capsys.readouterr().out
    assert main(["schedule", "--config", str(cfg)]) == 0
    assert "0 agences mises en file, 2 déjà en attente" in capsys.readouterr().out
    assert jobs_by_status(pg_url) == Counter({"todo": 2})


@pytest.mark.slow
def test_a_schedule_in_agencies_yaml_makes_the_workers_enqueue_the_night(tmp_path: Path, pg_url: str) -> None:
    with running_sandbox() as sb:
        outs = feed("ag", 3)
        cfg = queue_config(tmp_path, sb, {"ag": write_payloads(tmp_path / "ag.jsonl", outs)}, pg_url,
                           queue={"schedule": "* * * * * */2"})  # every two seconds (a 6th field: seconds)
        worker = subprocess.Popen(command(cfg, "worker"), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while "ag" not in queue_results(pg_url):
                assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()[1][-3000:]
                time.sleep(0.3)
        finally:
            worker.send_signal(signal.SIGTERM)  # a resident worker stops cleanly on SIGTERM
            out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err[-3000:]
        assert queue_results(pg_url)["ag"].exit_code == 0
        assert_sandbox_holds(sb, {"ag": outs})
