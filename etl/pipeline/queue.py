"""The queue: each agency's nightly run as one Procrastinate job on the state store's PostgreSQL.

Only the conductor knows the queue. A job is ``run_agency(agency, options)``, the very function
an inline ``run`` calls; this module declares the task (its per-agency ``lock`` and
``queueing_lock``, its retry policy), enqueues nights, and keeps each agency's outcome per night in
``queue_results`` (Procrastinate only knows succeeded/failed). The worker process, which gives a
job its configuration, state store and HTTP client, is ``worker.py``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
import procrastinate
import psycopg
import sqlalchemy as sa
from procrastinate import exceptions as pexc

from etl.agencies import Agency, LoadedConfig, QueueSettings
from etl.errors import EXIT_FAILED, EXIT_LOCKED, ConfigError, worst_exit
from etl.load.applier import UNKNOWN
from etl.load.schema import queue_results
from etl.load.state import StateStore

if TYPE_CHECKING:
    from etl.pipeline.run import AgencyResult

RUN_AGENCY = "etl.run_agency"
ENQUEUE_NIGHT = "etl.enqueue_night"
FOLD_STATUSES = "etl.fold_statuses"
FOLD_LOCK = "classifieds-etl:fold-statuses"


class TransientFailure(Exception):
    """The agency's run may succeed if tried again later (raised so that Procrastinate retries it)."""


# What Procrastinate retries, with backoff: our transient verdicts, and the database or the
# network failing under a job. A guard refusal, a bad feed or a bad configuration are results
# (exit 3, 4, 2), never exceptions: retrying them would only repeat the refusal.
RETRIED = (TransientFailure, sa.exc.OperationalError, psycopg.OperationalError, httpx.TransportError,
           ConnectionError, TimeoutError)


def require_postgresql(state_url: str) -> str:
    """The libpq connection string of a PostgreSQL state store; a ConfigError for anything else."""
    if not state_url.startswith(("postgresql", "postgres")):
        raise ConfigError("la file d'attente (worker, schedule, run --queue) demande un état PostgreSQL "
                          "(defaults.state: postgresql+psycopg://…) : SQLite ne se partage pas entre machines ; "
                          "sans file, lancez `classifieds-etl run`")
    scheme, rest = state_url.split("://", 1)
    return "postgresql://" + rest  # SQLAlchemy's "+psycopg" is not libpq's


def lock_name(agency_id: str) -> str:
    return f"classifieds-etl:agency:{agency_id}"


def night_label(at: datetime | None = None) -> str:
    """A night's id: when it was enqueued, UTC to the second."""
    return (at or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def retry_strategy(q: QueueSettings) -> procrastinate.RetryStrategy:
    return procrastinate.RetryStrategy(max_attempts=q.max_attempts, wait=q.retry_wait,
                                       exponential_wait=q.exponential_wait, retry_exceptions=set(RETRIED))


def is_transient(res: AgencyResult) -> bool:
    """A result worth another try later: the lock held by a manual run, AVIV or its token server
    unreachable, operations whose outcome stayed unknown. Definitive refusals (400…), guard
    refusals (3), unreadable feeds (4) and configuration errors (2) are final."""
    if res.exit_code == EXIT_LOCKED:
        return True
    if res.exit_code != EXIT_FAILED:
        return False
    message = res.message or ""
    if message.startswith("authentification"):
        return "injoignable" in message
    return any(r.result == UNKNOWN for r in res.results) or \
        any(f.http_status is None or f.http_status >= 500 or f.http_status == 429 for f in res.failures)


def make_app(cfg: LoadedConfig, state_url: str | None = None, *, worker: Any = None) -> procrastinate.App:
    """The Procrastinate app of this configuration: its connector and its tasks.

    ``worker``: what runs a job (``worker.WorkerContext``); enqueuing needs none.
    """
    q = cfg.config.queue
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=require_postgresql(state_url or cfg.state_url), min_size=1, max_size=4))

    @app.task(name=RUN_AGENCY, pass_context=True, queue=q.name, retry=retry_strategy(q))
    async def run_agency_job(context: procrastinate.JobContext, agency_id: str, night: str,
                             allow_mass_delete: bool = False) -> int:
        assert worker is not None, "a job runs in a worker"
        return await worker.run_job(agency_id, night, allow_mass_delete=allow_mass_delete,
                                    job_id=context.job.id, attempt=context.job.attempts)

    @app.task(name=FOLD_STATUSES, queue=q.name, retry=retry_strategy(q))
    async def fold_statuses_job() -> int:
        assert worker is not None, "a job runs in a worker"
        return await worker.fold_statuses()

    if q.schedule:
        @app.periodic(cron=q.schedule, periodic_id="night")
        @app.task(name=ENQUEUE_NIGHT, queue=q.name)
        async def enqueue_night_job(timestamp: int) -> int:
            at = datetime.fromtimestamp(timestamp, timezone.utc)
            done = await enqueue(app, cfg, cfg.selected(None), night_label(at))
            return sum(1 for _, job in done if job is not None)

    return app


async def enqueue(app: procrastinate.App, cfg: LoadedConfig, agencies: Iterable[Agency], night: str, *,
                  allow_mass_delete: bool = False) -> list[tuple[str, int | None]]:
    """Queue one job per agency; (agency, job id), or None for an agency already waiting in the queue."""
    task = app.tasks[RUN_AGENCY]
    out: list[tuple[str, int | None]] = []
    for agency in agencies:
        try:
            job_id = await task.configure(lock=lock_name(agency.id), queueing_lock=lock_name(agency.id)).defer_async(
                agency_id=agency.id, night=night, allow_mass_delete=allow_mass_delete)
        except pexc.AlreadyEnqueued:
            job_id = None
        out.append((agency.id, job_id))
    return out


async def defer_fold(app: procrastinate.App) -> bool:
    """Queue the folding of the status callbacks just kept; one waiting job serves every callback
    received meanwhile (False: one was already waiting)."""
    try:
        await app.tasks[FOLD_STATUSES].configure(lock=FOLD_LOCK, queueing_lock=FOLD_LOCK).defer_async()
    except pexc.AlreadyEnqueued:
        return False
    return True


# --------------------------------------------------------------------------- per-night results

@dataclass(frozen=True, slots=True)
class NightResult:
    night: str
    agency_id: str
    exit_code: int
    outcome: str
    message: str | None
    counts: dict[str, Any]
    attempt: int
    final: bool = True


def record_result(store: StateStore, night: str, res: AgencyResult, outcome: str, *, job_id: int | None,
                  attempt: int, final: bool) -> None:
    """The agency's latest word for the night (a retry replaces the attempt before it).

    ``final``: no retry will follow (the job's next delivery, after a worker's death, skips the run).
    """
    key = (queue_results.c.night == night) & (queue_results.c.agency_id == res.agency_id)
    with store.transaction() as conn:
        conn.execute(sa.delete(queue_results).where(key))
        conn.execute(sa.insert(queue_results).values(
            night=night, agency_id=res.agency_id, exit_code=res.exit_code, outcome=outcome, message=res.message,
            counts=json.dumps(res.counts()), job_id=job_id, attempt=attempt, final=final, host=socket.gethostname(),
            pid=os.getpid(), finished_at=time.time()))


def final_result(store: StateStore, night: str, agency_id: str) -> NightResult | None:
    """The agency's final result for the night, if its run already ended for good (one row, by key)."""
    found = _results(store, (queue_results.c.night == night) & (queue_results.c.agency_id == agency_id)
                     & queue_results.c.final.is_(True))
    return found[0] if found else None


def night_results(store: StateStore, nights: Sequence[str] = (), *, since: float | None = None) -> list[NightResult]:
    where = sa.true()
    if nights:
        where &= queue_results.c.night.in_(list(nights))
    if since is not None:
        where &= queue_results.c.finished_at >= since
    return _results(store, where)


def _results(store: StateStore, where: Any) -> list[NightResult]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(queue_results).where(where)
                            .order_by(queue_results.c.night, queue_results.c.agency_id)).all()
    return [NightResult(r.night, r.agency_id, r.exit_code, r.outcome, r.message, json.loads(r.counts or "{}"),
                        r.attempt, bool(r.final)) for r in rows]


def night_exit(results: Iterable[NightResult]) -> int:
    return worst_exit(r.exit_code for r in results)


def pending_jobs(store: StateStore, queue: str) -> int:
    """Jobs of the queue still to run or running (retries waiting for their time included)."""
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :q AND status IN ('todo', 'doing')"),
            {"q": queue}).scalar() or 0)
