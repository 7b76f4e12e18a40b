"""report-<agency>.html (the agency's story) and report.html (the operator's run report).

The views are built in Python (``etl.report.story``, pure) and the templates
only lay them out. Autoescape is on for everything: references, values and
messages carry agency text. The pages are self-contained (one ``<style>``,
inline SVG, no script, font or remote image) so they can travel by e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from etl.report.atomic import atomic_path
from etl.report.i18n import Lang, fmt_date, fmt_duration, fmt_int, tr
from etl.report.run_info import AgencyRun, Change
from etl.report.story import _TONE_COLOURS, AgencyStory, agency_label, reason_svg
from etl.report.summary import AgencyTotals, ConvertSummary, SourceInfo

MAX_FAILURES_SHOWN = 50


@cache
def _env() -> Environment:
    return Environment(loader=PackageLoader("etl.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def _template(name: str) -> Template:
    return _env().get_template(name)


def _helpers(lang: Lang) -> dict[str, Any]:
    return {
        "t": lambda key, **kw: tr(key, lang, **kw),
        "num": lambda n: fmt_int(n, lang),
        "listings": lambda n: tr("listings_n", lang, n=n),
        "colours": _TONE_COLOURS,
        "reason_svg": reason_svg,
    }


def render_agency_html(story: AgencyStory) -> str:
    return _template("agency.html.j2").render(s=story, **_helpers(story.lang))


@dataclass(slots=True)
class RunRow:
    label: str
    link: str | None
    status: str
    failed: bool
    t: AgencyTotals
    duration: str
    exit_code: int | str
    total: bool = False


@dataclass(slots=True)
class RunProblem:
    label: str
    status: str
    exit_code: int
    message: str | None
    guard: str | None
    failures: list[Change]
    more: int


def _status(run: AgencyRun | None, command: str, lang: Lang) -> tuple[str, bool]:
    if run is None:
        return tr("st_checked" if command == "convert" else "st_ok", lang), False
    if run.kind.failed:
        from etl.report.story import failure_words
        return f"{tr('st_failed', lang)} : {failure_words(run, lang)}", True
    return tr("st_planned" if run.planned else "st_ok", lang), False


def render_run_html(summary: ConvertSummary, *, lang: Lang = "fr", agency_files: Mapping[str, str] | None = None,
                    generated_at: datetime | None = None) -> str:
    """The operator's page: every agency's counts, status and duration, then every failure in full."""
    agency_files = agency_files or {}
    rows: list[RunRow] = []
    problems: list[RunProblem] = []
    failed_n = 0
    for a in summary.agencies:
        run = summary.runs.get(a.agency_id)
        status, failed = _status(run, summary.command, lang)
        failed_n += failed
        label = agency_label(a, run)
        if run is not None and run.name and a.agency_id:
            label = f"{run.name} ({a.agency_id})"
        duration = run.duration_s if run is not None else sum(a.durations_s.values())
        rows.append(RunRow(label, agency_files.get(a.agency_id), status, failed, a, fmt_duration(duration, lang),
                           run.exit_code if run is not None else ""))
        if run is not None and (failed or run.failures):
            problems.append(RunProblem(label, status, run.exit_code, run.message, run.guard,
                                       run.failures[:MAX_FAILURES_SHOWN],
                                       max(0, len(run.failures) - MAX_FAILURES_SHOWN)))
    total = summary.totals
    if len(rows) > 1:
        rows.append(RunRow("Total", None, "", failed_n > 0, total, fmt_duration(summary.elapsed_s(), lang), "",
                           total=True))
    n = len(summary.agencies)
    headline = tr("r_headline", lang, agencies=n, ok=n - failed_n, failed=failed_n, read=total.read,
                  rejected=total.rejected)
    tone = "fail" if failed_n else ("todo" if total.rejected else "ok")
    meta = [tr("processed_at", lang, date=fmt_date(summary.started_at, lang),
               duration=fmt_duration(summary.elapsed_s(), lang))]
    if summary.command == "convert":
        meta.append(tr("convert_note", lang))
    elif summary.command == "plan":
        meta.append(tr("plan_note", lang))
    return _template("run.html.j2").render(
        lang=lang, title=tr("run_title", lang, date=fmt_date(summary.started_at, lang)), meta=meta,
        headline=headline, tone=tone, rows=rows, problems=problems, show_load=summary.command != "convert", planned=summary.command == "plan",
        sources=_unique_sources(summary), incomplete=[s for s in summary.sources if not s.complete or s.problems],
        footer=tr("footer", lang, date=fmt_date(generated_at or datetime.now().astimezone(), lang)),
        **_helpers(lang),
    )


def _unique_sources(summary: ConvertSummary) -> list[SourceInfo]:
    # A grouped feed is read once per agency: list it once (its per-agency counts are in the table).
    seen: dict[str, SourceInfo] = {}
    for s in summary.sources:
        if s.path in seen:
            seen[s.path] = SourceInfo(s.path, None, s.complete and seen[s.path].complete)
        else:
            seen[s.path] = s
    return list(seen.values())


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
