"""Annonces.csv in chunks for worker processes, read as one pass would have read it.

Plan (the conductor): cut the file at line starts every ``chunk_bytes``, counting lines on the
way (a chunk's messages name absolute line numbers), in one streaming pass of ``bytes.count``.
A ZIP member is deflated once to a temporary file first: a worker must seek to its chunk.

Each chunk starts from a guess of what a whole pass would carry there (``ReadState``): the
row width learnt from the file's head, the encoding of the file's first accented line when it
lies before the chunk (found by a byte scan), and "the last record was whole". A worker reads
the records that *start* in its range and finishes one that spans the boundary (joined lines),
then says where it stopped and in which state. Merging in order, a chunk whose guess was wrong
(the chunk before stopped elsewhere, or in another state) is read again from the true point:
never a different result, only a slower one in files that change revision mid-way.

Duplicate keys are judged by the conductor, in file order (``judge``): a worker cannot know the
keys of the chunks before its own.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from etl.extract.base import Chunk, ChunkEnd, Chunking, ChunkRead
from etl.extract.decoding import CP1252, MIXED, UTF8
from etl.extract.lines import MAX_LINE_BYTES, LineReader
from etl.extract.poliris.reader import (VERSION_WIDTHS, ReadState, _Parser, duplicate_error, hold_last,
                                        raw_prefix)
from etl.records import ExtractResult, FeedFacts, RecordError, SourceLocation, SourceRecord

if TYPE_CHECKING:
    from etl.extract.poliris.reader import PolirisFeed

_BLOCK: Final = 1 << 20
_PROBE_BYTES: Final = 256 << 10  # head read to learn the row width (a few hundred lines)
_NON_ASCII: Final = re.compile(rb"[\x80-\xff]")


class Claim(NamedTuple):
    """A record's identity, for the conductor to judge duplicates across chunks."""

    agency_id: str
    source_key: str
    raw: str  # for the error line, should it be a duplicate
    truncated: bool  # already an error (cut by the end of the file), counted as such


class _ChunkRead(ChunkRead):
    def __init__(self, chunking: PolirisChunking, chunk: Chunk) -> None:
        self.chunking = chunking
        self.chunk = chunk
        self.cut: tuple[RecordError, str] | None = None  # the last record, cut by the end of the file

    def claim(self, item: ExtractResult) -> Claim | None:
        if type(item) is SourceRecord:
            return Claim(item.agency_id, item.source_key, raw_prefix(item.values), False)
        if self.cut is not None and item is self.cut[0]:
            # A whole pass judged its key before holding it back: a duplicate stays a duplicate.
            assert item.agency_id is not None and item.source_key is not None
            return Claim(item.agency_id, item.source_key, self.cut[1], True)
        return None

    def _on_cut(self, record: SourceRecord, error: RecordError) -> None:
        self.cut = (error, raw_prefix(record.values))

    def __iter__(self) -> Iterator[ExtractResult]:
        c, plan = self.chunk, self.chunking
        feed = plan.feed
        facts = feed.new_facts()
        with open(plan.path, "rb") as stream:
            stream.seek(c.start)
            parser = _Parser(feed, stream, separator=plan.separator, start=c.start, end=c.end, line=c.line,
                             state=c.state, judge_duplicates=False, stats=facts)
            yield from hold_last(parser.run(), facts, on_cut=self._on_cut)
        decoder = parser.decoder
        self.end = ChunkEnd(stop=parser.pos if parser.stopped else plan.size, line=parser.lineno,
                            state=parser.state(), at_end=not parser.stopped, facts=facts,
                            extra=(decoder.utf8_lines > 0, decoder.cp1252_lines > 0))


class PolirisChunking(Chunking):
    def __init__(self, feed: PolirisFeed, path: Path, temporary: bool, size: int, separator: bytes, start: int,
                 chunk_bytes: int) -> None:
        self.feed = feed
        self.path = path
        self.temporary = temporary
        self.size = size
        self.separator = separator
        self.start = start  # after a UTF-8 byte-order mark
        self.chunk_bytes = chunk_bytes
        self.seen: dict[tuple[str, str], int] = {}
        self.facts = feed.new_facts()
        self._utf8 = self._cp1252 = False

    @classmethod
    def plan(cls, feed: PolirisFeed, chunk_bytes: int, min_bytes: int = 0) -> PolirisChunking | None:
        bundle = feed.bundle
        container = bundle.container
        if container.size(bundle.annonces) < max(2 * chunk_bytes, min_bytes):
            return None
        path = container.local_path(bundle.annonces)
        temporary = path is None
        if path is None:  # deflated in a ZIP: inflate once to a file workers can seek in
            fd, name = tempfile.mkstemp(prefix="annonces-", suffix=".csv")
            path = Path(name)
            try:
                with os.fdopen(fd, "wb") as out, bundle.open_annonces() as stream:
                    shutil.copyfileobj(stream, out, _BLOCK)  # type: ignore[misc]
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        with open(path, "rb") as stream:
            reader = LineReader(stream)
            next(iter(reader), None)  # decides the line terminator on the head, as a whole pass does
        if reader.utf16:  # refused by the whole pass, with its message
            if temporary:
                path.unlink(missing_ok=True)
            return None
        return cls(feed, path, temporary, path.stat().st_size, reader.separator or b"\n",
                   3 if reader.bom else 0, chunk_bytes)

    def close(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)

    # --- planning (conductor) ----------------------------------------------------------

    def _initial(self) -> ReadState:
        return ReadState(VERSION_WIDTHS.get(self.feed.config_version or ""), None, False)

    def _probe_width(self) -> int | None:
        """The row width after the file's head: what most chunks start with."""
        with open(self.path, "rb") as stream:
            stream.seek(self.start)
            parser = _Parser(self.feed, stream, separator=self.separator, start=self.start,
                             end=self.start + _PROBE_BYTES, state=self._initial(), judge_duplicates=False,
                             stats=FeedFacts(self.feed.source))
            for _ in parser.run():
                pass
        return parser.width

    def _first_accented(self) -> tuple[int, str] | None:
        """(offset, encoding) of the first line holding a byte above 0x7F: it sets the file's
        encoding for every later line."""
        sep = self.separator
        with open(self.path, "rb") as stream:
            stream.seek(self.start)
            offset, tail = self.start, b""
            while block := stream.read(_BLOCK):
                hit = None if block.isascii() else _NON_ASCII.search(block)
                if hit is None:
                    cut = block.rfind(sep)
                    tail = block[cut + 1:] if cut >= 0 else tail + block
                    if len(tail) > MAX_LINE_BYTES:
                        return None  # an over-long line is never decoded: leave it to the merge
                    offset += len(block)
                    continue
                at = hit.start()
                begin = block.rfind(sep, 0, at)
                head = block[begin + 1:at] if begin >= 0 else tail + block[:at]
                line_at = offset + begin + 1 if begin >= 0 else offset - len(tail)
                rest = block[at:]
                while sep not in rest and len(rest) <= MAX_LINE_BYTES and (more := stream.read(_BLOCK)):
                    rest += more
                line = head + rest.split(sep, 1)[0]
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return line_at, CP1252
                return line_at, UTF8
        return None

    def chunks(self) -> Iterator[Chunk]:
        width = self._probe_width()
        accented = self._first_accented()

        def state_at(offset: int) -> ReadState:
            encoding = accented[1] if accented is not None and accented[0] < offset else None
            return ReadState(width, encoding, False)

        sep, size = self.separator, self.chunk_bytes
        index, start, line = 0, self.start, 0
        state = self._initial()
        with open(self.path, "rb") as stream:
            stream.seek(self.start)
            offset, lines = self.start, 0  # lines before ``offset``
            target = start + size
            while block := stream.read(_BLOCK):
                block_end = offset + len(block)
                while target < block_end:
                    cut = block.find(sep, max(target - offset, 0))
                    if cut < 0:
                        break  # the boundary is in a later block
                    boundary = offset + cut + 1
                    yield Chunk(index, start, boundary, line, state)
                    index, start, line = index + 1, boundary, lines + block.count(sep, 0, cut + 1)
                    state = state_at(start)
                    target = boundary + size
                lines += block.count(sep)
                offset = block_end
        yield Chunk(index, start, None, line, state)

    # --- reading (worker) ----------------------------------------------------------------

    def read(self, chunk: Chunk) -> ChunkRead:
        return _ChunkRead(self, chunk)

    # --- merging (conductor) --------------------------------------------------------------

    def judge(self, claim: Claim, location: SourceLocation) -> RecordError | None:
        ident = (claim.agency_id, claim.source_key)
        first = self.seen.get(ident)
        if first is None:
            self.seen[ident] = location.line
            return None
        if not claim.truncated:  # a cut record was already counted as an error
            self.facts.errors += 1
        return duplicate_error(location, claim.agency_id, claim.source_key, claim.raw, first)

    def follows(self, before: ChunkEnd, chunk: Chunk) -> Chunk | None:
        if before.stop == chunk.start and before.state == chunk.state:
            return None
        return Chunk(chunk.index, before.stop, chunk.end, before.line, before.state)

    def merge(self, end: ChunkEnd) -> None:
        facts, part = self.facts, end.facts
        facts.records += part.records
        facts.errors += part.errors
        facts.lines = part.lines
        utf8, cp1252 = end.extra
        self._utf8 |= utf8
        self._cp1252 |= cp1252
        facts.encoding = MIXED if self._utf8 and self._cp1252 else CP1252 if self._cp1252 else UTF8
        if end.at_end:
            facts.complete = part.complete
            facts.problems.extend(part.problems)
        self.feed.facts = facts

