"""Publication statuses as AVIV reports them, by polling (``status``) or by callback (``webhook``).

Both ways end in :func:`fold_status`: a listing keeps the newest status it was told (by
``statusDate``, then by how far along the lifecycle it is), so duplicated or out-of-order
callbacks, and a poll racing a callback, leave the same answer. The callbacks themselves are
kept once each in ``status_events`` and folded by :func:`fold_status_events`, a job of its own:
the listener only stores and answers.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Statuses after which the integrator must act (fix and PUT again, or call support).
ACTION_REQUIRED = {"CREATED_WITH_MEDIA_ERROR", "UPDATED_WITH_MEDIA_ERROR", "CREATING_FAILED", "UPDATING_FAILED",
                   "DELETING_FAILED", "RECEIVING_FAILED"}
# The classified is online on the portals the status names.
ONLINE = {"CREATED", "CREATED_WITH_MEDIA_ERROR", "UPDATED", "UPDATED_WITH_MEDIA_ERROR"}
# What a webhook subscription asks for: the spec's Webhook.statuses enum (it lacks the media-error
# variants, which AVIV sends to CREATED / UPDATED subscribers).
SUBSCRIBED = ["RECEIVING", "RECEIVED", "RECEIVING_FAILED", "CREATING", "CREATED", "CREATING_FAILED", "UPDATING",
              "UPDATED", "UPDATING_FAILED", "DELETING", "DELETED", "DELETING_FAILED"]

# How far along one operation's lifecycle a status is: two statuses stamped in the same instant
# (statusDate has a limited resolution) are ordered by it.
_RECEIPT = {"RECEIVING": 0, "RECEIVED": 1, "RECEIVING_FAILED": 2}


def stage(status: str) -> int:
    if status in _RECEIPT:
        return _RECEIPT[status]
    return 3 if status.endswith("ING") else 4


def latest_status(body: Any) -> dict[str, Any] | None:
    items = body.get("items") if isinstance(body, dict) else None
    if not items:
        return None
    return max(items, key=lambda i: (i.get("revision") or 0, i.get("statusDate") or ""))


class MediaStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str = Field(max_length=4096)
    status: str = Field(max_length=64)


class ClassifiedStatus(BaseModel):
    """The callback's body (the spec's ClassifiedStatus). Unknown statuses are kept, not refused:
    a status AVIV adds tomorrow must not make it give up on our endpoint."""

    model_config = ConfigDict(extra="ignore")
    portals: list[str] = Field(max_length=16)
    status: str = Field(pattern=r"^[A-Z][A-Z_]{1,63}$")
    message: str = Field(max_length=4096)
    statusDate: datetime
    subStatus: str | None = Field(None, max_length=64)
    subStatusDetails: str | None = Field(None, max_length=8192)
    mediaStatuses: list[MediaStatus] | None = Field(None, max_length=500)

    @property
    def at(self) -> float:
        return _epoch(self.statusDate)


def _epoch(d: datetime) -> float:
    return (d if d.tzinfo is not None else d.replace(tzinfo=timezone.utc)).timestamp()


def status_time(value: Any) -> float | None:
    """A statusDate (ISO 8601) as epoch seconds; None when missing or unreadable."""
    try:
        return _epoch(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def parse_status(raw: bytes) -> ClassifiedStatus | str:
    """The callback body, or why it is not one (a few words, for the 400 answer)."""
    try:
        return ClassifiedStatus.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return f"{where}: {first['msg']}"


def event_digest(intermediary_id: str, classified_id: str, canonical: bytes) -> str:
    """The same callback delivered twice has the same digest (``canonical``: the body, sorted keys)."""
    return hashlib.sha256(f"{intermediary_id}\x00{classified_id}\x00".encode() + canonical).hexdigest()


def webhook_token(secret: str, intermediary_id: str) -> str:
    """The last segment of an intermediary's callback URL: only whoever holds the secret can make it."""
    return hmac.new(secret.encode(), f"aviv-webhook:{intermediary_id}".encode(), hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Publication:
    """What a listing's latest status says, as the state store keeps it (``publication_detail``)."""

    status: str
    portals: list[str]           # where the classified is (or will be) online
    refused: list[str]           # asked for, not granted
    why: str                     # subStatusDetails, else the message of a failure
    failed_media: list[str]      # URLs the portal could not download or store

    def detail_json(self) -> str:
        return orjson.dumps({"portals": self.portals, "refused": self.refused, "why": self.why,
                             "failed_media": self.failed_media}).decode()

    @classmethod
    def load(cls, status: str | None, detail: str | None) -> Publication | None:
        if not status:
            return None
        d = orjson.loads(detail) if detail else {}
        return cls(status, d.get("portals", []), d.get("refused", []), d.get("why", ""),
                   d.get("failed_media", []))

    @property
    def needs_action(self) -> bool:
        return self.status in ACTION_REQUIRED or bool(self.refused)


def publication(status: Mapping[str, Any], requested: Sequence[str]) -> Publication:
    """A status (callback or poll item) read against the portals we asked for."""
    name = str(status.get("status") or "")
    granted = [str(p) for p in status.get("portals") or []]
    if name in ONLINE:
        refused = [p for p in requested if p not in granted]
    elif name in ("CREATING_FAILED", "UPDATING_FAILED"):
        refused = list(requested) or granted
    else:
        refused = []
    why = str(status.get("subStatusDetails") or "")
    if not why and name.endswith("FAILED"):
        why = str(status.get("message") or "")
    media = [str(m.get("url")) for m in status.get("mediaStatuses") or []
             if isinstance(m, Mapping) and str(m.get("status", "")).endswith("FAILED")]
    return Publication(name, granted, refused, why, media)


def is_newer(status: str, at: float, than_status: str | None, than_at: float | None) -> bool:
    """Whether ``status`` stamped ``at`` supersedes what the listing holds."""
    if not than_status or than_at is None:
        return True
    return (at, stage(status)) > (than_at, stage(than_status))


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A status to fold into the listings of ``agency_ids`` that have ``classified_id``."""

    agency_ids: tuple[str, ...]
    classified_id: str
    status: Mapping[str, Any]
    at: float
    event_id: int | None = None   # the callback it came from, marked applied with it


@dataclass(slots=True)
class FoldResult:
    applied: int = 0      # folded into a listing (newer than what it held)
    outdated: int = 0     # an older status than the listing's: kept as received, not applied
    unmatched: int = 0    # no listing of that intermediary has this classified id (yet)
    forgotten: int = 0    # unmatched for longer than ``forget_after``: dropped
    pruned: int = 0       # folded more than ``keep_applied`` ago: dropped


def fold_status_events(store: Any, agencies_of: Mapping[str, Sequence[str]], *, forget_after: float = 7 * 86400,
                       keep_applied: float = 30 * 86400, batch: int = 500) -> FoldResult:
    """Fold the callbacks not yet applied into their listings, oldest first.

    ``agencies_of``: the agencies that publish under each intermediary; a callback only ever
    touches a listing of the intermediary whose URL it came to. A callback for a classified id no
    listing has yet (its POST's answer not recorded yet) waits for a later fold, ``forget_after`` at
    most; callbacks folded more than ``keep_applied`` ago are dropped (the table would only grow).
    """
    result = FoldResult(pruned=store.prune_status_events(time.time() - keep_applied))
    after = 0
    while True:
        events = store.unapplied_status_events(after=after, limit=batch)
        if not events:
            return result
        after = events[-1].id
        updates = [StatusUpdate(tuple(agencies_of.get(ev.intermediary_id, ())), ev.classified_id, orjson.loads(ev.body),
                                ev.status_at, ev.id) for ev in events]
        for ev, outcome in zip(events, store.apply_statuses(updates)):
            if outcome == "applied":
                result.applied += 1
            elif outcome == "outdated":
                result.outdated += 1
            elif time.time() - ev.received_at > forget_after:
                store.forget_status_event(ev.id)
                result.forgotten += 1
            else:
                result.unmatched += 1
