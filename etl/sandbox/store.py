"""The sandbox's state: classifieds, their statuses, pending processing, webhooks, token counters.

One SQLite database, ``:memory:`` by default or a file so a sandbox survives a
restart. One connection guarded by a re-entrant lock: the server's event loop
and a test thread reading through the Python handle may touch it at once, and
every operation is short.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.sandbox import jsonio

SCHEMA_VERSION = "1"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS classifieds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    intermediary_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    offerer_estate_id TEXT NOT NULL,
    body BLOB NOT NULL,
    revision INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    published_portals BLOB NOT NULL DEFAULT '[]',
    media BLOB NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    visible_at REAL NOT NULL DEFAULT 0  -- epoch seconds: look-ups find it from then on
);
CREATE INDEX IF NOT EXISTS ix_classifieds_oei ON classifieds (intermediary_id, offerer_estate_id, deleted);
CREATE INDEX IF NOT EXISTS ix_classifieds_owner ON classifieds (intermediary_id, deleted, seq);
CREATE TABLE IF NOT EXISTS statuses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    classified_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL,
    sub_status TEXT,
    sub_status_details TEXT,
    message TEXT NOT NULL,
    portals BLOB NOT NULL,
    media_statuses BLOB,
    status_date TEXT NOT NULL,
    creation_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_statuses_classified ON statuses (classified_id, seq);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    classified_id TEXT NOT NULL,
    intermediary_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    op TEXT NOT NULL,
    body BLOB,
    stage INTEGER NOT NULL,
    due_at REAL NOT NULL,
    final_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_jobs_due ON jobs (due_at, seq);
CREATE TABLE IF NOT EXISTS portal_usage (
    intermediary_id TEXT NOT NULL,
    portal TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (intermediary_id, portal)
);
CREATE TABLE IF NOT EXISTS webhooks (
    intermediary_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    url TEXT NOT NULL,
    statuses BLOB
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    intermediary_id TEXT NOT NULL,
    url TEXT NOT NULL,
    classified_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_outbox_due ON outbox (state, next_at, seq);
CREATE TABLE IF NOT EXISTS token_requests (
    client_id TEXT NOT NULL,
    intermediary_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (client_id, intermediary_id)
);
"""

_TABLES = ("classifieds", "statuses", "jobs", "portal_usage", "webhooks", "outbox", "token_requests")


@dataclass(slots=True)
class Classified:
    seq: int
    id: str
    intermediary_id: str
    client_id: str
    offerer_estate_id: str
    raw_body: bytes  # decoded on demand: most processing steps never read the body
    revision: int
    deleted: bool
    published_portals: list[str]
    media: dict[str, str]  # url → media status of its last download
    created_at: str
    updated_at: str
    deleted_at: str | None
    visible_at: float  # epoch seconds; before it, look-ups do not find the classified

    @property
    def body(self) -> dict[str, Any]:
        return jsonio.loads(self.raw_body)

    def visible(self, now: float) -> bool:
        return self.visible_at <= now


@dataclass(slots=True)
class Job:
    seq: int
    classified_id: str
    intermediary_id: str
    revision: int
    op: str  # POST | PUT | DELETE
    raw_body: bytes | None
    stage: int  # 1: next is CREATING/UPDATING/DELETING; 2: next is the outcome
    due_at: float
    final_at: float

    @property
    def body(self) -> dict[str, Any] | None:
        return None if self.raw_body is None else jsonio.loads(self.raw_body)


@dataclass(slots=True)
class Delivery:
    seq: int
    intermediary_id: str
    url: str
    classified_id: str
    payload: dict[str, Any]
    attempts: int
    next_at: float
    state: str  # pending | delivered | failed
    last_status: int | None
    last_error: str | None


def _loads(blob: Any) -> Any:
    return None if blob is None else jsonio.loads(blob)


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path else ":memory:"
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_DDL)
        self._migrate()
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        # Read for every status emitted: kept in memory, written through.
        self._webhooks: dict[str, tuple[str, list[str] | None]] = {
            r[0]: (r[1], _loads(r[2])) for r in self._db.execute("SELECT intermediary_id, url, statuses FROM webhooks")}

    def _migrate(self) -> None:
        """Bring a state file written by an older sandbox up to date (columns added since)."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(classifieds)")}
        if "visible_at" not in columns:  # every classified it holds was visible already
            self._db.execute("ALTER TABLE classifieds ADD COLUMN visible_at REAL NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One atomic unit; nested calls join the outer transaction."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # --- meta ---------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (key, value))

    def reset(self) -> None:
        """Forget every classified, status, subscription and counter (the signing key stays)."""
        with self.tx():
            for table in _TABLES:
                self._run(f"DELETE FROM {table}")  # table names are constants, never input
            self._webhooks.clear()

    # --- tokens ---------------------------------------------------------------------------

    def count_token_request(self, client_id: str, intermediary_id: str) -> None:
        self._run("INSERT INTO token_requests VALUES (?, ?, 1) ON CONFLICT(client_id, intermediary_id) "
                  "DO UPDATE SET count = count + 1", (client_id, intermediary_id))

    def token_counts(self) -> list[tuple[str, str, int]]:
        return [tuple(r) for r in self._all("SELECT client_id, intermediary_id, count FROM token_requests "
                                            "ORDER BY client_id, intermediary_id")]  # type: ignore[misc]

    # --- classifieds --------------------------------------------------------------------------

    _CLASSIFIED_COLS = ("seq, id, intermediary_id, client_id, offerer_estate_id, body, revision, deleted, "
                        "published_portals, media, created_at, updated_at, deleted_at, visible_at")

    @staticmethod
    def _classified(row: tuple[Any, ...]) -> Classified:
        return Classified(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                          jsonio.loads(row[8]), jsonio.loads(row[9]), row[10], row[11], row[12], row[13])

    def classified(self, classified_id: str) -> Classified | None:
        row = self._one(f"SELECT {self._CLASSIFIED_COLS} FROM classifieds WHERE id = ?", (classified_id,))
        return self._classified(row) if row else None

    def live_by_offerer_estate_id(self, intermediary_id: str, offerer_estate_id: str) -> Classified | None:
        row = self._one(f"SELECT {self._CLASSIFIED_COLS} FROM classifieds WHERE intermediary_id = ? "
                        "AND offerer_estate_id = ? AND deleted = 0 ORDER BY seq LIMIT 1",
                        (intermediary_id, offerer_estate_id))
        return self._classified(row) if row else None

    def insert_classified(self, *, classified_id: str, intermediary_id: str, client_id: str, offerer_estate_id: str,
                          body: dict[str, Any], now_iso: str, visible_at: float = 0.0) -> None:
        self._run("INSERT INTO classifieds (id, intermediary_id, client_id, offerer_estate_id, body, revision, "
                  "created_at, updated_at, visible_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                  (classified_id, intermediary_id, client_id, offerer_estate_id, jsonio.dumps(body), now_iso, now_iso,
                   visible_at))

    def replace_classified(self, classified_id: str, *, offerer_estate_id: str, body: dict[str, Any],
                           revision: int, now_iso: str) -> None:
        self._run("UPDATE classifieds SET offerer_estate_id = ?, body = ?, revision = ?, updated_at = ? WHERE id = ?",
                  (offerer_estate_id, jsonio.dumps(body), revision, now_iso, classified_id))

    def mark_deleted(self, classified_id: str, *, revision: int, now_iso: str) -> None:
        self._run("UPDATE classifieds SET deleted = 1, revision = ?, deleted_at = ?, updated_at = ? WHERE id = ?",
                  (revision, now_iso, now_iso, classified_id))

    def undelete(self, classified_id: str) -> None:
        self._run("UPDATE classifieds SET deleted = 0, deleted_at = NULL WHERE id = ?", (classified_id,))

    def set_publication(self, classified_id: str, portals: list[str], media: dict[str, str]) -> None:
        self._run("UPDATE classifieds SET published_portals = ?, media = ? WHERE id = ?",
                  (jsonio.dumps(portals), jsonio.dumps(media), classified_id))

    def live_classifieds(self, intermediary_id: str, *, offerer_estate_id: str | None = None, after_seq: int = 0,
                         limit: int = 250, visible_at: float | None = None) -> list[Classified]:
        """Live classifieds in creation order; with ``visible_at``, only those visible at that time."""
        sql = f"SELECT {self._CLASSIFIED_COLS} FROM classifieds WHERE intermediary_id = ? AND deleted = 0 AND seq > ?"
        args: tuple[Any, ...] = (intermediary_id, after_seq)
        if visible_at is not None:
            sql += " AND visible_at <= ?"
            args += (visible_at,)
        if offerer_estate_id is not None:
            sql += " AND offerer_estate_id = ?"
            args += (offerer_estate_id,)
        return [self._classified(r) for r in self._all(sql + " ORDER BY seq LIMIT ?", (*args, limit))]

    def make_visible(self, now: float) -> int:
        """End the visibility lag of every classified (the admin's "process everything now")."""
        return self._run("UPDATE classifieds SET visible_at = ? WHERE visible_at > ?", (now, now)).rowcount

    def all_classifieds(self, *, intermediary_id: str | None = None, include_deleted: bool = False) -> list[Classified]:
        sql = f"SELECT {self._CLASSIFIED_COLS} FROM classifieds WHERE 1 = 1"
        args: tuple[Any, ...] = ()
        if intermediary_id is not None:
            sql += " AND intermediary_id = ?"
            args += (intermediary_id,)
        if not include_deleted:
            sql += " AND deleted = 0"
        return [self._classified(r) for r in self._all(sql + " ORDER BY seq", args)]

    # --- portal quotas ---------------------------------------------------------------------------

    def portal_usage(self, intermediary_id: str) -> dict[str, int]:
        return dict(self._all("SELECT portal, count FROM portal_usage WHERE intermediary_id = ?",  # type: ignore[arg-type]
                              (intermediary_id,)))

    def move_usage(self, intermediary_id: str, removed: list[str], added: list[str]) -> None:
        for portal, delta in [(p, -1) for p in removed] + [(p, 1) for p in added]:
            self._run("INSERT INTO portal_usage VALUES (?, ?, ?) ON CONFLICT(intermediary_id, portal) "
                      "DO UPDATE SET count = max(0, count + ?)", (intermediary_id, portal, max(delta, 0), delta))

    # --- statuses ---------------------------------------------------------------------------

    def insert_status(self, status: dict[str, Any]) -> None:
        self._run("INSERT INTO statuses (id, classified_id, customer_id, revision, status, sub_status, "
                  "sub_status_details, message, portals, media_statuses, status_date, creation_date) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (status["statusId"], status["classifiedId"], status["customerId"], status["revision"],
                   status["status"], status.get("subStatus"), status.get("subStatusDetails"), status["message"],
                   jsonio.dumps(status["portals"]),
                   jsonio.dumps(status["mediaStatuses"]) if "mediaStatuses" in status else None,
                   status["statusDate"], status["creationDate"]))

    @staticmethod
    def _status(row: tuple[Any, ...]) -> tuple[int, dict[str, Any]]:
        item: dict[str, Any] = {
            "statusId": row[1], "classifiedId": row[2], "customerId": row[3], "revision": row[4],
            "status": row[5], "message": row[8], "portals": jsonio.loads(row[9]),
            "statusDate": row[11], "creationDate": row[12],
        }
        if row[6] is not None:
            item["subStatus"] = row[6]
        if row[7] is not None:
            item["subStatusDetails"] = row[7]
        if row[10] is not None:
            item["mediaStatuses"] = jsonio.loads(row[10])
        return row[0], item

    _STATUS_COLS = ("seq, id, classified_id, customer_id, revision, status, sub_status, sub_status_details, message, "
                    "portals, media_statuses, status_date, creation_date")

    def statuses(self, classified_id: str) -> list[tuple[int, dict[str, Any]]]:
        """Every status of a classified, oldest first, with its sequence number (the paging cursor)."""
        rows = self._all(f"SELECT {self._STATUS_COLS} FROM statuses WHERE classified_id = ? ORDER BY seq",
                         (classified_id,))
        return [self._status(r) for r in rows]

    def latest_status(self, classified_id: str) -> dict[str, Any] | None:
        row = self._one(f"SELECT {self._STATUS_COLS} FROM statuses WHERE classified_id = ? ORDER BY seq DESC LIMIT 1",
                        (classified_id,))
        return self._status(row)[1] if row else None

    # --- jobs ---------------------------------------------------------------------------

    def insert_job(self, *, classified_id: str, intermediary_id: str, revision: int, op: str,
                   body: dict[str, Any] | None, due_at: float, final_at: float) -> None:
        self._run("INSERT INTO jobs (classified_id, intermediary_id, revision, op, body, stage, due_at, final_at) "
                  "VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                  (classified_id, intermediary_id, revision, op, jsonio.dumps(body) if body is not None else None,
                   due_at, final_at))

    def due_jobs(self, now: float, limit: int = 500) -> list[Job]:
        rows = self._all("SELECT seq, classified_id, intermediary_id, revision, op, body, stage, due_at, final_at "
                         "FROM jobs WHERE due_at <= ? ORDER BY due_at, seq LIMIT ?", (now, limit))
        return [Job(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]

    def next_job_due(self) -> float | None:
        row = self._one("SELECT min(due_at) FROM jobs")
        return row[0] if row else None

    def advance_job(self, seq: int, due_at: float) -> None:
        self._run("UPDATE jobs SET stage = 2, due_at = ? WHERE seq = ?", (due_at, seq))

    def finish_job(self, seq: int) -> None:
        self._run("DELETE FROM jobs WHERE seq = ?", (seq,))

    def pending_jobs(self) -> int:
        row = self._one("SELECT count(*) FROM jobs")
        return int(row[0]) if row else 0

    def make_jobs_due(self, now: float) -> None:
        self._run("UPDATE jobs SET due_at = min(due_at, ?), final_at = min(final_at, ?)", (now, now))

    # --- webhooks ---------------------------------------------------------------------------

    def set_webhook(self, intermediary_id: str, client_id: str, url: str, statuses: list[str] | None) -> None:
        self._run("INSERT INTO webhooks VALUES (?, ?, ?, ?) ON CONFLICT(intermediary_id) DO UPDATE SET "
                  "client_id = excluded.client_id, url = excluded.url, statuses = excluded.statuses",
                  (intermediary_id, client_id, url, jsonio.dumps(statuses) if statuses is not None else None))
        self._webhooks[intermediary_id] = (url, statuses)

    def delete_webhook(self, intermediary_id: str) -> bool:
        with self._lock:
            self._webhooks.pop(intermediary_id, None)
            return self._run("DELETE FROM webhooks WHERE intermediary_id = ?", (intermediary_id,)).rowcount > 0

    def webhook(self, intermediary_id: str) -> tuple[str, list[str] | None] | None:
        return self._webhooks.get(intermediary_id)

    def webhooks(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT intermediary_id, client_id, url, statuses FROM webhooks ORDER BY intermediary_id")
        return [{"intermediaryId": r[0], "clientId": r[1], "url": r[2], "statuses": _loads(r[3])} for r in rows]

    def enqueue_delivery(self, *, intermediary_id: str, url: str, classified_id: str, payload: dict[str, Any],
                         now: float) -> None:
        self._run("INSERT INTO outbox (intermediary_id, url, classified_id, payload, next_at) VALUES (?, ?, ?, ?, ?)",
                  (intermediary_id, url, classified_id, jsonio.dumps(payload), now))

    _DELIVERY_COLS = ("seq, intermediary_id, url, classified_id, payload, attempts, next_at, state, last_status, "
                      "last_error")

    @staticmethod
    def _delivery(r: tuple[Any, ...]) -> Delivery:
        return Delivery(r[0], r[1], r[2], r[3], jsonio.loads(r[4]), r[5], r[6], r[7], r[8], r[9])

    def due_deliveries(self, now: float, limit: int = 100) -> list[Delivery]:
        rows = self._all(f"SELECT {self._DELIVERY_COLS} FROM outbox WHERE state = 'pending' AND next_at <= ? "
                         "ORDER BY next_at, seq LIMIT ?", (now, limit))
        return [self._delivery(r) for r in rows]

    def next_delivery_due(self) -> float | None:
        row = self._one("SELECT min(next_at) FROM outbox WHERE state = 'pending'")
        return row[0] if row else None

    def record_attempt(self, seq: int, *, state: str, next_at: float, status: int | None, error: str | None) -> None:
        self._run("UPDATE outbox SET attempts = attempts + 1, state = ?, next_at = ?, last_status = ?, last_error = ? "
                  "WHERE seq = ?", (state, next_at, status, error, seq))

    def deliveries(self) -> list[Delivery]:
        return [self._delivery(r) for r in self._all(f"SELECT {self._DELIVERY_COLS} FROM outbox ORDER BY seq")]
