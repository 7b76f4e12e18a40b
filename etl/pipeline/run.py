"""The nightly job of one agency: lock → resolve the journal → convert → plan → guard → apply.

``run_agency`` is the unit a scheduler (cron, or a task-queue worker) runs;
``run`` does every selected agency of a configuration in one process with
one HTTP client, and writes the reports.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from etl.errors import (EXIT_FAILED, EXIT_GUARD, EXIT_LOCKED, EXIT_OK, EXIT_SOURCE, EXIT_USAGE, AuthError,
                        ConfigError, SourceMissing, SourceUnreadable, worst_exit)
from etl.load.applier import CREATED, DELETED, FAILED_OP, UNKNOWN, UPDATED, Applier, OpResult
from etl.load.client import AvivClient
from etl.agencies import Agency, LoadedConfig
from etl.log import RunLog
from etl.load.planner import GuardSettings, Plan, plan
from etl.pipeline.convert_workers import usable_cores
from etl.pipeline.sources import Tonight, config_fingerprint, is_url, outcomes, resolve_source
from etl.records import FeedFacts
from etl.report.summary import ConvertSummary
from etl.load.state import StateStore
from etl.load.tokens import TokenFile



@dataclass(slots=True)
class RunOptions:
    dry_run: bool = False            # plan only: no lock, no API call, no state change
    allow_mass_delete: bool = False
    wait_lock: float = 0.0           # seconds to wait for another run of the agency to finish
    out_dir: Path | None = None      # reports directory; default <reports_dir>/run-<timestamp>
    state_url: str | None = None     # overrides the configuration's
    source: Path | None = None       # a one-off import: this file instead of the agency's configured source
    partial: bool = False            # the feed is a subset of the agency's listings: create and update, never delete
    lock_stale_after: float | None = None  # overrides defaults.lock_stale_after (a queued run: the stall timeout)
    lock_heartbeat: float | None = None    # refresh the lock this often for the whole run, from a thread
    workers: int | None = None       # processes converting a large feed (None: the machine's usable cores)


@dataclass(slots=True)
class AgencyResult:
    agency_id: str
    exit_code: int = EXIT_OK
    message: str | None = None
    plan: Plan | None = None
    results: list[OpResult] = field(default_factory=list)
    resolved: int = 0
    run_id: int | None = None
    source: str | None = None
    source_missing: bool = False   # exit 4 because tonight's feed never came, not because it was unreadable
    duration_s: float = 0.0

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)

    @property
    def failures(self) -> list[OpResult]:
        return [r for r in self.results if r.result == FAILED_OP]

    def counts(self) -> dict[str, Any]:
        p = self.plan.counts() if self.plan else {}
        return {**p, "created": self.count(CREATED), "updated": self.count(UPDATED),
                "deleted": self.count(DELETED), "failed": self.count(FAILED_OP), "in_doubt": self.count(UNKNOWN),
                "unchanged": p.get("unchanged", 0), "resolved": self.resolved}

    def over_quota(self) -> list[dict[str, Any]]:
        return [{"source_key": m.source_key, "reference": m.reference, "portals": list(m.portals),
                 "published": m.published, "was_online": m.was_online} for m in (self.plan.over_quota if self.plan else [])]

    def as_dict(self) -> dict[str, Any]:
        return {"agency_id": self.agency_id, "exit_code": self.exit_code, "message": self.message,
                "run_id": self.run_id, "source": self.source, "duration_s": round(self.duration_s, 3),
                "counts": self.counts(), "guard": self.plan.guard if self.plan else None,
                "failures": [f.as_dict() for f in self.failures],
                "in_doubt": [r.as_dict() for r in self.results if r.result == UNKNOWN],
                "over_quota": self.over_quota()}


@dataclass(slots=True)
class RunResult:
    agencies: list[AgencyResult]
    out_dir: Path | None = None
    reports: dict[str, Path] = field(default_factory=dict)
    requests: int = 0
    token_requests: int = 0
    rate: dict[str, Any] = field(default_factory=dict)
    mail: dict[str, Any] = field(default_factory=dict)   # e-mails queued / sent / left in the outbox

    @property
    def exit_code(self) -> int:
        return worst_exit(a.exit_code for a in self.agencies)


async def run_agency(cfg: LoadedConfig, agency: Agency, options: RunOptions, *, store: StateStore,
                     api: AvivClient | None, log: RunLog, summary: ConvertSummary | None = None) -> AgencyResult:
    t0 = time.perf_counter()
    res = AgencyResult(agency.id)
    locked = False
    beat: LockHeartbeat | None = None
    try:
        if not options.dry_run:
            stale_after = options.lock_stale_after or cfg.config.defaults.lock_stale_after
            holder = store.acquire_lock(agency.id, None, stale_after=stale_after)
            deadline = time.monotonic() + options.wait_lock
            while holder is not None and time.monotonic() < deadline:
                await asyncio.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
                holder = store.acquire_lock(agency.id, None, stale_after=stale_after)
            if holder is not None:
                res.exit_code = EXIT_LOCKED
                res.message = (f"une exécution est déjà en cours pour l'agence {agency.id} : {holder.describe()} ; "
                               f"rien n'a été envoyé")
                log.event("locked", res.message, level="error", agency=agency.id)
                return res
            locked = True
            if options.lock_heartbeat:
                beat = LockHeartbeat(store, agency.id, options.lock_heartbeat)
            res.run_id = store.start_run(agency.id)
            store.set_lock_run(agency.id, res.run_id)
        await _run_locked(cfg, agency, options, store, api, log, summary, res)
    except SourceUnreadable as exc:
        res.source_missing = isinstance(exc, SourceMissing)
        res.exit_code = EXIT_SOURCE
        res.message = f"{'flux non reçu' if res.source_missing else 'flux illisible'} : {exc}"
        log.event("source_missing" if res.source_missing else "source_unreadable", res.message, level="error",
                  agency=agency.id)
    except ConfigError as exc:
        res.exit_code, res.message = EXIT_USAGE, str(exc)
        log.event("config_error", res.message, level="error", agency=agency.id)
    except AuthError as exc:
        res.exit_code, res.message = EXIT_FAILED, f"authentification impossible : {exc}"
        log.event("auth_error", res.message, level="error", agency=agency.id)
    finally:
        res.duration_s = time.perf_counter() - t0
        if res.run_id is not None:
            status = {EXIT_OK: "done", EXIT_FAILED: "failed", EXIT_GUARD: "guarded"}.get(res.exit_code, "failed")
            store.finish_run(res.run_id, status, res.counts())
        if beat is not None:
            beat.stop()
        if locked:
            store.release_lock(agency.id)
    return res


class LockHeartbeat:
    """Refreshes an agency's lock from a thread, so a run whose event loop is busy (a big feed being
    converted) never looks abandoned to a run that may take over a lock after a short silence."""

    def __init__(self, store: StateStore, agency_id: str, every: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(store, agency_id, every),
                                        name=f"lock-heartbeat-{agency_id}", daemon=True)
        self._thread.start()

    def _beat(self, store: StateStore, agency_id: str, every: float) -> None:
        while not self._stop.wait(every):
            try:
                store.heartbeat(agency_id)
            except Exception:  # noqa: BLE001 — a missed beat is retried at the next tick
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def _run_locked(cfg: LoadedConfig, agency: Agency, options: RunOptions, store: StateStore,
                      api: AvivClient | None, log: RunLog, summary: ConvertSummary | None, res: AgencyResult) -> None:
    applier = None
    in_doubt: set[str] = set()
    if not options.dry_run:
        assert api is not None and res.run_id is not None
        creds = agency.credentials.resolve()
        applier = Applier(store, api, creds, agency_id=agency.id, run_id=res.run_id,
                          progress=lambda r: log.advance())
        unfinished = store.unfinished(agency.id)
        if unfinished:
            still = await applier.resolve_unfinished()
            in_doubt = {e.source_key for e in still}
            res.resolved = len(unfinished) - len(still)
            log.event("journal_resolved", f"{len(unfinished)} opérations d'issue inconnue relues : "
                      f"{res.resolved} vérifiées, {len(still)} encore incertaines", agency=agency.id,
                      resolved=res.resolved, in_doubt=len(still))

    work = cfg.base_dir / ".work"
    work.mkdir(parents=True, exist_ok=True)
    tonight = Tonight(options.source) if options.source is not None else None
    # what a URL feed's conditional GET depends on; a file has no validators to compare
    fingerprint = config_fingerprint(cfg, agency) if tonight is None and is_url(agency.source) else ""
    if tonight is None:
        # a conditional GET only when the last run ended clean and nothing is left in doubt
        known = store.feed_validators(agency.id, agency.source, fingerprint) if fingerprint and not in_doubt else {}
        tonight = resolve_source(cfg, agency, work, validators=known)
    if tonight.path is None:
        res.source = agency.source
        log.event("feed_unchanged", "flux inchangé depuis la dernière exécution réussie (réponse 304) : "
                  "rien à convertir ni à envoyer", agency=agency.id)
        return
    if tonight.url is not None and not options.dry_run:
        store.forget_feed(agency.id)  # until this download's run ends clean
    path = tonight.path
    res.source = str(path)
    if options.source is not None or options.partial:
        log.event("one_off", f"import ponctuel de {path}" + (" (partiel : aucune suppression)" if options.partial else ""),
                  agency=agency.id, source=str(path), partial=options.partial)
    state = store.listings(agency.id)
    stats = FeedFacts(str(path))
    stream = outcomes(cfg, agency, path, stats, workers=options.workers or usable_cores())
    if summary is not None:
        stream = summary.add_all(stream)
    t_plan = time.perf_counter()
    g = cfg.mass_delete(agency)
    try:
        p = plan(agency.id, stream, state, feed_stats=stats,
                 full_snapshot=agency.full_snapshot and not options.partial,
                 guard=GuardSettings(g.max_share, g.min_count), in_doubt=in_doubt,
                 quotas=agency.quotas, quota_priority=cfg.quota_priority(agency))
    finally:
        if tonight.url is not None:  # read through: tonight's download is not needed any more
            shutil.rmtree(path.parent, ignore_errors=True)
    res.plan = p
    if summary is not None:
        summary.add_source(path, stats)
        summary.add_duration("convert+plan", time.perf_counter() - t_plan, agency_id=agency.id)
    c = p.counts()
    log.event("planned", f"{c['read']} lues : {c['creates']} créations, {c['updates']} mises à jour, "
              f"{c['deletes']} suppressions, {c['unchanged']} inchangées, {c['kept']} conservées malgré erreur, "
              f"{c['rejected']} rejetées", agency=agency.id, **c)
    if p.over_quota:
        log.event("over_quota", f"{len(p.over_quota)} annonces au-delà des quotas du contrat "
                  f"({', '.join(f'{k} : {v}' for k, v in sorted(agency.quotas.items()))}) : non publiées sur ces "
                  f"portails, listées dans le rapport", level="warning", agency=agency.id, over_quota=len(p.over_quota))
    if p.guard and not options.allow_mass_delete:
        res.exit_code, res.message = EXIT_GUARD, p.guard
        log.event("guard", p.guard, level="error", agency=agency.id)
        return
    if p.guard:
        log.event("guard_overridden", f"{p.guard} — appliqué malgré tout (--allow-mass-delete)", level="warning",
                  agency=agency.id)
    if options.dry_run:
        return
    assert applier is not None
    ops = p.operations
    by_key: dict[str, OpResult] = {}
    try:
        if ops:
            log.start_progress(f"{agency.id}", len(ops))
            try:
                by_key.update((r.source_key, r) for r in await applier.apply(ops))
            finally:
                log.end_progress()
        # what stayed in doubt, tonight's or an earlier run's: look it up once AVIV's lag has passed
        settled = await applier.settle(p.deferred)
        if settled:
            left = sum(1 for r in settled if r.result == UNKNOWN)
            log.event("settled", f"{len(settled)} annonces d'issue incertaine relues après le délai de traitement "
                      f"d'AVIV : {len(settled) - left} réglées, {left} encore incertaines", agency=agency.id,
                      settled=len(settled) - left, in_doubt=left)
        by_key.update((r.source_key, r) for r in settled)
    finally:
        res.results = list(by_key.values())
        store.touch_seen(agency.id, p.seen_keys, res.run_id or 0)
    for f in res.failures:
        log.event("failed", f.detail or "", level="error", agency=agency.id, op=f.op, key=f.source_key,
                  traceparent=f.traceparent)
    in_doubt_left = res.count(UNKNOWN)
    if res.failures or in_doubt_left:
        res.exit_code = EXIT_FAILED
        parts = [f"{len(res.failures)} opérations en échec, renvoyées à la prochaine exécution"] if res.failures else []
        if in_doubt_left:
            parts.append(f"{in_doubt_left} opérations d'issue inconnue (AVIV injoignable pour la relecture), "
                         f"vérifiées avant tout envoi à la prochaine exécution")
        res.message = " ; ".join(parts)
    elif tonight.url is not None and res.exit_code == EXIT_OK:
        store.remember_feed(agency.id, tonight.url, fingerprint, tonight.validators)


def default_out_dir(cfg: LoadedConfig, *, dry_run: bool = False) -> Path:
    # One folder per run (a dry run's are named plan-…); old ones go by defaults.reports_keep.
    return cfg.reports_dir / f"{'plan' if dry_run else 'run'}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


async def _run_all(cfg: LoadedConfig, agency_id: str | None, options: RunOptions, log: RunLog,
                   summary: ConvertSummary, store: StateStore) -> RunResult:
    agencies = cfg.selected(agency_id)
    api = None if options.dry_run else AvivClient(cfg.config.defaults.api, TokenFile(cfg.token_cache))
    try:
        results = []
        for agency in agencies:
            results.append(await run_agency(cfg, agency, options, store=store, api=api, log=log, summary=summary))
        out = RunResult(results)
        if api is not None:
            out.requests, out.token_requests = api.stats.requests, api.tokens.requests
            out.rate = api.limiter.report()
        return out
    finally:
        if api is not None:
            await api.aclose()


def run(cfg: LoadedConfig, agency_id: str | None = None, options: RunOptions | None = None,
        log: RunLog | None = None) -> RunResult:
    """Run (or, with ``dry_run``, plan) the selected agencies, write the reports and e-mail them.

    The output folder is checked first: an unusable one raises ``OutputDirError`` before
    anything is read or sent.
    """
    from etl.report.outdir import prepare_out_dir

    options = options or RunOptions()
    log = log or RunLog()
    if (options.source is not None or options.partial) and not agency_id:  # before any folder is made
        raise ConfigError("--source et --partial portent sur une seule agence : précisez --agency")
    out_dir = prepare_out_dir(options.out_dir or default_out_dir(cfg, dry_run=options.dry_run))
    summary = ConvertSummary(command="plan" if options.dry_run else "run")
    # one store for the run and its reports (each open is an engine and a migration check)
    with StateStore.open(options.state_url or cfg.state_url) as store:
        result = asyncio.run(_run_all(cfg, agency_id, options, log, summary, store))
        return write_outputs(cfg, result, summary, out_dir, options, log, store=store)


def write_outputs(cfg: LoadedConfig, result: RunResult, summary: ConvertSummary, out_dir: Path, options: RunOptions,
                  log: RunLog, *, operator: bool = True, store: StateStore | None = None) -> RunResult:
    """The reports, the e-mails (``operator``: with the operator's) and ``load.json`` of a run's results
    (``store``: an open state store to read the portals' statuses from, else one is opened)."""
    from etl.pipeline.reporting import publish_reports

    for a in result.agencies:
        summary.agency(a.agency_id)
        summary.add_load_counts(a.agency_id, created=a.count(CREATED), updated=a.count(UPDATED),
                                deleted=a.count(DELETED), failed=a.count(FAILED_OP),
                                unchanged=a.plan.counts()["unchanged"] if a.plan else 0)
    result.out_dir = out_dir
    result.reports, result.mail = publish_reports(cfg, result.agencies, summary, out_dir, dry_run=options.dry_run,
                                                  log=log, state_url=options.state_url, operator=operator,
                                                  store=store)
    load_path = out_dir / "load.json"
    load_path.write_bytes(orjson.dumps({
        "agencies": [a.as_dict() for a in result.agencies], "exit_code": result.exit_code,
        "requests": result.requests, "token_requests": result.token_requests, "rate": result.rate,
        "dry_run": options.dry_run, "mail": result.mail,
        "source": str(options.source) if options.source is not None else None, "partial": options.partial,
    }, option=orjson.OPT_INDENT_2))
    result.reports["load"] = load_path
    return result
