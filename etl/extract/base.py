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
  ``00/00/0000`` for nothing; a spreadsheet's ``0`` is a zero);
- **may be read in chunks** by worker processes (``Feed.chunking``, optional): a format that
  implements it returns a ``Chunking``; one that does not is read by one process.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from etl.extract.container import Container
from etl.issues import Issue
from etl.records import ExtractResult, FeedFacts, RecordError, SourceLocation

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


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a source for one worker: the records that start between two byte offsets."""

    index: int  # 0-based, in source order
    start: int  # byte offset of its first line
    end: int | None  # records starting at or after it belong to the next chunk (None: to the end)
    line: int  # physical lines before ``start`` (its first line is ``line + 1``)
    state: Any  # the format's reading state assumed at ``start`` (checked when merging)


@dataclass(slots=True)
class ChunkEnd:
    """Where the read of a chunk stopped, and what it found (its ``facts``: records, errors, lines;
    completeness and problems only when it reached the end of the source)."""

    stop: int  # byte offset of the first line it did not read: where the next chunk must start
    line: int  # physical lines before ``stop``
    state: Any  # reading state at ``stop``
    at_end: bool  # reached the end of the source
    facts: FeedFacts
    extra: Any = None  # the format's own (e.g. which encodings were met)


class ChunkRead(ABC):
    """The records of one chunk, in order (iterate once); ``end`` is set once exhausted."""

    end: ChunkEnd | None = None

    @abstractmethod
    def __iter__(self) -> Iterator[ExtractResult]: ...

    @abstractmethod
    def claim(self, item: ExtractResult) -> Any:
        """What ``Chunking.judge`` needs of a record read here (None: nothing to judge)."""


class Chunking(ABC):
    """A feed split for worker processes, and merged back as one pass would have read it.

    The conductor takes ``chunks()`` in order (it may start reading before the plan is complete),
    workers ``read`` them, and the conductor merges their ends in order: each chunk's start is a
    guess (offset and reading state) that ``follows`` checks against where the chunk before
    stopped: a record spanning the boundary, or a state the guess missed, means the chunk is read
    again from there. What one chunk cannot judge alone (a key already seen in an earlier chunk)
    the worker ``claim``s and the conductor ``judge``s, in source order.
    """

    size: int  # bytes to read, for progress

    @abstractmethod
    def chunks(self) -> Iterator[Chunk]:
        """The plan, in order; the first chunk starts from the true initial state."""

    @abstractmethod
    def read(self, chunk: Chunk) -> ChunkRead:
        """The records of a chunk (in a worker); record numbers count from 1 within the chunk."""

    @abstractmethod
    def judge(self, claim: Any, location: SourceLocation) -> RecordError | None:
        """In source order, in the conductor: the error a whole pass would have made of the record
        (a duplicate key), or None when it stands."""

    @abstractmethod
    def follows(self, before: ChunkEnd, chunk: Chunk) -> Chunk | None:
        """None when ``chunk`` was read from where ``before`` stopped, else the chunk to read again."""

    @abstractmethod
    def merge(self, end: ChunkEnd) -> None:
        """Count a merged chunk in the feed's facts (in order)."""

    def close(self) -> None:
        """Remove what planning made (a temporary copy of an archived file)."""


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

    def chunking(self, chunk_bytes: int, *, min_bytes: int = 0) -> Chunking | None:
        """This source split in chunks of about ``chunk_bytes`` for worker processes, or None:
        a format that cannot split its sources (the default), or a source under ``min_bytes`` (or
        two chunks): too small to be worth it."""
        return None


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
