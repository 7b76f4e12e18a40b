"""report.xlsx (the run) and report-<agency>.xlsx (one agency, attached to its e-mail).

Sheets: a summary, then one per category — to fix (refused listings and portal
refusals), warnings, published (created / updated), removed — plus failed
transmissions when there are some. Headers in words, a filter, a frozen header
row and widths that follow the content.

Written in openpyxl's write-only mode so the workbook streams to disk. Agency
text never becomes a formula: every text cell is typed as a string, and one
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a CR also gets Excel's
"quote prefix", so editing the cell does not turn it into one either; the text
itself is kept exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from etl.report.atomic import atomic_path
from etl.report.fmt import FORMULA_LEADS
from etl.report.i18n import Lang, fmt_date, fmt_duration, portal_name, tr
from etl.report.rows import excluded_from
from etl.report.run_info import AgencyRun
from etl.report.story import agency_label, problem_view
from etl.report.summary import AgencyTotals, ConvertSummary

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)
_TOTAL_FILL = PatternFill("solid", fgColor="D9E1F2")
_WRAP = Alignment(wrap_text=True, vertical="top")

_MIN_WIDTH, _MAX_WIDTH, _WRAP_WIDTH = 8, 60, 50
_WRAP_MAX_ROWS = 2_000


def _w(key: str, lang: Lang, **kw: str) -> str:
    return tr(f"x_{key}", lang, **kw)


def neutralise(value: str) -> bool:
    """Does this text need protecting from being read as a formula?"""
    return value.startswith(FORMULA_LEADS)


def _clean(value: str) -> str:
    # Control characters are illegal in XML 1.0: openpyxl refuses them.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _cell(ws: WriteOnlyWorksheet, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
          alignment: Alignment | None = None) -> Any:
    if isinstance(value, str):
        risky = neutralise(value)
        value = _clean(value)
        if not risky and font is None and fill is None and alignment is None:
            return value  # a plain value: openpyxl's fast path (styled cells cost ~10 µs each)
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        if risky:
            cell.quotePrefix = True
    else:
        if font is None and fill is None and alignment is None:
            return value
        cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _header(ws: WriteOnlyWorksheet, labels: Iterable[str]) -> list[Any]:
    return [_cell(ws, v, font=_HEADER_FONT, fill=_HEADER_FILL, alignment=_WRAP) for v in labels]


@dataclass(slots=True)
class Table:
    name: str
    head: list[str]
    rows: list[list[Any]]
    wrapped: frozenset[int] = frozenset()


def _table_sheet(wb: Workbook, table: Table) -> None:
    ws = wb.create_sheet(table.name[:31])
    widths = [float(len(h) + 2) for h in table.head]
    for row in table.rows:
        for i, v in enumerate(row):
            n = len(v) if isinstance(v, str) else len(str("" if v is None else v))
            widths[i] = max(widths[i], n + 2)
    for i in table.wrapped:
        widths[i] = min(widths[i], _WRAP_WIDTH)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, w))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.head))}{len(table.rows) + 1}"
    ws.append(_header(ws, table.head))
    # A styled cell costs openpyxl ~10x a plain one: big sheets keep their widths but not the wrapping.
    wrapped = table.wrapped if len(table.rows) <= _WRAP_MAX_ROWS else frozenset()
    for row in table.rows:
        ws.append([_cell(ws, v, alignment=_WRAP) if i in wrapped else _cell(ws, v) for i, v in enumerate(row)])


def _problem_tables(agencies: Sequence[AgencyTotals], runs: dict[str, AgencyRun], lang: Lang) -> tuple[Table, Table]:
    head = [_w(k, lang) for k in ("agency", "reference", "listing_title", "where", "line", "decision", "wrong",
                                  "value", "fix", "code")]
    to_fix: list[list[Any]] = []
    warnings: list[list[Any]] = []
    for a in agencies:
        run = runs.get(a.agency_id)
        kept = run.kept_keys if run is not None else set()
        for p in a.problems:
            for issue in p.issues:
                pv = problem_view(issue, lang)
                if not p.accepted:
                    decision = _w("kept" if p.source_key in kept else "refused", lang)
                elif excluded_from(p, issue):
                    decision = _w("except", lang, portal=portal_name(issue.portal or "?"))
                else:
                    decision = _w("published", lang)
                row = [a.agency_id, p.reference or p.source_key, p.title, PurePath(p.location.file).name if
                       p.location.file else "", p.location.line or None, decision, pv.wrong,
                       "" if issue.value is None else issue.value, pv.fix, issue.code]
                (to_fix if (not p.accepted or issue.is_error or excluded_from(p, issue)) else warnings).append(row)
    wrapped = frozenset({6, 7, 8})
    return (Table(_w("to_fix", lang), head, to_fix, wrapped), Table(_w("warnings", lang), head, warnings, wrapped))


def _change_tables(agencies: Sequence[AgencyTotals], runs: dict[str, AgencyRun], lang: Lang) -> list[Table]:
    head = [_w(k, lang) for k in ("agency", "reference", "listing_title", "operation", "source_key")]
    published: list[list[Any]] = []
    removed: list[list[Any]] = []
    failed: list[list[Any]] = []
    for a in agencies:
        run = runs.get(a.agency_id)
        if run is None:
            continue
        for c in run.changes:
            if run.planned:
                op = _w(f"op_{c.planned_op}", lang) if c.planned_op in ("create", "update", "delete") else c.planned_op
                target = removed if c.planned_op == "delete" else published
                target.append([a.agency_id, c.reference, c.title, op, c.source_key])
            elif c.op in ("created", "updated"):
                published.append([a.agency_id, c.reference, c.title, _w(f"op_{c.op}", lang), c.source_key])
            elif c.op == "deleted":
                removed.append([a.agency_id, c.reference, c.title, _w("op_deleted", lang), c.source_key])
            else:
                failed.append([a.agency_id, c.reference, c.title, c.planned_op or c.op, c.source_key,
                               f"HTTP {c.http_status} — {c.detail or ''}" if c.http_status else (c.detail or "")])
    tables = [Table(_w("sheet_published", lang), head, published), Table(_w("removed", lang), head, removed)]
    if failed:
        tables.append(Table(_w("failed", lang), [*head, _w("detail", lang)], failed, frozenset({5})))
    return tables


def _summary_sheet(wb: Workbook, summary: ConvertSummary, agencies: Sequence[AgencyTotals], lang: Lang) -> None:
    ws = wb.create_sheet(_w("summary", lang))
    portals = summary.portals_seen()
    show_load = summary.command != "convert"
    head = [_w("agency", lang), _w("status", lang), _w("read", lang), _w("accepted", lang), _w("rejected", lang),
            _w("warned", lang)]
    head += [_w("accepted_on", lang, portal=portal_name(p)) for p in portals]
    if show_load:
        head += [_w(k, lang) for k in ("created", "updated", "deleted", "failures")]
    labels = [agency_label(a, summary.runs.get(a.agency_id)) for a in agencies]
    widths = [max([len(head[0]), *map(len, labels)]) + 2, 12] + [min(len(h), 22) + 2 for h in head[2:]]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, w))
    info: list[tuple[str, str]] = [(_w("date", lang), fmt_date(summary.started_at, lang)),
                                   (_w("duration", lang), fmt_duration(summary.elapsed_s(), lang))]
    for s in summary.sources:
        if any(s.path in a.files or any(f.startswith(s.path) for f in a.files) for a in agencies) or \
                len(agencies) == len(summary.agencies):
            info.append((_w("file", lang), PurePath(s.path).name + ("" if s.complete else _w("incomplete", lang))))
            info += [(_w("read_problem", lang), pb) for pb in s.problems]
    # Title, info lines, a blank line, then the table: freeze under its header
    # (write-only sheets take their view settings before the first row).
    ws.freeze_panes = f"B{len(info) + 4}"
    ws.append([_cell(ws, _w("title", lang), font=_TITLE_FONT)])
    for label, value in info:
        ws.append([_cell(ws, label, font=_BOLD), _cell(ws, value)])
    ws.append([])
    ws.append(_header(ws, head))

    def counts(t: AgencyTotals) -> list[int]:
        row = [t.read, t.accepted, t.rejected, t.warned] + [t.by_portal.get(p, 0) for p in portals]
        if show_load:
            row += [t.load[k] for k in ("created", "updated", "deleted", "failed")]
        return row

    for a, label in zip(agencies, labels):
        run = summary.runs.get(a.agency_id)
        status = _w("fail" if run is not None and run.kind.failed else "ok", lang)
        ws.append([_cell(ws, label), _cell(ws, status), *counts(a)])
    if len(agencies) > 1:
        total = summary.totals
        ws.append([_cell(ws, "Total", font=_BOLD, fill=_TOTAL_FILL), _cell(ws, "", fill=_TOTAL_FILL),
                   *(_cell(ws, n, font=_BOLD, fill=_TOTAL_FILL) for n in counts(total))])


def write_xlsx(summary: ConvertSummary, path: Path, agency_ids: Sequence[str] | None = None, *,
               lang: Lang = "fr") -> None:
    """The whole run, or only ``agency_ids`` (an agency's own workbook, in its language)."""
    agencies = [a for a in summary.agencies if agency_ids is None or a.agency_id in agency_ids]
    wb = Workbook(write_only=True)
    _summary_sheet(wb, summary, agencies, lang)
    for table in (*_problem_tables(agencies, summary.runs, lang), *_change_tables(agencies, summary.runs, lang)):
        _table_sheet(wb, table)
    with atomic_path(path) as tmp:
        wb.save(tmp)
