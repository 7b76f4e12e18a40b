"""Excel and OpenDocument workbooks → records, through ``python-calamine``.

Measured on 20,000 template rows (``benchmarks/bench_excel.py``): calamine reads every cell in
about 1 s, openpyxl read-only in about 9 s, pandas over calamine in about 4 s (it builds a
DataFrame we would only take apart again). calamine loads the sheet it reads (not the others);
the sheet's size is checked first (``sheet_xml.scan``) so that load is bounded.

Typed cells stay what they are, written as text the mapping's converters read without doubt:
a number as a plain dotted number (never with a thousands separator), a date as ISO
``2025-03-12``, a boolean as OUI/NON, a formula as the value Excel cached (never evaluated).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from etl.errors import SourceUnreadable
from etl.extract.container import Container, open_container
from etl.extract.spreadsheet.sheet_xml import TooBig, Visibility, scan, sheet_paths
from etl.extract.tabular import HEADER_SCAN, Header, RowReader, TableFeed, TableOptions, build_header, find_header, header_issues
from etl.issues import Issue, warning
from etl.records import ExtractResult, FeedFacts

if TYPE_CHECKING:
    from python_calamine import CalamineSheet

    from etl.extract.base import FeedFormat

MAX_ROWS: Final = 250_000  # a listing feed: far more than any agency's stock
MAX_CELLS: Final = 20_000_000
_AMBIGUOUS: Final = re.compile(r"-?[1-9]\d{0,2}\.\d{3}")
_SHOWN: Final = 12


def cell_text(value: Any) -> str:
    """A typed cell as text the converters read exactly (see the module docstring)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, bool):
        return "OUI" if value else "NON"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.15f}".rstrip("0")
        # "1.125" would read as ambiguous (thousands or decimals?): one more digit says decimals.
        return text + "0" if _AMBIGUOUS.fullmatch(text) else text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return "" if value is None else str(value).strip()


@dataclass(slots=True)
class Workbook:
    """Where the workbook's bytes are (a path, or bytes read from an archive), and its kind."""

    display: str
    path: Path | None
    data: bytes | None
    kind: str  # "xlsx" | "ods" | "xls"

    _sheets: dict[str, Any] = field(default_factory=dict)

    def file(self) -> Any:
        return self.path if self.path is not None else io.BytesIO(self.data or b"")

    def sheet(self, name: str) -> CalamineSheet:
        """One sheet's cells, loaded once (the header search and every records() pass share them)."""
        if name not in self._sheets:
            from python_calamine import CalamineWorkbook

            try:
                wb = (CalamineWorkbook.from_filelike(self.file()) if self.path is None
                      else CalamineWorkbook.from_path(str(self.path)))
                self._sheets = {name: wb.get_sheet_by_name(name)}
            except Exception as exc:  # calamine's own errors for a damaged file all mean the same here
                raise SourceUnreadable(f"{self.display} : classeur illisible ({type(exc).__name__} : {str(exc)[:160]}).") from exc
        return self._sheets[name]


@dataclass(eq=False)
class SpreadsheetFeed(TableFeed):
    book: Workbook
    sheet: str
    opts: TableOptions
    header: Header
    visibility: Visibility
    agency_id: str | None = None
    issues: list[Issue] = field(default_factory=list)
    facts: FeedFacts = field(init=False)

    def __post_init__(self) -> None:
        from etl.extract.spreadsheet.format import FORMAT

        self.format: FeedFormat = FORMAT
        self.facts = FeedFacts(self.source, format="excel", dialect=f"{self.book.kind}, feuille « {self.sheet} »")

    @property
    def source(self) -> str:
        return f"{self.book.display} [{self.sheet}]"

    def records(self) -> Iterator[ExtractResult]:
        self.facts = facts = FeedFacts(self.source, format="excel", dialect=self.facts.dialect, encoding="xlsx")
        rows = RowReader(self.source, self.header, self.opts, self.agency_id)
        width = len(self.header.names)
        try:
            for no, cells in sheet_rows(self.book, self.sheet, self.visibility):
                if no <= self.header.row or no in self.visibility.hidden_rows:
                    continue
                if not any(cells):
                    continue
                yield rows.record(no, cells[:width])
        finally:
            facts.records = rows.recno
            facts.errors = rows.errors


def sheet_rows(book: Workbook, sheet: str, visibility: Visibility) -> Iterator[tuple[int, list[str]]]:
    """(1-based sheet row, cells as text) for every row of the sheet, merged cells filled with
    their value (a merged header names every column it spans), hidden columns read empty."""
    data = book.sheet(sheet)
    (top, left) = data.start or (0, 0)
    merged = _merged(data)
    first: dict[tuple[int, int], str] = {}  # a merged range's value, read in its top-left cell
    hidden_cols = {c - 1 for c in visibility.hidden_columns}
    for i, raw in enumerate(data.iter_rows()):
        no = top + i + 1
        # Most cells are text or empty: those skip cell_text's type dispatch (720,000 cells a night).
        cells = [v.strip() if type(v) is str and "\r" not in v else cell_text(v) for v in raw]
        if left:
            cells = [""] * left + cells
        for (r0, c0, c1) in merged.get(no - 1, ()):
            if r0 == no - 1:
                first[(r0, c0)] = cells[c0] if c0 < len(cells) else ""
            value = first.get((r0, c0), "")
            for c in range(c0, min(c1, len(cells) - 1) + 1):
                if not cells[c]:
                    cells[c] = value
        for c in hidden_cols:
            if 0 <= c < len(cells):
                cells[c] = ""
        yield no, cells


def _merged(data: CalamineSheet) -> dict[int, list[tuple[int, int, int]]]:
    """0-based row → (first row, first column, last column) of the merged ranges crossing it."""
    ranges = getattr(data, "merged_cell_ranges", None) or []
    out: dict[int, list[tuple[int, int, int]]] = {}
    for (r0, c0), (r1, c1) in ranges:
        if (r1 - r0 + 1) * (c1 - c0 + 1) > 100_000:
            continue  # a whole-sheet merge says nothing about listings
        for r in range(r0, r1 + 1):
            out.setdefault(r, []).append((r0, c0, c1))
    return out


def open_workbook(container: Container, member: str | None, kind: str) -> Workbook:
    """The workbook's bytes: the source itself, or a workbook inside a ZIP or folder (checked
    like any archive: a workbook is a ZIP, and a zip bomb inside one is refused)."""
    display = container.label(member)
    if container.kind == "file" or (container.kind == "zip" and member is None):
        return Workbook(display, container.path, None, kind)
    if container.kind == "dir":
        path = container.path / (member or "")
        if kind != "xls":
            open_container(path, limits=container.limits)  # refuses a bomb before anything is inflated
        return Workbook(display, path, None, kind)
    data = container.read(member, container.limits.max_member_bytes)
    if kind != "xls":
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
            tmp.write(data)
            tmp.flush()
            open_container(tmp.name, limits=container.limits)
    return Workbook(display, None, data, kind)


def choose_sheet(book: Workbook, wanted: str | int | None) -> str:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(book.file()) if book.path is None else CalamineWorkbook.from_path(str(book.path))
        metadata = wb.sheets_metadata
    except Exception as exc:
        raise SourceUnreadable(f"{book.display} : classeur illisible ({type(exc).__name__} : {str(exc)[:160]}).") from exc
    names = [m.name for m in metadata]
    if wanted is None:
        visible = [m.name for m in metadata if "Visible" in str(m.visible) and "Work" in str(m.typ)]
        if not (visible or names):
            raise SourceUnreadable(f"{book.display} : classeur sans feuille.")
        return (visible or names)[0]
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
        n = int(wanted)
        if 1 <= n <= len(names):
            return names[n - 1]
    else:
        folded = {name.casefold().strip(): name for name in names}
        if wanted.casefold().strip() in folded:
            return folded[wanted.casefold().strip()]
    raise SourceUnreadable(f"{book.display} : feuille « {wanted} » introuvable (feuilles : {', '.join(names)}).")


def visibility(book: Workbook, sheet: str) -> Visibility:
    """Hidden rows and columns of an .xlsx sheet, its size checked (other kinds: sizes only by file)."""
    if book.kind != "xlsx":
        return Visibility()
    try:
        with zipfile.ZipFile(book.file()) as zf:
            path = sheet_paths(zf).get(sheet)
            if path is None:
                return Visibility()
            with zf.open(path) as stream:
                return scan(stream, max_rows=MAX_ROWS, max_cells=MAX_CELLS)
    except TooBig as exc:
        raise SourceUnreadable(f"{book.display} : feuille « {sheet} » de {exc}, bien au-delà d'un stock d'annonces ; "
                               "classeur refusé.") from None
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SourceUnreadable(f"{book.display} : classeur illisible ({type(exc).__name__}).") from exc


def read_header(book: Workbook, sheet: str, seen: Visibility, opts: TableOptions) -> tuple[Header, list[Issue]]:
    display = f"{book.display} [{sheet}]"
    rows: list[tuple[int, list[str]]] = []
    for no, cells in sheet_rows(book, sheet, seen):
        if no in seen.hidden_rows or not any(cells):
            continue
        rows.append((no, cells))
        if len(rows) >= HEADER_SCAN:
            break
    if not rows:
        return build_header(1, [], opts, display), []
    i = find_header(rows, opts)
    no, cells = rows[i]
    header = build_header(no, cells, opts, display)
    issues = header_issues(header, opts, display, (n for n, _ in rows[:i]))
    if seen.hidden_rows:
        shown = ", ".join(str(n) for n in sorted(seen.hidden_rows)[:_SHOWN]) + ("…" if len(seen.hidden_rows) > _SHOWN else "")
        issues.append(warning("W_ROWS_HIDDEN", f"{display} : {len(seen.hidden_rows)} ligne(s) masquée(s) ignorée(s) "
                              f"(lignes {shown}) ; affichez-les si ces annonces doivent être publiées.", value=shown))
    if seen.hidden_columns:
        from openpyxl.utils import get_column_letter

        shown = ", ".join(get_column_letter(c) for c in sorted(seen.hidden_columns)[:_SHOWN])
        issues.append(warning("W_COLUMNS_HIDDEN", f"{display} : colonne(s) masquée(s) ignorée(s) : {shown}.", value=shown))
    return header, issues
