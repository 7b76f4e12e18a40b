"""The state store: what the loader knows about each listing, run, journal entry and lock.

One interface over SQLite (WAL, the default) and PostgreSQL (by URL). Every
method is one short transaction, so a crash at any point leaves the store
consistent with the last completed step.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from etl.load.schema import HEAD_REVISION, feed_cache, journal, listings, locks, runs, status_events
from etl.load.statuses import StatusUpdate, is_newer, publication

MIGRATIONS = Path(__file__).with_name("migrations")
LIVE, DELETED = "live", "deleted"
PENDING, DONE, FAILED, RESOLVED = "pending", "done", "failed", "resolved"


@dataclass(slots=True)
class ListingState:
    agency_id: str
    source_key: str
    offerer_estate_id: str
    classified_id: str | None
    body_hash: str | None
    etag: str | None
    portals: list[str]
    status: str
    publication_status: str | None = None
    publication_at: float | None = None
    publication_detail: str | None = None
    first_seen_run: int | None = None
    last_seen_run: int | None = None
    body: str | None = None
    updated_at: float = 0.0        # last time we wrote it (epoch seconds)

    @property
    def live(self) -> bool:
        return self.status == LIVE and self.classified_id is not None


@dataclass(slots=True)
class JournalEntry:
    id: int
    run_id: int
    agency_id: str
    source_key: str
    offerer_estate_id: str
    op: str
    classified_id: str | None
    body_hash: str | None
    state: str
    http_status: int | None = None
    traceparent: str | None = None
    detail: str | None = None
    created_at: float = 0.0        # when its first mutating request left (epoch seconds)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A status callback as received (``status_events``)."""

    id: int
    intermediary_id: str
    classified_id: str
    status: str
    status_at: float
    body: str
    received_at: float


@dataclass(frozen=True, slots=True)
class LockHolder:
    agency_id: str
    run_id: int | None
    host: str
    pid: int
    acquired_at: float
    heartbeat_at: float

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.acquired_at))
        return f"run {self.run_id} (pid {self.pid} sur {self.host}, depuis {since})"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) holds nothing any more
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process crashes; only power loss may lose the last commit
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def current_revision(engine: Engine) -> str | None:
    """The store's Alembic revision, read without importing Alembic (it costs half a second per start)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, safe with concurrent openers)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.runtime.migration import MigrationContext

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724562001)")
                if MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION:
                    return
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except (OperationalError, IntegrityError):
            # another process migrated at the same moment (SQLite has no advisory lock)
            if attempt == 2:
                raise
            time.sleep(0.2)


def _now() -> float:
    return time.time()


class StateStore:
    """What the loader remembers between runs. Open with :meth:`open`."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.host = socket.gethostname()
        self.pid = os.getpid()

    @classmethod
    def open(cls, url: str) -> StateStore:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ----------------------------------------------------------------- listings

    @staticmethod
    def _listing(row: Any, with_body: bool = False) -> ListingState:
        return ListingState(
            agency_id=row.agency_id, source_key=row.source_key, offerer_estate_id=row.offerer_estate_id,
            classified_id=row.classified_id, body_hash=row.body_hash, etag=row.etag,
            portals=json.loads(row.portals) if row.portals else [], status=row.status,
            publication_status=row.publication_status, publication_at=row.publication_at,
            publication_detail=row.publication_detail, first_seen_run=row.first_seen_run,
            last_seen_run=row.last_seen_run, body=row.body if with_body else None, updated_at=row.updated_at,
        )

    def listings(self, agency_id: str, *, with_body: bool = False) -> dict[str, ListingState]:
        """Every listing of the agency (live or deleted); bodies only on request, they are the bulk."""
        cols = [c for c in listings.c if with_body or c.name != "body"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(listings.c.agency_id == agency_id))
            return {r.source_key: self._listing(r, with_body) for r in rows}

    def listing(self, agency_id: str, source_key: str) -> ListingState | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(listings).where(
                listings.c.agency_id == agency_id, listings.c.source_key == source_key)).first()
        return self._listing(row, True) if row else None

    def _upsert(self, conn: Connection, values: dict[str, Any]) -> None:
        key = (listings.c.agency_id == values["agency_id"]) & (listings.c.source_key == values["source_key"])
        changed = {k: v for k, v in values.items() if k not in ("agency_id", "source_key")}
        if conn.execute(sa.update(listings).where(key).values(**changed)).rowcount == 0:
            conn.execute(sa.insert(listings).values(**values))

    def record_live(self, conn: Connection, *, agency_id: str, source_key: str, offerer_estate_id: str,
                    classified_id: str, body_hash: str | None, body: str | None, etag: str | None,
                    portals: list[str], run_id: int | None) -> None:
        values: dict[str, Any] = dict(
            agency_id=agency_id, source_key=source_key, offerer_estate_id=offerer_estate_id,
            classified_id=classified_id, body_hash=body_hash, body=body, etag=etag,
            portals=json.dumps(portals), status=LIVE, updated_at=_now(), last_seen_run=run_id,
        )
        key = (listings.c.agency_id == agency_id) & (listings.c.source_key == source_key)
        existing = conn.execute(sa.select(listings.c.first_seen_run, listings.c.status, listings.c.classified_id)
                                .where(key)).first()
        if existing is None or existing.status != LIVE:
            values["first_seen_run"] = run_id
        if existing is not None and existing.classified_id != classified_id:
            # a new classified: what the portals said of the old one is not about it
            values.update(publication_status=None, publication_at=None, publication_detail=None)
        self._upsert(conn, values)

    def record_deleted(self, conn: Connection, agency_id: str, source_key: str) -> None:
        conn.execute(sa.update(listings).where(
            listings.c.agency_id == agency_id, listings.c.source_key == source_key,
        ).values(status=DELETED, etag=None, body_hash=None, updated_at=_now()))

    def put_listing(self, state: ListingState, body: str | None = None) -> None:
        """Write one listing as given (tests)."""
        with self.engine.begin() as conn:
            self._upsert(conn, dict(
                agency_id=state.agency_id, source_key=state.source_key, offerer_estate_id=state.offerer_estate_id,
                classified_id=state.classified_id, body_hash=state.body_hash, body=body, etag=state.etag,
                portals=json.dumps(state.portals), status=state.status, publication_status=state.publication_status,
                publication_at=state.publication_at, publication_detail=state.publication_detail,
                first_seen_run=state.first_seen_run, last_seen_run=state.last_seen_run, updated_at=_now(),
            ))

    # --------------------------------------------------------- publication statuses

    def record_status_event(self, *, intermediary_id: str, classified_id: str, status: str, status_at: float,
                            body: str, digest: str) -> bool:
        """Keep a callback once; False when the same one was already kept (a redelivery)."""
        values = dict(digest=digest, intermediary_id=intermediary_id, classified_id=classified_id, status=status,
                      status_at=status_at, body=body, received_at=_now())
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        with self.engine.begin() as conn:
            done = conn.execute(insert(status_events).values(**values).on_conflict_do_nothing(index_elements=["digest"]))
            return bool(done.rowcount)

    def unapplied_status_events(self, *, after: int = 0, limit: int = 500) -> list[StatusEvent]:
        return self._status_events(status_events.c.applied_at.is_(None) & (status_events.c.id > after), limit)

    def _status_events(self, where: Any, limit: int | None = None) -> list[StatusEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(status_events).where(where).order_by(status_events.c.id).limit(limit))
            return [StatusEvent(r.id, r.intermediary_id, r.classified_id, r.status, r.status_at, r.body,
                                r.received_at) for r in rows]

    def status_events(self) -> list[StatusEvent]:
        """Every callback kept, folded or not (tests, benchmarks)."""
        return self._status_events(sa.true())

    def prune_status_events(self, applied_before: float) -> int:
        """Drop the callbacks folded before ``applied_before`` (their news is in the listings)."""
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(status_events).where(status_events.c.applied_at < applied_before)).rowcount

    def forget_status_event(self, event_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(status_events).where(status_events.c.id == event_id))

    def apply_status(self, agency_ids: Iterable[str], classified_id: str, status: Mapping[str, Any], at: float) -> str:
        """One status: see :meth:`apply_statuses`."""
        return self.apply_statuses([StatusUpdate(tuple(agency_ids), classified_id, status, at)])[0]

    def apply_statuses(self, updates: Sequence[StatusUpdate]) -> list[str]:
        """Fold statuses, in order, into the listings of their agencies with their classified id, unless
        these hold a newer one; one transaction. Per update: "applied", "outdated", or "unmatched" (no such
        listing: its event stays unapplied, for a later fold)."""
        if not updates:
            return []
        ids = sorted({u.classified_id for u in updates})
        agencies = sorted({a for u in updates for a in u.agency_ids})
        outcomes: list[str] = []
        with self.engine.begin() as conn:
            if self.dialect == "sqlite":
                # SQLite begins the transaction at its first write: without one before the read, another
                # fold's commit could land between our read and our write, and an older status win
                conn.exec_driver_sql("UPDATE status_events SET id = id WHERE 0")
            held: dict[str, list[dict[str, Any]]] = {}
            if agencies:
                q = sa.select(listings.c.agency_id, listings.c.source_key, listings.c.classified_id, listings.c.portals,
                              listings.c.publication_status, listings.c.publication_at).where(
                    listings.c.classified_id.in_(ids), listings.c.agency_id.in_(agencies))
                # one lock order for every fold (the workers' job and each run's reports fold at once)
                q = q.order_by(listings.c.agency_id, listings.c.source_key).with_for_update()
                for r in conn.execute(q):
                    held.setdefault(r.classified_id, []).append(dict(r._mapping))
            changed: dict[tuple[str, str], dict[str, Any]] = {}
            folded: list[int] = []
            for u in updates:
                rows = [r for r in held.get(u.classified_id, ()) if r["agency_id"] in u.agency_ids]
                if not rows:
                    outcomes.append("unmatched")
                    continue
                name = str(u.status.get("status") or "")
                applied = False
                for r in rows:
                    if not is_newer(name, u.at, r["publication_status"], r["publication_at"]):
                        continue
                    pub = publication(u.status, json.loads(r["portals"]) if r["portals"] else [])
                    r["publication_status"], r["publication_at"] = pub.status, u.at
                    changed[(r["agency_id"], r["source_key"])] = {
                        "a": r["agency_id"], "k": r["source_key"], "ps": pub.status, "pa": u.at,
                        "pd": pub.detail_json()}
                    applied = True
                outcomes.append("applied" if applied else "outdated")
                if u.event_id is not None:
                    folded.append(u.event_id)
            if changed:
                conn.execute(sa.update(listings).where(
                    listings.c.agency_id == sa.bindparam("a"), listings.c.source_key == sa.bindparam("k"),
                ).values(publication_status=sa.bindparam("ps"), publication_at=sa.bindparam("pa"),
                         publication_detail=sa.bindparam("pd")), list(changed.values()))
            if folded:
                conn.execute(sa.update(status_events).where(status_events.c.id.in_(folded)).values(applied_at=_now()))
        return outcomes

    def touch_seen(self, agency_id: str, source_keys: Iterable[str], run_id: int) -> None:
        """Remember that these listings were in this run's feed (one statement, batched)."""
        stmt = sa.update(listings).where(
            listings.c.agency_id == agency_id, listings.c.source_key == sa.bindparam("k"),
        ).values(last_seen_run=run_id)
        batch = [{"k": k} for k in source_keys]
        if batch:
            with self.engine.begin() as conn:
                conn.execute(stmt, batch)

    # --------------------------------------------------------------- URL feeds

    def feed_validators(self, agency_id: str, url: str, fingerprint: str) -> dict[str, str]:
        """The ETag / Last-Modified of the feed the last clean run took from ``url`` under the same
        configuration (``fingerprint``); empty when there is none: the feed must be downloaded."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feed_cache).where(feed_cache.c.agency_id == agency_id)).first()
        if row is None or row.url != url or row.fingerprint != fingerprint:
            return {}
        return {k: v for k, v in (("etag", row.etag), ("last_modified", row.last_modified)) if v}

    def remember_feed(self, agency_id: str, url: str, fingerprint: str, validators: Mapping[str, str]) -> None:
        """After a clean run: the next one may ask the server whether the feed changed since."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(feed_cache).where(feed_cache.c.agency_id == agency_id))
            if validators:
                conn.execute(sa.insert(feed_cache).values(
                    agency_id=agency_id, url=url, etag=validators.get("etag"),
                    last_modified=validators.get("last_modified"), fingerprint=fingerprint, fetched_at=_now()))

    def forget_feed(self, agency_id: str) -> None:
        """A new download is being published: until its run ends clean, no feed counts as done."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(feed_cache).where(feed_cache.c.agency_id == agency_id))

    # --------------------------------------------------------------------- runs

    def start_run(self, agency_id: str, *, dry_run: bool = False) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(sa.insert(runs).values(
                agency_id=agency_id, started_at=_now(), status="running", dry_run=dry_run,
                host=self.host, pid=self.pid))
            return int(res.inserted_primary_key[0])

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
                finished_at=_now(), status=status, counts=json.dumps(dict(counts or {}))))

    def runs(self, agency_id: str, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).where(runs.c.agency_id == agency_id)
                                .order_by(runs.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    # ------------------------------------------------------------------ journal

    def journal_begin(self, *, run_id: int, agency_id: str, source_key: str, offerer_estate_id: str,
                      op: str, classified_id: str | None, body_hash: str | None,
                      traceparent: str | None = None) -> int:
        """Write-ahead: committed as the request leaves, before it can reach the API."""
        with self.engine.begin() as conn:
            res = conn.execute(sa.insert(journal).values(
                run_id=run_id, agency_id=agency_id, source_key=source_key, offerer_estate_id=offerer_estate_id,
                op=op, classified_id=classified_id, body_hash=body_hash, state=PENDING, created_at=_now(),
                traceparent=traceparent))
            return int(res.inserted_primary_key[0])

    def journal_close(self, conn: Connection, entry_id: int, state: str, *, http_status: int | None = None,
                      traceparent: str | None = None, detail: str | None = None,
                      classified_id: str | None = None) -> None:
        values: dict[str, Any] = dict(state=state, http_status=http_status, traceparent=traceparent,
                                      detail=detail, finished_at=_now())
        if classified_id is not None:
            values["classified_id"] = classified_id
        conn.execute(sa.update(journal).where(journal.c.id == entry_id).values(**values))

    def journal_note(self, entry_id: int, **values: Any) -> None:
        """Add facts to an entry that stays open (an answer that settled nothing, an adopted id)."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(journal).where(journal.c.id == entry_id).values(**values))

    def transaction(self) -> Any:
        return self.engine.begin()

    def unfinished(self, agency_id: str) -> list[JournalEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(journal).where(
                journal.c.agency_id == agency_id, journal.c.state == PENDING).order_by(journal.c.id))
            return [self._entry(r) for r in rows]

    def journal_entries(self, agency_id: str, run_id: int | None = None) -> list[JournalEntry]:
        q = sa.select(journal).where(journal.c.agency_id == agency_id)
        if run_id is not None:
            q = q.where(journal.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [self._entry(r) for r in conn.execute(q.order_by(journal.c.id))]

    @staticmethod
    def _entry(r: Any) -> JournalEntry:
        return JournalEntry(r.id, r.run_id, r.agency_id, r.source_key, r.offerer_estate_id, r.op,
                            r.classified_id, r.body_hash, r.state, r.http_status, r.traceparent, r.detail,
                            r.created_at)

    # -------------------------------------------------------------------- locks

    def acquire_lock(self, agency_id: str, run_id: int | None, *, stale_after: float = 900.0) -> LockHolder | None:
        """Take the agency's lock. Returns None on success, else who holds it.

        A lock left by a dead process on this host, or not refreshed for
        ``stale_after`` seconds, is taken over.
        """
        for _ in range(5):
            now = _now()
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(locks).values(agency_id=agency_id, run_id=run_id, host=self.host,
                                                          pid=self.pid, acquired_at=now, heartbeat_at=now))
                return None
            except IntegrityError:
                pass
            holder = self.lock_holder(agency_id)
            if holder is None:
                continue
            if holder.host == self.host and holder.pid == self.pid:
                return None
            stale = (holder.host == self.host and not _pid_alive(holder.pid)) or now - holder.heartbeat_at > stale_after
            if not stale:
                return holder
            with self.engine.begin() as conn:
                conn.execute(sa.delete(locks).where(
                    locks.c.agency_id == agency_id, locks.c.pid == holder.pid, locks.c.host == holder.host,
                    locks.c.acquired_at == holder.acquired_at))
                if holder.run_id is not None:
                    conn.execute(sa.update(runs).where(runs.c.id == holder.run_id, runs.c.status == "running")
                                 .values(status="crashed", finished_at=now))
        raise RuntimeError(f"impossible de prendre le verrou de l'agence {agency_id}")

    def lock_holder(self, agency_id: str) -> LockHolder | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(locks).where(locks.c.agency_id == agency_id)).first()
        return LockHolder(r.agency_id, r.run_id, r.host, r.pid, r.acquired_at, r.heartbeat_at) if r else None

    def set_lock_run(self, agency_id: str, run_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(locks).where(locks.c.agency_id == agency_id, locks.c.pid == self.pid,
                                                locks.c.host == self.host).values(run_id=run_id))

    def heartbeat(self, agency_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(locks).where(locks.c.agency_id == agency_id, locks.c.pid == self.pid,
                                                locks.c.host == self.host).values(heartbeat_at=_now()))

    def release_lock(self, agency_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(locks).where(locks.c.agency_id == agency_id, locks.c.pid == self.pid,
                                                locks.c.host == self.host))
