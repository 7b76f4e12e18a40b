"""What conversion says about each source record: accepted (with its body) or rejected (with reasons)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from etl.records import SourceLocation
from etl.issues import Issue


class ListingKey(NamedTuple):
    agency_id: str
    source_key: str


@dataclass(slots=True)
class Outcome:
    """One source record after extract → map → validate.

    ``body`` is the exact AvivClassified JSON that would be sent (present only
    when accepted); ``portals`` are the portals it will be published on (the
    requested ∩ contract ∩ eligible); ``issues`` holds errors and warnings.
    """

    location: SourceLocation
    key: ListingKey | None
    reference: str  # the agency's displayed reference (Poliris field 2)
    accepted: bool
    body: dict[str, Any] | None = None
    body_hash: str | None = None
    requested_portals: list[str] = field(default_factory=list)
    portals: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    payload: bytes | None = None  # ``body`` as canonical JSON (set with it), serialised once while hashing it

    @property
    def agency_id(self) -> str:
        return self.key.agency_id if self.key else ""

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]
