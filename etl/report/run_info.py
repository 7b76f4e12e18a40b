"""What became of one agency's run, in the terms the reports need.

The loader fills these (``etl/load/reporting.py``); the reports never import
the loader. A convert has none: its reports say "file check".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from etl.report.i18n import Lang


class RunKind(StrEnum):
    OK = "ok"                              # applied (or planned, with ``planned``) without failure
    SOURCE_MISSING = "source_missing"      # no feed file, nothing to download
    SOURCE_UNREADABLE = "source_unreadable"
    FEED_EMPTY = "feed_empty"              # guard: empty feed while listings are online
    FEED_TRUNCATED = "feed_truncated"      # guard: truncated or partly unreadable feed
    MASS_DELETE = "mass_delete"            # guard: too many deletes
    CREDENTIALS = "credentials"            # credentials not configured (environment variable missing)
    AUTH = "auth"                          # the token endpoint refused them
    API = "api"                            # some operations failed permanently (retried next run)
    LOCKED = "locked"                      # another run of the agency held the lock
    CONFIG = "config"
    OTHER = "other"

    @property
    def failed(self) -> bool:
        return self is not RunKind.OK

    @property
    def needs_agency(self) -> bool:
        """Failures the agency (or its software vendor) has to act on; the others are the operator's."""
        return self in (RunKind.SOURCE_MISSING, RunKind.SOURCE_UNREADABLE, RunKind.FEED_EMPTY,
                        RunKind.FEED_TRUNCATED, RunKind.MASS_DELETE, RunKind.AUTH)


@dataclass(slots=True)
class Change:
    """One listing created / updated / deleted (or failed) tonight, or planned by a dry run."""

    op: str                      # created | updated | deleted | failed (| in_doubt)
    source_key: str
    reference: str = ""
    title: str = ""
    planned_op: str = ""         # create | update | delete
    http_status: int | None = None
    detail: str | None = None    # the API's answer for a failure (operator report only)
    traceparent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "planned_op": self.planned_op, "source_key": self.source_key,
                "reference": self.reference, "http_status": self.http_status, "detail": self.detail,
                "traceparent": self.traceparent}


@dataclass(slots=True)
class PortalNote:
    """What a portal said after receiving a listing (publication statuses)."""

    source_key: str
    reference: str
    status: str
    title: str = ""
    refused: list[str] = field(default_factory=list)       # portals asked for, not granted
    why: str = ""                                          # the portal's words (subStatusDetails)
    failed_media: list[str] = field(default_factory=list)  # picture URLs the portal could not fetch

    def as_dict(self) -> dict[str, Any]:
        return {"source_key": self.source_key, "reference": self.reference, "status": self.status,
                "refused": list(self.refused), "why": self.why, "failed_media": list(self.failed_media)}


@dataclass(slots=True)
class QuotaNote:
    """A listing the contract's quota left off one or more portals tonight."""

    source_key: str
    reference: str
    portals: list[str]
    published: bool = False      # still published on other portals
    was_online: bool = False     # withdrawn from those portals tonight
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"source_key": self.source_key, "reference": self.reference, "portals": self.portals,
                "published": self.published, "was_online": self.was_online}


@dataclass(slots=True)
class AgencyRun:
    agency_id: str
    kind: RunKind = RunKind.OK
    name: str | None = None
    exit_code: int = 0
    message: str | None = None       # the loader's message (French, for the operator)
    guard: str | None = None
    planned: bool = False            # a dry run: nothing was sent
    source_name: str | None = None   # the feed's file name (never a server path in an agency's report)
    duration_s: float = 0.0
    live_before: int | None = None
    deletes_planned: int = 0
    changes: list[Change] = field(default_factory=list)
    kept_keys: set[str] = field(default_factory=set)   # refused tonight, previous version stays online
    portal_notes: list[PortalNote] = field(default_factory=list)
    confirmed_online: int | None = None   # live listings a portal confirmed online (statuses), None: none known
    over_quota: list[QuotaNote] = field(default_factory=list)   # eligible, but beyond a portal's quota
    quotas: dict[str, int] = field(default_factory=dict)
    language: Lang = "fr"
    recipients: list[str] = field(default_factory=list)
    send: str = "when_needed"

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)

    @property
    def failures(self) -> list[Change]:
        return [c for c in self.changes if c.op not in ("created", "updated", "deleted", "planned")]

    @property
    def live_after(self) -> int | None:
        if self.live_before is None:
            return None
        if self.planned:
            return self.live_before + sum(1 for c in self.changes if c.planned_op == "create") - \
                sum(1 for c in self.changes if c.planned_op == "delete")
        return self.live_before + self.count("created") - self.count("deleted")

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.kind), "exit_code": self.exit_code, "message": self.message,
                "guard": self.guard, "planned": self.planned, "source": self.source_name,
                "duration_s": round(self.duration_s, 3), "live_before": self.live_before,
                "live_after": self.live_after, "failures": [c.as_dict() for c in self.failures],
                "over_quota": [q.as_dict() for q in self.over_quota], "quotas": dict(self.quotas),
                "portal_notes": [n.as_dict() for n in self.portal_notes],
                "confirmed_online": self.confirmed_online, "language": self.language}
