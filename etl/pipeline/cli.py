"""``classifieds-etl plan | run | status`` (registered by ``etl/cli.py`` through ``add_parsers``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

from etl.agencies import LoadedConfig, load_config
from etl.log import RunLog
from etl.errors import EXIT_USAGE, ConfigError
from etl.pipeline.convert_cli import add_workers_option
from etl.pipeline.run import RunOptions, RunResult, run
from etl.report.outdir import OutputDirError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, type=Path, help="agencies.yaml")
    p.add_argument("--agency", help="only this agency (default: every enabled agency)")
    p.add_argument("--state", help="state store URL (overrides the configuration)")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr")


def _one_off(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", type=Path, help="a one-off import: publish this file instead of the agency's "
                                                "configured source (needs --agency)")
    p.add_argument("--partial", action="store_true",
                   help="the file is a subset of the agency's listings: create and update only, never delete")


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("plan", help="what `run` would send, per agency; no API call")
    _common(p)
    p.add_argument("--out", type=Path, help="reports directory (default: <reports_dir>/plan-<timestamp>)")
    _one_off(p)
    add_workers_option(p)
    p.set_defaults(func=cmd_plan)

    r = subparsers.add_parser("run", help="the nightly job: convert, plan, apply, report")
    _common(r)
    r.add_argument("--dry-run", action="store_true", help="plan and write the reports of what would be done; send nothing")
    r.add_argument("--allow-mass-delete", action="store_true",
                   help="apply even if the feed looks empty/truncated or deletes more than the configured share")
    r.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run of the same agency to finish (default: exit at once)")
    r.add_argument("--out", type=Path, help="reports directory (default: <reports_dir>/run-<timestamp>)")
    r.add_argument("--queue", action="store_true",
                   help="enqueue the agencies for the workers (`classifieds-etl worker`) instead of running them here")
    _one_off(r)
    add_workers_option(r)
    r.set_defaults(func=cmd_run)

    s = subparsers.add_parser("status", help="refresh publication statuses; list what needs action")
    _common(s)
    s.add_argument("--out", type=Path, help="reports directory (default: <reports_dir>/status-<timestamp>)")
    s.set_defaults(func=cmd_status)

    from etl.pipeline.queue_cli import add_parsers as add_queue_parsers
    from etl.pipeline.webhook_cli import add_parsers as add_webhook_parsers
    add_queue_parsers(subparsers)
    add_webhook_parsers(subparsers)


def load_or_report(path: Path, log: RunLog, err: TextIO) -> LoadedConfig | None:
    """The configuration, or None once its errors are said (a JSON log ships JSON lines only)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        if log.fmt == "json":
            log.event("config_error", f"configuration invalide : {exc}", level="error")
        else:
            err.write(f"configuration invalide :\n{exc}\n")
        return None


def print_table(result: RunResult, out: TextIO, *, planned: bool = False) -> None:
    head = ("agence", "lues", "créées", "màj", "suppr.", "inchangées", "conservées", "rejetées", "échecs",
            "incertaines", "code")
    if planned:
        head = ("agence", "lues", "à créer", "à màj", "à suppr.", "inchangées", "conservées", "rejetées", "",
                "incertaines", "code")
    rows = [head]
    for a in result.agencies:
        c = a.counts()
        if planned:
            nums = (c.get("creates", 0), c.get("updates", 0), c.get("deletes", 0), c.get("unchanged", 0),
                    c.get("kept", 0), c.get("rejected", 0), "", c.get("deferred", 0))
        else:
            nums = (c["created"], c["updated"], c["deleted"], c["unchanged"], c.get("kept", 0),
                    c.get("rejected", 0), c["failed"], c.get("in_doubt", 0))
        rows.append((a.agency_id, c.get("read", 0), *nums, a.exit_code))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        out.write("  ".join(str(v).ljust(w) if j == 0 else str(v).rjust(w) for j, (v, w) in enumerate(zip(r, widths)))
                  .rstrip() + "\n")
        if i == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    for a in result.agencies:
        if a.message:
            out.write(f"\n[{a.agency_id}] {a.message}\n")
        for f in a.failures[:50]:
            out.write(f"  échec {f.op} {f.source_key} ({f.offerer_estate_id}) traceparent={f.traceparent}\n"
                      f"    {f.detail}\n")
        if len(a.failures) > 50:
            out.write(f"  … et {len(a.failures) - 50} autres (voir load.json)\n")


TOTALS = ("read", "created", "updated", "deleted", "unchanged", "kept", "rejected", "failed", "in_doubt",
           "over_quota")
_PLANNED = {"created": "creates", "updated": "updates", "deleted": "deletes"}


def run_outcome(result: RunResult | None, exit_code: int, *, planned: bool = False) -> dict[str, Any]:
    """The run's totals and each agency's outcome: the fields of the JSON log's final event."""
    from etl.pipeline.reporting import classify

    agencies = []
    totals = dict.fromkeys(TOTALS, 0)
    for a in result.agencies if result is not None else []:
        c = a.counts()
        counts = {k: int(c.get(_PLANNED.get(k, k) if planned else k, 0) or 0) for k in TOTALS}
        for k, v in counts.items():
            totals[k] += v
        agencies.append({"agency": a.agency_id, "outcome": str(classify(a)), "exit_code": a.exit_code,
                         "message": a.message, "duration_s": round(a.duration_s, 3), **counts})
    return {"exit_code": exit_code, "planned": planned, "agencies_total": len(agencies),
            "agencies_failed": sum(1 for a in agencies if a["exit_code"] != 0), "totals": totals,
            "agencies": agencies, "reports": str(result.out_dir) if result is not None and result.out_dir else None}


def usage_exit(log: RunLog, err: TextIO, exc: Exception | None, *, planned: bool = False) -> int:
    """Exit 2: ``exc`` said (if not said already), and the JSON log closed like any run's."""
    if exc is not None:
        if log.fmt == "json":
            log.event("config_error", str(exc), level="error")
        else:
            err.write(f"{exc}\n")
    return log_end(log, None, EXIT_USAGE, planned=planned)


def log_end(log: RunLog, result: RunResult | None, exit_code: int, *, planned: bool = False) -> int:
    """Close a JSON log with one event a log shipper can alert on; returns ``exit_code``.

    Text logs end with the printed table instead (it carries the same figures).
    """
    if log.fmt == "json":
        fields = run_outcome(result, exit_code, planned=planned)
        log.event("run_finished", f"terminé : code de sortie {exit_code}, {fields['agencies_failed']} agences "
                  f"en échec sur {fields['agencies_total']}", level="info" if exit_code == 0 else "error", **fields)
    return exit_code


def cmd_plan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # read at call time: tests capture them
    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None, planned=True)
    try:
        result = run(cfg, args.agency, RunOptions(dry_run=True, state_url=args.state, out_dir=getattr(args, "out", None),
                                                  source=args.source, partial=args.partial,
                                                  workers=args.workers), log)
    except (ConfigError, OutputDirError) as exc:
        return usage_exit(log, err, exc, planned=True)
    print_table(result, out, planned=True)
    if result.out_dir:
        out.write(f"\nrapports : {result.out_dir}\n")
    return log_end(log, result, result.exit_code, planned=True)


def cmd_run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # read at call time: tests capture them
    if getattr(args, "queue", False):
        if args.dry_run or args.source is not None or args.partial or args.out is not None or args.wait_lock:
            err.write("--queue met les agences en file pour les workers : sans --dry-run, --source, --partial, "
                      "--out ni --wait-lock (un import ponctuel se lance sans --queue)\n")
            return EXIT_USAGE
        from etl.pipeline.queue_cli import enqueue_night
        return enqueue_night(args, out, err)
    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None, planned=args.dry_run)
    opts = RunOptions(dry_run=args.dry_run, allow_mass_delete=args.allow_mass_delete, wait_lock=args.wait_lock,
                      out_dir=args.out, state_url=args.state, source=args.source, partial=args.partial,
                      workers=args.workers)
    try:
        result = run(cfg, args.agency, opts, log)
    except (ConfigError, OutputDirError) as exc:
        return usage_exit(log, err, exc, planned=args.dry_run)
    print_table(result, out, planned=args.dry_run)
    if result.out_dir:
        out.write(f"\nrapports : {result.out_dir}\n")
    for failed in result.mail.get("failed", []):
        out.write(f"e-mail non envoyé (gardé dans la boîte d'envoi) : {failed['file']} — {failed['reason']}\n")
    return log_end(log, result, result.exit_code, planned=args.dry_run)


def cmd_status(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # read at call time: tests capture them
    from etl.pipeline.status import refresh_statuses

    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None)
    try:
        return asyncio.run(refresh_statuses(cfg, args.agency, state_url=args.state, out=out, log=log,
                                            out_dir=getattr(args, "out", None)))
    except (ConfigError, OutputDirError) as exc:
        return usage_exit(log, err, exc)
