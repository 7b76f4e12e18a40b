"""The anomaly rows shared by rejections.csv and the "Anomalies" sheet: one per issue."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import NamedTuple

from etl.issues import Issue
from etl.report.fmt import SEVERITY_LABELS
from etl.report.summary import ConvertSummary, ListingProblem

ANOMALY_COLUMNS: tuple[str, ...] = (
    "agence", "référence", "clé source", "fichier", "ligne", "code", "gravité", "décision",
    "portail", "champ source", "chemin AVIV", "valeur", "message",
)


class Category(StrEnum):
    REJECTED = "rejected"  # the listing is not published at all
    PORTAL = "portal"  # published, but not on one of the portals requested
    WARNING = "warning"  # published; worth fixing


def excluded_from(problem: ListingProblem, issue: Issue) -> str | None:
    """The portal a published listing is kept off by this issue, if any.

    A portal rule that fails says so with ``issue.portal``, as an error or — when other portals
    take the listing — as a warning: either way the listing is not on that portal.
    """
    return issue.portal if problem.accepted and issue.portal else None


def category(problem: ListingProblem, issue: Issue) -> Category:
    if not problem.accepted:
        return Category.REJECTED if issue.is_error else Category.WARNING
    return Category.PORTAL if excluded_from(problem, issue) else Category.WARNING


def decision(problem: ListingProblem, issue: Issue) -> str:
    if not problem.accepted:
        return "refusée"
    portal = excluded_from(problem, issue)
    return f"publiée, sauf sur {portal}" if portal else "publiée"


def where(problem: ListingProblem) -> str:
    loc = problem.location
    return f"{loc.file} ({loc.xpath})" if loc.xpath else loc.file


class AnomalyRow(NamedTuple):
    agency: str
    reference: str
    source_key: str
    file: str
    line: int | None
    code: str
    severity: str
    decision: str
    portal: str
    field: str
    aviv_path: str
    value: str
    message: str


def anomaly_rows(summary: ConvertSummary, agency_ids: Iterable[str] | None = None) -> Iterator[AnomalyRow]:
    """Every issue of every listing kept, agency by agency, in source order."""
    wanted = None if agency_ids is None else set(agency_ids)
    for agency in summary.agencies:
        if wanted is not None and agency.agency_id not in wanted:
            continue
        for p in agency.problems:
            for issue in p.issues:
                yield AnomalyRow(
                    agency=p.agency_id,
                    reference=p.reference,
                    source_key=p.source_key,
                    file=where(p),
                    line=p.location.line or None,
                    code=issue.code,
                    severity=SEVERITY_LABELS.get(issue.severity, str(issue.severity)),
                    decision=decision(p, issue),
                    portal=issue.portal or "",
                    field=issue.source_field or "",
                    aviv_path=issue.aviv_path or "",
                    value="" if issue.value is None else issue.value,
                    message=issue.message,
                )
