"""The planner: from the validated feed and the state, exactly the operations needed.

Pure: no I/O. The mass-delete guard (blueprint invariant 2) and the
kept-despite-error rule (invariant 3) are decided here. A listing whose remote
state is unknown (an earlier operation's outcome not yet learned) is set aside
in ``Plan.deferred``: the applier decides it with :func:`reconcile` once the
truth is known, never from a state that may be stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from etl.load.quotas import DEFAULT_PRIORITY, Candidate, QuotaMiss, fit, seats_taken
from etl.load.state import ListingState
from etl.model.canonical import content_hash
from etl.outcome import ListingKey, Outcome
from etl.records import FeedFacts

CREATE, UPDATE, DELETE = "create", "update", "delete"


def offerer_estate_id_of(body: Mapping[str, Any]) -> str:
    return body["data"]["metaData"]["source"]["offererEstateId"]


@dataclass(slots=True)
class Operation:
    """One API call to make. ``outcome`` is None for deletes."""

    op: str
    key: ListingKey
    offerer_estate_id: str
    classified_id: str | None = None
    etag: str | None = None
    body: dict[str, Any] | None = None
    body_hash: str | None = None
    portals: list[str] = field(default_factory=list)
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class GuardSettings:
    max_share: float = 0.30
    min_count: int = 3


@dataclass(slots=True)
class Plan:
    agency_id: str
    live_before: int = 0
    creates: list[Operation] = field(default_factory=list)
    updates: list[Operation] = field(default_factory=list)
    deletes: list[Operation] = field(default_factory=list)
    unchanged: list[ListingKey] = field(default_factory=list)
    kept: list[Outcome] = field(default_factory=list)          # rejected now, last accepted version stays online
    rejected: list[Outcome] = field(default_factory=list)      # rejected, nothing online
    duplicates: list[Outcome] = field(default_factory=list)    # same key twice in one feed: first one wins
    # remote state unknown: what the feed wants of these listings, decided once the truth is known
    deferred: list[Operation] = field(default_factory=list)
    # beyond a portal's contract quota: not published there tonight (see etl/load/quotas.py)
    over_quota: list[QuotaMiss] = field(default_factory=list)
    records: int = 0
    feed_complete: bool = True
    guard: str | None = None   # why applying this plan would be unsafe (French, for the operator)

    @property
    def operations(self) -> list[Operation]:
        # deletes last: if the run stops midway, what is new is online before anything goes away
        return [*self.creates, *self.updates, *self.deletes]

    @property
    def seen_keys(self) -> list[str]:
        return [k.source_key for k in self.unchanged] + [o.key.source_key for o in self.updates] + \
            [o.key.source_key for o in self.creates] + [o.key.source_key for o in self.kept if o.key] + \
            [o.key.source_key for o in self.deferred if o.op != DELETE]

    def counts(self) -> dict[str, int]:
        return {"read": self.records, "creates": len(self.creates), "updates": len(self.updates),
                "deletes": len(self.deletes), "unchanged": len(self.unchanged), "kept": len(self.kept),
                "rejected": len(self.rejected) + len(self.duplicates), "live_before": self.live_before,
                "deferred": len(self.deferred), "over_quota": len(self.over_quota)}


def wanted(o: Outcome, portals: Sequence[str] | None = None) -> Operation:
    """What the feed wants of an accepted listing, before the state is consulted.

    ``portals``: fewer portals than the body names (a quota is full on the others); the body
    sent, and so its hash, then names only these.
    """
    assert o.key is not None and o.body is not None
    body, body_hash = o.body, o.body_hash
    if portals is not None and list(portals) != body_portals(o):
        body = {**body, "portals": list(portals)}
        body_hash = content_hash(body)
    return Operation(CREATE, o.key, offerer_estate_id_of(o.body), body=body, body_hash=body_hash,
                     portals=list(portals if portals is not None else o.portals), outcome=o)


def reconcile(want: Operation, current: ListingState | None) -> Operation | None:
    """The operation that brings one listing from ``current`` to what ``want`` asks; None when none is needed.

    ``want`` carries a body (the listing must be online with it) or is a DELETE
    (the listing left the feed).
    """
    live = current is not None and current.live
    if want.op == DELETE:
        if not live:
            return None
        assert current is not None
        return Operation(DELETE, want.key, current.offerer_estate_id, current.classified_id, current.etag,
                         portals=list(current.portals))
    if not live:
        return replace(want, op=CREATE, classified_id=None, etag=None)
    assert current is not None
    if current.body_hash == want.body_hash:
        return None
    return replace(want, op=UPDATE, classified_id=current.classified_id, etag=current.etag)


def plan(agency_id: str, outcomes: Iterable[Outcome], state: Mapping[str, ListingState], *,
         feed_complete: bool | None = None, full_snapshot: bool = True,
         guard: GuardSettings = GuardSettings(), feed_stats: FeedFacts | None = None,
         in_doubt: frozenset[str] | set[str] = frozenset(), quotas: Mapping[str, int] | None = None,
         quota_priority: Sequence[str] = DEFAULT_PRIORITY) -> Plan:
    """Diff the feed against the state.

    ``feed_complete`` may also come from ``feed_stats.complete`` (read after the
    outcomes are exhausted, since a truncation is only known at the end).
    ``in_doubt``: listings whose remote state is unknown; what the feed wants of
    them goes to ``Plan.deferred``, never to an operation planned from the state.
    ``quotas``: seats per portal of the contract; ``quota_priority`` decides who
    takes them (``etl/load/quotas.py``), the others are in ``Plan.over_quota``.
    """
    p = Plan(agency_id=agency_id)
    live = {k: s for k, s in state.items() if s.live}
    p.live_before = len(live)
    seen: set[str] = set()
    candidates: list[Candidate] = []
    for o in outcomes:
        p.records += 1
        if o.key is None or o.key.agency_id != agency_id:
            p.rejected.append(o)
            continue
        sk = o.key.source_key
        if sk in seen:
            p.duplicates.append(o)
            continue
        seen.add(sk)
        current = live.get(sk)
        if not o.accepted or o.body is None:
            (p.kept if current is not None else p.rejected).append(o)
            continue
        if sk in in_doubt:
            p.deferred.append(wanted(o))
            continue
        candidates.append(Candidate(o, state.get(sk), len(candidates), list(body_portals(o))))
    if quotas:
        p.over_quota = fit(candidates, quotas, priority=quota_priority,
                           occupied=_seats_taken_anyway(p, live, seen, full_snapshot))
    for c in candidates:
        o = c.outcome
        assert o.key is not None
        if not c.portals:  # no seat on any of its portals: not published tonight (withdrawn if online)
            gone = reconcile(Operation(DELETE, o.key, offerer_estate_id_of(o.body or {})), live.get(o.key.source_key))
            if gone is not None:
                p.deletes.append(gone)
            continue
        op = reconcile(wanted(o, c.portals), live.get(o.key.source_key))
        if op is None:
            p.unchanged.append(o.key)
        else:
            (p.creates if op.op == CREATE else p.updates).append(op)

    complete = feed_complete if feed_complete is not None else (feed_stats.complete if feed_stats is not None else True)
    p.feed_complete = bool(complete)
    if full_snapshot:
        for sk, s in live.items():
            if sk not in seen and sk not in in_doubt:
                p.deletes.append(Operation(DELETE, ListingKey(agency_id, sk), s.offerer_estate_id,
                                           s.classified_id, s.etag, portals=list(s.portals)))
        for sk in sorted(in_doubt - seen):
            # gone from the feed while an operation on it is unresolved: delete it if it turns out online
            s = state.get(sk)
            p.deferred.append(Operation(DELETE, ListingKey(agency_id, sk), s.offerer_estate_id if s else "",
                                        s.classified_id if s else None))
    p.guard = _guard(p, seen, full_snapshot, guard)
    return p


def body_portals(o: Outcome) -> list[str]:
    return list((o.body or {}).get("portals", o.portals))


def _seats_taken_anyway(p: Plan, live: Mapping[str, ListingState], seen: set[str],
                        full_snapshot: bool) -> Counter[str]:
    """Seats per portal that tonight's choice cannot give away: listings kept online despite an error
    (``kept`` holds live ones only), listings in doubt (as the feed wants them), and, without a full
    snapshot, live listings the feed does not mention (nothing deletes them)."""
    held = [live[o.key.source_key].portals for o in p.kept if o.key is not None]
    held += [op.portals for op in p.deferred]
    if not full_snapshot:
        held += [s.portals for sk, s in live.items() if sk not in seen]
    return seats_taken(held)


def _guard(p: Plan, seen: set[str], full_snapshot: bool, g: GuardSettings) -> str | None:
    if not p.feed_complete:
        return (f"flux incomplet ou tronqué ({p.records} annonces lues) : aucune mise à jour appliquée "
                f"pour ne pas supprimer à tort ; vérifiez le fichier reçu")
    if full_snapshot and not seen and p.live_before > 0:
        return (f"flux vide alors que {p.live_before} annonces sont en ligne : rien n'est supprimé ; "
                f"vérifiez l'export de l'agence")
    n = len(p.deletes)
    if n >= g.min_count and p.live_before and n > g.max_share * p.live_before:
        return (f"{n} suppressions sur {p.live_before} annonces en ligne ({n / p.live_before:.0%}), "
                f"au-delà du seuil de {g.max_share:.0%} : relancez avec --allow-mass-delete si c'est voulu")
    return None
