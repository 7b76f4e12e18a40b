"""Any XML by XPath: the mapping's ``source:`` block names the record element and a path per field.

A vendor maps an unknown feed without code (see ``table.py`` for the block's syntax and
``docs/xml-feeds.md`` for an example). Detection cannot see the mapping, so this format claims
any XML at the threshold (``SURE``): the dialects, surer, win on their own feeds, and an XML
feed opened with no ``record`` in its options is refused as the unknown format it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from etl.errors import UnsupportedFeed
from etl.extract.base import NOT_MINE, NOTHING, Detection, FeedFormat
from etl.extract.container import Container
from etl.extract.registry import SURE
from etl.extract.sniff import describe
from etl.extract.xml.feed import XmlFeed, xml_member
from etl.extract.xml.format import BLANK_MARKERS, read_head
from etl.extract.xml.table import Table, table_spec


class GenericXmlFormat(FeedFormat):
    name: ClassVar[str] = "xml"
    title: ClassVar[str] = "flux XML décrit par sa mapping (XPath)"
    default_mapping: ClassVar[str | None] = None
    blank_markers: ClassVar[frozenset[str]] = BLANK_MARKERS

    def detect(self, container: Container) -> Detection:
        head = read_head(container)
        if head is None or head.root is None:
            return NOT_MINE
        return Detection(SURE, f"XML <{head.root}>")

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> XmlFeed:
        if not options:  # no mapping at all; a mapping without record: is table_spec's to refuse
            raise UnsupportedFeed(
                f"{container.name} : {describe(container)} : format non pris en charge sans mapping qui le décrive "
                "(format: xml, avec dans source: l'élément de chaque annonce et le chemin de chaque champ).")
        where = "bloc source:"
        spec = table_spec(options, where)
        head = read_head(container)
        return XmlFeed(self, container, xml_member(container), Table(spec, where),
                       f"XML <{head.root if head else '?'}>/<{spec.record}>", agency_id=agency_id or None)


FORMAT: Final = GenericXmlFormat()
