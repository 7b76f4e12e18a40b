"""Poliris ("SeLoger transferts") extractor: a send → ``SourceRecord``s, streaming.

``read_poliris(source)`` opens the send (ZIP, folder or bare ``Annonces.csv``), reads the small
side files at once and returns a ``PolirisFeed``; ``feed.records()`` then streams one
``SourceRecord`` or ``RecordError`` per listing line, in file order, in memory flat in the
file size (only the set of keys already seen grows, to catch duplicates).

Values stay raw strings. The only changes made here are format-level: decoding (see
``decoding``), mojibake repair, ``<BR>`` → "\\n", no-break space → space, and quotes /
separators removed (see ``poliris_line``). ``0`` and ``00/00/0000`` written for "empty" are
kept as written: only the mapping knows which fields are optional numbers or dates.

Row width. Revisions 4.08 → 4.12 write 255 to 334 fields and a line is never rejected on its
length alone: short rows are padded with "" up to 334 and extra columns are kept. The file's
width (announced by Config.txt, then learnt from clean lines of a revision's width) serves to
recognise a record broken over several physical lines by a stray line break: a line too short
for the file is joined with the following ones only while the result stays within the width and
no following line is itself a clean record; a row that still does not add up is an
``E_LINE_MALFORMED`` error naming its lines, and its neighbours are untouched. See
docs/extract.md for the whole set of rules and codes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from etl.extract.container import DEFAULT_LIMITS, ArchiveLimits, Container
from etl.extract.poliris.bundle import Bundle, find_bundle, open_bundle
from etl.extract.decoding import (
    UTF8,
    LineDecoder,
    decode_text,
    has_mojibake,
    repair_mojibake,
)
from etl.extract.lines import LineReader, LineTooLong, Readable
from etl.extract.poliris.fields import FIELDS
from etl.extract.poliris.line import normalise, split_fields
from etl.extract.base import Chunking, Feed, FeedFormat, MediaVersions
from etl.records import ExtractResult, FeedFacts, RecordError, SourceLocation, SourceRecord
from etl.errors import SourceUnreadable
from etl.issues import Issue, error, warning

FIELD_COUNT: Final = len(FIELDS)  # 334: the widest revision known (4.12)
FIELD_NAMES: Final = tuple(name for name, _ in FIELDS)
# Both the English name and the rank ("175") resolve to the 0-based position.
COLUMNS: Final[Mapping[str, int]] = MappingProxyType(
    {**{name: i for i, name in enumerate(FIELD_NAMES)}, **{str(i + 1): i for i in range(FIELD_COUNT)}}
)
KNOWN_WIDTHS: Final = frozenset({255, 294, 297, 299, 300, 306, 307, 323, 329, 334})
MIN_WIDTH: Final = min(KNOWN_WIDTHS)
MAX_KNOWN_WIDTH: Final = max(KNOWN_WIDTHS)
# Config.txt ``Version`` values whose row width is certain.
VERSION_WIDTHS: Final = {"4.08-007": 323, "4.09": 329, "4.12": 334}
PHOTOS_MODES: Final = ("URL", "FULL", "DIFF")

_AGENCY, _REFERENCE, _KEY, _VERSION = 0, 1, 174, 300
_PAD: Final = [""] * FIELD_COUNT
_RAW_PREFIX: Final = 300


def field_label(rank: int) -> str:
    """``champ 175 (Identifiant technique)``: how messages name a field."""
    if 1 <= rank <= FIELD_COUNT and not FIELDS[rank - 1][0].startswith("field_"):
        return f"champ {rank} ({FIELDS[rank - 1][1]})"
    return f"champ {rank}"


class KeyValues(Mapping[str, str]):
    """``key=value`` lines; keys match case-insensitively, values are stripped."""

    def __init__(self, text: str = "") -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for line in text.splitlines():
            key, eq, value = line.partition("=")
            if eq and key.strip():
                self._items[key.strip().lower()] = (key.strip(), value.strip())

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"KeyValues({dict(self.items())!r})"


@dataclass(slots=True)
class _Line:
    no: int
    text: str
    values: list[str]
    clean: bool
    repairs: list[int]
    notes: list[Issue] | None  # decoding notes (mixed encoding, repaired accents…)


@dataclass(eq=False)
class PolirisFeed(Feed):
    """One Poliris send, ready to stream. ``records()`` may be called again (it re-reads)."""

    bundle: Bundle
    config: KeyValues
    photos_mode: str | None  # "URL" | "FULL" | "DIFF" | None (no Photos.cfg, or unknown mode)
    agency_id: str | None = None  # used when field 1 is empty
    issues: list[Issue] = field(default_factory=list)  # about the send as a whole
    facts: FeedFacts = field(init=False)  # of the last records() pass
    _versions: MediaVersions | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from etl.extract.poliris.format import FORMAT

        self.format: FeedFormat = FORMAT
        self.facts = self.new_facts()

    def new_facts(self) -> FeedFacts:
        return FeedFacts(self.source, format="poliris", dialect=self.config_version)

    @property
    def source(self) -> str:
        """Display name of Annonces.csv (``send.zip/Annonces.csv``), as in record locations."""
        return self.bundle.annonces_name

    @property
    def columns(self) -> Mapping[str, int]:
        """Name or rank → position, shared by every record (``SourceRecord.columns``)."""
        return COLUMNS

    @property
    def photo_files(self) -> list[str]:
        return self.bundle.photo_files

    @property
    def encoding(self) -> str | None:
        """"utf-8", "cp1252" or "mixed", known once ``records()`` has been read to the end."""
        return self.facts.encoding

    @property
    def config_version(self) -> str | None:
        return self.config.get("Version") or None

    def read_photo(self, name: str) -> bytes:
        return self.bundle.read_photo(name)

    @property
    def media_mode(self) -> str:
        return self.photos_mode or "URL"

    def media_versions(self) -> Mapping[str, str]:
        if self._versions is None:
            self._versions = MediaVersions(self.photo_files, self.read_photo)
        return self._versions

    def records(self) -> Iterator[ExtractResult]:
        """One ``SourceRecord`` or ``RecordError`` per listing, in file order; ``stats`` is
        final once the iterator is exhausted. Raises ``SourceUnreadable`` if the file cannot
        be read to its end (damaged archive, I/O error, UTF-16)."""
        self.facts = self.new_facts()
        with self.bundle.open_annonces() as stream:
            yield from hold_last(_Parser(self, stream).run(), self.facts)

    def chunking(self, chunk_bytes: int, *, min_bytes: int = 0) -> Chunking | None:
        """Chunks of Annonces.csv for worker processes (``chunks.PolirisChunking``); ``None`` for
        a send too small to be worth splitting in ``chunk_bytes`` pieces."""
        from etl.extract.poliris.chunks import PolirisChunking

        return PolirisChunking.plan(self, chunk_bytes, min_bytes)


def hold_last(items: Iterator[ExtractResult], facts: FeedFacts,
              on_cut: Callable[[SourceRecord, RecordError], None] | None = None) -> Iterator[ExtractResult]:
    """Pass ``items`` through holding each back by one: only at the end of the file is it known
    whether the last record was cut by a truncated upload. Published, a cut listing would replace
    the full one on the portals (a PUT is a full replacement) and lose its photos and text."""
    pending: ExtractResult | None = None
    for item in items:
        if pending is not None:
            yield pending
        pending = item
    if pending is not None:
        if facts.complete is False and isinstance(pending, SourceRecord):
            facts.errors += 1
            cut = RecordError(pending.location, [error(
                "E_LINE_TRUNCATED",
                f"{pending.location} : annonce coupée par la fin du fichier (transfert interrompu ?) ; "
                "elle n'est pas publiée et sa version en ligne est conservée. Renvoyez un export complet.")],
                agency_id=pending.agency_id, source_key=pending.source_key)
            if on_cut is not None:
                on_cut(pending, cut)
            pending = cut
        yield pending


def read_poliris(source: str | Path | Container, *, agency_id: str | None = None,
                 limits: ArchiveLimits = DEFAULT_LIMITS) -> PolirisFeed:
    """Open a Poliris send; raises ``SourceUnreadable`` when it cannot be read at all."""
    bundle = find_bundle(source) if isinstance(source, Container) else open_bundle(source, limits=limits)
    issues: list[Issue] = []
    config = KeyValues()
    if (raw := bundle.read_side_file(bundle.config)) is not None:
        config = KeyValues(decode_text(raw)[0])
    photos_mode = None
    if (raw := bundle.read_side_file(bundle.photos_cfg)) is not None:
        photos_mode, issue = _photos_mode(decode_text(raw)[0], bundle.name)
        if issue:
            issues.append(issue)
    return PolirisFeed(bundle=bundle, config=config, photos_mode=photos_mode, agency_id=agency_id or None, issues=issues)


def _photos_mode(text: str, where: str) -> tuple[str | None, Issue | None]:
    kv = KeyValues(text)
    value = kv.get("Mode") if "Mode" in kv else text.strip()
    mode = (value or "").strip().upper()
    if mode in PHOTOS_MODES:
        return mode, None
    return None, warning(
        "W_PHOTOS_MODE_UNKNOWN",
        f"{where}, Photos.cfg : mode « {value} » inconnu (attendu Mode=URL, FULL ou DIFF) ; "
        "chaque photo est lue comme une URL ou un fichier de l'archive selon sa valeur.",
        value=value,
    )


class _NeverSeen(dict[tuple[str, str], int]):
    """The keys seen, for a chunk read by a worker: it cannot know the keys of the chunks before
    its own, so it judges no duplicate and the conductor judges them all, in file order."""

    def __contains__(self, key: object) -> bool:
        return False

    def __setitem__(self, key: tuple[str, str], value: int) -> None:
        pass

    def get(self, key: Any, default: Any = None) -> Any:
        return default


@dataclass(frozen=True, slots=True)
class ReadState:
    """What reading carries from one line to the next beyond the line itself: a chunk read from
    the middle of the file must start from the state a whole pass would have there."""

    width: int | None  # the file's row width so far
    first_encoding: str | None  # of the first accented line (later lines of the other are "mixed")
    last_malformed: bool = False  # the last record was cut or narrower than the file's rows


class _Parser:
    """One pass over Annonces.csv, or over a chunk of it (``start``…``end``: the records that
    start between these byte offsets, from ``state``). Kept as an object so the hot loop reads
    locals only."""

    def __init__(self, feed: PolirisFeed, stream: Readable, *, separator: bytes | None = None,
                 start: int = 0, end: int | None = None, line: int = 0, state: ReadState | None = None,
                 judge_duplicates: bool = True, stats: FeedFacts | None = None) -> None:
        self.feed = feed
        self.file = feed.source
        self.stats = stats if stats is not None else feed.facts
        self.reader = LineReader(stream, separator=separator)
        self.decoder = LineDecoder()
        self.lines = iter(self.reader)
        self.lineno = line
        self.recno = 0
        version = feed.config_version
        self.config_version = version
        self.agency_id = feed.agency_id
        # The file's row width: announced by Config.txt, then learnt from clean lines of a
        # revision's width (a row missing a field must not become the reference).
        self.width: int | None = VERSION_WIDTHS.get(version or "")
        self.seen: dict[tuple[str, str], int] = {} if judge_duplicates else _NeverSeen()
        self.ahead: _Line | LineTooLong | None = None
        self.last_malformed = False
        if state is not None:
            self.width, self.last_malformed = state.width, state.last_malformed
            self.decoder.first_encoding = state.first_encoding
        # Byte offset of the next unread line; only exact when the separator is given (chunks),
        # where a CR separator is cut off the lines and an LF one is left on.
        self.pos = start
        self.after_line = 1 if separator == b"\r" else 0
        self.end = sys.maxsize if end is None else end
        self.stopped = False  # the chunk ended before the end of the file

    def state(self) -> ReadState:
        return ReadState(self.width, self.decoder.first_encoding, self.last_malformed)

    # --- reading lines ---------------------------------------------------------------

    def _next(self) -> _Line | LineTooLong | None:
        """The next non-blank physical line, decoded and split; None at the end."""
        if self.ahead is not None:
            line, self.ahead = self.ahead, None
            return line
        for raw in self.lines:
            self.lineno += 1
            if isinstance(raw, LineTooLong):
                self.pos += raw.size + 1
                return raw
            self.pos += len(raw) + self.after_line
            prepared = self._prepare(raw)
            if prepared is not None:
                return prepared
        return None

    def _decode(self, raw: bytes, invalid_utf8: bool = False) -> tuple[str, list[Issue] | None]:
        """Decode one line and repair its accents (see ``decoding``); notes say what was fixed."""
        notes: list[Issue] | None = None
        if raw.isascii():
            text = raw.decode("ascii")
        else:
            decoder = self.decoder
            text = decoder.decode(raw, invalid_utf8=invalid_utf8)
            if decoder.mixed:
                notes = [self._mixed_note(decoder.first_encoding)]
            if has_mojibake(text):
                text, sample = repair_mojibake(text)
                if sample:
                    notes = (notes or []) + [warning(
                        "W_ENCODING_REPAIRED",
                        f"{self.file}, ligne {self.lineno} : accents mal encodés corrigés "
                        f"(« {sample} » corrigé en « {repair_mojibake(sample)[0]} ») ; "
                        "le logiciel d'export convertit deux fois en UTF-8, signalez-le à son éditeur.",
                        value=sample)]
            if decoder.undefined_bytes and any(chr(b) in text for b in decoder.undefined_bytes):
                # Still there after mojibake repair (which may have needed them): unreadable.
                notes = (notes or []) + [self._undefined_note(decoder.undefined_bytes)]
                text = text.translate(_UNDEFINED_TO_REPLACEMENT)
        return text, notes

    def _prepare(self, raw: bytes) -> _Line | None:
        text, notes = self._decode(raw)
        text = text.strip()
        if not text:
            return None
        text = normalise(text)
        values, clean, repairs = split_fields(text, self.width)
        return _Line(self.lineno, text, values, clean, repairs, notes)

    def _mixed_note(self, first: str | None) -> Issue:
        this = "Windows-1252" if first == "utf-8" else "UTF-8"
        rest = "UTF-8" if first == "utf-8" else "Windows-1252"
        return warning(
            "W_ENCODING_MIXED",
            f"{self.file}, ligne {self.lineno} : ligne encodée en {this} alors que le début du fichier est en {rest} ; "
            "elle a été décodée à part, vérifiez ses accents et exportez le fichier dans un seul encodage.")

    def _undefined_note(self, undefined: bytes) -> Issue:
        codes = ", ".join(f"0x{b:02X}" for b in undefined)
        return warning(
            "W_ENCODING_UNDEFINED_BYTE",
            f"{self.file}, ligne {self.lineno} : octet(s) {codes} sans caractère en Windows-1252, remplacé(s) par « \ufffd » ; "
            "le texte contient un caractère corrompu.", value=codes)

    # --- records -------------------------------------------------------------------------

    def run(self) -> Iterator[ExtractResult]:
        """The hot loop: well-formed lines of the file's width go straight to ``_record``;
        everything else (blank, short, odd, over-long) takes the slower, careful way."""
        stats = self.stats
        lines = self.lines
        decode = self._decode
        decoder = self.decoder
        record = self._record
        try:
            while True:
                line = self.ahead
                if line is None:
                    if self.pos >= self.end:
                        # The next record belongs to the next chunk. A line read ahead while
                        # joining (above) is this chunk's to finish, so only a fresh line stops it.
                        self.stopped = True
                        break
                    raw = next(lines, None)
                    if raw is None:
                        break
                    self.lineno += 1
                    if isinstance(raw, LineTooLong):
                        self.pos += raw.size + 1
                        self.recno += 1
                        yield self._too_long(raw)
                        continue
                    self.pos += len(raw) + self.after_line
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        text, notes = decode(raw, True)
                    else:
                        notes = None
                        if not text.isascii():
                            if decoder.first_encoding == UTF8 and not has_mojibake(text):
                                decoder.utf8_lines += 1
                            else:  # the first accented line, a mixed file, or mojibake
                                text, notes = decode(raw)
                    s = text.strip()  # also drops the LF or CRLF the reader leaves on
                    if not s:
                        continue  # blank lines are not records
                    if "<" in s or "\xa0" in s or "\r" in s:
                        s = normalise(s)
                    # Fast path: a quoted line split on '"!#"'. With exactly the file's width it
                    # is right (a missing quote or an unquoted value merges fields, so it always
                    # shows as a shorter row); with another plausible width it must also hold
                    # exactly two quotes per value (then nothing was merged either).
                    if s[-1] == "#" and s.endswith("!#"):
                        s = s[:-2].rstrip()
                    if len(s) > 1 and s[0] == '"' and s[-1] == '"':
                        values = s.split('"!#"')
                        n = len(values)
                        if n < MIN_WIDTH and '" !# "' in s:  # the 4.09 spec's example: spaces around "!#"
                            values = s.split('" !# "')
                            n = len(values)
                        width = self.width
                        if n == width or (
                                n >= MIN_WIDTH and (width is None or n > width or n in KNOWN_WIDTHS)
                                and s.count('"') == 2 * n):
                            values[0] = values[0][1:]
                            values[-1] = values[-1][:-1]
                            # Narrower than the rows before it: fine mid-file (an older revision's
                            # row), but as the last line of an unterminated file, a cut record.
                            self.last_malformed = width is not None and n < width
                            if n != width and (n in KNOWN_WIDTHS or n > MAX_KNOWN_WIDTH):
                                self.width = n
                            self.recno += 1
                            yield record(self.lineno, values, None, notes)
                            continue
                    if not s:
                        continue
                    text = s
                    line = _Line(self.lineno, text, *split_fields(text, self.width), notes)
                else:
                    self.ahead = None
                    if isinstance(line, LineTooLong):
                        self.recno += 1
                        yield self._too_long(line)
                        continue
                assert isinstance(line, _Line)
                width = self.width
                n = len(line.values)
                if (line.clean and n >= MIN_WIDTH) or (width is not None and n >= width):
                    if line.clean and n != width and (n in KNOWN_WIDTHS or n > MAX_KNOWN_WIDTH):
                        self.width = n
                    self.recno += 1
                    self.last_malformed = width is not None and n < width
                    yield record(line.no, line.values, line.repairs, line.notes)
                else:
                    yield from self._short(line)
        finally:
            stats.lines = self.lineno
            stats.records = self.recno
            stats.encoding = self.decoder.encoding
        if self.stopped:
            return
        if self.reader.utf16:
            raise SourceUnreadable(
                f"{self.file} : fichier encodé en UTF-16, non pris en charge ; "
                "exportez-le en UTF-8 ou en Windows-1252.")
        stats.complete = not (self.last_malformed and not self.reader.terminated)
        if not stats.complete:
            stats.problems.append(
                f"{self.file} : la dernière ligne est incomplète et le fichier ne se termine pas par un saut de ligne ; "
                "le fichier semble tronqué (transfert interrompu ?).")

    def _short(self, first: _Line) -> Iterator[ExtractResult]:
        """A line with too few fields for the file (or, width unknown, for any revision), or
        one that is not clean and not known to be wide enough: a record cut by stray line
        breaks, an older row with a quoting slip, or junk."""
        target = self.width or MIN_WIDTH
        cap = self.width or MAX_KNOWN_WIDTH
        text, values, repairs = first.text, first.values, first.repairs
        notes = list(first.notes or ())
        last = first.no
        joined = 0
        while len(values) < target:
            nxt = self._next()
            if nxt is None:
                break
            if type(nxt) is LineTooLong or (nxt.clean and len(nxt.values) >= MIN_WIDTH):  # type: ignore[union-attr]
                # Never swallow a following record.
                self.ahead = nxt
                break
            assert isinstance(nxt, _Line)
            cand_text = text + "\n" + nxt.text
            cand, _, cand_repairs = split_fields(cand_text, self.width)
            if len(cand) > cap:
                self.ahead = nxt
                break
            text, values, repairs, last = cand_text, cand, cand_repairs, nxt.no
            notes.extend(nxt.notes or ())
            joined += 1
        self.recno += 1
        n = len(values)
        if joined and n >= target:
            self.last_malformed = False
            notes.append(warning(
                "W_LINE_JOINED",
                f"{self.file}, lignes {first.no} à {last} : une seule annonce coupée par {joined} retour(s) à la ligne "
                "dans une valeur ; lignes réunies. Remplacez les retours à la ligne des textes par <BR>."))
            yield self._record(first.no, values, repairs, notes)
            return
        if not joined and n >= MIN_WIDTH and _record_like(first.text):
            # A row of another revision with a quoting slip: read it, say so (W_LINE_QUOTES).
            # Narrower than the file's rows and last in an unterminated file, though: a cut record.
            self.last_malformed = self.width is not None and n < self.width
            yield self._record(first.no, values, repairs, notes)
            return
        self.last_malformed = True
        self.stats.errors += 1
        lines = f"lignes {first.no} à {last}" if last != first.no else f"ligne {first.no}"
        if n < target:
            expected = f"{self.width}" if self.width else f"au moins {MIN_WIDTH}"
            why = (f"{n} champ(s) lu(s) au lieu de {expected} ; la ligne est incomplète ou mal formée "
                   "(retour à la ligne dans un texte, guillemets ou séparateurs « !# » manquants, fichier tronqué ?)")
        else:
            why = ("la ligne ne commence pas par l'identifiant agence : c'est sans doute la suite d'une annonce "
                   "coupée par un retour à la ligne dans un texte")
        # Best effort, so that whoever plans deletions can keep this listing online (a bad
        # line must not unpublish it) and the right agency hears about it.
        agency, key = self.agency_id, None
        if _record_like(first.text):
            agency = values[_AGENCY].strip() or agency
            if n > _KEY:
                key = values[_KEY].strip() or values[_REFERENCE].strip() or None
        yield RecordError(
            location=SourceLocation(self.file, first.no, self.recno),
            issues=[error(
                "E_LINE_MALFORMED",
                f"{self.file}, {lines} : {why}. Annonce ignorée : corrigez la ligne dans le logiciel d'export.",
                value=text[:_RAW_PREFIX])],
            agency_id=agency,
            source_key=key,
            raw=text[:_RAW_PREFIX],
        )

    def _too_long(self, marker: LineTooLong) -> RecordError:
        self.last_malformed = True
        self.stats.errors += 1
        return RecordError(
            location=SourceLocation(self.file, self.lineno, self.recno),
            issues=[error(
                "E_LINE_TOO_LONG",
                f"{self.file}, ligne {self.lineno} : ligne de {marker.size / (1 << 20):.1f} Mo, bien au-delà d'une annonce ; "
                "ignorée (fichier corrompu, ou sauts de ligne absents ?).")],
        )

    def _record(self, no: int, values: list[str], repairs: list[int] | None, notes: list[Issue] | None) -> ExtractResult:
        n = len(values)
        if n < FIELD_COUNT:
            values += _PAD[: FIELD_COUNT - n]
        agency = values[_AGENCY].strip() or self.agency_id
        key = values[_KEY].strip()
        if not key or not agency or repairs or notes or (n not in KNOWN_WIDTHS and n < MAX_KNOWN_WIDTH):
            return self._record_slow(no, n, values, repairs, notes)
        ident = (agency, key)
        if ident in self.seen:
            return self._record_slow(no, n, values, repairs, notes)
        self.seen[ident] = no
        # Positional: keyword arguments cost half a microsecond per record here.
        # (agency_id, source_key, location, values, columns, format_version)
        return SourceRecord(agency, key, SourceLocation(self.file, no, self.recno), values, COLUMNS,
                            values[_VERSION].strip() or self.config_version)

    def _record_slow(self, no: int, n: int, values: list[str], repairs: list[int] | None,
                     notes: list[Issue] | None) -> ExtractResult:
        """``_record`` when something is to be said: notes, a missing or duplicate key…"""
        location = SourceLocation(self.file, no, self.recno)
        issues = notes if notes else []
        if n not in KNOWN_WIDTHS and n < MAX_KNOWN_WIDTH:
            issues.append(warning(
                "W_LINE_WIDTH",
                f"{self.file}, ligne {no} : {n} champs, un nombre qui ne correspond à aucune révision du format "
                f"({', '.join(map(str, sorted(KNOWN_WIDTHS)))}) ; un champ manque peut-être et décale les suivants. "
                "Les champs absents sont lus vides : vérifiez l'annonce.", value=str(n)))
        if repairs:
            ranks = ", ".join(str(r) for r in repairs[:10]) + ("…" if len(repairs) > 10 else "")
            issues.append(warning(
                "W_LINE_QUOTES",
                f"{self.file}, ligne {no} : guillemet manquant autour du ou des champs {ranks} ; valeurs lues quand même. "
                "Chaque valeur doit être entourée de guillemets.", source_field=str(repairs[0])))
        agency = values[_AGENCY].strip() or self.agency_id
        key = values[_KEY].strip()
        if not key:
            reference = values[_REFERENCE].strip()
            if not reference:
                return self._error(location, agency, None, values, error(
                    "E_KEY_MISSING",
                    f"{self.file}, ligne {no} : ni l'identifiant technique (champ 175) ni la référence agence (champ 2) "
                    "ne sont renseignés ; l'annonce ne peut pas être identifiée. Renseignez le champ 175.",
                    source_field="175"))
            key = reference
            issues.append(warning(
                "W_KEY_FALLBACK_REFERENCE",
                f"{self.file}, ligne {no} : {field_label(175)} vide ; la référence « {reference} » "
                f"({field_label(2)}) sert d'identifiant. Si cette référence change, l'annonce sera retirée "
                "puis republiée : renseignez le champ 175.",
                source_field="175", value=reference))
        if not agency:
            return self._error(location, None, key, values, error(
                "E_AGENCY_MISSING",
                f"{self.file}, ligne {no} : {field_label(1)} vide et aucune agence n'est configurée pour ce flux ; "
                "l'annonce ne peut être rattachée à aucune agence. Renseignez le champ 1.",
                source_field="1"))
        ident = (agency, key)
        first_no = self.seen.get(ident)
        if first_no is not None:
            self.stats.errors += 1
            return duplicate_error(location, agency, key, raw_prefix(values), first_no)
        self.seen[ident] = no
        return SourceRecord(
            agency_id=agency, source_key=key, location=location, values=values, columns=COLUMNS,
            format_version=values[_VERSION].strip() or self.config_version, issues=issues)

    def _error(self, location: SourceLocation, agency: str | None, key: str | None, values: list[str],
               issue: Issue) -> RecordError:
        self.stats.errors += 1
        return RecordError(location=location, issues=[issue], agency_id=agency, source_key=key, raw=raw_prefix(values))


def raw_prefix(values: Sequence[str]) -> str:
    """The start of a record as written, for a report's error line."""
    return ('"' + '"!#"'.join(values[:8]) + '"…')[:_RAW_PREFIX]


def duplicate_error(location: SourceLocation, agency: str, key: str, raw: str, first_line: int) -> RecordError:
    """A second record of the same (agency, key): the first one, on ``first_line``, stands."""
    return RecordError(location=location, issues=[error(
        "E_KEY_DUPLICATE",
        f"{location.file}, ligne {location.line} : l'identifiant « {key} » de l'agence « {agency} » figure déjà "
        f"ligne {first_line} ; cette seconde annonce est ignorée. Chaque annonce doit avoir son propre identifiant "
        "technique (champ 175).", source_field="175", value=key)],
        agency_id=agency, source_key=key, raw=raw)


_UNDEFINED_TO_REPLACEMENT: Final = {c: "\ufffd" for c in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def _record_like(text: str) -> bool:
    """Does a line that is not clean still start the way a record does?

    A piece of a record broken by a stray line break starts in the middle of a value; a
    record starts with the agency id: quoted, or (quote missing, or an unquoted file) a
    short word.
    """
    s = text.lstrip()
    if s.startswith('"'):
        return not s[1:].lstrip().startswith("!#")
    if '"' not in s:
        return True
    first = s.split("!#", 1)[0].strip().rstrip('"')
    return 0 < len(first) <= 32 and not any(c.isspace() for c in first)
