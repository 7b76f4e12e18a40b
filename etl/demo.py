"""``classifieds-etl demo``: the whole product on the embedded sample feeds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SAMPLE_FEEDS = Path(__file__).resolve().parents[1] / "sample_feeds"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="run the product on sample_feeds/ and write the reports")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="where reports go (default: ./demo-output)")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_demo)


def sample_sources() -> list[Path]:
    return sorted(p for p in SAMPLE_FEEDS.iterdir() if p.suffix.lower() == ".zip" or p.is_dir()
                  or p.name.lower() == "annonces.csv")


def cmd_demo(args: argparse.Namespace) -> int:
    from etl.convert_cli import run_convert
    from etl.load.log import RunLog

    code, summary = run_convert(sample_sources(), args.out, log=RunLog(args.log_format))
    if code == 0:
        print(f"\nRapports : {(args.out / 'report.html').resolve()}")
        for a in summary.agencies:
            print(f"  {a.agency_id:20} lues {a.read:4}  acceptées {a.accepted:4}  rejetées {a.rejected:4}")
    return code
