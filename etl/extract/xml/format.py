"""What every XML format shares: finding the feed's file, reading its root and head, opening it.

Detection reads only the first 64 KiB of content (never the file name): the root element's
local name and which characteristic elements appear. Each dialect turns that into a confidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from etl.errors import SourceUnreadable
from etl.extract.base import NOT_MINE, NOTHING, Detection, FeedFormat
from etl.records import SOFTWARE_BLANKS
from etl.extract.container import Container
from etl.extract.sniff import xml_root
from etl.extract.xml.feed import Normalise, XmlFeed, xml_member
from etl.extract.xml.table import Table, table_spec

# XML exports write "nothing" as Poliris ones do (the same agency software writes both); a mapping
# declares the fields where 0 is a fact (``fields: {pool: {blank: []}}``).
BLANK_MARKERS: Final = SOFTWARE_BLANKS


@dataclass(frozen=True, slots=True)
class Head:
    """The start of a feed, for detection: root local name and the raw bytes."""

    root: str | None
    data: bytes

    def has(self, *tags: str) -> bool:
        """Does an element of each of these names open in the head (any namespace prefix)?"""
        return all(re.search(rb"<(?:[\w.\-]+:)?" + re.escape(t.encode()) + rb"[\s/>]", self.data) for t in tags)


def read_head(container: Container) -> Head | None:
    """The head of the container's XML file, or None when it holds none (or is not XML)."""
    try:
        member = xml_member(container)
    except SourceUnreadable:
        return None
    data = container.head(member)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", "replace").encode("utf-8")
    if not data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        return None
    root = xml_root(data)
    return Head(root.split(b":")[-1].decode("ascii", "replace").lower() if root else None, data)


class XmlFormat(FeedFormat):
    """A dialect: its table is fixed; subclasses say how sure they are of a head."""

    dialect: ClassVar[str]
    spec: ClassVar[Mapping[str, Any]]  # the table, in the ``source:`` syntax
    derived: ClassVar[Mapping[str, str]] = {}  # how messages name the columns a dialect derives
    blank_markers: ClassVar[frozenset[str]] = BLANK_MARKERS
    _table: Table | None = None

    def confidence(self, head: Head) -> float:
        raise NotImplementedError

    def detect(self, container: Container) -> Detection:
        head = read_head(container)
        if head is None or head.root is None:
            return NOT_MINE
        score = self.confidence(head)
        return Detection(score, self.dialect) if score > 0 else NOT_MINE

    def table(self) -> Table:
        if self._table is None:
            self._table = Table(table_spec(self.spec, f"format {self.name}"), f"format {self.name}")
        return self._table

    def normalise(self) -> Normalise | None:
        return None

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> XmlFeed:
        return XmlFeed(self, container, xml_member(container), self.table(), self.dialect,
                       agency_id=agency_id or None, normalise=self.normalise(), derived=self.derived)

