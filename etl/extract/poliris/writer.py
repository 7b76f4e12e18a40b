"""Write Poliris sends (``Annonces.csv``, ZIP): for tests, sample feeds and benchmarks.

It writes what the spec asks (every value quoted, ``"`` replaced by ``'``, line breaks as
``<BR>``) and, on request, the variations real exports show (trailing ``!#``, spaces around
the separator, LF endings, UTF-8, a UTF-8 BOM, lower-case member names, a sub-folder).
Rows are sequences (position 0 = field 1) or mappings keyed by rank (``175``) or field name
(``"technical_id"``); missing fields are empty and rows are padded to ``width``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from etl.extract.poliris.reader import COLUMNS, FIELD_COUNT

Row = Sequence[str] | Mapping[int | str, object]
MemberCase = Literal["canonical", "lower", "upper"]

_SEPARATOR = '"!#"'
_SPACED_SEPARATOR = '" !# "'
_VERSION_FOR_WIDTH = {329: "4.09", 334: "4.12", 323: "4.08-007"}


def clean_value(value: object) -> str:
    """A value as the spec wants it written: no ``"``, line breaks as ``<BR>``."""
    text = "" if value is None else str(value)
    if '"' in text:
        text = text.replace('"', "'")
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", "<BR>").replace("\n", "<BR>").replace("\r", "<BR>")
    return text


def format_line(values: Sequence[object], *, trailing_separator: bool = False, spaced: bool = False) -> str:
    """One ``Annonces.csv`` line, without its line terminator."""
    line = '"' + (_SPACED_SEPARATOR if spaced else _SEPARATOR).join(clean_value(v) for v in values) + '"'
    if trailing_separator:
        line += " !#" if spaced else "!#"
    return line


def row_values(row: Row, width: int = FIELD_COUNT) -> list[str]:
    """A row as a list of ``width`` strings (or more, when a sequence row is longer)."""
    if isinstance(row, Mapping):
        values = [""] * width
        for key, value in row.items():
            index = key - 1 if isinstance(key, int) else COLUMNS[key]
            if index >= len(values):
                values.extend([""] * (index + 1 - len(values)))
            values[index] = "" if value is None else str(value)
        return values
    values = ["" if v is None else str(v) for v in row]
    if len(values) < width:
        values.extend([""] * (width - len(values)))
    return values


def iter_lines(rows: Iterable[Row], *, width: int = FIELD_COUNT, trailing_separator: bool = False,
               spaced: bool = False) -> Iterable[str]:
    for row in rows:
        yield format_line(row_values(row, width), trailing_separator=trailing_separator, spaced=spaced)


def annonces_bytes(rows: Iterable[Row], *, encoding: str = "cp1252", newline: str = "\r\n", width: int = 329,
                   trailing_separator: bool = False, spaced: bool = False, bom: bool = False,
                   final_newline: bool = True, errors: str = "strict") -> bytes:
    """The bytes of an ``Annonces.csv`` (for ZIPs and hand-made test cases)."""
    text = newline.join(iter_lines(rows, width=width, trailing_separator=trailing_separator, spaced=spaced))
    if text and final_newline:
        text += newline
    data = text.encode(encoding, errors)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_annonces(path: str | Path, rows: Iterable[Row], *, encoding: str = "cp1252", newline: str = "\r\n",
                   width: int = 329, trailing_separator: bool = False, spaced: bool = False, bom: bool = False,
                   final_newline: bool = True, errors: str = "strict") -> Path:
    """Write ``Annonces.csv`` line by line (constant memory: rows may be a generator)."""
    path = Path(path)
    nl = newline.encode("ascii")
    with open(path, "wb", buffering=1 << 20) as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        first = True
        for line in iter_lines(rows, width=width, trailing_separator=trailing_separator, spaced=spaced):
            if not first:
                f.write(nl)
            f.write(line.encode(encoding, errors))
            first = False
        if not first and final_newline:
            f.write(nl)
    return path


def config_text(config: Mapping[str, str], newline: str = "\r\n") -> str:
    return "".join(f"{k}={v}{newline}" for k, v in config.items())


def _member(name: str, case: MemberCase) -> str:
    return name.lower() if case == "lower" else name.upper() if case == "upper" else name


def write_zip(path: str | Path, rows: Iterable[Row], *, config: Mapping[str, str] | None = None,
              photos_mode: str | None = "URL", photos: Mapping[str, bytes] | None = None,
              member_case: MemberCase = "canonical", folder: str | None = None, encoding: str = "cp1252",
              newline: str = "\r\n", width: int = 329, trailing_separator: bool = False, spaced: bool = False,
              bom: bool = False) -> Path:
    """A Poliris ZIP: Annonces.csv, Config.txt, Photos.cfg (``photos_mode=None`` leaves it out)
    and image files, optionally inside ``folder/``. ``config=None`` writes a Config.txt whose
    Version matches ``width``; pass ``{}`` to leave Config.txt out."""
    path = Path(path)
    if config is None:
        config = {"Version": _VERSION_FOR_WIDTH.get(width, "4.09"), "Application": "classifieds-etl / tests", "Devise": "Euro"}
    prefix = f"{folder.strip('/')}/" if folder else ""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(prefix + _member("Annonces.csv", member_case), "w", force_zip64=True) as member:
            if bom:
                member.write(b"\xef\xbb\xbf")
            first = True
            nl = newline.encode("ascii")
            for line in iter_lines(rows, width=width, trailing_separator=trailing_separator, spaced=spaced):
                member.write((b"" if first else nl) + line.encode(encoding))
                first = False
            if not first:
                member.write(nl)
        if config:
            zf.writestr(prefix + _member("Config.txt", member_case), config_text(config).encode(encoding))
        if photos_mode is not None:
            zf.writestr(prefix + _member("Photos.cfg", member_case), f"Mode={photos_mode}\r\n")
        for name, data in (photos or {}).items():
            zf.writestr(prefix + name, data)
    return path
