"""Spreadsheets as a feed format: Excel (.xlsx, .xlsm, .xls) and OpenDocument (.ods) workbooks.

Recognised from content, never from the file name: an .xlsx is a ZIP whose members include
``xl/workbook.xml``; an .ods a ZIP whose ``mimetype`` says so; an .xls an OLE2 file holding a
``Workbook`` stream. A ZIP send holding one workbook is read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from etl.errors import SourceUnreadable
from etl.extract.base import NOT_MINE, NOTHING, Detection, FeedFormat
from etl.extract.container import Container
from etl.extract.spreadsheet.reader import (
    SpreadsheetFeed, choose_sheet, open_workbook, read_header, sheet_rows, visibility)
from etl.extract.tabular import parse_options, require_key

_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS: Final = b"application/vnd.oasis.opendocument.spreadsheet"
_KINDS: Final = {"xlsx": "classeur Excel", "xls": "classeur Excel 97-2003", "ods": "classeur OpenDocument"}


def _kind_of_archive(container: Container) -> str | None:
    """The container itself is a workbook (an .xlsx/.ods is a ZIP)."""
    names = {m.lower(): m for m in container.members}
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names and container.head(names["mimetype"], 128).startswith(_ODS):
        return "ods"
    return None


def _kind_of_bytes(head: bytes) -> str | None:
    """A workbook file inside a send, from its first bytes."""
    if head.startswith(b"PK\x03\x04"):
        if b"xl/" in head:
            return "xlsx"
        return "ods" if _ODS in head[:200] else None
    if head.startswith(_OLE) and "Workbook".encode("utf-16-le") in head:
        return "xls"
    return None


def _locate(container: Container) -> tuple[str | None, str] | None:
    """(member or None, kind) of the workbook a source is or holds."""
    if container.kind == "zip":
        kind = _kind_of_archive(container)
        if kind is not None:
            return None, kind
    if container.kind == "file":
        kind = _kind_of_bytes(container.head(None, 1 << 16))
        return (None, kind) if kind else None
    for member in sorted(container.members, key=container.size, reverse=True)[:50]:  # not every photo of a send
        kind = _kind_of_bytes(container.head(member, 1 << 14))
        if kind:
            return member, kind
    return None


class SpreadsheetFormat(FeedFormat):
    name: ClassVar[str] = "excel"
    title: ClassVar[str] = "classeur Excel ou OpenDocument"
    default_mapping: ClassVar[str | None] = "generic-excel"
    blank_markers: ClassVar[frozenset[str]] = frozenset()  # a spreadsheet's 0 is a zero

    def detect(self, container: Container) -> Detection:
        found = _locate(container)
        if found is None:
            return NOT_MINE
        member, kind = found
        return Detection(0.95 if member is None else 0.9, _KINDS[kind])

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> SpreadsheetFeed:
        opts = parse_options(options, f"source {container.name}")
        found = _locate(container)
        if found is None:
            raise SourceUnreadable(f"{container.name} : aucun classeur Excel ou OpenDocument reconnu.")
        member, kind = found
        book = open_workbook(container, member, kind)
        sheet = choose_sheet(book, opts.sheet)
        seen = visibility(book, sheet)
        header, issues = read_header(book, sheet, seen, opts)
        require_key(header, opts, f"{book.display} [{sheet}]")
        return SpreadsheetFeed(book=book, sheet=sheet, opts=opts, header=header, visibility=seen,
                               agency_id=agency_id or None, issues=issues)

    def preview(self, container: Container, limit: int) -> tuple[list[str], list[list[str]]]:
        """The header (found from content alone) and the first ``limit`` rows: ``mapping suggest``."""
        found = _locate(container)
        if found is None:
            raise SourceUnreadable(f"{container.name} : aucun classeur Excel ou OpenDocument reconnu.")
        book = open_workbook(container, *found)
        sheet = choose_sheet(book, None)
        seen = visibility(book, sheet)
        header, _ = read_header(book, sheet, seen, parse_options({}, container.name))
        rows = []
        for no, cells in sheet_rows(book, sheet, seen):
            if no > header.row and no not in seen.hidden_rows and any(cells):
                rows.append(cells)
                if len(rows) >= limit:
                    break
        return header.names, rows


FORMAT = SpreadsheetFormat()
