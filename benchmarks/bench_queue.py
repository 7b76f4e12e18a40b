"""Throughput of a night on the queue: many agencies, mostly unchanged, on 1, 2 and 3 workers.

    uv run python benchmarks/bench_queue.py                       # 1,000 agencies × 5 listings
    ETL_BQ_AGENCIES=200 ETL_BQ_WORKERS=1,2,3 uv run python benchmarks/bench_queue.py

The listings are created once (night 0, untimed); then, for each worker count, a night where
ETL_BQ_CHANGED (default 5 %) of the agencies reprice one listing: `run --queue`, then that many
`worker --until-empty` processes (each running ETL_BQ_CONCURRENCY agencies at once), timed from
the enqueue to the last worker's exit. Every agency must end with code 0, every night's API calls
must be exactly the changed listings' PUTs. Real processes, real PostgreSQL (ETL_TEST_PG), the
sandbox over sockets. Prints JSON: seconds per night, agencies per second, API calls.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_load_helpers import TEST_ENV, accepted, feed, pg_schema_url, running_sandbox, write_payloads  # noqa: E402
from test_pipeline_queue import ENV, ROOT, command, enqueue, queue_config, queue_results  # noqa: E402


def _night(cfg: Path, workers: int) -> float:
    t0 = time.monotonic()
    enqueue(cfg)
    # Their logs go to files: read through pipes one worker after the other, the others' pipes filled
    # (64 KiB, ~300 agencies' lines), their writes blocked their event loops, their heartbeats stopped
    # and their running jobs were handed to another worker, which met the agency's lock and failed.
    logs = [tempfile.TemporaryFile("w+") for _ in range(workers)]
    procs = [subprocess.Popen(command(cfg, "worker", "--until-empty"), cwd=ROOT, env=ENV, stdout=log, stderr=log,
                              text=True) for log in logs]
    for p, log in zip(procs, logs):
        p.wait(timeout=7200)
        if p.returncode != 0:
            log.seek(0)
            raise SystemExit(f"worker exited {p.returncode}: {log.read()[-3000:]}")
    for log in logs:
        log.close()
    return time.monotonic() - t0


def main() -> None:
    os.environ.update(TEST_ENV)
    n = int(os.environ.get("ETL_BQ_AGENCIES", "1000"))
    listings = int(os.environ.get("ETL_BQ_LISTINGS", "5"))
    counts = [int(w) for w in os.environ.get("ETL_BQ_WORKERS", "1,2,3").split(",")]
    changed_share = float(os.environ.get("ETL_BQ_CHANGED", "0.05"))
    concurrency = int(os.environ.get("ETL_BQ_CONCURRENCY", "4"))
    rng = random.Random(1000)
    url, drop = pg_schema_url()
    out: dict[str, object] = {"agencies": n, "listings_per_agency": listings, "changed_share": changed_share,
                              "worker_concurrency": concurrency, "cpus": os.cpu_count(), "nights": []}
    try:
        with tempfile.TemporaryDirectory() as tmp, running_sandbox() as sb:
            tmp_path = Path(tmp)
            names = [f"ag{i:05d}" for i in range(n)]
            feeds = {a: feed(a, listings) for a in names}
            paths = {a: write_payloads(tmp_path / f"{a}.jsonl", outs) for a, outs in feeds.items()}
            cfg = queue_config(tmp_path, sb, paths, url, concurrency=concurrency, api_concurrency=8, rate_limit=200)
            seed = _night(cfg, max(counts))
            out["seed_s"] = round(seed, 1)
            print(f"night 0 (creates, {max(counts)} workers): {seed:.1f} s", file=sys.stderr, flush=True)
            for w in counts:
                changed = rng.sample(names, max(1, int(n * changed_share)))
                for a in changed:
                    outs = feeds[a]
                    outs[0] = accepted(a, outs[0].key.source_key, price=rng.randint(100_000, 900_000))
                    write_payloads(paths[a], outs)
                seq = sb.last_seq()
                secs = _night(cfg, w)
                calls = sb.requests(since=seq, kind="api")
                results = queue_results(url)
                assert all(r.exit_code == 0 for r in results.values()), "an agency failed"
                assert sorted(c["method"] for c in calls) == ["PUT"] * len(changed), "unexpected API calls"
                night = {"workers": w, "seconds": round(secs, 1), "agencies_per_s": round(n / secs, 1),
                         "api_calls": len(calls), "changed_agencies": len(changed)}
                out["nights"].append(night)  # type: ignore[union-attr]
                print(json.dumps(night), file=sys.stderr, flush=True)
    finally:
        drop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
