"""Excel and CSV benchmark: which reader, and what a whole convert costs.

1. The reader comparison the spreadsheet format rests on: ``python-calamine`` (Rust) against
   ``openpyxl`` read-only and ``pandas.read_excel(engine="calamine")``, each merely reading
   every cell of the same 20,000-row workbook (template layout, ``etl/sheetgen.py``).
2. ``convert`` (read, map, check, write nothing) of the same listings as .xlsx and as .csv,
   with peak RSS; the target: an Excel convert no slower than openpyxl read-only merely reading.

Each measurement runs in a fresh process (peak RSS is the process's); the fastest of
``--rounds`` is kept, as the speed of a shared VM drifts.

    uv run python benchmarks/bench_excel.py [--listings 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from etl.sheetgen import csv_text, sheet_rows, write_xlsx

# VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork + exec.
_RSS = "rss = next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')) / 1024"

READERS = {
    "calamine": """
from python_calamine import CalamineWorkbook
wb = CalamineWorkbook.from_path(PATH)
n = sum(1 for _ in wb.get_sheet_by_index(0).iter_rows())
""",
    "openpyxl read-only": """
from openpyxl import load_workbook
wb = load_workbook(PATH, read_only=True, data_only=True)
n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
wb.close()
""",
    "pandas calamine": """
import pandas as pd
n = len(pd.read_excel(PATH, engine="calamine", header=None, dtype=object))
""",
}

CONVERT = """
from etl.pipeline import convert
n = sum(1 for o in convert(PATH, mapping=MAPPING) if o.accepted)
"""


def _time(body: str, path: Path, mapping: str = "") -> dict[str, float]:
    code = (f"import json, time\nPATH = {str(path)!r}\nMAPPING = {mapping!r}\nt0 = time.perf_counter()\n{body}\n"
            f"dt = time.perf_counter() - t0\n{_RSS}\nprint(json.dumps({{'seconds': dt, 'rows': n, 'rss_mb': rss}}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best(body: str, path: Path, rounds: int, mapping: str = "") -> dict[str, float]:
    return min((_time(body, path, mapping) for _ in range(rounds)), key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        xlsx, csv_path = Path(tmp) / "stock.xlsx", Path(tmp) / "stock.csv"
        agencies = ("agence-paris", "agence-lyon", "agence-nice")
        write_xlsx(xlsx, sheet_rows(args.listings, agencies=agencies))
        csv_path.write_bytes(csv_text(sheet_rows(args.listings, agencies=agencies)).encode("cp1252"))
        print(f"{args.listings} listings: {xlsx.stat().st_size / 1e6:.1f} MB .xlsx, {csv_path.stat().st_size / 1e6:.1f} MB .csv")
        print("\nreading every cell (fastest of {} rounds):".format(args.rounds))
        results = {name: best(body, xlsx, args.rounds) for name, body in READERS.items()}
        for name, r in results.items():
            print(f"  {name:20} {r['seconds']:6.2f} s  {args.listings / r['seconds']:8.0f} rows/s  peak RSS {r['rss_mb']:5.0f} MB")
        print("\nconvert (read, map, check):")
        root = Path(__file__).resolve().parents[1] / "mappings"
        for label, path, mapping in (("excel", xlsx, "generic-excel"), ("csv", csv_path, "generic-csv")):
            r = best(CONVERT, path, args.rounds, str(root / f"{mapping}.yaml"))
            print(f"  {label:20} {r['seconds']:6.2f} s  {args.listings / r['seconds']:8.0f} listings/s  "
                  f"peak RSS {r['rss_mb']:5.0f} MB  ({r['rows']} accepted)")
            if label == "excel":
                ratio = r["seconds"] / results["openpyxl read-only"]["seconds"]
                print(f"  {'':20} Excel convert / openpyxl read-only merely reading: {ratio:.2f} (target ≤ 1)")


if __name__ == "__main__":
    main()
