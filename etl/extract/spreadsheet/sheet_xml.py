"""What the cell reader cannot see in an .xlsx sheet: hidden rows and columns, and its size.

``python-calamine`` reads values, fast, but not row or column visibility (openpyxl shows them
only by loading the whole sheet as objects, several times slower than the whole convert). The
sheet's XML says it in the start tags of ``<row>`` and ``<col>``: a regular expression over the
streamed, inflated member finds them in bounded memory, with no XML parser (so no entity or
DTD to expand). The same pass counts rows and cells, so a workbook built to exhaust memory
(a sheet of a million rows) is refused before any cell is loaded.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from posixpath import dirname, join, normpath
from typing import IO, Final

_TAG: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|col)\b([^>]*)>")
_ATTR: Final = re.compile(rb'\b(r|min|max|hidden)="([^"]*)"')
_CHUNK: Final = 1 << 20
_SHEET: Final = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br(?:elationships)?:id="([^"]*)"')
_SHEET_ALT: Final = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\br(?:elationships)?:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL: Final = re.compile(r'<(?:\w+:)?Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_ALT: Final = re.compile(r'<(?:\w+:)?Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')


class TooBig(Exception):
    """The sheet holds more rows or cells than a listing feed can."""


@dataclass(slots=True)
class Visibility:
    hidden_rows: set[int] = field(default_factory=set)  # 1-based sheet rows
    hidden_columns: set[int] = field(default_factory=set)  # 1-based sheet columns
    rows: int = 0
    cells: int = 0


def _unescape(text: str) -> str:
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")


def sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its member path, in workbook order."""
    workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    try:
        rels_text = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        rels_text = ""
    rels = {rid: target for rid, target in _REL.findall(rels_text)}
    rels.update({rid: target for target, rid in _REL_ALT.findall(rels_text)})
    sheets = _SHEET.findall(workbook) or [(name, rid) for rid, name in _SHEET_ALT.findall(workbook)]
    out: dict[str, str] = {}
    for name, rid in sheets:
        target = rels.get(rid)
        if target:
            path = target.lstrip("/") if target.startswith("/") else normpath(join(dirname("xl/workbook.xml"), target))
            out[_unescape(name)] = path
    return out


def scan(stream: IO[bytes], *, max_rows: int, max_cells: int) -> Visibility:
    """Hidden rows and columns of one sheet's XML; raises ``TooBig`` past the limits."""
    seen = Visibility()
    carry = b""
    row_no = 0
    while True:
        chunk = stream.read(_CHUNK)
        buf = carry + chunk
        end = len(buf) if not chunk else buf.rfind(b"<")
        if end < 0:
            end = 0
        seen.cells += buf.count(b"<c ", 0, end) + buf.count(b"<c>", 0, end)  # cells: counted, not parsed
        for m in _TAG.finditer(buf, 0, end):
            kind, attrs = m.group(1), m.group(2)
            found = dict(_ATTR.findall(attrs))
            hidden = found.get(b"hidden") in (b"1", b"true")
            if kind == b"row":
                seen.rows += 1
                row_no = int(found[b"r"]) if found.get(b"r", b"").isdigit() else row_no + 1
                if hidden:
                    seen.hidden_rows.add(row_no)
            elif hidden and found.get(b"min", b"").isdigit() and found.get(b"max", b"").isdigit():
                seen.hidden_columns.update(range(int(found[b"min"]), min(int(found[b"max"]), 16384) + 1))
        if seen.rows > max_rows:
            raise TooBig(f"plus de {max_rows:,} lignes".replace(",", "\u202f"))
        if seen.cells > max_cells:
            raise TooBig(f"plus de {max_cells:,} cellules".replace(",", "\u202f"))
        if not chunk:
            return seen
        carry = buf[end:]
