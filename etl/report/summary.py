"""Run summary: a streaming accumulator of Outcomes, and its machine-readable form.

Fed one ``Outcome`` at a time, it keeps counts and the listings an agency must
fix — never the accepted bodies — so memory stays flat in the feed size. The
listings kept are bounded per agency; the counts stay exact beyond the bound.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from etl.records import FeedFacts, SourceLocation
from etl.issues import Issue, Severity
from etl.outcome import Outcome

SUMMARY_FORMAT = "classifieds-etl/summary"
SUMMARY_VERSION = 1

# Counts the loader fills in later; present (at 0) from convert on so that every
# consumer of summary.json reads one shape whatever the command.
LOAD_KEYS: tuple[str, ...] = ("created", "updated", "deleted", "unchanged", "failed")

# The order agencies know the portals in; unknown portals follow, sorted.
PORTAL_ORDER: tuple[str, ...] = ("SL", "BD", "BUCOM", "SLN", "SLC")

# Bounds on what is kept for the report: a feed whose every line is rejected
# (wrong mapping, wrong file) must not turn the accumulator into a copy of it.
DEFAULT_MAX_LISTINGS_PER_AGENCY = 10_000
MAX_VALUE_CHARS = 300


def order_portals(portals: Iterable[str]) -> list[str]:
    known = [p for p in PORTAL_ORDER if p in portals]
    return known + sorted(p for p in set(portals) if p not in PORTAL_ORDER)


@dataclass(frozen=True, slots=True)
class ListingProblem:
    """A listing with at least one issue, reduced to what the report shows."""

    agency_id: str
    reference: str
    source_key: str
    location: SourceLocation
    accepted: bool
    requested_portals: tuple[str, ...]
    portals: tuple[str, ...]
    issues: tuple[Issue, ...]
    title: str = ""   # the listing's headline, when its body is known (accepted listings)
    photo: str = ""   # its first picture's URL, likewise


@dataclass(slots=True)
class CodeCount:
    severity: Severity
    issues: int = 0  # occurrences
    listings: int = 0  # distinct listings concerned


@dataclass(slots=True)
class SourceInfo:
    path: str
    records: int | None = None
    complete: bool = True
    problems: list[str] = field(default_factory=list)
    format: str | None = None  # the registry name of the format detected ("poliris")
    dialect: str | None = None  # "4.09", "Kyero v3"…
    encoding: str | None = None


@dataclass(slots=True)
class AgencyTotals:
    """Everything the reports say about one agency."""

    agency_id: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    warned: int = 0  # accepted listings with at least one warning
    warnings: int = 0  # warning issues, all listings
    errors: int = 0  # error issues, all listings (portal-only errors included)
    by_portal: dict[str, int] = field(default_factory=dict)  # accepted listings per portal
    refused_by_portal: dict[str, int] = field(default_factory=dict)  # accepted, requested, not granted
    codes: dict[str, CodeCount] = field(default_factory=dict)
    files: dict[str, None] = field(default_factory=dict)  # ordered set
    problems: list[ListingProblem] = field(default_factory=list)
    omitted_problems: int = 0
    load: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOAD_KEYS, 0))
    durations_s: dict[str, float] = field(default_factory=dict)

    def codes_by_frequency(self) -> list[tuple[str, CodeCount]]:
        return sorted(self.codes.items(), key=lambda kv: (-kv[1].listings, -kv[1].issues, kv[0]))


# A line the extractor could not split still starts with its agency (Poliris field 1):
# « "agence-dupont"!#"REF-1"… ». Reading it back keeps the line in its agency's counts
# and report instead of « (agence non identifiée) ».
_RAW_AGENCY = re.compile(r'^"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})"!#(?:"([^"!]{1,64})"!#)?')


def _raw_agency(outcome: Outcome) -> tuple[str, str]:
    """(agency id, reference) read back from a line that could not be split; empty when unreadable."""
    for issue in outcome.issues:
        if issue.value:
            m = _RAW_AGENCY.match(issue.value)
            if m:
                return m.group(1), m.group(2) or ""
    return "", ""


def listing_title(body: Mapping[str, Any] | None) -> tuple[str, str]:
    """(headline, first picture URL) of an AVIV body, for the reports; empty when unknown."""
    if not body:
        return "", ""
    title = ""
    headline = ((body.get("data") or {}).get("texts") or {}).get("headline") or {}
    if isinstance(headline, dict):
        title = str(headline.get("fr") or next(iter(headline.values()), "") or "")
    photo = ""
    for m in body.get("media") or ():
        if isinstance(m, dict) and m.get("url") and m.get("mediaType", "PICTURE") == "PICTURE":
            photo = str(m["url"])
            break
    return title[:MAX_VALUE_CHARS], photo


def _compact(issue: Issue) -> Issue:
    value = issue.value
    if value is not None and len(value) > MAX_VALUE_CHARS:
        return replace(issue, value=value[:MAX_VALUE_CHARS] + "…")
    return issue


class ConvertSummary:
    """Accumulates Outcomes into per-agency counts and the listings to fix.

    ``add`` is on the per-record path, so the common case (accepted, no issue)
    costs a few dict operations and allocates nothing.
    """

    def __init__(self, *, command: str = "convert",
                 max_listings_per_agency: int = DEFAULT_MAX_LISTINGS_PER_AGENCY,
                 started_at: datetime | None = None) -> None:
        self.command = command
        self.max_listings_per_agency = max_listings_per_agency
        self.started_at = started_at or datetime.now().astimezone()
        self.finished_at: datetime | None = None
        self.durations_s: dict[str, float] = {}
        self.sources: list[SourceInfo] = []
        # Report files, relative to the directory summary.json is written to.
        self.reports: dict[str, str] = {}
        self.agency_reports: dict[str, str] = {}
        self.agency_workbooks: dict[str, str] = {}
        # What became of each agency's run (loader only): failures, guard, changes, language.
        self.runs: dict[str, Any] = {}
        self._agencies: dict[str, AgencyTotals] = {}
        self._t0 = time.perf_counter()

    # -- feeding -------------------------------------------------------------

    def add(self, outcome: Outcome) -> None:
        key = outcome.key
        agency_id = key.agency_id if key is not None else (_raw_agency(outcome)[0] if outcome.issues else "")
        totals = self._agencies.get(agency_id)
        if totals is None:
            totals = self._agencies[agency_id] = AgencyTotals(agency_id)
        totals.read += 1
        file = outcome.location.file
        if file not in totals.files:
            totals.files[file] = None
        if outcome.accepted:
            totals.accepted += 1
            by_portal = totals.by_portal
            for portal in outcome.portals:
                by_portal[portal] = by_portal.get(portal, 0) + 1
            if outcome.requested_portals != outcome.portals:
                refused = totals.refused_by_portal
                granted = set(outcome.portals)
                for portal in outcome.requested_portals:
                    if portal not in granted:
                        refused[portal] = refused.get(portal, 0) + 1
        else:
            totals.rejected += 1
        if outcome.issues:
            self._add_issues(totals, outcome)

    def add_all(self, outcomes: Iterable[Outcome]) -> Iterator[Outcome]:
        """Pass outcomes through while counting them (for a pipeline that also writes payloads)."""
        add = self.add
        for outcome in outcomes:
            add(outcome)
            yield outcome

    def _add_issues(self, totals: AgencyTotals, outcome: Outcome) -> None:
        codes = totals.codes
        seen: set[str] = set()
        has_warning = False
        for issue in outcome.issues:
            count = codes.get(issue.code)
            if count is None:
                count = codes[issue.code] = CodeCount(issue.severity)
            count.issues += 1
            if issue.code not in seen:
                seen.add(issue.code)
                count.listings += 1
            if issue.is_error:
                totals.errors += 1
            else:
                totals.warnings += 1
                has_warning = True
        if outcome.accepted and has_warning:
            totals.warned += 1
        if len(totals.problems) >= self.max_listings_per_agency:
            totals.omitted_problems += 1
            return
        key = outcome.key
        title, photo = listing_title(outcome.body) if outcome.body else ("", "")
        totals.problems.append(ListingProblem(
            agency_id=totals.agency_id,
            reference=outcome.reference or (_raw_agency(outcome)[1] if key is None else ""),
            source_key=key.source_key if key is not None else "",
            location=outcome.location,
            accepted=outcome.accepted,
            requested_portals=tuple(outcome.requested_portals),
            portals=tuple(outcome.portals),
            issues=tuple(_compact(i) for i in outcome.issues),
            title=title,
            photo=photo,
        ))

    def add_source(self, path: str | Path, facts: FeedFacts) -> None:
        """Record a source read by the run, with what reading it found."""
        self.sources.append(SourceInfo(str(path), facts.records, facts.complete, list(facts.problems),
                                       facts.format, facts.dialect, facts.encoding))

    def add_duration(self, name: str, seconds: float, *, agency_id: str | None = None) -> None:
        target = self.durations_s if agency_id is None else self.agency(agency_id).durations_s
        target[name] = target.get(name, 0.0) + seconds

    def add_load_counts(self, agency_id: str, **counts: int) -> None:
        """For the loader: add created / updated / deleted / unchanged / failed counts."""
        unknown = set(counts) - set(LOAD_KEYS)
        if unknown:
            raise ValueError(f"unknown load counts: {sorted(unknown)}")
        load = self.agency(agency_id).load
        for name, n in counts.items():
            load[name] += n

    def finish(self) -> None:
        self.finished_at = datetime.now().astimezone()
        self.durations_s["total"] = time.perf_counter() - self._t0

    # -- reading -------------------------------------------------------------

    def agency(self, agency_id: str) -> AgencyTotals:
        totals = self._agencies.get(agency_id)
        if totals is None:
            totals = self._agencies[agency_id] = AgencyTotals(agency_id)
        return totals

    @property
    def agencies(self) -> list[AgencyTotals]:
        return [self._agencies[k] for k in sorted(self._agencies)]

    @property
    def totals(self) -> AgencyTotals:
        """The run as a whole, in the shape of one agency (problems not merged; computed on each access)."""
        run = AgencyTotals("")
        for a in self._agencies.values():
            run.read += a.read
            run.accepted += a.accepted
            run.rejected += a.rejected
            run.warned += a.warned
            run.warnings += a.warnings
            run.errors += a.errors
            run.omitted_problems += a.omitted_problems
            _merge_counts(run.by_portal, a.by_portal)
            _merge_counts(run.refused_by_portal, a.refused_by_portal)
            _merge_counts(run.load, a.load)
            for code, c in a.codes.items():
                r = run.codes.get(code)
                if r is None:
                    r = run.codes[code] = CodeCount(c.severity)
                r.issues += c.issues
                r.listings += c.listings
            for f in a.files:
                run.files[f] = None
        return run

    def portals_seen(self) -> list[str]:
        seen: set[str] = set()
        for a in self._agencies.values():
            seen.update(a.by_portal)
            seen.update(a.refused_by_portal)
        return order_portals(seen)

    def elapsed_s(self) -> float:
        return self.durations_s.get("total", time.perf_counter() - self._t0)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable record of the run (``summary.json``)."""
        durations = dict(self.durations_s)
        durations.setdefault("total", self.elapsed_s())
        return {
            "format": SUMMARY_FORMAT,
            "version": SUMMARY_VERSION,
            "command": self.command,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None,
            "durations_s": {k: round(v, 3) for k, v in durations.items()},
            "sources": [
                {"path": s.path, "format": s.format, "dialect": s.dialect, "encoding": s.encoding,
                 "records": s.records, "complete": s.complete, "problems": s.problems}
                for s in self.sources
            ],
            "totals": _counts_json(self.totals,
                                   listed=sum(len(a.problems) for a in self._agencies.values())),
            "agencies": {
                a.agency_id: {
                    **_counts_json(a),
                    "files": list(a.files),
                    "durations_s": {k: round(v, 3) for k, v in a.durations_s.items()},
                    "reports": {k: v for k, v in (("html", self.agency_reports.get(a.agency_id)),
                                                  ("xlsx", self.agency_workbooks.get(a.agency_id))) if v},
                    **({"run": self.runs[a.agency_id].to_json()} if a.agency_id in self.runs else {}),
                }
                for a in self.agencies
            },
            "reports": dict(self.reports),
        }


def _merge_counts(into: dict[str, int], other: Mapping[str, int]) -> None:
    for k, n in other.items():
        into[k] = into.get(k, 0) + n


def _counts_json(a: AgencyTotals, *, listed: int | None = None) -> dict[str, Any]:
    return {
        "read": a.read,
        "accepted": a.accepted,
        "rejected": a.rejected,
        "warned": a.warned,
        "warnings": a.warnings,
        "errors": a.errors,
        **{k: a.load[k] for k in LOAD_KEYS},
        "by_portal": {p: a.by_portal[p] for p in order_portals(a.by_portal)},
        "refused_by_portal": {p: a.refused_by_portal[p] for p in order_portals(a.refused_by_portal)},
        "codes": {
            code: {"severity": str(c.severity), "listings": c.listings, "issues": c.issues}
            for code, c in a.codes_by_frequency()
        },
        "problems_listed": len(a.problems) if listed is None else listed,
        "problems_omitted": a.omitted_problems,
    }
