"""report.html and report-<agency>.html: the page an agency reads to know what to fix.

The view is built in Python (pure functions, testable) and the template only
lays it out. Autoescape is on for everything: references, values and even
messages carry agency text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from etl.issues import Severity
from etl.report.atomic import atomic_path
from etl.report.fmt import (
    agency_label,
    fr_datetime,
    fr_duration,
    fr_int,
    load_labels,
    nothing_sent,
    portal_name,
)
from etl.report.rows import Category, category, where
from etl.report.summary import LOAD_KEYS, AgencyTotals, ConvertSummary, SourceInfo

CATEGORY_ORDER: tuple[Category, ...] = (Category.REJECTED, Category.PORTAL, Category.WARNING)
KIND_LABELS: dict[str, str] = {
    Category.REJECTED: "annonce refusée",
    Category.PORTAL: "portail refusé",
    Category.WARNING: "avertissement",
}


@dataclass(slots=True)
class RowView:
    reference: str
    source_key: str
    where: str
    line: int
    field: str
    aviv_path: str
    value: str | None
    message: str
    portal: str
    accepted: bool


@dataclass(slots=True)
class GroupView:
    code: str
    category: Category
    hint: str | None
    listings: int = 0
    rows: list[RowView] = field(default_factory=list)

    @property
    def title(self) -> str:
        """What the agency reads as the problem's name: the code's hint, else the
        message when every listing has the same one, else the bare code."""
        if self.hint:
            return self.hint
        first = self.rows[0].message if self.rows else ""
        if first and all(r.message == first for r in self.rows):
            return first
        return f"Problème {self.code}"


@dataclass(slots=True)
class CodeRow:
    code: str
    title: str
    kind: Category
    listings: int
    issues: int


@dataclass(slots=True)
class AgencyView:
    agency_id: str
    label: str
    totals: AgencyTotals
    groups: dict[Category, list[GroupView]]
    codes: list[CodeRow]
    sources: list[SourceInfo]


def build_groups(totals: AgencyTotals, hints: Mapping[str, str]) -> dict[Category, list[GroupView]]:
    """Issues grouped by (category, code), most listings concerned first."""
    groups: dict[tuple[Category, str], GroupView] = {}
    last_listing: dict[tuple[Category, str], int] = {}
    for n, p in enumerate(totals.problems):
        for issue in p.issues:
            cat = category(p, issue)
            key = (cat, issue.code)
            g = groups.get(key)
            if g is None:
                g = groups[key] = GroupView(issue.code, cat, hints.get(issue.code))
            if last_listing.get(key) != n:
                last_listing[key] = n
                g.listings += 1
            g.rows.append(RowView(
                reference=p.reference, source_key=p.source_key, where=where(p), line=p.location.line,
                field=issue.source_field or "", aviv_path=issue.aviv_path or "", value=issue.value,
                message=issue.message, portal=issue.portal or "", accepted=p.accepted,
            ))
    out: dict[Category, list[GroupView]] = {c: [] for c in CATEGORY_ORDER}
    for g in groups.values():
        out[g.category].append(g)
    for gs in out.values():
        gs.sort(key=lambda g: (-g.listings, -len(g.rows), g.code))
    return out


def build_code_rows(totals: AgencyTotals, groups: dict[Category, list[GroupView]],
                    hints: Mapping[str, str]) -> list[CodeRow]:
    """Exact per-code counts (listings beyond the kept bound included)."""
    first_group: dict[str, GroupView] = {}
    for cat in CATEGORY_ORDER:
        for group in groups[cat]:
            first_group.setdefault(group.code, group)
    rows = []
    for code, c in totals.codes_by_frequency():
        g = first_group.get(code)
        if g is not None:
            title, kind = g.title, g.category
        else:  # only in listings beyond the bound
            title = hints.get(code) or f"Problème {code}"
            kind = Category.REJECTED if c.severity == Severity.ERROR else Category.WARNING
        rows.append(CodeRow(code, title, kind, c.listings, c.issues))
    # What stops publication comes before what only warns; within each, most listings first.
    rows.sort(key=lambda r: CATEGORY_ORDER.index(r.kind))
    return rows


def _sources_for(summary: ConvertSummary, totals: AgencyTotals) -> list[SourceInfo]:
    # An agency's page must not list other agencies' feeds: keep the sources its
    # records came from (a single-source run is everybody's source).
    if len(summary.sources) <= 1:
        return list(summary.sources)
    files = list(totals.files)
    return [s for s in summary.sources if any(f == s.path or f.startswith(s.path) for f in files)]


def build_agency_view(summary: ConvertSummary, totals: AgencyTotals, hints: Mapping[str, str]) -> AgencyView:
    groups = build_groups(totals, hints)
    return AgencyView(totals.agency_id, agency_label(totals.agency_id), totals, groups,
                      build_code_rows(totals, groups, hints), _sources_for(summary, totals))


@cache
def _template() -> Template:
    env = Environment(
        loader=PackageLoader("etl.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nombre"] = fr_int
    env.filters["portail"] = portal_name
    env.globals["KIND_LABELS"] = KIND_LABELS
    return env.get_template("report.html.j2")


def render_html(summary: ConvertSummary, agency_ids: Sequence[str] | None = None, *,
                hints: Mapping[str, str] | None = None, generated_at: datetime | None = None,
                agency_files: Mapping[str, str] | None = None) -> str:
    """The run page (all agencies) or, with ``agency_ids``, a page with only those agencies."""
    hints = hints or {}
    per_agency = agency_ids is not None
    chosen = [a for a in summary.agencies if agency_ids is None or a.agency_id in agency_ids]
    views = [build_agency_view(summary, a, hints) for a in chosen]
    portals = summary.portals_seen()
    if per_agency:
        sources = [s for v in views for s in v.sources]
        total = None
    else:
        sources = list(summary.sources)
        total = summary.totals
    return _template().render(
        per_agency=per_agency,
        title=(f"Rapport de publication — {views[0].label}" if per_agency and len(views) == 1
               else "Rapport de publication des annonces"),
        run_date=fr_datetime(summary.started_at),
        generated_at=fr_datetime(generated_at or datetime.now().astimezone()),
        duration=fr_duration(summary.elapsed_s()),
        show_load=summary.command != "convert",
        nothing_sent=nothing_sent(summary.command),
        load_keys=LOAD_KEYS,
        load_labels=load_labels(summary.command),
        sources=sources,
        incomplete=[s for s in sources if not s.complete or s.problems],
        portals=portals,
        agencies=views,
        total=total,
        agency_files=agency_files or {},
    )


def write_html(summary: ConvertSummary, path: Path, agency_ids: Sequence[str] | None = None, *,
               hints: Mapping[str, str] | None = None,
               agency_files: Mapping[str, str] | None = None) -> None:
    html = render_html(summary, agency_ids, hints=hints, agency_files=agency_files)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
