"""The loader's crash-and-fault soak at scale (the suite runs a small seeded variant).

    uv run python benchmarks/soak_load.py                       # 40 kills, 10 feed changes, SQLite
    ETL_SOAK_KILLS=100 ETL_SOAK_CHANGES=25 ETL_SOAK_SEED=7 ETL_SOAK_STORE=postgresql \\
        uv run python benchmarks/soak_load.py

Real ``run`` processes are SIGKILLed at random moments of nights whose feeds change, with ~20 %
of API calls meeting a fault (5xx, 429, dropped connections, lost answers, 412). At the end the
API must hold exactly the last feed, the state store must equal the API, and no PUT may have
re-sent a body the API already held; a further night must send nothing. Prints the figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_load_crash import soak  # noqa: E402
from test_load_helpers import pg_schema_url  # noqa: E402


def main() -> None:
    kills = int(os.environ.get("ETL_SOAK_KILLS", "40"))
    changes = int(os.environ.get("ETL_SOAK_CHANGES", "10"))
    seed = int(os.environ.get("ETL_SOAK_SEED", "20261130"))
    backend = os.environ.get("ETL_SOAK_STORE", "sqlite")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        drop = None
        url = f"sqlite:///{tmp / 'state.sqlite'}"
        if backend == "postgresql":
            url, drop = pg_schema_url()
        t0 = time.perf_counter()
        try:
            n = soak(tmp, url, kills=kills, changes=changes, seed=seed, log=lambda m: print(m, file=sys.stderr))
        finally:
            if drop:
                drop()
    n["seconds"] = round(time.perf_counter() - t0, 1)
    n["store"] = backend
    print(json.dumps(n, indent=2))


if __name__ == "__main__":
    main()
