"""``classifieds-etl mapping suggest FILE`` and ``classifieds-etl mapping check MAPPING FILE``."""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from etl.errors import ConfigError, MappingError, SourceUnreadable, UnsupportedFeed

EXIT_USAGE, EXIT_SOURCE = 2, 4


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("mapping", help="onboard a spreadsheet or an XML feed: draft a mapping, then check it")
    sub = p.add_subparsers(dest="mapping_command", required=True)
    s = sub.add_parser("suggest", help="print a draft mapping for a CSV, Excel or XML file (redirect it to mappings/x.yaml)")
    s.add_argument("file", type=Path)
    s.add_argument("--rows", type=int, default=200, help="rows read to judge each column's content")
    s.set_defaults(func=cmd_suggest)
    c = sub.add_parser("check", help="convert the first rows with a mapping; coverage per AVIV field")
    c.add_argument("mapping")
    c.add_argument("file", type=Path)
    c.add_argument("--rows", type=int, default=100, help="rows converted")
    c.add_argument("--agency", help="agency of rows that name none")
    c.set_defaults(func=cmd_check)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"erreur : {message}\n")
    return code


def cmd_suggest(args: argparse.Namespace) -> int:
    from etl.extract.registry import identify
    from etl.pipeline.mapping_tools.suggest import suggest
    from etl.pipeline.mapping_tools.suggest_xml import suggest_xml

    try:
        container, fmt = identify(args.file)
        preview = getattr(fmt, "preview", None)
        if fmt.name == "xml":  # XML no dialect claims: paths under the record element
            draft, comments, _ = suggest_xml(container, source_name=args.file.name, rows=args.rows)
        elif preview is None:
            own = f" ; sa mapping intégrée ({fmt.default_mapping}.yaml) le lit déjà : copiez-la pour l'adapter" \
                if fmt.default_mapping else ""
            return _fail(f"{args.file.name} : {fmt.title}{own}.", EXIT_USAGE)
        else:
            headers, rows = preview(container, args.rows)
            draft, comments, _ = suggest(headers, rows, format=fmt.name, source_name=args.file.name)
    except (SourceUnreadable, UnsupportedFeed) as exc:
        return _fail(str(exc), EXIT_SOURCE)
    except (ConfigError, MappingError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    sys.stdout.write("".join(f"# {line}\n" if line else "#\n" for line in comments))
    sys.stdout.write(yaml.safe_dump(draft, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from etl.pipeline.mapping_tools.check import report
    from etl.pipeline import convert

    try:
        outcomes = islice(convert(args.file, mapping=args.mapping, agency_id=args.agency), args.rows)
        sys.stdout.write(report(outcomes) + "\n")
    except (SourceUnreadable, UnsupportedFeed) as exc:
        return _fail(str(exc), EXIT_SOURCE)
    except (ConfigError, MappingError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    return 0
