"""Safe streaming XML: the record elements of a feed, one at a time, in memory flat in its size.

lxml's pull parser is fed 64 KiB chunks; each record element is handed over once complete,
then cleared with every sibling before it, so a 2 GB feed holds one record in memory. Whatever
ends outside a record (a header, junk between records) is cleared as well.

Hostile input is refused before it costs anything (``SourceUnreadable``, exit 4):

* entity declarations (``<!ENTITY``: billion laughs, quadratic blow-up, external entities) are
  refused as soon as the prolog shows one, before the parser sees it; the parser never
  substitutes entities, never loads a DTD, never touches the network, and keeps libxml2's
  limits on (``huge_tree`` off), so a reference to an undeclared entity stays an inert node
  whose content is never read — and the feed is refused when a record holds one;
* a record of more than ``MAX_RECORD_ELEMENTS`` elements is not accumulated: it is emptied
  as it is read and reported as a record error.

A feed that stops being well-formed after some records is not unreadable: the records before
the fault are yielded, then a ``Broken`` marker says where (so the feed is marked incomplete
and nothing is deleted on its account); the record in progress is lost, and so is the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from lxml import etree

from etl.errors import SourceUnreadable
from etl.extract.lines import Readable
from etl.extract.xml.transcode import Utf8Feed

MAX_RECORD_ELEMENTS: Final = 50_000
ENTITY_DECL: Final = b"<!ENTITY"


def local_name(tag: str) -> str:
    """``{urn:x}annonce`` → ``annonce``."""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


@dataclass(slots=True)
class RawRecord:
    element: etree._Element  # complete until the next record is asked for, then cleared
    ordinal: int  # 1-based among the feed's records
    line: int
    xpath: str  # /root/property[118]


@dataclass(slots=True)
class Oversized:
    """A record too big to hold: emptied while read, reported, and the feed goes on."""

    ordinal: int
    line: int
    xpath: str


@dataclass(slots=True)
class Broken:
    """The feed is not well-formed from here on; ``ordinal`` is the record it cut (0: none)."""

    ordinal: int
    line: int  # where the cut record starts (or the fault, when no record was open)
    error_line: int  # where the parser stopped
    xpath: str | None
    reason: str  # the parser's words (English), cleaned


def hardened_parser() -> etree.XMLPullParser:
    # Not collect_ids=False: with it, libxml2 reads the external DTD subset (a file or URL of
    # the attacker's choosing). Tested in tests/test_xml_hostile.py.
    return etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, load_dtd=False, no_network=True,
        huge_tree=False, dtd_validation=False, attribute_defaults=False)


class RecordStream:
    """One pass over a feed: ``for item in RecordStream(...)`` gives ``RawRecord``,
    ``Oversized`` and at most one final ``Broken``; ``root`` is the root's local name."""

    def __init__(self, stream: Readable, label: str, record_tag: str) -> None:
        self.label = label
        self.record_tag = record_tag
        self.source = Utf8Feed(stream, label)
        self.root: str | None = None
        self.records = 0
        self._dtd_checked = False
        self._dtd_external = False
        # Outside records: the open ancestors' names (with their index when not the first)
        # and, per open ancestor, how many children of each name it had so far.
        self._path: list[str] = []
        self._counts: list[dict[str, int]] = [{}]
        self._record: etree._Element | None = None
        self._record_line = 0
        self._record_xpath = ""
        self._inside = 0  # elements read inside the current record
        self._oversized = False
        self._line = 0  # last line an event was seen on
        self._ended: list[etree._Element] = []  # elements ended outside records, to release

    def __iter__(self) -> Iterator[RawRecord | Oversized | Broken]:
        parser = hardened_parser()
        batch: list[RawRecord | Oversized] = []
        seam = b""  # the end of the previous chunk: a declaration may straddle two
        try:
            for chunk in self.source:
                if not self._dtd_checked:
                    if ENTITY_DECL in seam + chunk[:len(ENTITY_DECL)] or ENTITY_DECL in chunk:
                        raise self._hostile("déclare des entités XML (<!ENTITY …>)")
                    seam = chunk[-len(ENTITY_DECL):]
                parser.feed(chunk)
                batch = self._drain(parser)
                yield from batch
                self._release(batch)
            parser.close()
            batch = self._drain(parser)
            yield from batch
            self._release(batch)
        except etree.XMLSyntaxError as exc:
            # The events parsed before the fault are still queued: those records are whole.
            try:
                batch = self._drain(parser)
            except etree.XMLSyntaxError:
                batch = []
            yield from batch
            yield self._broken(exc)

    def _drain(self, parser: etree.XMLPullParser) -> list[RawRecord | Oversized]:
        """The records the queued events complete. They are released (cleared) by the caller once
        consumed: the consumer reads each element while it is still whole."""
        done: list[RawRecord | Oversized] = []
        record_tag = self.record_tag
        for event, el in parser.read_events():
            if not self._dtd_checked:
                self._check_dtd(el)
            record = self._record
            if event == "start":
                if record is not None:
                    self._inside += 1
                    if self._inside > MAX_RECORD_ELEMENTS:
                        self._oversized = True
                    continue
                tag = el.tag
                if not isinstance(tag, str):
                    continue
                name = local_name(tag)
                if self.root is None:
                    self.root = name
                counts = self._counts[-1]
                index = counts[name] = counts.get(name, 0) + 1
                if name == record_tag:
                    self.records += 1
                    self._record = el
                    self._record_line = self._line = el.sourceline or self._line
                    self._record_xpath = "/" + "/".join([*self._path, f"{name}[{index}]"])
                    self._inside = 0
                    self._oversized = False
                else:
                    self._path.append(name if index == 1 else f"{name}[{index}]")
                    self._counts.append({})
                continue
            # end
            if record is None:
                if isinstance(el.tag, str):
                    self._end_outside(el)
                continue
            if el is not record:
                if self._oversized:
                    el.clear()  # a runaway record is emptied as it is read
                continue
            self._record = None
            if self._oversized:
                done.append(Oversized(self.records, self._record_line, self._record_xpath))
                _release(el)
                continue
            if self._dtd_external:
                self._refuse_entity_refs(el)
            done.append(RawRecord(el, self.records, self._record_line, self._record_xpath))
        return done

    def _end_outside(self, el: etree._Element) -> None:
        if self._path:
            self._path.pop()
            self._counts.pop()
        if el.getparent() is not None:
            # Released with the batch's records: they may still need it (``../@reference``).
            self._ended.append(el)

    def _release(self, batch: list[RawRecord | Oversized]) -> None:
        for item in batch:
            if isinstance(item, RawRecord):
                _release(item.element)
        for el in self._ended:
            _release(el)
        self._ended.clear()


    def _check_dtd(self, el: etree._Element) -> None:
        """Backstop of the prolog scan, for a DTD longer than a chunk: no entity declaration."""
        self._dtd_checked = True
        info = el.getroottree().docinfo
        dtd = info.internalDTD
        if dtd is not None and next(iter(dtd.iterentities()), None) is not None:
            raise self._hostile("déclare des entités XML (<!ENTITY …>)")
        self._dtd_external = bool(info.system_url or info.public_id) or dtd is not None

    def _refuse_entity_refs(self, el: etree._Element) -> None:
        for ref in el.iter(etree.Entity):
            raise self._hostile(f"utilise l'entité « &{_clean(str(ref.name))[:40]}; », définie hors du fichier (jamais lue)")

    def _hostile(self, what: str) -> SourceUnreadable:
        return SourceUnreadable(
            f"{self.label} : le fichier XML {what} : refusé par sécurité (un flux d'annonces n'en contient "
            "jamais ; ces constructions servent à saturer la mémoire ou à lire des fichiers du serveur). "
            "Exportez le flux sans DTD ni entités.")

    def _broken(self, exc: etree.XMLSyntaxError) -> Broken:
        line = exc.lineno or self._line
        reason = _clean(exc.msg or str(exc))
        if self._record is not None:
            return Broken(self.records, self._record_line, line, self._record_xpath, reason)
        return Broken(0, line, line, None, reason)


def _release(el: etree._Element) -> None:
    """Forget an element that has been read, and the siblings before it (already read too)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(message: str) -> str:
    message = _CONTROL.sub(" ", message).strip()
    return message[:200]
