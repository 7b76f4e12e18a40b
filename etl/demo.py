"""``classifieds-etl demo``: the whole product on ``sample_feeds/`` against the embedded sandbox.

Night 1 publishes the sample feeds; night 2 runs on a changed copy (updates, deletes, most
listings unchanged, one listing broken but kept online). Reports go to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="two simulated nights on sample_feeds/ against the embedded sandbox")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="where reports go (default: ./demo-output)")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from etl.pipeline.demo import run_demo

    return run_demo(args.out, log_format=args.log_format)
