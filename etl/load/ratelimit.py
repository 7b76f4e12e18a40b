"""A rate limit shared by every process that sends with one credential, kept in PostgreSQL.

AVIV limits requests per credential. Workers on several machines would each hold their own
``RateLimiter`` and together exceed it; dividing the limit between them wastes what idle workers
leave unused. Here one row per credential is the limiter, updated under a row lock: a caller
reserves the next start time in the database's clock (so the workers' clocks do not matter),
then sleeps until it locally. The rules are the one-process limiter's: evenly spaced starts, and
the last ``rate`` starts remembered, so that ``rate + 1`` consecutive starts always span more than
a second plus a margin for timing jitter.

A start is where the API counts it: when the request's first byte leaves, which on a busy event
loop can be long after ``acquire`` returned (the journal's write, a new connection, another task's
work in between: up to 0.25 s measured). So the client calls ``confirm`` again at that very
moment (``AvivClient.request``), and a caller later than half the margin there gives its start
back unused and reserves again: a late start never crowds a window. The other half is the way to the API.

The database's clock is read within each reservation's round trip; the round trips of the last
seconds bound where that clock stands against this process's, so a caller wakes neither early
(which would crowd the window before it) nor needlessly late, whatever the round trip took.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
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
    """A reserved start, in this process's monotonic clock: due at ``due`` at the latest (when the
    caller wakes), ``earliest`` at the soonest the database's clock allows (what lateness counts from)."""

    key: str
    earliest: float
    due: float


class DbClock:
    """Where the database's clock stands against ``time.monotonic()``: each reservation reads it
    between its query leaving (``sent``) and its answer arriving (``received``), which bounds the
    offset; the bounds of the last ``keep_s`` seconds (64 at most), together, bound it to the shortest round trip."""

    def __init__(self, keep_s: float = 10.0):
        self.keep_s = keep_s
        self._bounds: deque[tuple[float, float, float]] = deque()  # (received, low, high)

    def add(self, sent: float, received: float, db_now: float) -> tuple[float, float]:
        """Record a reading; the offset (database minus local) lies within the returned bounds."""
        self._bounds.append((received, db_now - received, db_now - sent))
        while self._bounds[0][0] < received - self.keep_s or len(self._bounds) > 64:
            self._bounds.popleft()
        low = max(b[1] for b in self._bounds)
        high = min(b[2] for b in self._bounds)
        if low > high:  # a clock stepped or drifted: only this reading holds
            self._bounds = deque([self._bounds[-1]])
            low, high = db_now - received, db_now - sent
        return low, high


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
        self.clock = DbClock()
        self.starts = 0
        self.retaken = 0             # reservations given back because the caller woke too late
        self.first: float | None = None
        self.last: float | None = None

    async def _reserve(self, key: str) -> Slot:
        """Reserve the next start of ``key``, placed in this process's clock."""
        async with self._conn_lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            sent = time.monotonic()
            # the function runs first (FROM), the clock is read after it: start = wait + that reading, or sooner
            cur = await self._conn.execute("SELECT w, extract(epoch FROM clock_timestamp())::float8 "
                                           "FROM etl_rate_reserve(%s, %s, %s, %s) AS w",
                                           (key, self.interval, self.window, self.span))
            row = await cur.fetchone()
            received = time.monotonic()
        assert row is not None
        wait, db_now = float(row[0]), float(row[1])
        low, high = self.clock.add(sent, received, db_now)
        start = db_now + wait  # in the database's clock
        return Slot(key, earliest=start - high, due=max(start - low, received))

    async def acquire(self, creds: ResolvedCredentials | None = None) -> Slot:
        key = credential_key(self.base_url, creds)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # this process's callers queue here, not on the row lock
            slot = await self._on_time(await self._take(key))
        now = time.monotonic()
        self.starts += 1
        self.first = now if self.first is None else self.first
        self.last = now
        return slot

    async def confirm(self, slot: Slot | None) -> Slot | None:
        """At the moment the request leaves: if what ran since ``acquire`` (the journal's write, a new
        connection, the event loop's other tasks) made it late, take a new start and wait for it.
        Returns the start the request leaves with."""
        if slot is None or not self._late(slot):
            return slot
        async with self._locks.setdefault(slot.key, asyncio.Lock()):
            return await self._on_time(slot)

    async def _on_time(self, slot: Slot) -> Slot:
        """``slot``, or, if we are already too late for it, a later start (that one stays recorded unused)."""
        while self._late(slot):
            self.retaken += 1
            slot = await self._take(slot.key)
        return slot

    async def _take(self, key: str) -> Slot:
        slot = await self._reserve(key)
        while (left := slot.due - time.monotonic()) > 0:  # never early: that would crowd the window before
            await asyncio.sleep(left)
        return slot

    def _late(self, slot: Slot) -> bool:
        # how late we are, at worst: from the soonest the database's clock allows
        return time.monotonic() - slot.earliest > self.margin * LATE_SHARE

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    def report(self) -> dict[str, Any]:
        achieved = (self.starts - 1) / (self.last - self.first) if self.first and self.last and self.last > self.first \
            else None
        return {"limit": round(self.rate, 3), "shared": True, "scope": "credential", "starts": self.starts,
                "achieved_by_this_process": round(achieved, 3) if achieved else None,
                "margin_s": round(self.margin, 4), "retaken": self.retaken}
