"""CSV reading, streaming: bytes → decoded lines → csv rows → records.

Lines come from ``LineReader`` (bounded memory per line, any line ending, BOM stripped) and are
decoded one by one (``LineDecoder``: UTF-8 when valid, Windows-1252 otherwise; mojibake
repaired), then joined by the csv module where a quoted cell spans several lines. A record's
location is its first physical line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from etl.errors import SourceUnreadable
from etl.extract.container import Container
from etl.extract.decoding import CP1252, UTF8, LineDecoder, decode_windows_1252, has_mojibake, repair_mojibake
from etl.extract.delimited.dialect import Dialect
from etl.extract.lines import LineReader, LineTooLong, strip_terminator
from etl.extract.tabular import HEADER_SCAN, ROW_UNREADABLE, Header, RowReader, TableFeed, TableOptions, build_header, find_header, header_issues
from etl.issues import Issue, error, warning
from etl.records import ExtractResult, FeedFacts

if TYPE_CHECKING:
    from etl.extract.base import FeedFormat

MAX_RECORD_LINES: Final = 500  # a quoted cell longer than this is a quote left open


@dataclass(eq=False)
class DelimitedFeed(TableFeed):
    container: Container
    member: str | None
    dialect: Dialect
    opts: TableOptions
    header: Header
    agency_id: str | None = None
    issues: list[Issue] = field(default_factory=list)
    facts: FeedFacts = field(init=False)

    def __post_init__(self) -> None:
        from etl.extract.delimited.format import FORMAT

        self.format: FeedFormat = FORMAT
        self.facts = self._new_facts()

    def _new_facts(self) -> FeedFacts:
        return FeedFacts(self.source, format="csv", dialect=f"CSV {self.dialect.shown}")

    @property
    def source(self) -> str:
        return self.container.label(self.member)

    def records(self) -> Iterator[ExtractResult]:
        self.facts = facts = self._new_facts()
        rows = RowReader(self.source, self.header, self.opts, self.agency_id)
        width = len(self.header.names)
        with self.container.open(self.member) as stream:
            lines = _Lines(LineReader(stream), self.opts.encoding, self.source)
            reader = csv.reader(lines, delimiter=self.dialect.delimiter)
            end = 0
            try:
                while True:
                    start = end + 1
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        end = lines.count
                        facts.mark_incomplete(f"{self.source}, ligne {start} : CSV illisible à partir de cette ligne ({exc}).")
                        yield rows.failed(start, error(
                            ROW_UNREADABLE, f"{self.source}, lignes {start} à {end} : guillemets mal fermés ({exc}) ; "
                            "ces lignes sont ignorées. Vérifiez les guillemets de la cellule qui commence ligne "
                            f"{start}."))
                        continue
                    end = lines.count
                    if start <= self.header.row:
                        continue  # title rows and the header itself
                    if start in lines.too_long:
                        yield rows.failed(start, error(
                            "E_LINE_TOO_LONG", f"{self.source}, ligne {start} : ligne de plus de "
                            f"{lines.too_long[start] >> 20} Mo, bien au-delà d'une annonce ; ignorée."))
                        continue
                    if not any(c.strip() for c in cells):
                        continue  # an empty row (or ;;;;): nothing to account for
                    if end - start >= MAX_RECORD_LINES:
                        facts.mark_incomplete(f"{self.source}, ligne {start} : guillemet jamais fermé.")
                        yield rows.failed(start, error(
                            ROW_UNREADABLE, f"{self.source}, lignes {start} à {end} : une cellule ouverte par un guillemet "
                            "n'est jamais fermée ; ces lignes sont ignorées. Fermez le guillemet ou retirez-le."),
                            raw=self.dialect.delimiter.join(cells)[:300])
                        continue
                    cells = [c.strip() for c in cells]
                    if len(cells) > width and any(cells[width:]):
                        yield rows.failed(start, error(
                            ROW_UNREADABLE,
                            f"{self.source}, ligne {start} : {len(cells)} cellules au lieu de {width} ; un "
                            f"{self.dialect.shown} dans un texte sans guillemets décale les colonnes. Annonce ignorée : "
                            "entourez ce texte de guillemets.", value=" | ".join(cells[width:])[:120]),
                            raw=self.dialect.delimiter.join(cells))
                        continue
                    yield rows.record(start, cells[:width], lines.take_notes(start, end))
            finally:
                facts.records = rows.recno
                facts.errors = rows.errors
                facts.lines = lines.count
                facts.encoding = lines.encoding
        if lines.utf16:
            raise SourceUnreadable(f"{self.source} : fichier encodé en UTF-16, non pris en charge ; "
                                   "enregistrez-le en CSV UTF-8.")


class _Lines:
    """Decoded lines for the csv module, each ending with "\\n"; remembers what it repaired."""

    def __init__(self, reader: LineReader, encoding: str, display: str) -> None:
        self._reader = reader
        self._iter = iter(reader)
        self._decoder = LineDecoder()
        self._forced = encoding
        self._display = display
        self.count = 0
        self.too_long: dict[int, int] = {}
        self._notes: list[tuple[int, Issue]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = next(self._iter)
        self.count += 1
        if isinstance(raw, LineTooLong):
            self.too_long[self.count] = raw.size
            return "\n"
        raw = strip_terminator(raw)
        if raw.isascii():
            return raw.decode("ascii") + "\n"
        if self._forced == CP1252:
            text = decode_windows_1252(raw)
        elif self._forced == UTF8:
            text = raw.decode("utf-8", errors="replace")
        else:
            text = self._decoder.decode(raw)
        if has_mojibake(text):
            text, sample = repair_mojibake(text)
            if sample:
                self._notes.append((self.count, warning(
                    "W_ENCODING_REPAIRED",
                    f"{self._display}, ligne {self.count} : accents mal encodés corrigés (« {sample} » → "
                    f"« {repair_mojibake(sample)[0]} ») ; le fichier a été converti deux fois en UTF-8.", value=sample)))
        return text + "\n"

    def take_notes(self, start: int, end: int) -> list[Issue] | None:
        if not self._notes:
            return None
        mine = [issue for no, issue in self._notes if start <= no <= end]
        self._notes = [(no, issue) for no, issue in self._notes if no > end]
        return mine or None

    @property
    def encoding(self) -> str:
        return self._forced if self._forced != "auto" else self._decoder.encoding

    @property
    def utf16(self) -> bool:
        return self._reader.utf16


def read_header(container: Container, member: str | None, dialect: Dialect, opts: TableOptions,
                display: str, encoding: str) -> tuple[Header, list[Issue]]:
    """The header row among the first rows (streamed: only those are read)."""
    rows: list[tuple[int, list[str]]] = []
    with container.open(member) as stream:
        lines = _Lines(LineReader(stream), encoding, display)
        reader = csv.reader(lines, delimiter=dialect.delimiter)
        end = 0
        try:
            for cells in reader:
                start, end = end + 1, lines.count
                if any(c.strip() for c in cells):
                    rows.append((start, [c.strip() for c in cells]))
                if len(rows) >= HEADER_SCAN:
                    break
        except csv.Error:
            pass  # the reading pass reports it, with its lines
    if not rows:
        return build_header(1, [], opts, display), []
    i = find_header(rows, opts)
    no, cells = rows[i]
    header = build_header(no, cells, opts, display)
    return header, header_issues(header, opts, display, (n for n, _ in rows[:i]))


def preview_rows(container: Container, member: str | None, dialect: Dialect, header_row: int) -> Iterator[list[str]]:
    """The non-empty rows below the header, as cells (no record checks): ``mapping suggest``."""
    with container.open(member) as stream:
        lines = _Lines(LineReader(stream), "auto", container.label(member))
        end = 0
        try:
            for cells in csv.reader(lines, delimiter=dialect.delimiter):
                start, end = end + 1, lines.count
                if start > header_row and any(c.strip() for c in cells):
                    yield [c.strip() for c in cells]
        except csv.Error:
            return
