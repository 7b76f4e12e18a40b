"""Delimited text (CSV) as a feed format: recognised by cells a separator splits evenly.

A Poliris ``Annonces.csv`` is a CSV too, with ``!#`` between fields: any line holding ``!#``
is left to Poliris. An Excel workbook is a ZIP of XML files: left to the spreadsheet format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from etl.errors import SourceUnreadable
from etl.extract.base import NOT_MINE, NOTHING, Detection, FeedFormat
from etl.extract.container import Container
from etl.extract.decoding import decode_windows_1252, utf16_bom
from etl.extract.delimited.dialect import Dialect, sniff
from etl.extract.delimited.reader import DelimitedFeed, preview_rows, read_header
from etl.extract.tabular import parse_options, require_key

_LOOKED_AT = 50  # the biggest members of a send: a photo archive is not read member by member
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")


def _text(head: bytes) -> str | None:
    """The head as text, or None when it is binary, XML or JSON (someone else's)."""
    if head.startswith(_BINARY_MAGIC) or utf16_bom(head) or b"\x00" in head[:4096]:
        return None
    head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else decode_windows_1252(head)
    body = text.lstrip(" \t\r\n")
    if body[:1] in ("<", "{", "["):
        return None
    return text


def _main_member(container: Container) -> str | None:
    """The biggest text file of a ZIP or folder: the listings (a photo or a readme is smaller)."""
    for member in sorted(container.members, key=container.size, reverse=True)[:_LOOKED_AT]:
        if _text(container.head(member, 4096)) is not None:
            return member
    return None


class DelimitedFormat(FeedFormat):
    name: ClassVar[str] = "csv"
    title: ClassVar[str] = "fichier CSV (texte délimité)"
    default_mapping: ClassVar[str | None] = "generic-csv"
    blank_markers: ClassVar[frozenset[str]] = frozenset()  # a spreadsheet's 0 is a zero

    def detect(self, container: Container) -> Detection:
        if container.kind != "file":
            if any(m.lower() in ("xl/workbook.xml", "mimetype") for m in container.members):
                return NOT_MINE  # an Excel or OpenDocument workbook
            member = _main_member(container)
            if member is None:
                return NOT_MINE
        else:
            member = None
        head = container.head(member)
        text = _text(head)
        if text is None:
            return NOT_MINE
        first = next((line for line in text.splitlines() if line.strip()), "")
        if "!#" in first:
            return NOT_MINE  # Poliris
        dialect = sniff(text, cut=len(head) >= 4096)
        if dialect is None or dialect.consistency < 0.5:
            return NOT_MINE
        sure = 0.8 if dialect.rows >= 2 and dialect.width >= 3 else 0.55
        return Detection(sure * min(1.0, dialect.consistency + 0.2), f"CSV {dialect.shown}, {dialect.width} colonnes")

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> DelimitedFeed:
        opts = parse_options(options, f"source {container.name}")
        member = None if container.kind == "file" else _main_member(container)
        if container.kind != "file" and member is None:
            raise SourceUnreadable(f"{container.name} : aucun fichier texte dans l'archive ou le dossier.")
        display = container.label(member)
        head = container.head(member)
        text = _text(head) or ""
        dialect = sniff(text, cut=len(head) >= 4096, forced=opts.delimiter) or Dialect(opts.delimiter or ";", 1, 1.0, 0)
        header, issues = read_header(container, member, dialect, opts, display, opts.encoding)
        require_key(header, opts, display)
        return DelimitedFeed(container=container, member=member, dialect=dialect, opts=opts, header=header,
                             agency_id=agency_id or None, issues=issues)

    def preview(self, container: Container, limit: int) -> tuple[list[str], list[list[str]]]:
        """The header (found from content alone) and the first ``limit`` rows: ``mapping suggest``."""
        member = None if container.kind == "file" else _main_member(container)
        head = container.head(member)
        dialect = sniff(_text(head) or "", cut=len(head) >= 4096) or Dialect(";", 1, 1.0, 0)
        opts = parse_options({}, container.name)
        header, _ = read_header(container, member, dialect, opts, container.label(member), "auto")
        rows = []
        for n, cells in enumerate(preview_rows(container, member, dialect, header.row)):
            if n >= limit:
                break
            rows.append(cells)
        return header.names, rows


FORMAT = DelimitedFormat()
