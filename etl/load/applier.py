"""The applier: sends a plan's operations with a write-ahead journal.

Every operation is journaled (committed) before its request leaves and closed
in the same transaction that records its effect on the listing. An entry left
``pending`` — by a crash, or by an answer that never came — is resolved at the
start of the next run before any new work (blueprint invariant 1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from etl.load.client import ApiResult, AvivClient
from etl.load.config import ResolvedCredentials
from etl.model.canonical import canonical_json, content_hash, without_volatile
from etl.load.planner import CREATE, DELETE, UPDATE, Operation
from etl.load.state import DONE, FAILED, RESOLVED, JournalEntry, StateStore

CREATED, UPDATED, DELETED, FAILED_OP = "created", "updated", "deleted", "failed"


def canonical(body: Mapping[str, Any]) -> str:
    """What the state store keeps of a body: its canonical JSON, as text."""
    return canonical_json(body).decode()


@dataclass(slots=True)
class OpResult:
    """What became of one operation — the run summary's line for it."""

    op: str
    source_key: str
    offerer_estate_id: str
    result: str                    # created | updated | deleted | failed
    classified_id: str | None = None
    http_status: int | None = None
    traceparent: str | None = None
    detail: str | None = None      # the API's answer when it failed; how it was solved otherwise
    reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


def _uncertain(r: ApiResult) -> bool:
    """No definitive answer: the request may or may not have taken effect."""
    return r.status is None or r.status >= 500 or r.status == 429


class Applier:
    def __init__(self, store: StateStore, api: AvivClient, creds: ResolvedCredentials, *, agency_id: str,
                 run_id: int, progress: Callable[[OpResult], None] | None = None, heartbeat_every: float = 30.0):
        self.store = store
        self.api = api
        self.creds = creds
        self.agency_id = agency_id
        self.run_id = run_id
        self.progress = progress
        self.heartbeat_every = heartbeat_every
        self._last_beat = time.monotonic()

    # ------------------------------------------------------------ resolution

    async def resolve_unfinished(self) -> list[JournalEntry]:
        """Settle entries of earlier runs that never got their answer recorded."""
        entries = self.store.unfinished(self.agency_id)
        await asyncio.gather(*(self._resolve(e) for e in entries))
        return entries

    async def _resolve(self, e: JournalEntry) -> None:
        if e.op == CREATE:
            r = await self.api.find(self.creds, e.offerer_estate_id)
            if not r.ok:
                return  # stays pending; a POST of this listing would meet "Duplicated classified" anyway
            items = r.body.get("items", []) if isinstance(r.body, dict) else []
            with self.store.transaction() as conn:
                if items:
                    item = items[0]
                    body = dict(without_volatile(item))  # a GET answer, back to the shape we send
                    same = self._same_hash(body, e.body_hash)
                    self.store.record_live(
                        conn, agency_id=e.agency_id, source_key=e.source_key, offerer_estate_id=e.offerer_estate_id,
                        classified_id=str(item["classifiedId"]), body_hash=e.body_hash if same else None,
                        body=canonical(body) if same else None, etag=None,
                        portals=list(body.get("portals", [])), run_id=None)
                self.store.journal_close(conn, e.id, RESOLVED, http_status=r.status, traceparent=r.traceparent,
                                         detail="trouvée après reprise" if items else "absente après reprise",
                                         classified_id=str(items[0]["classifiedId"]) if items else None)
        elif e.op == DELETE and e.classified_id:
            r = await self.api.get(self.creds, e.classified_id)
            if r.status not in (200, 404):
                return
            with self.store.transaction() as conn:
                if r.status == 404:
                    self.store.record_deleted(conn, e.agency_id, e.source_key)
                self.store.journal_close(conn, e.id, RESOLVED, http_status=r.status, traceparent=r.traceparent)
        else:
            # an update is idempotent: the planner sends it again if the hash still differs
            with self.store.transaction() as conn:
                self.store.journal_close(conn, e.id, RESOLVED, detail="renvoyée si toujours nécessaire")

    @staticmethod
    def _same_hash(body: dict[str, Any], expected: str | None) -> bool:
        if expected is None:
            return False
        try:
            return content_hash(body) == expected
        except Exception:  # an answer we cannot hash: assume different, costing one PUT
            return False

    # ----------------------------------------------------------------- apply

    async def apply(self, operations: Iterable[Operation]) -> list[OpResult]:
        ops = list(operations)
        writes = [o for o in ops if o.op != DELETE]
        deletes = [o for o in ops if o.op == DELETE]
        # deletes after everything else: a run cut short leaves extra listings online, never missing ones
        results = list(await asyncio.gather(*(self._one(o) for o in writes)))
        results += await asyncio.gather(*(self._one(o) for o in deletes))
        return results

    async def _one(self, op: Operation) -> OpResult:
        if op.op == CREATE:
            res = await self._create(op)
        elif op.op == UPDATE:
            res = await self._update(op)
        else:
            res = await self._delete(op)
        if op.outcome is not None:
            res.reference = op.outcome.reference
        if self.progress:
            self.progress(res)
        now = time.monotonic()
        if now - self._last_beat > self.heartbeat_every:
            self._last_beat = now
            self.store.heartbeat(self.agency_id)
        return res

    def _begin(self, op: Operation, kind: str, classified_id: str | None) -> int:
        return self.store.journal_begin(run_id=self.run_id, agency_id=self.agency_id, source_key=op.key.source_key,
                                        offerer_estate_id=op.offerer_estate_id, op=kind,
                                        classified_id=classified_id, body_hash=op.body_hash)

    def _fail(self, jid: int, op: Operation, r: ApiResult, detail: str | None = None, *,
              creating: bool = False) -> OpResult:
        text = detail or r.summary()
        if creating and _uncertain(r):
            # the POST may have landed: stay pending so the next run looks it up before posting again
            self.store.journal_note(jid, http_status=r.status, traceparent=r.traceparent, detail=text)
        else:
            with self.store.transaction() as conn:
                self.store.journal_close(conn, jid, FAILED, http_status=r.status, traceparent=r.traceparent,
                                         detail=text)
        return OpResult(op.op, op.key.source_key, op.offerer_estate_id, FAILED_OP, op.classified_id, r.status,
                        r.traceparent, text)

    def _done(self, jid: int, op: Operation, r: ApiResult, classified_id: str, result: str,
              note: str | None = None) -> OpResult:
        assert op.body is not None
        with self.store.transaction() as conn:
            self.store.record_live(conn, agency_id=self.agency_id, source_key=op.key.source_key,
                                   offerer_estate_id=op.offerer_estate_id, classified_id=classified_id,
                                   body_hash=op.body_hash, body=canonical(op.body), etag=r.etag,
                                   portals=op.portals, run_id=self.run_id)
            self.store.journal_close(conn, jid, DONE, http_status=r.status, traceparent=r.traceparent,
                                     classified_id=classified_id, detail=note)
        return OpResult(op.op, op.key.source_key, op.offerer_estate_id, result, classified_id, r.status,
                        r.traceparent, note)

    async def _create(self, op: Operation, *, result: str = CREATED, note: str | None = None) -> OpResult:
        assert op.body is not None
        jid = self._begin(op, CREATE, None)
        r = await self.api.create(self.creds, op.body)
        if r.ok and isinstance(r.body, dict) and r.body.get("classifiedId"):
            return self._done(jid, op, r, str(r.body["classifiedId"]), result, note)
        if r.is_duplicate:
            cid = r.duplicate_classified_id()
            if cid is None:
                found = await self.api.find(self.creds, op.offerer_estate_id)
                items = found.body.get("items", []) if found.ok and isinstance(found.body, dict) else []
                cid = str(items[0]["classifiedId"]) if items else None
            if cid is None:
                return self._fail(jid, op, r, r.summary() + " — identifiant existant introuvable", creating=True)
            self.store.journal_note(jid, classified_id=cid)
            # the existing classified may hold an older version: replace it with ours
            put = await self.api.update(self.creds, cid, op.body)
            if put.ok:
                return self._done(jid, op, put, cid, result, "annonce existante reprise (Duplicated classified)")
            return self._fail(jid, op, put)
        return self._fail(jid, op, r, creating=True)

    async def _update(self, op: Operation) -> OpResult:
        assert op.body is not None and op.classified_id is not None
        jid = self._begin(op, UPDATE, op.classified_id)
        r = await self.api.update(self.creds, op.classified_id, op.body, op.etag)
        if r.status == 412:
            # someone changed it since we last saw it; our feed is the source of truth, so re-read and replace
            g = await self.api.get(self.creds, op.classified_id)
            if g.status == 404:
                r = g
            elif g.ok:
                r = await self.api.update(self.creds, op.classified_id, op.body, g.etag)
        if r.ok:
            return self._done(jid, op, r, op.classified_id, UPDATED)
        if r.status == 404:
            with self.store.transaction() as conn:
                self.store.journal_close(conn, jid, DONE, http_status=404, traceparent=r.traceparent,
                                         detail="annonce disparue chez AVIV : recréée")
            return await self._create(op, result=UPDATED, note="annonce disparue chez AVIV : recréée")
        return self._fail(jid, op, r)

    async def _delete(self, op: Operation) -> OpResult:
        assert op.classified_id is not None
        jid = self._begin(op, DELETE, op.classified_id)
        r = await self.api.delete(self.creds, op.classified_id)
        if r.ok or r.status == 404:
            with self.store.transaction() as conn:
                self.store.record_deleted(conn, self.agency_id, op.key.source_key)
                self.store.journal_close(conn, jid, DONE, http_status=r.status, traceparent=r.traceparent,
                                         detail="déjà absente chez AVIV" if r.status == 404 else None)
            return OpResult(op.op, op.key.source_key, op.offerer_estate_id, DELETED, op.classified_id, r.status,
                            r.traceparent)
        return self._fail(jid, op, r)
