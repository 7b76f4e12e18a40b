"""Convert benchmark: parse → map → validate → serialize on generated Poliris feeds.

At each size (``--sizes``, default 20,000 and 100,000 listings) it times, in one run:
``pandas.read_csv(sep="!#", engine="python")`` merely reading the file, convert with one
process (``--workers 1``) and convert with every usable core, and samples the peak memory of
the whole process tree (the sum of the processes' PSS: pages shared by forked workers count
once). Budget (issue 14): all cores ≥ 10,000 listings/s and ≤ 0.5× pandas' read; 2 workers
≥ 1.7× one; the tree's peak ≤ 2× one process's, and flat from the small size to the large.
``--stages`` also prints what each stage costs per listing, in one process.

Each measurement runs in a fresh process; pandas, one process and all cores alternate for
``--rounds`` rounds and the fastest of each is kept, because the speed of a shared VM drifts
by tens of percent within a minute and a single run can land on either side of a drift.

    uv run python benchmarks/bench_convert.py [--sizes 20000 100000] [--rounds 2] [--stages]
    uv run python benchmarks/bench_convert.py --against REV [--listings 20000]   # one process, two trees
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from etl.extract.poliris.writer import write_annonces
from etl.feedgen import listings


def make_feed(path: Path, count: int) -> Path:
    agencies = ("agence-paris", "agence-lyon", "agence-nice", "agence-bordeaux")
    write_annonces(path, listings(count, agencies=agencies, seed=7), encoding="cp1252", newline="\n",
                   width=334, trailing_separator=True)
    return path


def _run(code: str, tree: Path | None = None) -> dict[str, float]:
    """Run ``code`` in a fresh process, sampling the peak PSS of its process tree meanwhile."""
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree is not None else None
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tree)
    peak = 0.0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        for p in [root, *root.children(recursive=True)]:
            try:
                total += p.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak = max(peak, total / 2**20)
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(err)
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_mb"] = peak
    return result


def time_convert(path: Path, tree: Path | None = None, workers: int = 1) -> dict[str, float]:
    """The whole convert, serialised payloads included, as the convert command runs it (bodies not
    kept); a fresh process. ``tree``: another checkout to time instead of this one (``--against``)."""
    if tree is not None:  # an older tree: its own convert(), one process
        call = f"convert({str(path)!r})"
        imports = "from etl.pipeline import convert"
    else:
        call = f"convert_feed(*open_source({str(path)!r}), workers={workers}, keep_bodies=False)"
        imports = "from etl.pipeline.convert import convert_feed, open_source"
    return _run(f"""
import json, resource, time
{imports}
t = time.perf_counter(); n = ok = size = 0
for o in {call}:
    n += 1
    if o.accepted:
        ok += 1; size += len(o.payload)
dt = time.perf_counter() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": dt, "records": n, "accepted": ok, "payload_mb": size / 1e6,
                   "peak_rss_mb": me.ru_maxrss / 1024, "cpu_self": me.ru_utime + me.ru_stime,
                   "cpu_workers": kids.ru_utime + kids.ru_stime}}))
""", tree)


def time_pandas(path: Path) -> dict[str, float]:
    return _run(f"""
import json, time, warnings, pandas as pd
warnings.simplefilter("ignore")
t = time.perf_counter()
c = time.process_time()
pd.read_csv({str(path)!r}, sep="!#", engine="python", header=None, encoding="cp1252", dtype=str)
print(json.dumps({{"seconds": time.perf_counter() - t, "cpu": time.process_time() - c}}))
""")


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
                times["pandas"].append(time_pandas(feed)["seconds"])
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(base)], check=False)
    pandas_s = min(times["pandas"])
    for name in ("head", rev):
        best = min(times[name])
        print(f"{name:>10}: best {best:.2f} s ({count / best:,.0f} listings/s), ratio to pandas {best / pandas_s:.2f}"
              f"   rounds {', '.join(f'{t:.2f}' for t in times[name])}")
    print(f"    pandas: best {pandas_s:.2f} s; head / {rev} = {min(times['head']) / min(times[rev]):.3f}")


def measure(count: int, rounds: int, cores: int, tmp: Path) -> dict[str, object]:
    """pandas, one process and every core on one feed, alternated; the best of each."""
    feed = make_feed(tmp / f"Annonces-{count}.csv", count)
    runs: dict[str, list[dict[str, float]]] = {"pandas": [], "one": [], "all": []}
    for _ in range(rounds):
        runs["pandas"].append(time_pandas(feed))
        runs["one"].append(time_convert(feed, workers=1))
        runs["all"].append(time_convert(feed, workers=cores))
    feed.unlink()
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    return {"count": count, "mb": 0.0, "runs": runs, "best": best}


def report(results: list[dict[str, object]], cores: int, rounds: int) -> None:
    print(f"convert with 1 process and with all {cores} usable cores against pandas' read; best of {rounds} "
          "alternated rounds; tree = peak PSS of the process tree (MB)")
    print(f"{'listings':>9} {'pandas s':>9} {'1 proc s':>9} {'/s':>7} {'×pandas':>8} {'all s':>7} {'/s':>7} "
          f"{'×pandas':>8} {'speed-up':>9} {'/core':>6} {'tree 1':>7} {'tree all':>9}")
    for r in results:
        best = r["best"]
        assert isinstance(best, dict)
        n = best["one"]["records"]
        p, one, many = best["pandas"]["seconds"], best["one"]["seconds"], best["all"]["seconds"]
        print(f"{n:>9,} {p:>9.2f} {one:>9.2f} {n / one:>7,.0f} {one / p:>8.2f} {many:>7.2f} {n / many:>7,.0f} "
              f"{many / p:>8.2f} {one / many:>8.2f}× {one / many / cores:>6.2f} {best['one']['tree_peak_mb']:>7.0f} "
              f"{max(x['tree_peak_mb'] for x in r['runs']['all']):>9.0f}")  # type: ignore[index]
        for name in ("pandas", "one", "all"):
            rounds_s = ", ".join(f"{x['seconds']:.2f}" for x in r["runs"][name])  # type: ignore[index]
            print(f"{'':>9} rounds {name}: {rounds_s}")
        # CPU time does not depend on what else the machine runs: what the cores would need, idle.
        c1 = best["one"]["cpu_self"]
        cp, cw = best["all"]["cpu_self"], best["all"]["cpu_workers"]
        idle = max(cp, cw / cores)
        pc = best["pandas"]["cpu"]
        print(f"{'':>9} CPU s: pandas {pc:.2f}; one process {c1:.2f}; all cores: conductor {cp:.2f} + workers "
              f"{cw:.2f} (+{(cp + cw) / c1 - 1:.0%} work) → on idle cores ≈ {idle:.2f} s = {n / idle:,.0f}/s, "
              f"{c1 / idle:.2f}× one process, {idle / pc:.2f}× pandas' CPU time")
    last = results[-1]["best"]
    first = results[0]["best"]
    assert isinstance(last, dict) and isinstance(first, dict)
    n = last["all"]["records"]
    rate = n / last["all"]["seconds"]
    ratio = last["all"]["seconds"] / last["pandas"]["seconds"]
    speedup = last["one"]["seconds"] / last["all"]["seconds"]
    tree = max(max(x["tree_peak_mb"] for x in r["runs"]["all"]) for r in results)  # type: ignore[index]
    one_tree = max(r["best"]["one"]["tree_peak_mb"] for r in results)  # type: ignore[index]
    growth = (max(x["tree_peak_mb"] for x in results[-1]["runs"]["all"])  # type: ignore[index]
              / max(x["tree_peak_mb"] for x in results[0]["runs"]["all"]))  # type: ignore[index]
    print(f"targets at {n:,} listings: all cores {rate:,.0f}/s (≥ 10,000: {'met' if rate >= 10_000 else 'MISSED'}); "
          f"{ratio:.2f}× pandas (≤ 0.5: {'met' if ratio <= 0.5 else 'MISSED'}); {cores} workers {speedup:.2f}× one "
          f"(≥ 1.7: {'met' if speedup >= 1.7 else 'MISSED'}); tree peak {tree:.0f} MB = {tree / one_tree:.2f}× one "
          f"process (≤ 2: {'met' if tree <= 2 * one_tree else 'MISSED'}), ×{growth:.2f} from the smallest size to the largest")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--stages", action="store_true", help="also the cost of each stage, per listing")
    parser.add_argument("--listings", type=int, default=20_000, help="feed size for --against and --stages")
    parser.add_argument("--against", metavar="REV", help="time this git revision and this tree, one process, alternating")
    args = parser.parse_args()
    if args.against:
        return compare(args.against, args.listings, args.rounds)
    print(f"machine: {os.cpu_count()} CPUs, {args.workers} usable; load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(count, args.rounds, args.workers, Path(tmp)) for count in args.sizes]
        report(results, args.workers, args.rounds)
        if args.stages:
            stages = time_stages(make_feed(Path(tmp) / "stages.csv", args.listings))
            print(f"stages alone, one process, µs per listing ({args.listings:,} listings):")
            for stage, us in stages.items():
                print(f"  {stage:<38} {us:7.1f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on this machine slows every figure)")


if __name__ == "__main__":
    main()
