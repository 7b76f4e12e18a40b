"""A rate limit shared by every process that sends with one credential, kept in PostgreSQL.

AVIV limits requests per credential. Workers on several machines would each hold their own
``RateLimiter`` and together exceed it; dividing the limit between them wastes what idle workers
leave unused. Here one row per credential is the limiter, updated under a row lock: a caller
reserves the next start time in the database's clock (so the workers' clocks do not matter),
then sleeps until it locally. The rules are the one-process limiter's: evenly spaced starts, and
the last ``rate`` starts remembered, so that ``rate + 1`` consecutive starts always span more than
a second plus a margin for timing jitter. A caller that wakes later than half that margin
gives its start back unused and reserves again, so a late start can never crowd a window.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from etl.agencies import ResolvedCredentials

# Below this the margin would not cover a loaded machine's timer and the network's jitter: half
# of it is allowed to a late wake-up (beyond, the start is taken again), the rest to the way to the API.
MIN_MARGIN_S = 0.04
LATE_SHARE = 1 / 2


@dataclass(frozen=True, slots=True)
class Slot:
    """A reserved start: asked at ``asked`` (local monotonic), due ``wait`` seconds later."""

    key: str
    asked: float
    wait: float


def credential_key(base_url: str, creds: ResolvedCredentials | None) -> str:
    """The bucket of a credential (a hash: the table may be read by anyone with the database)."""
    who = "" if creds is None else f"{creds.client_id}\x00{creds.intermediary_id}"
    return hashlib.sha256(f"{base_url}\x00{who}".encode()).hexdigest()[:40]


class SharedRateLimiter:
    """``acquire(creds)`` returns when a request with ``creds`` may start; at most ``rate`` per second
    across every process sharing the database, per credential.

    The reservation is one call of ``etl_rate_reserve`` (migration 0004) on a connection of its
    own, in autocommit: one round trip, so that a loaded machine does not start late.
    """

    def __init__(self, engine: Engine, rate: float, base_url: str):
        if engine.dialect.name != "postgresql":
            raise ValueError("a shared rate limit needs PostgreSQL (row locks across processes)")
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.rate = rate
        self.base_url = base_url
        self.interval = 1.0 / rate
        self.window = max(1, int(rate))
        # the one-process limiter's margin (a quarter interval), at least MIN_MARGIN_S
        self.margin = max(self.interval / 4, MIN_MARGIN_S)
        self.span = 1.0 + self.margin
        self._locks: dict[str, asyncio.Lock] = {}
        self._conn: psycopg.AsyncConnection | None = None
        self._conn_lock = asyncio.Lock()
        self.starts = 0
        self.retaken = 0             # reservations given back because the caller woke too late
        self.first: float | None = None
        self.last: float | None = None

    async def _reserve(self, key: str) -> float:
        """Reserve the next start of ``key``; the seconds to wait for it, from the database's clock."""
        async with self._conn_lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            cur = await self._conn.execute("SELECT etl_rate_reserve(%s, %s, %s, %s)",
                                           (key, self.interval, self.window, self.span))
            row = await cur.fetchone()
        assert row is not None
        return float(row[0])

    async def acquire(self, creds: ResolvedCredentials | None = None) -> Slot:
        key = credential_key(self.base_url, creds)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # this process's callers queue here, not on the row lock
            slot = await self._take(key)
            while self._late(slot):
                self.retaken += 1  # woke too late: that start stays recorded unused, take a later one
                slot = await self._take(key)
        now = time.monotonic()
        self.starts += 1
        self.first = now if self.first is None else self.first
        self.last = now
        return slot

    async def confirm(self, slot: Slot | None) -> None:
        """Right before the request leaves: if what ran since ``acquire`` (the journal's write) made it
        late, take a new start and wait for it."""
        if slot is None or not self._late(slot):
            return
        lock = self._locks.setdefault(slot.key, asyncio.Lock())
        async with lock:
            while self._late(slot):
                self.retaken += 1
                slot = await self._take(slot.key)

    async def _take(self, key: str) -> Slot:
        asked = time.monotonic()
        wait = await self._reserve(key)
        if wait > 0:
            await asyncio.sleep(wait - (time.monotonic() - asked))
        return Slot(key, asked, max(wait, 0.0))

    def _late(self, slot: Slot) -> bool:
        # how late we are, at worst: the reservation's round trip counted in full
        return time.monotonic() - slot.asked - slot.wait > self.margin * LATE_SHARE

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    def report(self) -> dict[str, Any]:
        achieved = (self.starts - 1) / (self.last - self.first) if self.first and self.last and self.last > self.first \
            else None
        return {"limit": round(self.rate, 3), "shared": True, "scope": "credential", "starts": self.starts,
                "achieved_by_this_process": round(achieved, 3) if achieved else None,
                "margin_s": round(self.margin, 4), "retaken": self.retaken}
