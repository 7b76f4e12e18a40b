"""classifieds-etl: agency listing exports → AVIV Classified API v4."""

from __future__ import annotations

import argparse
import sys

from etl import __version__


def build_parser() -> argparse.ArgumentParser:
    from etl.pipeline.convert_cli import add_parser as add_convert
    from etl.demo import add_parser as add_demo
    from etl.pipeline.mapping_tools.cli import add_parser as add_mapping
    from etl.pipeline.cli import add_parsers as add_load_parsers
    from etl.report.cli import add_parser as add_report
    from etl.sandbox.cli import add_parser as add_sandbox

    parser = argparse.ArgumentParser(prog="classifieds-etl", description=__doc__)
    parser.add_argument("--version", action="version", version=f"classifieds-etl {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_demo(subparsers)
    add_convert(subparsers)
    add_load_parsers(subparsers)
    add_sandbox(subparsers)
    add_report(subparsers)
    add_mapping(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        sys.stderr.write("interrompu\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
