"""XML convert benchmark: parse → map → validate → serialize on generated Kyero, Ubiflow and Trovit feeds.

Prints, per dialect, listings/s and peak RSS at two feed sizes (memory must be flat in the feed
size), each measured in a fresh process. ``--huge`` also streams a 2 GB Kyero feed generated on
the fly (never on disk) through the safe parser alone and prints its RSS early and at the end.

    uv run python benchmarks/bench_xml.py [--listings 20000] [--huge]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from etl.extract.xml.writer import DIALECTS, write_feed

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_convert(path: Path, dialect: str) -> dict[str, float]:
    """The whole convert of one feed in a fresh process (its peak RSS is the converter's own)."""
    return _run(f"""
import json, resource, time
from etl.pipeline import convert
t = time.perf_counter(); n = ok = 0
for o in convert({str(path)!r}, mapping={dialect!r}):
    n += 1
    ok += o.accepted
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "records": n, "accepted": ok,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
""")


def huge() -> dict[str, float]:
    """2 GB through the safe streaming parser, generated while read (tests/test_xml_hostile.py)."""
    record = "<property><id>1</id><desc><fr>" + "texte " * 150 + "</fr></desc></property>\n"
    count = (2 << 30) // len(record) + 1
    return _run(f"""
import json, time
from tests.test_xml_hostile import _stream_and_measure
t = time.perf_counter()
seen, early, late, size = _stream_and_measure({count}, {record!r})
print(json.dumps({{"records": seen, "gigabytes": size / 2**30, "seconds": time.perf_counter() - t,
                   "rss_after_2000_mb": early, "rss_at_end_mb": late}}))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--huge", action="store_true", help="also stream a 2 GB feed (about a minute)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'dialecte':<9} {'annonces':>9} {'acceptées':>9} {'secondes':>9} {'annonces/s':>11} "
              f"{'RSS max (Mo)':>13} {'RSS max à 1/4 (Mo)':>19}")
        for dialect in DIALECTS:
            small = write_feed(Path(tmp) / f"{dialect}-small.xml", dialect, args.listings // 4)
            full = write_feed(Path(tmp) / f"{dialect}.xml", dialect, args.listings)
            quarter = time_convert(small, dialect)
            r = time_convert(full, dialect)
            print(f"{dialect:<9} {r['records']:>9.0f} {r['accepted']:>9.0f} {r['seconds']:>9.2f} "
                  f"{r['records'] / r['seconds']:>11,.0f} {r['peak_rss_mb']:>13.0f} {quarter['peak_rss_mb']:>19.0f}")
    if args.huge:
        h = huge()
        print(f"\n2 Go en flux : {h['records']:,.0f} annonces, {h['gigabytes']:.2f} Go en {h['seconds']:.0f} s ; "
              f"RSS {h['rss_after_2000_mb']:.0f} Mo après 2 000 annonces, {h['rss_at_end_mb']:.0f} Mo à la fin")


if __name__ == "__main__":
    main()
