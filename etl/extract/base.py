"""The feed interface: what a source format gives the conductor.

Modelled on httpx's ``_transports/base.py``: this file says what a format is; each format lives
beside it in its own folder (``etl/extract/poliris/`` …) and is named by one line of
``etl/extract/registry.py``. The conductor knows nothing of any format beyond this file.

A format

- **recognises its content** (``detect``): a confidence from 0 to 1 read off the first bytes or
  the member names of a source, never off its file name, plus the dialect it saw;
- **opens a source** (``open``) into a ``Feed``: the stream of ``SourceRecord | RecordError``
  (every record accounted for, in source order), its facts (records read, complete or
  truncated, encoding, dialect), how its media are versioned, how its fields are named in
  messages, and what "empty" looks like in it (``blank_markers``: Poliris writes ``0`` and
  ``00/00/0000`` for nothing; a spreadsheet's ``0`` is a zero).
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from etl.extract.container import Container
from etl.issues import Issue
from etl.records import ExtractResult, FeedFacts

NOTHING: Mapping[str, Any] = {}


class MediaVersions(Mapping[str, str]):
    """Version tags of the media files shipped in a source (file name, case-folded → CRC-32 tag).

    Read on first look-up: only agencies that publish shipped photos under a ``photo_base_url``
    need them, and reading every image is not free. Its length is known without reading.
    """

    def __init__(self, files: list[str], read: Callable[[str], bytes]) -> None:
        self._files = files
        self._read = read
        self._versions: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._versions is None:
            self._versions = {name.rsplit("/", 1)[-1].casefold(): f"{zlib.crc32(self._read(name)) & 0xFFFFFFFF:08x}"
                              for name in self._files}
        return self._versions

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._files)


@dataclass(frozen=True, slots=True)
class Detection:
    """How sure a format is that a source is its own: 0 = not mine, 1 = certainly mine."""

    confidence: float
    dialect: str | None = None  # "Poliris 4.09", "Kyero v3", "CSV « ; »"…

    def __bool__(self) -> bool:
        return self.confidence > 0


NOT_MINE = Detection(0.0)


class Feed(ABC):
    """One source opened by its format, ready to stream. ``records()`` may be called again (it re-reads)."""

    format: FeedFormat
    facts: FeedFacts
    issues: list[Issue]  # about the source as a whole (an unknown Photos.cfg mode…)

    @property
    @abstractmethod
    def source(self) -> str:
        """How record locations name the file (``send.zip/Annonces.csv``)."""

    @property
    @abstractmethod
    def columns(self) -> Mapping[str, int]:
        """Source field name → position in ``SourceRecord.values`` (shared by every record)."""

    @abstractmethod
    def records(self) -> Iterator[ExtractResult]:
        """Every record of the source in order, as a ``SourceRecord`` or a ``RecordError``;
        ``facts`` is final once exhausted. Raises ``SourceUnreadable`` when the source cannot be
        read on (a damaged archive mid-stream)."""

    @property
    def media_mode(self) -> str:
        """How media references read: "URL" (links) or "FULL"/"DIFF" (files shipped in the source)."""
        return "URL"

    def media_versions(self) -> Mapping[str, str]:
        """Version tag of each media file shipped in the source (name case-folded → tag), so a
        photo replaced under the same name is sent again (``MediaVersions``); empty by default."""
        return NOTHING

    def label(self, name: str) -> str:
        """How messages name a source field: « champ 11 (Prix) », « colonne Prix (€) »."""
        return self.format.label(name)


class FeedFormat(ABC):
    """A source format: detection, opening, naming. One instance per format, in the registry."""

    name: ClassVar[str]  # registry name, as written in ``--format`` and a mapping's ``format:``
    title: ClassVar[str]  # French, for messages: « export Poliris (SeLoger) »
    default_mapping: ClassVar[str | None] = None  # built-in mapping used when none is configured
    blank_markers: ClassVar[frozenset[str]] = frozenset()  # values meaning "empty" besides ""

    @abstractmethod
    def detect(self, container: Container) -> Detection:
        """How sure this format is that the source is its own, from its content alone."""

    @abstractmethod
    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> Feed:
        """Open a source (already checked safe by ``open_container``); raises ``SourceUnreadable``
        when it cannot be read at all. ``agency_id`` is the agency of records that name none;
        ``options`` are the mapping's ``source:`` block with the agency's overrides over it (a
        format that takes none ignores them; one that takes some raises ``ConfigError`` on bad ones)."""

    def label(self, name: str) -> str:
        return name
