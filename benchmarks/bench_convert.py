"""Convert benchmark: parse → map → validate → serialize on a generated Poliris feed.

Prints listings/s, peak RSS at two feed sizes (memory must be flat in the feed size), the
ratio of our time to ``pandas.read_csv(sep="!#", engine="python")`` merely reading the same
file, and what each stage costs per listing. Budget (blueprint §8): ≥ 10,000 listings/s in
one process, ratio ≤ 0.5, flat memory.

Each measurement runs in a fresh process; ours and pandas' alternate for ``--rounds``
rounds and the fastest of each is kept, because the speed of a shared VM drifts by tens
of percent within a minute and a single pair of runs can land on either side of a drift.

    uv run python benchmarks/bench_convert.py [--listings 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from etl.extract.poliris.writer import write_annonces
from etl.feedgen import listings


def make_feed(path: Path, count: int) -> Path:
    agencies = ("agence-paris", "agence-lyon", "agence-nice", "agence-bordeaux")
    write_annonces(path, listings(count, agencies=agencies, seed=7), encoding="cp1252", newline="\n",
                   width=334, trailing_separator=True)
    return path


def _run(code: str, tree: Path | None = None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree is not None else None
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env,
                         cwd=tree).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_convert(path: Path, tree: Path | None = None) -> dict[str, float]:
    """The whole convert, serialised payloads included; a fresh process, so its peak RSS is the converter's own.
    ``tree``: another checkout of the project to time instead of this one (``--against``)."""
    return _run(f"""
import json, resource, time
from etl.pipeline import convert
t = time.perf_counter(); n = ok = size = 0
for o in convert({str(path)!r}):
    n += 1
    if o.accepted:
        ok += 1; size += len(o.payload)
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "records": n, "accepted": ok, "payload_mb": size / 1e6,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
""", tree)


def time_pandas(path: Path) -> float:
    return _run(f"""
import json, time, warnings, pandas as pd
warnings.simplefilter("ignore")
t = time.perf_counter()
pd.read_csv({str(path)!r}, sep="!#", engine="python", header=None, encoding="cp1252", dtype=str)
print(json.dumps({{"seconds": time.perf_counter() - t}}))
""")["seconds"]


def time_stages(path: Path) -> dict[str, float]:
    """µs per listing of each stage alone, on the records and bodies of the same feed."""
    return _run(f"""
import json, time
from etl.extract.poliris import read_poliris
from etl.mapping import FeedContext, load_mapping
from etl.model.canonical import payload_and_hash
from etl.model.check import check_body
from etl.pipeline import Converter, AgencyOptions
from etl.validate.portals import evaluate

src = {str(path)!r}
def clock(fn, items):
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t)
    return best / len(items) * 1e6

feed = read_poliris(src)
records = list(feed.records())
options = AgencyOptions()
converter = Converter(load_mapping("poliris"), dict(feed.columns), feed.label, lambda _a: options,
                      blank_markers=feed.format.blank_markers)
base = FeedContext()
context = lambda r: converter.feed_context(r.agency_id, base)
mapped = [converter.compiled.apply(r, context(r)) for r in records]
outcomes = [converter.convert(r, base) for r in records]
bodies = [o.body for o in outcomes if o.body is not None]
out = {{
    "extract (decode, split, record)": clock(
        lambda s: sum(1 for _ in read_poliris(s).records()), [src]) / len(records),
    "map (generated mapping)": clock(lambda r: converter.compiled.apply(r, context(r)), records),
    "portal rules": clock(lambda b: evaluate(b, b["portals"], options.portal_rules), bodies),
    "schema check": clock(check_body, bodies),
    "serialise + hash": clock(payload_and_hash, bodies),
    "convert per record (all but extract)": clock(lambda r: converter.convert(r, base), records),
}}
print(json.dumps(out))
""")


def compare(rev: str, count: int, rounds: int) -> None:
    """This tree against ``rev`` on the same feed, rounds alternated (this VM's speed drifts)."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "-q", "--detach", str(base), rev], check=True)
        try:
            feed = make_feed(Path(tmp) / "Annonces.csv", count)
            times: dict[str, list[float]] = {"head": [], rev: [], "pandas": []}
            for _ in range(rounds):
                times["head"].append(time_convert(feed)["seconds"])
                times[rev].append(time_convert(feed, base)["seconds"])
                times["pandas"].append(time_pandas(feed))
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(base)], check=False)
    pandas_s = min(times["pandas"])
    for name in ("head", rev):
        best = min(times[name])
        print(f"{name:>10}: best {best:.2f} s ({count / best:,.0f} listings/s), ratio to pandas {best / pandas_s:.2f}"
              f"   rounds {', '.join(f'{t:.2f}' for t in times[name])}")
    print(f"    pandas: best {pandas_s:.2f} s; head / {rev} = {min(times['head']) / min(times[rev]):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also time this git revision, alternating rounds in one run")
    args = parser.parse_args()
    if args.against:
        return compare(args.against, args.listings, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        small = make_feed(Path(tmp) / "small.csv", args.listings // 4)
        big = make_feed(Path(tmp) / "Annonces.csv", args.listings)
        mb = big.stat().st_size / 1e6
        runs, pandas_runs = [], []
        for _ in range(args.rounds):
            runs.append(time_convert(big))
            pandas_runs.append(time_pandas(big))
        ours_small = time_convert(small)
        stages = time_stages(big)
    ours = min(runs, key=lambda r: r["seconds"])
    pandas_s = min(pandas_runs)
    n = ours["records"]
    rate = n / ours["seconds"]
    per_listing = ours["seconds"] / n * 1e6
    budget = min(1e6 / 10_000, 0.5 * pandas_s / n * 1e6)
    print(f"feed: {n} listings, {mb:.1f} MB (cp1252, 334 fields, trailing !#); best of {args.rounds} rounds")
    print(f"convert: {ours['seconds']:.2f} s → {rate:,.0f} listings/s ({ours['accepted']} accepted, "
          f"{ours['payload_mb']:.1f} MB of payloads)   budget ≥ 10,000/s")
    print(f"pandas read_csv(sep='!#', engine='python'): {pandas_s:.2f} s → "
          f"ratio ours/pandas = {ours['seconds'] / pandas_s:.2f}   budget ≤ 0.5")
    ours_all = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    print(f"  all rounds: ours {ours_all} s; pandas {', '.join(f'{p:.2f}' for p in pandas_runs)} s")
    print(f"peak RSS: {ours_small['peak_rss_mb']:.0f} MB at {ours_small['records']} listings, "
          f"{ours['peak_rss_mb']:.0f} MB at {n} (flat = streaming)")
    print(f"per listing: {per_listing:.0f} µs; the budget allows {budget:.0f} µs. Stages alone, µs per listing:")
    for stage, us in stages.items():
        print(f"  {stage:<38} {us:7.1f}")


if __name__ == "__main__":
    main()
