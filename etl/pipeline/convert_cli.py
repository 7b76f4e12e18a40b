"""``classifieds-etl convert SOURCE --out DIR``: extract, map, validate; no network.

Writes ``payloads.jsonl`` (one line per accepted listing: the exact body that
would be sent), ``rejections.csv``, ``report.html`` (+ one per agency),
``report.xlsx`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from etl.errors import EXIT_OK, EXIT_SOURCE, EXIT_USAGE, ConfigError, SourceUnreadable
from etl.log import RunLog
from etl.outcome import Outcome
from etl.extract.registry import AUTO, formats
from etl.pipeline.convert import convert_feed, open_source
from etl.pipeline.convert_workers import usable_cores
from etl.records import FeedFacts
from etl.report.atomic import atomic_path
from etl.report.outdir import OutputDirError, prepare_out_dir
from etl.report.summary import ConvertSummary
from etl.report.writers import write_reports

PAYLOADS_NAME = "payloads.jsonl"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("convert", help="extract, map and validate a feed; write payloads and reports")
    p.add_argument("source", nargs="+", type=Path, help="feed file, folder or ZIP (several allowed)")
    p.add_argument("--format", default=AUTO, choices=(AUTO, *formats()),
                   help="source format (default: auto, detected from the content)")
    p.add_argument("--mapping", help="mapping name or YAML path (default: the format's own)")
    p.add_argument("--agency", help="agency id: fills an empty field 1, and keeps only that agency's listings")
    p.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    p.add_argument("--language", choices=("fr", "en"), default="fr", help="language of the reports")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    add_workers_option(p)
    p.set_defaults(func=cmd_convert)


def add_workers_option(p: Any) -> None:
    p.add_argument("--workers", type=at_least(1, "nombre de processus"), default=None, metavar="N",
                   help="processes converting a large feed (default: the machine's usable cores; 1: one process)")


def at_least(minimum: float, what: str, kind: type = int) -> Callable[[str], Any]:
    """An argparse ``type=``: a number ≥ ``minimum``, else an error naming the value and what it counts."""
    def parse(text: str) -> Any:
        try:
            n = kind(text)
        except ValueError:
            n = None
        if n is None or n < minimum:
            raise argparse.ArgumentTypeError(f"{what} invalide : {text} ({'un entier' if kind is int else 'un nombre'} "
                                             f"≥ {minimum:g})")
        return n
    return parse


def write_payload_lines(outcomes: Iterable[Outcome], path: Path) -> Iterable[Outcome]:
    """Pass outcomes through, writing each accepted body as one JSON line (atomically at the end)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        for outcome in outcomes:
            if outcome.accepted and outcome.key is not None:
                assert outcome.payload is not None, "an accepted outcome carries its payload"
                key = orjson.dumps({"agency_id": outcome.key.agency_id, "source_key": outcome.key.source_key})
                out.write(b'{"listing_key":%b,"body":%b}\n' % (key, outcome.payload))
            yield outcome


def run_convert(sources: list[Path], out_dir: Path, *, mapping: str | None = None, agency: str | None = None,
                log: RunLog | None = None, language: str = "fr", format: str = AUTO,
                workers: int | None = None, chunk_bytes: int | None = None) -> tuple[int, ConvertSummary]:
    log = log or RunLog()
    workers = workers or usable_cores()
    summary = ConvertSummary(command="convert")
    try:
        prepare_out_dir(out_dir)
    except OutputDirError as exc:
        log.event("out_dir", str(exc), level="error")
        return EXIT_USAGE, summary
    started = time.monotonic()

    def progress(records: int, done: int, total: int) -> None:
        log.progress_to(done, records, total)

    def outcomes() -> Iterable[Outcome]:
        for source in sources:
            feed, spec = open_source(source, mapping=mapping, format=format, agency_id=agency)
            stats = FeedFacts(source=str(source))
            log.event("source", f"lecture de {source} : {feed.format.title} (format {feed.format.name}), "
                      f"mapping {spec.mapping}", source=str(source), format=feed.format.name, mapping=spec.mapping)
            log.start_progress(f"conversion de {source.name}", 0, unit="annonces")
            try:
                # Bodies are not kept: payloads.jsonl is written from the payloads, and the reports
                # show only those of listings with something to say (kept).
                yield from summary.add_all(convert_feed(feed, spec, only_agency=agency, stats=stats, workers=workers,
                                                        keep_bodies=False, chunk_bytes=chunk_bytes,
                                                        progress=progress))
            finally:
                log.end_progress()
            summary.add_source(source, stats)
            for problem in stats.problems:
                log.event("source_incomplete" if not stats.complete else "source_note", f"{source}: {problem}",
                          level="warning")

    try:
        for _ in write_payload_lines(outcomes(), out_dir / PAYLOADS_NAME):
            pass
    except SourceUnreadable as exc:
        log.event("source_unreadable", str(exc), level="error")
        return EXIT_SOURCE, summary
    except ConfigError as exc:
        log.event("config_error", str(exc), level="error")
        return EXIT_USAGE, summary
    summary.add_duration("convert", time.monotonic() - started)
    lang = "en" if language == "en" else "fr"
    paths = write_reports(summary, out_dir, lang=lang, languages=dict.fromkeys((a.agency_id for a in summary.agencies), lang),
                          keep=(PAYLOADS_NAME,))
    totals = summary.totals
    log.event("done", f"{totals.read} annonces lues : {totals.accepted} acceptées, {totals.rejected} rejetées ; "
                      f"rapports dans {out_dir}", read=totals.read, accepted=totals.accepted,
              rejected=totals.rejected, report=str(paths["html"]))
    return EXIT_OK, summary


def cmd_convert(args: argparse.Namespace) -> int:
    code, _ = run_convert(list(args.source), args.out, mapping=args.mapping, agency=args.agency,
                          log=RunLog(args.log_format), language=args.language, format=args.format,
                          workers=args.workers)
    return code
