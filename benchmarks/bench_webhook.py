"""How fast `webhook --listen` answers AVIV's callbacks, and how many it takes per second.

    uv run python benchmarks/bench_webhook.py [--callbacks 3000] [--concurrency 16] [--state sqlite|postgresql]

A real listener process; callbacks POSTed over real sockets by ``--concurrency`` clients at once,
each a distinct status (a tenth sent twice, as AVIV's redeliveries); PostgreSQL from ETL_TEST_PG.
Prints JSON: callbacks per second, answer latency p50 / p99 / max, rows kept, how long the fold of
everything took (on SQLite the listener folds, on PostgreSQL a worker's job would: timed here as a
direct fold).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_load_helpers import pg_schema_url, write_config  # noqa: E402
from test_webhook import events, listening, seed, status_body, with_webhook  # noqa: E402

from etl.load.state import StateStore  # noqa: E402
from etl.load.statuses import fold_status_events  # noqa: E402


async def _post_all(urls: list[tuple[str, dict]], concurrency: int) -> list[float]:
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(url: str, body: dict) -> None:
            async with sem:
                t = time.perf_counter()
                r = await http.post(url, json=body)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 201, r.text
        await asyncio.gather(*(one(u, b) for u, b in urls))
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--callbacks", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--state", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        drop = None
        state = f"sqlite:///{tmp / 'state.sqlite'}"
        if args.state == "postgresql":
            state, drop = pg_schema_url()
        cfg = with_webhook(write_config(tmp, base_url="http://127.0.0.1:9/caas/v4", token_url="http://127.0.0.1:9/t",
                                        agencies={"ag1": tmp / "a.jsonl"}, state_url=state))
        listings = max(1, args.callbacks // 3)
        for i in range(listings):
            seed(state, "ag1", f"K{i}", f"c-{i}")
        try:
            with listening(cfg) as hook:
                calls = []
                for n in range(args.callbacks):
                    i = n % listings
                    status = ("RECEIVED", "CREATING", "CREATED")[n // listings % 3]
                    calls.append((hook.url("int-ag1", f"c-{i}"),
                                  status_body(status, f"2026-11-30T02:{n // listings % 60:02d}:00Z")))
                calls += calls[:: 10]  # redeliveries
                t0 = time.perf_counter()
                lat = asyncio.run(_post_all(calls, args.concurrency))
                elapsed = time.perf_counter() - t0
            kept = len(events(state))
            with StateStore.open(state) as store:
                t1 = time.perf_counter()
                fold_status_events(store, {"int-ag1": ["ag1"]})
                fold_s = time.perf_counter() - t1
        finally:
            if drop is not None:
                drop()
    lat.sort()
    print(json.dumps({"state": args.state, "callbacks": len(calls), "concurrency": args.concurrency,
                      "per_second": round(len(calls) / elapsed, 1), "p50_ms": round(statistics.median(lat) * 1000, 2),
                      "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2), "max_ms": round(lat[-1] * 1000, 2),
                      "kept": kept, "fold_left_after_listener_s": round(fold_s, 3)}, indent=2))


if __name__ == "__main__":
    main()
