"""Crash safety and run exclusion: real `run` processes, killed with SIGKILL, against the sandbox."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_load_apply import assert_state_equals_sandbox
from test_load_helpers import (  # noqa: F401  (fixtures)
    TEST_ENV, accepted, feed, running_sandbox, store_url, write_config, write_payloads,
)

ROOT = Path(__file__).resolve().parents[1]


def _start(cfg: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, **TEST_ENV}
    return subprocess.Popen([sys.executable, "-m", "etl.load", "run", "--config", str(cfg), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_first_api_request(sb, seq: int, proc: subprocess.Popen, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sb.requests(since=seq, kind="api"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError("the run never reached the API")


def _nights() -> list[list]:
    n1 = feed("ag", 60)
    n2 = feed("ag", 50)                       # K00050..59 deleted
    for i in range(0, 50, 4):
        n2[i] = accepted("ag", f"K{i:05d}", price=2000 + i)
    n2 += [accepted("ag", f"N{i}") for i in range(6)]
    n3 = [o for o in n2 if o.key.source_key not in {f"K{i:05d}" for i in range(40, 50)}]
    n3 = [accepted("ag", o.key.source_key, price=3000 + j) if j % 3 == 0 else o for j, o in enumerate(n3)]
    return [n1, n2, n3]


@pytest.mark.slow
def test_sigkill_during_apply_never_duplicates_loses_or_forgets_a_delete(tmp_path: Path, store_url: str) -> None:
    rng = random.Random(20240607)
    with running_sandbox() as sb:
        sb.set_faults(latency_ms=30, latency_jitter_ms=20)
        feed_path = tmp_path / "ag.jsonl"
        nights = _nights()
        write_payloads(feed_path, nights[0])
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           state_url=store_url, concurrency=3, max_share=0.5)
        kills = completed = 0
        night = 0
        while kills < 20 or completed < len(nights):
            seq = sb.last_seq()
            proc = _start(cfg)
            reached = _wait_first_api_request(sb, seq, proc)
            if reached and proc.poll() is None:
                time.sleep(rng.uniform(0, 0.9))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
            else:
                out, err = proc.communicate()
                assert proc.returncode == 0, err
                completed += 1
                # next night (cycling: a converged night sends nothing, so it could not be interrupted)
                night = (night + 1) % len(nights)
                write_payloads(feed_path, nights[night])
            live = sb.classifieds(with_body=True)
            assert len({c["offererEstateId"] for c in live}) == len(live), "a duplicate classified appeared"
        proc = _start(cfg)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        sb.clear_faults()
        assert kills >= 20
        assert_state_equals_sandbox(store_url, "ag", sb, {o.key.source_key for o in nights[night]})
        # a last night with the same feed sends nothing: the state really is the sandbox's
        seq = sb.last_seq()
        proc = _start(cfg)
        proc.communicate(timeout=120)
        assert proc.returncode == 0 and sb.requests(since=seq) == []


def test_second_concurrent_run_of_an_agency_exits_and_sends_nothing(tmp_path: Path, store_url: str) -> None:
    with running_sandbox() as sb:
        sb.set_faults(latency_ms=400)
        feed_path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 30))
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           state_url=store_url, concurrency=2)
        seq = sb.last_seq()
        first = _start(cfg)
        assert _wait_first_api_request(sb, seq, first)
        second = _start(cfg)
        out2, err2 = second.communicate(timeout=60)
        assert first.poll() is None, "the first run should still be applying"
        out1, err1 = first.communicate(timeout=120)
        assert first.returncode == 0, err1
        assert second.returncode == 3
        assert "déjà en cours" in err2 + out2 and f"pid {first.pid}" in err2 + out2
        posts = [r for r in sb.requests(since=seq, kind="api") if r["method"] == "POST"]
        assert len(posts) == 30 and len(sb.classifieds(with_body=True)) == 30
