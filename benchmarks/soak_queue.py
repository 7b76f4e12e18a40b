"""The queue's acceptance night at full size (the suite runs 20 agencies × 5 listings, no kill).

    uv run python benchmarks/soak_queue.py          # 200 agencies × 50 listings, 3 workers, 10 SIGKILLs
    ETL_QSOAK_AGENCIES=50 ETL_QSOAK_LISTINGS=20 ETL_QSOAK_KILLS=3 uv run python benchmarks/soak_queue.py

Night 1 (`run --queue`, then 3 `worker --until-empty` processes) creates every listing; night 2
drops a tenth of each feed and reprices another tenth while a worker is SIGKILLed mid-job
ETL_QSOAK_KILLS times (each replaced, as a supervisor would). Every agency must be done exactly
once a night, no listing created twice, every delete landed, the sandbox equal to the feeds,
every worker still standing exits 0. Needs PostgreSQL (ETL_TEST_PG). Prints the figures as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_load_helpers import TEST_ENV, pg_schema_url  # noqa: E402
from test_pipeline_queue import queue_night  # noqa: E402


def main() -> None:
    os.environ.update(TEST_ENV)
    params = dict(agencies=int(os.environ.get("ETL_QSOAK_AGENCIES", "200")),
                  listings=int(os.environ.get("ETL_QSOAK_LISTINGS", "50")),
                  workers=int(os.environ.get("ETL_QSOAK_WORKERS", "3")),
                  kills=int(os.environ.get("ETL_QSOAK_KILLS", "10")),
                  stall=float(os.environ.get("ETL_QSOAK_STALL", "10")),
                  concurrency=int(os.environ.get("ETL_QSOAK_CONCURRENCY", "1")),
                  latency_ms=int(os.environ.get("ETL_QSOAK_LATENCY_MS", "20")))
    url, drop = pg_schema_url()
    t0 = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = queue_night(Path(tmp), url, log=lambda m: print(m, file=sys.stderr, flush=True), **params)
    finally:
        drop()
    print(json.dumps({**params, **figures, "total_s": round(time.monotonic() - t0, 1), "duplicates": 0,
                      "lost_deletes": 0}, indent=2))


if __name__ == "__main__":
    main()
