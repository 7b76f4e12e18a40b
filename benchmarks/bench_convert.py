"""Convert benchmark: parse → map → validate → serialize on a generated Poliris feed.

Prints listings/s, peak RSS at two feed sizes (memory must be flat in the feed size), and the
ratio of our time to ``pandas.read_csv(sep="!#", engine="python")`` merely reading the same
file, measured in the same run. Budget (docs/ARCHITECTURE.md): ≥ 10,000 listings/s,
ratio ≤ 0.5, flat memory.

    uv run python benchmarks/bench_convert.py [--listings 20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from etl.extract.poliris_writer import write_annonces
from etl.feedgen import listings


def make_feed(path: Path, count: int) -> Path:
    agencies = ("agence-paris", "agence-lyon", "agence-nice", "agence-bordeaux")
    write_annonces(path, listings(count, agencies=agencies, seed=7), encoding="cp1252", newline="\n",
                   width=334, trailing_separator=True)
    return path


def time_convert(path: Path) -> dict[str, float]:
    """Run in a fresh process so its peak RSS is the converter's own."""
    code = f"""
import resource, time, json, orjson
from etl.pipeline import convert
t = time.perf_counter(); n = 0; ok = 0; size = 0
for o in convert({str(path)!r}):
    n += 1
    if o.accepted:
        ok += 1; size += len(orjson.dumps(o.body))
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "records": n, "accepted": ok,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_pandas(path: Path) -> float:
    code = f"""
import time, warnings, pandas as pd
warnings.simplefilter("ignore")
t = time.perf_counter()
pd.read_csv({str(path)!r}, sep="!#", engine="python", header=None, encoding="cp1252", dtype=str)
print(time.perf_counter() - t)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listings", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = make_feed(Path(tmp) / "small.csv", args.listings // 4)
        big = make_feed(Path(tmp) / "Annonces.csv", args.listings)
        mb = big.stat().st_size / 1e6
        ours = time_convert(big)
        ours_small = time_convert(small)
        pandas_s = time_pandas(big)
    rate = ours["records"] / ours["seconds"]
    print(f"feed: {ours['records']} listings, {mb:.1f} MB (cp1252, 334 fields, trailing !#)")
    print(f"convert: {ours['seconds']:.2f} s → {rate:,.0f} listings/s "
          f"({ours['accepted']} accepted)   budget ≥ 10,000/s")
    print(f"pandas read_csv(sep='!#', engine='python'): {pandas_s:.2f} s → "
          f"ratio ours/pandas = {ours['seconds'] / pandas_s:.2f}   budget ≤ 0.5")
    print(f"peak RSS: {ours_small['peak_rss_mb']:.0f} MB at {ours_small['records']} listings, "
          f"{ours['peak_rss_mb']:.0f} MB at {ours['records']} (flat = streaming)")


if __name__ == "__main__":
    main()
