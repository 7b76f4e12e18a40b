"""Poliris as a feed format: recognised by its ``!#``-separated rows, opened by ``read_poliris``."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Mapping
from typing import Any, ClassVar

from etl.extract.base import NOT_MINE, NOTHING, Detection, FeedFormat
from etl.extract.container import Container
from etl.extract.poliris.bundle import annonces_member
from etl.records import SOFTWARE_BLANKS
from etl.extract.poliris.reader import COLUMNS, PolirisFeed, field_label, read_poliris

# A Poliris row has 255 to 334 fields; a line of another format rarely holds even a few "!#".
_SURE_SEPARATORS = 40


class PolirisFormat(FeedFormat):
    name: ClassVar[str] = "poliris"
    title: ClassVar[str] = "export Poliris (SeLoger)"
    default_mapping: ClassVar[str | None] = "poliris"
    # What export software writes for "nothing" in numbers and dates (the mapping may narrow it per field).
    blank_markers: ClassVar[frozenset[str]] = SOFTWARE_BLANKS

    def detect(self, container: Container) -> Detection:
        member = None if container.kind == "file" else annonces_member(container)
        if container.kind != "file" and member is None:
            return NOT_MINE
        head = container.head(member)
        first = next((line for line in head.splitlines() if line.strip()), b"")
        separators = first.count(b"!#")
        if separators >= _SURE_SEPARATORS:
            return Detection(1.0)
        if separators >= 2:
            return Detection(0.6)  # a short row: Poliris still, or a look-alike
        if member is not None and not head.strip():
            return Detection(0.5)  # an empty Annonces.csv: an empty send
        return NOT_MINE

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> PolirisFeed:
        return read_poliris(container, agency_id=agency_id)

    def label(self, name: str) -> str:
        """A mapping's source name (``price``) → how agencies find it: « champ 11 (Prix / Loyer / Prix de cession) »."""
        i = COLUMNS.get(name)
        return field_label(i + 1) if i is not None else name


FORMAT = PolirisFormat()
