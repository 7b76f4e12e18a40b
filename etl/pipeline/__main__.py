"""``python -m etl.pipeline plan|run|status`` — the nightly commands alone (a lighter start than the full CLI)."""

from __future__ import annotations

import argparse
import sys

from etl.pipeline.cli import add_parsers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.pipeline")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
