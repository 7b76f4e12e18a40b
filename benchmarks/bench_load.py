"""Loader budgets (blueprint §8): apply rate against the sandbox, and an unchanged night vs convert.

    uv run python benchmarks/bench_load.py                 # 300 creates, 5,000 unchanged listings
    ETL_BENCH_CREATES=5000 ETL_BENCH_UNCHANGED=20000 uv run python benchmarks/bench_load.py

Budgets: ≥ 95 % of the configured rate without exceeding it; an unchanged night ≤ 1.2× convert.
Figures are printed as ratios; this is a benchmark, not part of the test suite (timings depend on
the machine and its load).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_load_helpers import TEST_ENV, feed, running_sandbox, write_config, write_payloads  # noqa: E402

from etl.agencies import load_config
from etl.load.state import StateStore

CREATES = int(os.environ.get("ETL_BENCH_CREATES", "300"))
UNCHANGED = int(os.environ.get("ETL_BENCH_UNCHANGED", "5000"))
RATE = 50.0


def bench_apply_rate(tmp_path: Path) -> None:
    with running_sandbox() as sb:
        feed_path = write_payloads(tmp_path / "ag.jsonl", feed("ag", CREATES))
        cfg = load_config(write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                                       agencies={"ag": feed_path}, rate_limit=RATE, concurrency=8))
        # the loader in its own process: the sandbox (validating every body) must not share its GIL
        proc = subprocess.run([sys.executable, "-m", "etl.pipeline", "run", "--config", str(cfg.path),
                               "--out", str(tmp_path / "out")],
                              env={**os.environ, **TEST_ENV}, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        # the log is written when the answer is sent: arrival = that moment minus the handling time
        arrivals = sorted(r["t"] - r["duration_ms"] / 1000 for r in sb.requests(kind="api"))
    rate = json.loads((tmp_path / "out" / "load.json").read_text())["rate"]
    assert len(arrivals) == CREATES == rate["starts"]
    seen = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(f"\napply: {CREATES} creates, limit {RATE:.0f}/s: sent at {rate['achieved']:.2f}/s "
          f"(tightest {int(RATE) + 1} consecutive starts: {rate['tightest_window_s']:.3f} s), "
          f"received by the sandbox at {seen:.2f}/s")
    print(f"budget ≥ 95 % of the limit: {'met' if min(rate['achieved'], seen) >= 0.95 * RATE else 'MISSED'}; "
          f"never above it: {'met' if rate['tightest_window_s'] >= 1.0 else 'MISSED'}")


def _poliris_feed(path: Path, count: int) -> Path:
    from etl.extract.poliris.writer import write_annonces
    from etl.feedgen import listings
    write_annonces(path, listings(count, agencies=("agence-bench",), seed=7), encoding="cp1252", newline="\n",
                   width=334, trailing_separator=True)
    return path


def _timed(args: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "etl", *args], env={**os.environ, **TEST_ENV},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return time.perf_counter() - t


def bench_unchanged_night(tmp_path: Path) -> None:
    from etl.pipeline.sources import outcomes
    from etl.records import FeedFacts
    feed_path = _poliris_feed(tmp_path / "Annonces.csv", UNCHANGED)
    cfg_path = write_config(tmp_path, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                            agencies={"agence-bench": feed_path})
    text = cfg_path.read_text().replace("format: payloads-jsonl", "format: poliris")
    cfg_path.write_text(text)
    cfg = load_config(cfg_path)
    # what night 1 would have recorded (the API is not needed to know it)
    with StateStore.open(cfg.state_url) as s, s.transaction() as conn:
        agency = cfg.agency("agence-bench")
        for o in outcomes(cfg, agency, feed_path, FeedFacts(str(feed_path))):
            if o.accepted:
                s.record_live(conn, agency_id="agence-bench", source_key=o.key.source_key,
                              offerer_estate_id=o.body["data"]["metaData"]["source"]["offererEstateId"],
                              classified_id=f"c-{o.key.source_key}", body_hash=o.body_hash, body=None,
                              etag=None, portals=o.portals, run_id=1)
    # the two commands end to end, each in its own process, best of two: both read, convert and
    # write the agency's reports; run also opens the state, plans and records the night
    convert_s = min(_timed(["convert", str(feed_path), "--agency", "agence-bench", "--out", str(tmp_path / f"c{i}")])
                    for i in range(2))
    run_s = min(_timed(["run", "--config", str(cfg_path), "--out", str(tmp_path / f"r{i}")]) for i in range(2))
    load = json.loads((tmp_path / "r1" / "load.json").read_text())
    assert load["exit_code"] == 0 and load["requests"] == 0 and load["token_requests"] == 0
    counts = load["agencies"][0]["counts"]
    assert counts["creates"] == counts["updates"] == counts["deletes"] == 0 and counts["unchanged"] > 0
    ratio = run_s / convert_s
    print(f"\nunchanged night of {UNCHANGED} listings: run {run_s:.2f} s, convert {convert_s:.2f} s, "
          f"ratio {ratio:.2f} (budget ≤ 1.2: {'met' if ratio <= 1.2 else 'MISSED'})")


def bench_recovery_after_kill(tmp_path: Path, listings: int = 352, kill_after_s: float = 1.0) -> None:
    """A first import killed mid-way: what the rerun must look up is what was in flight, not the feed."""
    import signal
    with running_sandbox() as sb:
        feed_path = write_payloads(tmp_path / "ag.jsonl", feed("ag", listings))
        cfg = write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": feed_path},
                           rate_limit=100, concurrency=8)
        cmd = [sys.executable, "-m", "etl.pipeline", "run", "--config", str(cfg), "--out", str(tmp_path / "o")]
        proc = subprocess.Popen(cmd, env={**os.environ, **TEST_ENV}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while not sb.requests(kind="api"):
            time.sleep(0.01)
        time.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)  # what was in flight arrives
        sent = len(sb.requests(kind="api"))
        with StateStore.open(f"sqlite:///{tmp_path / 'state.sqlite'}") as s:
            pending = len(s.unfinished("ag"))
        seq = sb.last_seq()
        t = time.perf_counter()
        subprocess.run(cmd, env={**os.environ, **TEST_ENV}, capture_output=True, check=True, timeout=600)
        rerun_s = time.perf_counter() - t
        calls = sb.requests(since=seq, kind="api")
        lookups = sum(1 for r in calls if r["method"] == "GET")
        assert len(sb.classifieds()) == listings
    print(f"\nrecovery: first import of {listings} killed {kill_after_s:.1f} s after its first request: "
          f"{sent} requests had reached the API, {pending} journal entries pending (concurrency 8); "
          f"the rerun made {lookups} look-ups and {len(calls) - lookups} writes in {rerun_s:.1f} s")


if __name__ == "__main__":
    import tempfile
    os.environ.update(TEST_ENV)
    with tempfile.TemporaryDirectory() as a:
        bench_apply_rate(Path(a))
    with tempfile.TemporaryDirectory() as b:
        bench_unchanged_night(Path(b))
    with tempfile.TemporaryDirectory() as c:
        bench_recovery_after_kill(Path(c))
