"""``classifieds-etl worker | schedule`` and ``run --queue``: the night on Procrastinate workers."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

from etl.agencies import LoadedConfig
from etl.errors import EXIT_OK, ConfigError
from etl.log import RunLog
from etl.pipeline.cli import TOTALS, load_or_report, usage_exit
from etl.pipeline.convert_cli import at_least
from etl.pipeline.queue import NightResult, enqueue, make_app, night_label


def add_parsers(subparsers: Any) -> None:
    w = subparsers.add_parser("worker", help="run agencies' jobs from the queue (PostgreSQL state store)")
    w.add_argument("--config", required=True, type=Path, help="agencies.yaml")
    w.add_argument("--state", help="state store URL (overrides the configuration)")
    w.add_argument("--concurrency", type=at_least(1, "nombre d'agences à la fois"), metavar="N", help="agencies run at once by this process "
                                                                "(default: queue.concurrency)")
    w.add_argument("--stall-timeout", type=at_least(2, "délai de reprise", float), metavar="SECONDS",
                   help="a job whose worker is silent this long goes to another worker (default: queue.stall_timeout)")
    w.add_argument("--until-empty", action="store_true",
                   help="stop once no job waits or runs, and exit with the night's code (cron, tests)")
    w.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr")
    w.set_defaults(func=cmd_worker)

    s = subparsers.add_parser("schedule", help="enqueue tonight's run of every enabled agency (or --agency)")
    s.add_argument("--config", required=True, type=Path, help="agencies.yaml")
    s.add_argument("--agency", help="only this agency")
    s.add_argument("--state", help="state store URL (overrides the configuration)")
    s.add_argument("--allow-mass-delete", action="store_true", help="the queued runs may exceed the delete guard")
    s.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr")
    s.set_defaults(func=cmd_schedule)


async def _enqueue(cfg: LoadedConfig, agency_id: str | None, state_url: str | None,
                   allow_mass_delete: bool) -> tuple[str, list[tuple[str, int | None]]]:
    from etl.load.state import StateStore

    app = make_app(cfg, state_url)  # refuses SQLite before anything is opened
    StateStore.open(state_url or cfg.state_url).close()  # the queue's tables come with our migrations
    night = night_label()
    async with app.open_async():
        return night, await enqueue(app, cfg, cfg.selected(agency_id), night, allow_mass_delete=allow_mass_delete)


def enqueue_night(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Enqueue the selected agencies (``schedule``, ``run --queue``); prints one line per agency."""
    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None)
    try:
        night, queued = asyncio.run(_enqueue(cfg, getattr(args, "agency", None), args.state, args.allow_mass_delete))
    except ConfigError as exc:
        return usage_exit(log, err, exc)
    for agency_id, job_id in queued:
        out.write(f"{agency_id}  " + (f"en file (tâche {job_id})" if job_id is not None
                                      else "déjà en file : la tâche en attente fera ce travail") + "\n")
    fresh = sum(1 for _, j in queued if j is not None)
    out.write(f"\nnuit {night} : {fresh} agences mises en file, {len(queued) - fresh} déjà en attente\n")
    log.event("enqueued", f"nuit {night} : {fresh} agences mises en file, {len(queued) - fresh} déjà en attente",
              night=night, queued=fresh, already_queued=len(queued) - fresh, exit_code=EXIT_OK,
              agencies=[{"agency": a, "job_id": j} for a, j in queued])
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    return enqueue_night(args, out or sys.stdout, err or sys.stderr)


def _print_night(results: list[NightResult], code: int, out: TextIO) -> None:
    for r in results:
        out.write(f"{r.night}  {r.agency_id}  {r.outcome}  code {r.exit_code}"
                  + (f" (essai {r.attempt})" if r.attempt > 1 else "") + (f" — {r.message}" if r.message else "") + "\n")
    out.write(f"\n{len(results)} agences, code de sortie {code}\n")


def night_event(log: RunLog, results: list[NightResult], code: int) -> None:
    """The JSON log's last line: the night's totals and each agency's outcome."""
    totals = dict.fromkeys(TOTALS, 0)  # the same keys as an inline run's event
    for r in results:
        for k in TOTALS:
            if isinstance(v := r.counts.get(k), (int, float)):
                totals[k] += int(v)
    log.event("run_finished", f"file vidée : code de sortie {code}, {sum(r.exit_code != 0 for r in results)} agences "
              f"en échec sur {len(results)}", level="info" if code == 0 else "error", exit_code=code,
              nights=sorted({r.night for r in results}), agencies_total=len(results),
              agencies_failed=sum(r.exit_code != 0 for r in results), totals=totals,
              agencies=[{"agency": r.agency_id, "night": r.night, "outcome": r.outcome, "exit_code": r.exit_code,
                         "attempts": r.attempt, "message": r.message, **r.counts} for r in results])


def cmd_worker(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from etl.pipeline.worker import WorkerSettings, work

    out, err = out or sys.stdout, err or sys.stderr
    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None)
    q = cfg.config.queue
    settings = WorkerSettings(concurrency=q.concurrency if args.concurrency is None else args.concurrency,
                              stall_timeout=q.stall_timeout if args.stall_timeout is None else args.stall_timeout,
                              until_empty=args.until_empty, state_url=args.state)
    try:
        code, results = asyncio.run(work(cfg, settings, log))
    except ConfigError as exc:
        return usage_exit(log, err, exc)
    if args.until_empty:
        _print_night(results, code, out)
    if log.fmt == "json":
        night_event(log, results, code)
    return code
