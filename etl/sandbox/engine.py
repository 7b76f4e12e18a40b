"""What happens to a classified after the 202: the asynchronous life AVIV gives it.

Each accepted call records RECEIVING and RECEIVED at once and schedules a job:
half-way through ``processing.delay_s`` the job records CREATING / UPDATING /
DELETING, at the end the outcome: where the classified is published (our portal
rules, the intermediary's contract and its quotas), how its media downloaded,
or a *_FAILED status. Jobs run when due, from the server's background task and
before any request is answered, so with a zero delay a classified is CREATED by
the time its 202 is sent.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from etl.sandbox.config import FaultConfig, SandboxConfig
from etl.sandbox.eligibility import EligibilityRules
from etl.sandbox.media import FAILED as MEDIA_FAILED
from etl.sandbox.media import MediaChecker
from etl.sandbox.store import Classified, Job, Store

# Operation → (verb stem of its statuses, subStatus suffix)
_OPS = {"POST": ("CREAT", "POST"), "PUT": ("UPDAT", "PUT"), "DELETE": ("DELET", "DELETE")}

_MESSAGES = {
    "RECEIVING": "The classified is being received in our system",
    "RECEIVED": "The classified has successfully been received in our system",
    "CREATING": "The classified is being created",
    "CREATED": "The classified has successfully been created",
    "CREATED_WITH_MEDIA_ERROR": "The classified has been created but some of its media could not be downloaded",
    "CREATING_FAILED": "The classified could not be created, please contact the technical support",
    "UPDATING": "The classified is being updated",
    "UPDATED": "The classified has successfully been updated",
    "UPDATED_WITH_MEDIA_ERROR": "The classified has been updated but some of its media could not be downloaded",
    "UPDATING_FAILED": "The classified could not be updated, please contact the technical support",
    "DELETING": "The classified is being deleted",
    "DELETED": "The classified has successfully been deleted",
    "DELETING_FAILED": "The classified could not be deleted, please contact the technical support",
}
# A webhook subscription to CREATED / UPDATED also receives the media-error variants,
# which the spec's Webhook.statuses enum forgot (so they could not be subscribed to).
_WEBHOOK_ALIASES = {"CREATED_WITH_MEDIA_ERROR": "CREATED", "UPDATED_WITH_MEDIA_ERROR": "UPDATED"}
SIMULATED_FAILURE = "Simulated processing failure (sandbox fault injection)."


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Engine:
    def __init__(self, config: SandboxConfig, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.rules = EligibilityRules(config.portal_rules)
        self.media = MediaChecker(config.processing)
        self._lock = asyncio.Lock()
        self._rng = random.Random()
        self.set_faults(config.faults)
        # When the earliest pending job step is due (None: nothing pending), to skip idle queries.
        self._next_due: float | None = store.next_job_due()
        # Called when a job step or a webhook delivery is queued, so background tasks need not poll.
        self.on_schedule: Callable[[], None] = lambda: None
        self.on_delivery: Callable[[], None] = lambda: None

    def set_faults(self, faults: FaultConfig) -> None:
        self._failure_rate = faults.processing_failure_rate
        # Separate stream from the request faults: enabling one must not shift the other.
        self._rng.seed(faults.seed * 1_000_003 + 17)

    # --- accepting calls ------------------------------------------------------------------

    def create(self, *, intermediary_id: str, client_id: str, body: dict[str, Any]) -> str:
        now = self.clock()
        classified_id = str(uuid.uuid4())
        oei = body["data"]["metaData"]["source"]["offererEstateId"]
        with self.store.tx():
            self.store.insert_classified(classified_id=classified_id, intermediary_id=intermediary_id,
                                         client_id=client_id, offerer_estate_id=oei, body=body, now_iso=iso(now),
                                         visible_at=now + self.config.processing.visibility_delay_s)
            self._receive(classified_id, intermediary_id, 1, "POST", body, body.get("portals", []), now)
        return classified_id

    def update(self, classified: Classified, body: dict[str, Any]) -> int | None:
        """The new revision, or None when the body is the one already held (AVIV then does nothing)."""
        if body == classified.body:
            return None
        now = self.clock()
        revision = classified.revision + 1
        oei = body["data"]["metaData"]["source"]["offererEstateId"]
        with self.store.tx():
            self.store.replace_classified(classified.id, offerer_estate_id=oei, body=body, revision=revision,
                                          now_iso=iso(now))
            self._receive(classified.id, classified.intermediary_id, revision, "PUT", body,
                          body.get("portals", []), now)
        return revision

    def delete(self, classified: Classified) -> None:
        now = self.clock()
        revision = classified.revision + 1
        with self.store.tx():
            self.store.mark_deleted(classified.id, revision=revision, now_iso=iso(now))
            self._receive(classified.id, classified.intermediary_id, revision, "DELETE", None,
                          classified.published_portals, now)

    def _receive(self, classified_id: str, intermediary_id: str, revision: int, op: str,
                 body: dict[str, Any] | None, portals: list[str], now: float) -> None:
        delay = self.config.processing.delay_s
        for status in ("RECEIVING", "RECEIVED"):
            self._emit(classified_id, intermediary_id, revision, status, portals, now,
                       sub_status=f"{status}_{_OPS[op][1]}")
        due = now + delay / 2
        self.store.insert_job(classified_id=classified_id, intermediary_id=intermediary_id, revision=revision, op=op,
                              body=body, due_at=due, final_at=now + delay)
        self._next_due = due if self._next_due is None else min(self._next_due, due)
        if delay:
            self.on_schedule()

    # --- processing ---------------------------------------------------------------------

    async def process_due(self, *, everything: bool = False) -> int:
        """Run every job step that is due (or, with ``everything``, all of them now)."""
        if not everything and (self._next_due is None or self._next_due > self.clock()):
            return 0  # the common case on every request: nothing to do, no query
        done = 0
        async with self._lock:
            if everything:
                self.store.make_jobs_due(self.clock())
            while jobs := self.store.due_jobs(self.clock(), limit=500):
                advanced = False
                for job in jobs:
                    now = self.clock()
                    if job.stage == 1:
                        # With no delay left, both steps run now rather than on the next pass.
                        advanced = advanced or job.final_at > now
                        self._start(job, advance=job.final_at > now)
                        done += 1
                        if job.final_at > now:
                            continue
                    await self._finish(job)
                    done += 1
                if not advanced and len(jobs) < 500:
                    break  # nothing this pass made due that was not already handled
            self._next_due = self.store.next_job_due()
        return done

    def visible(self, c: Classified) -> bool:
        """Whether look-ups find it yet (``processing.visibility_delay_s`` after its POST)."""
        return c.visible(self.clock())

    def end_visibility_lag(self) -> int:
        """Every classified becomes visible to look-ups now; how many were not yet."""
        return self.store.make_visible(self.clock())

    def forget_schedule(self) -> None:
        """The store was reset or changed behind the engine's back: re-read what is pending."""
        self._next_due = self.store.next_job_due()

    def _start(self, job: Job, *, advance: bool) -> None:
        c = self.store.classified(job.classified_id)
        with self.store.tx():
            if c is not None:
                portals = (job.body or {}).get("portals", []) if job.op != "DELETE" else c.published_portals
                self._emit(job.classified_id, job.intermediary_id, job.revision, f"{_OPS[job.op][0]}ING", portals,
                           job.due_at)
                if advance:
                    self.store.advance_job(job.seq, job.final_at)
            else:  # the state was reset under the job
                self.store.finish_job(job.seq)

    async def _finish(self, job: Job) -> None:
        c = self.store.classified(job.classified_id)
        if c is None:
            self.store.finish_job(job.seq)
            return
        stem = _OPS[job.op][0]
        failed = self._failure_rate > 0 and self._rng.random() < self._failure_rate
        if job.op == "DELETE":
            with self.store.tx():
                if failed:
                    self._emit(c.id, c.intermediary_id, job.revision, f"{stem}ING_FAILED", c.published_portals,
                               job.final_at, details=SIMULATED_FAILURE)
                    # The deletion did not happen: the classified is still online.
                    if self.store.live_by_offerer_estate_id(c.intermediary_id, c.offerer_estate_id) is None:
                        self.store.undelete(c.id)
                else:
                    self.store.move_usage(c.intermediary_id, c.published_portals, [])
                    self.store.set_publication(c.id, [], {})
                    self._emit(c.id, c.intermediary_id, job.revision, f"{stem}ED", [], job.final_at)
                self.store.finish_job(job.seq)
            return

        body = job.body or {}
        requested = body.get("portals", [])
        if failed:
            with self.store.tx():
                self._emit(c.id, c.intermediary_id, job.revision, f"{stem}ING_FAILED", requested, job.final_at,
                           details=SIMULATED_FAILURE)
                self.store.finish_job(job.seq)
            return

        portals, refused = self._publishable(c, body)
        if not portals:
            with self.store.tx():
                self._emit(c.id, c.intermediary_id, job.revision, f"{stem}ING_FAILED", requested, job.final_at,
                           details=_explain(refused))
                self.store.finish_job(job.seq)
            return

        media = await self.media.process(body.get("media") or [], c.media)
        media_failed = any(s == MEDIA_FAILED for s in media.values())
        status = f"{stem}ED_WITH_MEDIA_ERROR" if media_failed else f"{stem}ED"
        with self.store.tx():
            self.store.move_usage(c.intermediary_id,
                                  [p for p in c.published_portals if p not in portals],
                                  [p for p in portals if p not in c.published_portals])
            self.store.set_publication(c.id, portals, media)
            self._emit(c.id, c.intermediary_id, job.revision, status, portals, job.final_at,
                       details=_explain(refused) if refused else None,
                       media_statuses=[{"url": u, "status": s} for u, s in media.items()] or None)
            self.store.finish_job(job.seq)

    def _publishable(self, c: Classified, body: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
        contract = self.config.contract(c.intermediary_id)
        verdict = self.rules.assess(body, contract.portals)
        portals, refused = verdict.portals, verdict.refused
        if contract.quotas:
            usage = self.store.portal_usage(c.intermediary_id)
            kept = []
            for p in portals:
                quota = contract.quotas.get(p)  # type: ignore[call-overload]
                used = usage.get(p, 0) - (1 if p in c.published_portals else 0)
                if quota is not None and used >= quota:
                    refused.setdefault(p, []).append(
                        f"QUOTA_REACHED: the contract of intermediary {c.intermediary_id} allows {quota} "
                        f"classified(s) on {p}, all in use.")
                else:
                    kept.append(p)
            portals = kept
        return portals, refused

    # --- statuses ---------------------------------------------------------------------

    def _emit(self, classified_id: str, intermediary_id: str, revision: int, status: str, portals: list[str],
              when: float, *, sub_status: str | None = None, details: str | None = None,
              media_statuses: list[dict[str, str]] | None = None) -> None:
        item: dict[str, Any] = {
            "statusId": str(uuid.uuid4()),
            "classifiedId": classified_id,
            "customerId": intermediary_id,
            "revision": revision,
            "portals": list(portals),
            "status": status,
            "message": _MESSAGES[status],
            "statusDate": iso(when),
            "creationDate": iso(self.clock()),
        }
        if sub_status:
            item["subStatus"] = sub_status
        if details:
            item["subStatusDetails"] = details
        if media_statuses:
            item["mediaStatuses"] = media_statuses
        self.store.insert_status(item)
        subscription = self.store.webhook(intermediary_id)
        if subscription is not None:
            url, wanted = subscription
            if wanted is None or status in wanted or _WEBHOOK_ALIASES.get(status) in wanted:
                payload = {k: v for k, v in item.items()
                           if k not in ("statusId", "classifiedId", "customerId", "creationDate", "revision")}
                self.store.enqueue_delivery(intermediary_id=intermediary_id, url=url, classified_id=classified_id,
                                            payload=payload, now=self.clock())
                self.on_delivery()


def _explain(refused: dict[str, list[str]]) -> str:
    parts = []
    for portal, reasons in refused.items():
        label = "classified" if portal == "*" else portal
        parts.extend(f"{label}: {r}" for r in reasons)
    return " | ".join(parts)
