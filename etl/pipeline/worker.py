"""``classifieds-etl worker``: a Procrastinate worker process running agencies' nightly jobs.

One process holds what its jobs share — the configuration, the state store, one HTTP client
(keep-alive, tokens, rate limit) — and runs up to ``concurrency`` agencies at once. Beside
Procrastinate's own loop it watches for jobs whose worker went silent for ``stall_timeout``
(killed, its machine gone) and hands them back to the queue: the agency's journal makes the
second run safe, and its lock, held under the same timeout and refreshed from a thread, keeps
it the only one. With ``until_empty`` it stops once no job is waiting or running, and exits with
the night's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import procrastinate
from procrastinate.worker import Worker

from etl.agencies import LoadedConfig
from etl.errors import EXIT_OK, EXIT_USAGE, ConfigError
from etl.load.client import AvivClient
from etl.load.ratelimit import SharedRateLimiter
from etl.load.state import StateStore
from etl.load.statuses import fold_status_events
from etl.load.tokens import TokenFile
from etl.log import RunLog
from etl.pipeline.queue import (NightResult, TransientFailure, final_result, is_transient, make_app, night_exit,
                                night_results, pending_jobs, record_result, require_postgresql)
from etl.pipeline.reporting import classify
from etl.pipeline.run import AgencyResult, RunOptions, RunResult, run_agency, write_outputs
from etl.report.outdir import prune_nights
from etl.report.summary import ConvertSummary

HEARTBEATS_PER_STALL = 6  # heartbeats well inside the stall timeout: five may be lost before a job is taken away


@dataclass(slots=True)
class WorkerSettings:
    concurrency: int
    stall_timeout: float
    until_empty: bool = False
    state_url: str | None = None


@dataclass(slots=True)
class WorkerContext:
    """What a job needs from its worker process; also what the process learns from its jobs."""

    cfg: LoadedConfig
    store: StateStore
    api: AvivClient
    log: RunLog
    settings: WorkerSettings
    nights: set[str] = field(default_factory=set)
    jobs: int = 0

    @property
    def heartbeat(self) -> float:
        return self.settings.stall_timeout / HEARTBEATS_PER_STALL

    async def run_job(self, agency_id: str, night: str, *, allow_mass_delete: bool, job_id: int | None,
                      attempt: int) -> int:
        """One agency's run, its reports and its line in ``queue_results``; raises to be retried later."""
        self.nights.add(night)
        self.jobs += 1
        done = final_result(self.store, night, agency_id)
        if done is not None:
            # the run finished, but its worker died before Procrastinate heard of it: not twice a night
            self.log.event("job_already_done", f"tâche {job_id} : nuit {night} déjà faite (code {done.exit_code}), "
                           f"rien n'est relancé", agency=agency_id, job_id=job_id, night=night,
                           exit_code=done.exit_code)
            return done.exit_code
        cfg = self.cfg
        try:
            agency = cfg.agency(agency_id)
        except ConfigError as exc:  # queued, then removed from agencies.yaml: the night says so
            res = AgencyResult(agency_id, exit_code=EXIT_USAGE, message=str(exc))
            record_result(self.store, night, res, str(classify(res)), job_id=job_id, attempt=attempt + 1, final=True)
            self.log.event("config_error", str(exc), level="error", agency=agency_id, job_id=job_id)
            return EXIT_USAGE
        out_dir = cfg.reports_dir / f"night-{night}" / agency_id
        options = RunOptions(allow_mass_delete=allow_mass_delete, out_dir=out_dir, state_url=self.settings.state_url,
                             lock_stale_after=self.settings.stall_timeout, lock_heartbeat=self.heartbeat)
        summary = ConvertSummary(command="run")
        self.log.event("job_started", f"tâche {job_id} (essai {attempt + 1}) : nuit {night}", agency=agency_id,
                       job_id=job_id, night=night, attempt=attempt + 1)
        res = await run_agency(cfg, agency, options, store=self.store, api=self.api, log=self.log, summary=summary)
        outcome = str(classify(res))
        transient = is_transient(res)
        # at once: a worker killed from here on must not make another run the agency again tonight
        record_result(self.store, night, res, outcome, job_id=job_id, attempt=attempt + 1, final=not transient)
        # reports are the agency's, whatever the outcome; files and e-mails are slow: off the event loop
        await asyncio.to_thread(_write_reports, cfg, res, summary, out_dir, options, self.log, self.api.limiter.report(),
                                self.store)
        self.log.event("job_finished", res.message or "terminé", level="info" if res.exit_code == EXIT_OK else "error",
                       agency=agency_id, job_id=job_id, night=night, exit_code=res.exit_code, outcome=outcome)
        if transient:
            raise TransientFailure(f"{agency_id}: {res.message or outcome}")
        return res.exit_code

    async def fold_statuses(self) -> int:
        """The ``webhook`` listener's deferred work: fold the callbacks it kept into their listings."""
        res = await asyncio.to_thread(fold_status_events, self.store, self.cfg.agencies_by_intermediary())
        self.log.event("statuses_folded", f"statuts reçus par webhook : {res.applied} appliqués, {res.outdated} "
                       f"dépassés, {res.unmatched} en attente de leur annonce", applied=res.applied,
                       outdated=res.outdated, unmatched=res.unmatched, forgotten=res.forgotten, pruned=res.pruned)
        return res.applied


def _write_reports(cfg: LoadedConfig, res: AgencyResult, summary: ConvertSummary, out_dir: Path,
                   options: RunOptions, log: RunLog, rate: dict[str, object], store: StateStore) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_outputs(cfg, RunResult([res], rate=dict(rate)), summary, out_dir, options, log, operator=False,
                  store=store)
    if out_dir.parent.parent == cfg.reports_dir:
        prune_nights(cfg.reports_dir, cfg.config.defaults.reports_keep, out_dir.parent.name)


async def recover_stalled(app: procrastinate.App, queue: str, stall_timeout: float, log: RunLog) -> int:
    """Give back to the queue the jobs of workers silent for longer than ``stall_timeout``."""
    n = 0
    for job in await app.job_manager.get_stalled_jobs(queue=queue, task_name=None,
                                                       seconds_since_heartbeat=stall_timeout):
        try:
            await app.job_manager.retry_job(job)
        except Exception:  # noqa: BLE001 — another worker recovered it first
            continue
        n += 1
        log.event("job_recovered", f"tâche {job.id} reprise : son worker ne donne plus signe de vie depuis "
                  f"{stall_timeout:g} s", level="warning", job_id=job.id,
                  agency=(job.task_kwargs or {}).get("agency_id"))
    return n


async def work(cfg: LoadedConfig, settings: WorkerSettings, log: RunLog) -> tuple[int, list[NightResult]]:
    """Run the worker until stopped (SIGINT / SIGTERM) or, with ``until_empty``, until the queue is drained.

    Returns the exit code — the worst of the nights this worker took part in — and their results.
    """
    started = time.time()
    queue = cfg.config.queue.name
    require_postgresql(settings.state_url or cfg.state_url)  # before anything is opened
    store = StateStore.open(settings.state_url or cfg.state_url)  # migrates: Procrastinate's schema included
    settings_api = cfg.config.defaults.api
    # the API's limit is per credential, whichever worker sends: paced together through PostgreSQL
    limiter = SharedRateLimiter(store.engine, settings_api.rate_limit, settings_api.base_url)
    api = AvivClient(settings_api, TokenFile(cfg.token_cache), limiter=limiter)
    ctx = WorkerContext(cfg, store, api, log, settings)
    app = make_app(cfg, settings.state_url, worker=ctx)
    poll = max(0.5, min(5.0, settings.stall_timeout / 10))
    try:
        async with app.open_async():
            worker = Worker(app, queues=[queue], name=f"{socket.gethostname()}-{os.getpid()}",
                            concurrency=settings.concurrency, wait=True, fetch_job_polling_interval=poll,
                            update_heartbeat_interval=ctx.heartbeat, stalled_worker_timeout=settings.stall_timeout,
                            additional_context={"etl": ctx}, install_signal_handlers=True)
            log.event("worker_started", f"worker prêt sur la file {queue} ({settings.concurrency} à la fois, "
                      f"reprise après {settings.stall_timeout:g} s de silence)", queue=queue,
                      concurrency=settings.concurrency, stall_timeout=settings.stall_timeout)
            running = asyncio.create_task(worker.run())
            while not running.done():
                await asyncio.wait({running}, timeout=poll)
                if running.done():
                    break
                await recover_stalled(app, queue, settings.stall_timeout, log)
                if settings.until_empty and await asyncio.to_thread(pending_jobs, store, queue) == 0:
                    worker.stop()
            await running
    finally:
        with contextlib.suppress(Exception):
            await api.aclose()
        with contextlib.suppress(Exception):
            await limiter.aclose()
        results = night_results(store, sorted(ctx.nights)) if ctx.nights else night_results(store, since=started)
        store.close()
    return night_exit(results), results
