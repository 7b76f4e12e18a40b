"""The applier: sends a plan's operations under a write-ahead journal, and learns the truth of
every operation whose outcome it did not see.

An operation's journal entry is committed as its first write request leaves
(past the rate and concurrency limits, see ``AvivClient.request(on_send=…)``)
and closed in the same transaction that records its effect on the listing.
An entry left ``pending`` — killed in flight, answer lost, retries exhausted,
an ambiguous 412 — means the listing's remote state is unknown. It is looked up
(GET) before the listing is planned again, the truth is recorded, and the
feed's wish is applied to that truth (blueprint invariant 1). A PUT leaves only
when the API is known, or believed from a clean journal, to hold something else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from etl.load.client import ApiResult, AvivClient
from etl.agencies import ResolvedCredentials
from etl.load.planner import CREATE, DELETE, UPDATE, Operation, reconcile
from etl.load.state import DONE, FAILED, RESOLVED, JournalEntry, StateStore
from etl.load.tokens import AuthError
from etl.model.canonical import canonical_json, content_hash, without_volatile

CREATED, UPDATED, DELETED, FAILED_OP, UNKNOWN = "created", "updated", "deleted", "failed", "unknown"
# Read-then-write rounds: a PUT meets 412 when someone else wrote in between, or when an unanswered
# attempt of our own landed; past this, the outcome stays unknown until the next look-up.
_MAX_CONVERGE = 3
IN_DOUBT = "issue inconnue : vérifiée par relecture avant la fin de l'exécution ou à la suivante"


def canonical(body: Mapping[str, Any]) -> str:
    """What the state store keeps of a body: its canonical JSON, as text."""
    return canonical_json(body).decode()


@dataclass(slots=True)
class OpResult:
    """What became of one operation — the run summary's line for it."""

    op: str
    source_key: str
    offerer_estate_id: str
    result: str                    # created | updated | deleted | failed | unknown
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


@dataclass(slots=True)
class Truth:
    """What the API holds for one listing, from a look-up."""

    kind: str                      # live | absent | unknown (the look-up itself failed)
    result: ApiResult
    classified_id: str | None = None
    body: dict[str, Any] | None = None
    body_hash: str | None = None
    etag: str | None = None        # only a GET by id carries one


def _hash_or_none(body: dict[str, Any]) -> str | None:
    try:
        return content_hash(body)
    except Exception:  # an answer we cannot hash: unknown content, so any wish differs from it
        return None


class _Entry:
    """One operation's journal entry, written when its first write request leaves."""

    __slots__ = ("_store", "_values", "id")

    def __init__(self, store: StateStore, **values: Any):
        self._store = store
        self._values = values
        self.id: int | None = None

    def sent(self, traceparent: str) -> None:
        if self.id is None:
            self.id = self._store.journal_begin(**self._values, traceparent=traceparent)


class Applier:
    def __init__(self, store: StateStore, api: AvivClient, creds: ResolvedCredentials, *, agency_id: str,
                 run_id: int, progress: Callable[[OpResult], None] | None = None, heartbeat_every: float = 30.0,
                 visibility_lag: float | None = None):
        self.store = store
        self.api = api
        self.creds = creds
        self.agency_id = agency_id
        self.run_id = run_id
        self.progress = progress
        self.heartbeat_every = heartbeat_every
        self.lag = api.settings.visibility_lag if visibility_lag is None else visibility_lag
        self._last_beat = time.monotonic()
        self._auth_error: AuthError | None = None
        self._wanted: dict[str, Operation] = {}   # what this run set out to do, per listing

    # ------------------------------------------------------------ the truth

    async def look_up(self, classified_id: str | None, offerer_estate_id: str) -> Truth:
        """GET the listing by id when we know it, else by offererEstateId."""
        if classified_id:
            r = await self.api.get(self.creds, classified_id)
            if r.status == 404:
                return Truth("absent", r)
            if not r.ok or not isinstance(r.body, dict) or not r.body.get("classifiedId"):
                return Truth("unknown", r)
            item = r.body
        else:
            r = await self.api.find(self.creds, offerer_estate_id)
            if not r.ok or not isinstance(r.body, dict):
                return Truth("unknown", r)
            items = [i for i in r.body.get("items", []) if isinstance(i, dict) and i.get("classifiedId")]
            if not items:
                return Truth("absent", r)
            item = items[0]
        body = dict(without_volatile(item))  # a GET answer, back to the shape we send
        return Truth("live", r, str(item["classifiedId"]), body, _hash_or_none(body), r.etag if classified_id else None)

    def _record_truth(self, conn: Any, e: JournalEntry, t: Truth) -> None:
        if t.kind == "live":
            assert t.body is not None and t.classified_id is not None
            self.store.record_live(
                conn, agency_id=e.agency_id, source_key=e.source_key, offerer_estate_id=e.offerer_estate_id,
                classified_id=t.classified_id, body_hash=t.body_hash,
                body=canonical(t.body) if t.body_hash else None,
                etag=t.etag,
                portals=list(t.body.get("portals", [])), run_id=None)
        elif t.kind == "absent":
            self.store.record_deleted(conn, e.agency_id, e.source_key)

    def _settled_by(self, e: JournalEntry, t: Truth) -> bool:
        """Whether this look-up tells the entry's outcome, or may predate AVIV's processing of it."""
        if t.kind == "unknown":
            return False
        young = time.time() - e.created_at < self.lag
        if t.kind == "absent":
            return not young          # a create not processed yet is not visible yet
        if e.op == DELETE:
            return not young          # a delete not processed yet still shows the classified
        return True

    async def resolve_unfinished(self) -> list[JournalEntry]:
        """Learn the truth of every pending entry of the agency; returns those that stay pending."""
        entries = self.store.unfinished(self.agency_id)
        settled = await asyncio.gather(*(self._resolve(e) for e in entries))
        return [e for e, ok in zip(entries, settled) if not ok]

    async def _resolve(self, e: JournalEntry) -> bool:
        t = await self.look_up(e.classified_id, e.offerer_estate_id)
        if not self._settled_by(e, t):
            return False
        what = "en ligne" if t.kind == "live" else "absente"
        same = t.kind == "live" and t.body_hash is not None and t.body_hash == e.body_hash
        detail = f"relue après une issue inconnue : {what}" + (", avec le corps envoyé" if same else "")
        with self.store.transaction() as conn:
            self._record_truth(conn, e, t)
            self.store.journal_close(conn, e.id, RESOLVED, http_status=t.result.status,
                                     traceparent=t.result.traceparent, detail=detail, classified_id=t.classified_id)
        return True

    # ----------------------------------------------------------------- apply

    async def apply(self, operations: Iterable[Operation]) -> list[OpResult]:
        ops = list(operations)
        for op in ops:
            self._wanted.setdefault(op.key.source_key, op)  # the feed's wish, not a settle round's step
        writes = [o for o in ops if o.op != DELETE]
        deletes = [o for o in ops if o.op == DELETE]
        # deletes after everything else: a run cut short leaves extra listings online, never missing ones
        results = list(await asyncio.gather(*(self._one(o) for o in writes)))
        results += await asyncio.gather(*(self._one(o) for o in deletes))
        if self._auth_error is not None:
            raise self._auth_error
        return results

    async def settle(self, deferred: Iterable[Operation] = (), rounds: int = 2) -> list[OpResult]:
        """Finish the listings whose outcome is unknown: wait out AVIV's lag, look them up, apply the rest.

        ``deferred``: what the feed wants of listings already in doubt when the run began.
        Returns one result per listing concerned; ``unknown`` for those still in doubt.
        """
        for op in deferred:
            self._wanted[op.key.source_key] = op
        finals: dict[str, OpResult] = {}
        for _ in range(rounds):
            pending = self.store.unfinished(self.agency_id)
            if not pending:
                break
            wait = self.lag - (time.time() - max(e.created_at for e in pending))
            if wait > 0:
                await asyncio.sleep(wait)
            still = {e.source_key for e in await self.resolve_unfinished()}
            state = self.store.listings(self.agency_id)
            ops: dict[str, Operation] = {}
            for e in pending:
                want = self._wanted.get(e.source_key)
                if e.source_key in still or want is None:
                    continue
                current = state.get(e.source_key)
                op = reconcile(want, current)
                if op is not None:
                    ops[e.source_key] = op
                else:
                    done = DELETED if want.op == DELETE else CREATED if e.op == CREATE else UPDATED
                    finals[e.source_key] = OpResult(e.op, e.source_key, e.offerer_estate_id, done,
                                                    current.classified_id if current else None,
                                                    detail="confirmée par relecture")
            for r in await self.apply(ops.values()):
                if r.result == UPDATED and self._wanted[r.source_key].op == CREATE:
                    r.result = CREATED  # the listing we set out to create, found online in another version
                finals[r.source_key] = r
        for e in self.store.unfinished(self.agency_id):
            finals[e.source_key] = OpResult(e.op, e.source_key, e.offerer_estate_id, UNKNOWN, e.classified_id,
                                            e.http_status, e.traceparent, IN_DOUBT)
        return list(finals.values())

    async def _one(self, op: Operation) -> OpResult:
        if self._auth_error is not None:
            res = OpResult(op.op, op.key.source_key, op.offerer_estate_id, FAILED_OP, op.classified_id,
                           detail=f"non envoyée : {self._auth_error}")
        else:
            try:
                if op.op == CREATE:
                    res = await self._create(op)
                elif op.op == UPDATE:
                    res = await self._update(op)
                else:
                    res = await self._delete(op)
            except AuthError as exc:
                # the token was refused mid-run: nothing more is sent; what left is journaled already
                self._auth_error = self._auth_error or exc
                res = OpResult(op.op, op.key.source_key, op.offerer_estate_id, FAILED_OP, op.classified_id,
                               detail=f"non envoyée : {exc}")
        if op.outcome is not None:
            res.reference = op.outcome.reference
        if self.progress:
            self.progress(res)
        now = time.monotonic()
        if now - self._last_beat > self.heartbeat_every:
            self._last_beat = now
            self.store.heartbeat(self.agency_id)
        return res

    def _entry(self, op: Operation, kind: str, classified_id: str | None) -> _Entry:
        return _Entry(self.store, run_id=self.run_id, agency_id=self.agency_id, source_key=op.key.source_key,
                      offerer_estate_id=op.offerer_estate_id, op=kind, classified_id=classified_id,
                      body_hash=op.body_hash)

    def _in_doubt(self, entry: _Entry, op: Operation, r: ApiResult, why: str | None = None) -> OpResult:
        """The request may have taken effect: the entry stays pending until a look-up tells."""
        if entry.id is not None:
            self.store.journal_note(entry.id, http_status=r.status, traceparent=r.traceparent,
                                    detail=why or r.summary())
        return OpResult(op.op, op.key.source_key, op.offerer_estate_id, UNKNOWN, op.classified_id, r.status,
                        r.traceparent, f"{why or r.summary()} — {IN_DOUBT}")

    def _fail(self, entry: _Entry, op: Operation, r: ApiResult, detail: str | None = None) -> OpResult:
        """A definitive refusal: nothing changed on AVIV's side, the state stays as it was."""
        text = detail or r.summary()
        if entry.id is not None:
            with self.store.transaction() as conn:
                self.store.journal_close(conn, entry.id, FAILED, http_status=r.status, traceparent=r.traceparent,
                                         detail=text)
        return OpResult(op.op, op.key.source_key, op.offerer_estate_id, FAILED_OP, op.classified_id, r.status,
                        r.traceparent, text)

    def _done(self, entry: _Entry, op: Operation, r: ApiResult, classified_id: str, result: str,
              note: str | None = None) -> OpResult:
        assert op.body is not None and entry.id is not None
        with self.store.transaction() as conn:
            self.store.record_live(conn, agency_id=self.agency_id, source_key=op.key.source_key,
                                   offerer_estate_id=op.offerer_estate_id, classified_id=classified_id,
                                   body_hash=op.body_hash, body=canonical(op.body), etag=r.etag,
                                   portals=op.portals, run_id=self.run_id)
            self.store.journal_close(conn, entry.id, DONE, http_status=r.status, traceparent=r.traceparent,
                                     classified_id=classified_id, detail=note)
        return OpResult(op.op, op.key.source_key, op.offerer_estate_id, result, classified_id, r.status,
                        r.traceparent, note)

    async def _create(self, op: Operation, *, result: str = CREATED, note: str | None = None) -> OpResult:
        assert op.body is not None
        entry = self._entry(op, CREATE, None)
        r = await self.api.create(self.creds, op.body, on_send=entry.sent)
        if r.ok and isinstance(r.body, dict) and r.body.get("classifiedId"):
            return self._done(entry, op, r, str(r.body["classifiedId"]), result, note)
        if r.is_duplicate:
            # ours from an unanswered attempt, or an older version: compare before sending anything
            cid = r.duplicate_classified_id()
            if cid is not None:
                self.store.journal_note(entry.id, classified_id=cid)
            return await self._converge(entry, op, cid, result, "annonce existante reprise (Duplicated classified)")
        if _uncertain(r):
            return self._in_doubt(entry, op, r)
        return self._fail(entry, op, r)

    async def _update(self, op: Operation) -> OpResult:
        assert op.body is not None and op.classified_id is not None
        entry = self._entry(op, UPDATE, op.classified_id)
        r = await self.api.update(self.creds, op.classified_id, op.body, op.etag, on_send=entry.sent)
        if r.ok:
            return self._done(entry, op, r, op.classified_id, UPDATED)
        if r.status == 412 or _uncertain(r):
            # 412: someone wrote in between, or an unanswered attempt of ours landed — read before writing
            return await self._converge(entry, op, op.classified_id, UPDATED, None, first=r)
        if r.status == 404:
            return await self._recreate(entry, op, r)
        return self._fail(entry, op, r)

    async def _recreate(self, entry: _Entry, op: Operation, r: ApiResult) -> OpResult:
        note = "annonce disparue chez AVIV : recréée"
        with self.store.transaction() as conn:
            self.store.record_deleted(conn, self.agency_id, op.key.source_key)
            if entry.id is not None:
                self.store.journal_close(conn, entry.id, DONE, http_status=404, traceparent=r.traceparent,
                                         detail=note)
        return await self._create(op, result=UPDATED, note=note)

    async def _converge(self, entry: _Entry, op: Operation, classified_id: str | None, result: str,
                        note: str | None, *, first: ApiResult | None = None) -> OpResult:
        """Read what the API holds; write our body only if it differs (with that read's ETag)."""
        assert op.body is not None
        last = first
        for _ in range(_MAX_CONVERGE):
            t = await self.look_up(classified_id, op.offerer_estate_id)
            if t.kind == "unknown":
                return self._in_doubt(entry, op, t.result, "relecture impossible")
            if t.kind == "absent":
                # not processed yet (AVIV is asynchronous), or deleted behind our back: only a look-up
                # made once the lag has passed tells (settle), and the feed's wish is applied to that
                return self._in_doubt(entry, op, t.result, "annonce pas encore visible chez AVIV")
            assert t.classified_id is not None
            classified_id = t.classified_id
            if t.body_hash is not None and t.body_hash == op.body_hash:
                return self._done(entry, op, t.result, classified_id, result,
                                  note or "déjà à jour chez AVIV (aucune requête d'écriture répétée)")
            put = await self.api.update(self.creds, classified_id, op.body, t.result.etag, on_send=entry.sent)
            last = put
            if put.ok:
                return self._done(entry, op, put, classified_id, result, note)
            if put.status == 412 or _uncertain(put):
                continue
            if put.status == 404:
                return await self._recreate(entry, op, put)
            return self._fail(entry, op, put)
        assert last is not None
        return self._in_doubt(entry, op, last)

    async def _delete(self, op: Operation) -> OpResult:
        assert op.classified_id is not None
        entry = self._entry(op, DELETE, op.classified_id)
        r = await self.api.delete(self.creds, op.classified_id, on_send=entry.sent)
        if r.ok or r.status == 404:
            assert entry.id is not None
            with self.store.transaction() as conn:
                self.store.record_deleted(conn, self.agency_id, op.key.source_key)
                self.store.journal_close(conn, entry.id, DONE, http_status=r.status, traceparent=r.traceparent,
                                         detail="déjà absente chez AVIV" if r.status == 404 else None)
            return OpResult(op.op, op.key.source_key, op.offerer_estate_id, DELETED, op.classified_id, r.status,
                            r.traceparent)
        if _uncertain(r):
            return self._in_doubt(entry, op, r)
        return self._fail(entry, op, r)
