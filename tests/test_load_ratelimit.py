"""The rate limit per credential holds across worker processes, judged where it counts: at the API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from test_load_helpers import feed, pg_url, running_sandbox, write_payloads  # noqa: F401  (fixture)
from test_pipeline_queue import enqueue, queue_config, start_worker

from etl.agencies import ResolvedCredentials
from etl.load.ratelimit import SharedRateLimiter, credential_key
from etl.load.state import StateStore


def tightest_window(times: list[float], limit: int) -> float:
    """The shortest time spanned by ``limit + 1`` consecutive requests (≥ 1 s: no second held more than ``limit``)."""
    times = sorted(times)
    return min((times[i + limit] - times[i] for i in range(len(times) - limit)), default=float("inf"))


def test_three_limiters_on_one_database_never_start_more_than_the_rate_in_a_second(pg_url: str) -> None:
    creds = ResolvedCredentials("crm", "secret", "int-1")
    with StateStore.open(pg_url) as store:
        limiters = [SharedRateLimiter(store.engine, 20, "http://api.test") for _ in range(3)]
        starts: list[float] = []

        async def send(limiter: SharedRateLimiter, n: int) -> None:
            for _ in range(n):
                await limiter.acquire(creds)
                starts.append(time.monotonic())

        async def main() -> None:
            await asyncio.wait_for(asyncio.gather(*(send(lim, 20) for lim in limiters)), 60)

        t0 = time.monotonic()
        asyncio.run(main())
        elapsed = time.monotonic() - t0
    assert len(starts) == 60
    assert tightest_window(starts, 20) >= 1.0
    assert 59 / (max(starts) - min(starts)) >= 0.9 * 20, f"{elapsed:.2f} s for 60 starts"


def test_each_credential_has_its_own_bucket_and_its_key_hides_the_client() -> None:
    a, b = ResolvedCredentials("crm", "s", "int-1"), ResolvedCredentials("crm", "s", "int-2")
    assert credential_key("u", a) != credential_key("u", b)
    assert "crm" not in credential_key("u", a) and "int-1" not in credential_key("u", a)


@pytest.mark.slow
def test_three_workers_sharing_a_credential_keep_its_limit_at_the_api_and_use_nine_tenths_of_it(
        tmp_path: Path, pg_url: str) -> None:
    limit = 20
    with running_sandbox() as sb:
        names = [f"ag{i}" for i in range(9)]
        feeds = {a: write_payloads(tmp_path / f"{a}.jsonl", feed(a, 30)) for a in names}
        # one intermediary for every agency: one credential, one limit
        cfg = queue_config(tmp_path, sb, feeds, pg_url, rate_limit=limit, api_concurrency=8, concurrency=3,
                           intermediary={a: "int-shared" for a in names})
        enqueue(cfg)
        workers = [start_worker(cfg) for _ in range(3)]
        for w in workers:
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0, err[-3000:]
        calls = sb.requests(kind="api")
        assert len(calls) == 270 and {c["intermediary_id"] for c in calls} == {"int-shared"}
        # when each request reached the API: stamped as its handler starts (the real API counts at its gateway)
        times = sorted(c["arrived"] for c in calls)
        # No second ever saw more than the limit: the limiter keeps rate+1 starts ≥ 1 s + margin apart, a start
        # made late on its way out (journal, new connection, the worker's other tasks) is re-timed as its first
        # byte leaves, and the margin's other half covers the way to the API. Three limits per process, not
        # shared, would show ~0.33 s.
        assert tightest_window(times, limit) >= 1.0, "more than the limit reached the API within a second"
        # the limit is shared, not divided: while the workers send, together they use ≥ 90 % of it
        # (the busiest 5 s; on a 2-core machine the workers' report writing starves the sandbox now and then)
        assert busiest(times, 5.0) >= 0.9 * limit


def busiest(times: list[float], span: float) -> float:
    """The highest request rate over any ``span`` seconds."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - span:
            j += 1
        best = max(best, i - j + 1)
    return best / span
