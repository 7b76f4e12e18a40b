"""report.xlsx: a "Synthèse" sheet (counts) and an "Anomalies" sheet (the rows of rejections.csv).

Written in openpyxl's write-only mode so the workbook streams to disk. Every
text cell is typed as a string: openpyxl would otherwise store agency text
that starts with ``=`` as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from etl.report.atomic import atomic_path
from etl.report.fmt import SEVERITY_LABELS, agency_label, fr_datetime, fr_duration, load_labels, portal_name
from etl.report.rows import ANOMALY_COLUMNS, AnomalyRow
from etl.report.summary import LOAD_KEYS, AgencyTotals, ConvertSummary

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)
_TOTAL_FILL = PatternFill("solid", fgColor="D9E1F2")
_WRAP = Alignment(wrap_text=True, vertical="top")

_MIN_WIDTH, _MAX_WIDTH = 8, 60
# Long free text (values, messages) wraps within this width instead of widening the sheet.
_WRAPPED_COLUMNS = {"valeur", "message"}
_WRAP_WIDTH = 50


def _clean(value: str) -> str:
    # Control characters are illegal in XML 1.0: openpyxl refuses them.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _cell(ws: WriteOnlyWorksheet, value: Any, *, font: Font | None = None,
          fill: PatternFill | None = None, alignment: Alignment | None = None) -> WriteOnlyCell:
    if isinstance(value, str):
        value = _clean(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _header(ws: WriteOnlyWorksheet, labels: Iterable[str]) -> list[WriteOnlyCell]:
    return [_cell(ws, v, font=_HEADER_FONT, fill=_HEADER_FILL, alignment=_WRAP) for v in labels]


def _set_widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, w))


def _counts(t: AgencyTotals, portals: Sequence[str], show_load: bool) -> list[int]:
    row = [t.read, t.accepted, t.rejected, t.warned, t.warnings]
    row += [t.by_portal.get(p, 0) for p in portals]
    if show_load:
        row += [t.load[k] for k in LOAD_KEYS]
    return row


def _synthesis(wb: Workbook, summary: ConvertSummary) -> None:
    ws = wb.create_sheet("Synthèse")
    portals = summary.portals_seen()
    show_load = summary.command != "convert"
    head = ["Agence", "Annonces lues", "Acceptées", "Refusées", "Avec avertissements", "Avertissements"]
    head += [f"Acceptées {portal_name(p)}" for p in portals]
    if show_load:
        labels = load_labels(summary.command)
        head += [labels[k] for k in LOAD_KEYS]
    agencies = summary.agencies
    widths = [max([len("Agence"), *(len(agency_label(a.agency_id)) for a in agencies)]) + 2]
    widths += [min(len(h), 22) + 2 for h in head[1:]]
    _set_widths(ws, widths)

    info: list[tuple[str, str]] = [
        ("Date du traitement", fr_datetime(summary.started_at)),
        ("Durée", fr_duration(summary.elapsed_s())),
    ]
    for s in summary.sources:
        state = "" if s.complete else " — INCOMPLET : aucune suppression ne sera faite"
        info.append(("Fichier reçu", s.path + state))
        info += [("Problème de lecture", pb) for pb in s.problems]
    # Title, info lines, a blank line, then the table: freeze under its header
    # (write-only sheets take their view settings before the first row).
    ws.freeze_panes = f"B{len(info) + 4}"
    ws.append([_cell(ws, "Rapport de publication des annonces", font=_TITLE_FONT)])
    for label, value in info:
        ws.append([_cell(ws, label, font=_BOLD), _cell(ws, value)])
    ws.append([])
    ws.append(_header(ws, head))
    for a in agencies:
        ws.append([_cell(ws, agency_label(a.agency_id)), *_counts(a, portals, show_load)])
    total = summary.totals
    ws.append([_cell(ws, "Total", font=_BOLD, fill=_TOTAL_FILL),
               *(_cell(ws, n, font=_BOLD, fill=_TOTAL_FILL) for n in _counts(total, portals, show_load))])

    ws.append([])
    ws.append([_cell(ws, "Problèmes les plus fréquents", font=_TITLE_FONT)])
    ws.append(_header(ws, ["Agence", "Code", "Gravité", "Annonces concernées", "Occurrences"]))
    for a in agencies:
        for code, c in a.codes_by_frequency():
            ws.append([_cell(ws, agency_label(a.agency_id)), _cell(ws, code),
                       _cell(ws, SEVERITY_LABELS.get(c.severity, str(c.severity))),
                       c.listings, c.issues])


def _anomalies(wb: Workbook, rows: Sequence[AnomalyRow]) -> None:
    ws = wb.create_sheet("Anomalies")
    widths = [float(len(h) + 2) for h in ANOMALY_COLUMNS]
    for row in rows:
        for i, v in enumerate(row):
            n = len(v) if isinstance(v, str) else len(str(v or ""))
            if n + 2 > widths[i]:
                widths[i] = n + 2
    for i, h in enumerate(ANOMALY_COLUMNS):
        if h in _WRAPPED_COLUMNS:
            widths[i] = min(widths[i], _WRAP_WIDTH)
    _set_widths(ws, widths)
    ws.freeze_panes = "A2"
    last = get_column_letter(len(ANOMALY_COLUMNS))
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    ws.append(_header(ws, ANOMALY_COLUMNS))
    wrapped = [h in _WRAPPED_COLUMNS for h in ANOMALY_COLUMNS]
    for row in rows:
        ws.append([_fast_value(ws, v) if not wrapped[i] else _cell(ws, v, alignment=_WRAP)
                   for i, v in enumerate(row)])


def _fast_value(ws: WriteOnlyWorksheet, value: Any) -> Any:
    # openpyxl spends ~10 µs on each styled cell: pass plain values through and
    # build a typed cell only for text it would misread (formula) or refuse (control characters).
    if isinstance(value, str) and value and (value[0] == "=" or ILLEGAL_CHARACTERS_RE.search(value)):
        return _cell(ws, value)
    return value


def write_xlsx(summary: ConvertSummary, rows: Sequence[AnomalyRow], path: Path) -> None:
    wb = Workbook(write_only=True)
    _synthesis(wb, summary)
    _anomalies(wb, rows)
    with atomic_path(path) as tmp:
        wb.save(tmp)
