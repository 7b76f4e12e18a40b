"""Contract quotas: which eligible listings a portal's quota keeps, in a documented order.

Without this the API refuses the listings beyond a portal's quota in the order they happen to
arrive. Here, per portal with a quota, the listings that will be on it whatever tonight decides
(kept online despite an error, in doubt, or left alone by an incremental feed) take their seats
first; the listings the feed offers then compete for the rest, ranked by the configured
criteria; a listing that loses a portal keeps its others, and one that loses every portal is not
published (withdrawn if it was online). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.load.state import ListingState
from etl.outcome import Outcome

# Criteria of ``quota_priority``, applied in order (ties go to the next one, then to feed order).
ONLINE, NEWEST, OLDEST, PRICE_HIGH, PRICE_LOW = "online", "newest", "oldest", "price_high", "price_low"
DEFAULT_PRIORITY: tuple[str, ...] = (ONLINE, NEWEST)
_NEW = float("inf")  # a listing first seen tonight is newer than any already published


@dataclass(slots=True)
class Candidate:
    """An accepted listing of tonight's feed, competing for seats on its portals."""

    outcome: Outcome
    current: ListingState | None       # what the state store holds (live or not)
    position: int                      # in the feed: the last tie-break
    portals: list[str] = field(default_factory=list)  # narrowed as quotas are applied

    @property
    def source_key(self) -> str:
        assert self.outcome.key is not None
        return self.outcome.key.source_key

    def online_on(self, portal: str) -> bool:
        c = self.current
        return c is not None and c.live and portal in c.portals


@dataclass(frozen=True, slots=True)
class QuotaMiss:
    """A listing that did not fit a portal's quota (reported to the agency)."""

    source_key: str
    reference: str
    portals: tuple[str, ...]    # the portals it was eligible for but is not published on tonight
    published: bool            # still published on other portals of its contract
    was_online: bool           # it was online on one of those portals before tonight: withdrawn from it
    body: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)  # for the report's title


def _dig(body: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = body
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _age(c: Candidate) -> tuple[str, float]:
    """Sortable recency: the mandate's start date (the agency's own date of the listing), then the run
    that first published it (tonight's new listings newest)."""
    mandate = _dig(c.outcome.body, "data", "countrySpecific", "fr", "agentMandate", "startDate")
    first = c.current.first_seen_run if c.current is not None and c.current.live else None
    return (str(mandate) if mandate else "", float(first) if first is not None else _NEW)


def _price(c: Candidate) -> float:
    for path in (("buy", "price", "amount"), ("rent", "price", "amount"), ("rent", "rent", "amount")):
        v = _dig(c.outcome.body, "data", "prices", *path)
        if isinstance(v, (int, float)):
            return float(v)
    return 0.0


def rank(candidates: Sequence[Candidate], portal: str, priority: Sequence[str]) -> list[Candidate]:
    """The candidates in the order they take a portal's seats (first = kept)."""
    out = sorted(candidates, key=lambda c: c.position)
    for criterion in reversed(priority):  # stable sorts, least significant criterion first
        if criterion == ONLINE:
            out.sort(key=lambda c: c.online_on(portal), reverse=True)
        elif criterion == NEWEST:
            out.sort(key=_age, reverse=True)
        elif criterion == OLDEST:
            out.sort(key=_age)
        elif criterion == PRICE_HIGH:
            out.sort(key=_price, reverse=True)
        elif criterion == PRICE_LOW:
            out.sort(key=_price)
        else:
            raise ValueError(f"critère de priorité inconnu : {criterion}")
    return out


def fit(candidates: Sequence[Candidate], quotas: Mapping[str, int], *, occupied: Counter[str] | None = None,
        priority: Sequence[str] = DEFAULT_PRIORITY) -> list[QuotaMiss]:
    """Narrow each candidate's ``portals`` to what the quotas allow; returns the listings that lost a portal.

    ``occupied``: seats per portal already taken by listings that are not candidates.
    """
    occupied = occupied or Counter()
    lost: dict[str, list[str]] = {}
    for portal in sorted(quotas):
        wanting = [c for c in candidates if portal in c.portals]
        seats = max(0, quotas[portal] - occupied[portal])
        for c in rank(wanting, portal, priority)[seats:]:
            c.portals = [p for p in c.portals if p != portal]
            lost.setdefault(c.source_key, []).append(portal)
    by_key = {c.source_key: c for c in candidates}
    misses = []
    for sk, portals in lost.items():
        c = by_key[sk]
        misses.append(QuotaMiss(sk, c.outcome.reference, tuple(portals), published=bool(c.portals),
                                was_online=any(c.online_on(p) for p in portals), body=c.outcome.body))
    return sorted(misses, key=lambda m: m.source_key)


def seats_taken(portal_lists: Iterable[list[str]]) -> Counter[str]:
    """Seats per portal taken by listings on these portals."""
    return Counter(p for portals in portal_lists for p in portals)
