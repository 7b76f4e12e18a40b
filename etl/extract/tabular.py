"""What CSV and Excel feeds share: their options, the header row, column names, rows → records.

A table's columns are named by the agency, in French, with accents, units and typos
(« Prix (€) », « PRIX TTC », « Surface habitable m² »). A mapping names them once
(``source.columns``: AVIV-side name → the headers it may carry) and reads them by that name;
headers are compared without case, accents, spaces or punctuation (``header_key``). An agency
whose file says something else adds its own spelling (``rename``) in ``agencies.yaml`` without
touching the mapping: the conductor merges an agency's ``source_options`` over ``source:``
one key deep, so each key below is something an agency may override on its own.

The header row is found from content: the first of the first rows that holds most of the
declared names (files often carry a title and a date above it); rows above it are noted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from etl.errors import ConfigError, SourceUnreadable, validation_problems
from etl.extract.base import Feed
from etl.issues import Issue, error, warning
from etl.records import ExtractResult, RecordError, SourceLocation, SourceRecord

HEADER_SCAN: Final = 30  # rows searched for the header
_HEADER_MAX: Final = 80  # characters: a longer cell is text, not a column name
# A row that cannot be read as a listing (quotes left open, cells shifted by a bare separator).
ROW_UNREADABLE: Final = "E_LINE_MALFORMED"
_RAW_PREFIX: Final = 300


class TableOptions(BaseModel):
    """A mapping's ``source:`` block for CSV and Excel feeds (an agency's ``source_options`` over it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, list[str]] = Field(
        default={}, description="name used by the mapping → header spellings that mean it (the name itself counts too)")
    rename: dict[str, list[str]] = Field(
        default={}, description="per agency: more spellings for a column (« Prix net » for price)")
    key: str = Field(default="reference", description="the column identifying a listing (source_key)")
    agency_column: str | None = Field(default=None, description="the column naming the agency, in a grouped file")
    agency_id: str | None = Field(default=None, description="per agency: the agency of every row (file without agency column)")
    defaults: dict[str, str] = Field(
        default={}, description="per agency: value of a column when its cell is empty or the column absent (portals: SL)")
    header_row: int | None = Field(default=None, ge=1, description="1-based row of the header; found from content if absent")
    # CSV only
    delimiter: str | None = Field(default=None, description="CSV: ; , tab or |; detected if absent")
    encoding: Literal["auto", "utf-8", "cp1252"] = "auto"
    # Excel only
    sheet: str | int | None = Field(default=None, description="Excel: sheet name or 1-based number; the first if absent")

    @field_validator("columns", "rename", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: ([v] if isinstance(v, str) else v or []) for k, v in value.items()}
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None:
            value = "\t" if value.lower() in ("tab", "\\t", "tabulation") else value
            if len(value) != 1:
                raise ValueError("un seul caractère (; , | ou tab)")
        return value


def parse_options(options: Mapping[str, Any], where: str) -> TableOptions:
    try:
        return TableOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"{where} : options de source invalides ({validation_problems(exc)})") from None


def header_key(text: str) -> str:
    """« Prix (€) », "PRIX", " prix " → "prix": no case, accents, spaces or punctuation."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


@dataclass(slots=True)
class Header:
    """The header row: where it is, what each column is called, and which declared name it carries."""

    row: int  # 1-based line or sheet row
    names: list[str]  # as written
    columns: dict[str, int]  # every name a record can be read by → position
    labels: dict[str, str]  # declared name → « colonne Prix (€) »
    missing: list[str]  # declared names no header carries


def _spellings(opts: TableOptions) -> dict[str, list[str]]:
    """Declared name → header keys meaning it (its own name first, the agency's renames last)."""
    names = dict.fromkeys([*opts.columns, *opts.rename, opts.key, *([opts.agency_column] if opts.agency_column else [])])
    out: dict[str, list[str]] = {}
    for name in names:
        keys = [header_key(name), *(header_key(a) for a in opts.columns.get(name, [])),
                *(header_key(a) for a in opts.rename.get(name, []))]
        out[name] = [k for k in dict.fromkeys(keys) if k]
    return out


def match_header(cells: Sequence[str], opts: TableOptions) -> dict[str, int]:
    """Declared name → position of the first cell spelling it (an agency's rename wins)."""
    keys = [header_key(c) if len(c) <= _HEADER_MAX else "" for c in cells]  # a description is no header
    found: dict[str, int] = {}
    for name, spellings in _spellings(opts).items():
        for spelling in reversed(spellings):  # the agency's own spelling before the mapping's
            if spelling in keys:
                found[name] = keys.index(spelling)
                break
    return found


def find_header(rows: Sequence[tuple[int, Sequence[str]]], opts: TableOptions) -> int:
    """Index in ``rows`` of the header: the declared row, or the one naming most declared columns,
    or (no names declared: ``mapping suggest``) the first row as wide as the table and all text."""
    if opts.header_row is not None:
        for i, (no, _) in enumerate(rows):
            if no == opts.header_row:
                return i
        return 0
    if _spellings(opts):
        scores = [len(match_header(cells, opts)) for _, cells in rows]
        best = max(scores, default=0)
        if best >= 1:
            return scores.index(best)
    width = max((sum(1 for c in cells if c.strip()) for _, cells in rows), default=0)
    for i, (_, cells) in enumerate(rows):
        filled = [c for c in cells if c.strip()]
        if filled and len(filled) >= 0.6 * width and not any(_looks_numeric(c) for c in filled):
            return i
    return 0


def _looks_numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[\d\s.,/:€%+-]+", cell.strip()))


def build_header(row: int, cells: Sequence[str], opts: TableOptions, display: str) -> Header:
    names = [" ".join(c.split()) for c in cells]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name:
            # A header merged over several columns (or repeated) names each of them: "Photos",
            # "Photos (2)", "Photos (3)", so a mapping can read every one.
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                names[i] = f"{name} ({seen[name]})"
    matched = match_header(names, opts)
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, name in enumerate(names):
        if name:
            columns.setdefault(name, i)  # a rule may also name a column exactly as written
    declared = _spellings(opts)
    width = len(names)
    missing = []
    for name in declared:
        if name in matched:
            i = matched[name]
            columns[name] = i
            labels[name] = f"colonne {names[i]}"
        else:
            # Absent from this file: read as empty (its position lies past the row's end), so a
            # rule that needs it says so per listing and the mapping still compiles.
            columns[name] = width + len(missing)
            labels[name] = f"colonne « {name} » (absente du fichier)"
            missing.append(name)
    return Header(row, names, columns, labels, missing)


def header_issues(header: Header, opts: TableOptions, display: str, skipped: Iterable[int]) -> list[Issue]:
    """Notes about the header, for the run summary: title rows skipped, declared columns absent."""
    issues: list[Issue] = []
    skipped = list(skipped)
    if skipped:
        rows = f"ligne {skipped[0]}" if len(skipped) == 1 else f"lignes {skipped[0]} à {skipped[-1]}"
        issues.append(warning("W_HEADER_BELOW_TITLE",
                              f"{display} : en-tête trouvé ligne {header.row} ; {rows} au-dessus (titre) ignorée(s).",
                              value=str(header.row)))
    # Absent optional columns are the norm (a template has more than any agency fills); what is
    # worth a note is an absent one beside a column nothing reads: perhaps the same, renamed.
    absent = [name for name in header.missing if name != opts.key and name not in opts.defaults]
    claimed = {header.columns[name] for name in header.labels if name not in header.missing}
    unread = [name for i, name in enumerate(header.names) if name and i not in claimed]
    if absent and unread:
        issues.append(warning("W_COLUMNS_UNREAD",
                              f"{display} : colonne(s) du fichier lue(s) par aucune règle : {', '.join(unread)[:300]} ; "
                              f"colonne(s) prévue(s) absente(s) : {', '.join(absent)[:300]}. Si l'une d'elles contient "
                              "une information à publier, signalez son nom à l'exploitant (qui la déclarera dans "
                              "source.rename).", value=", ".join(unread)[:300]))
    return issues


@dataclass
class RowReader:
    """Rows (already split into cells) → ``SourceRecord`` or ``RecordError``, with key and agency
    checks; shared by the CSV and Excel readers so both say the same things the same way."""

    display: str
    header: Header
    opts: TableOptions
    agency_id: str | None
    recno: int = 0
    errors: int = 0
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cols = self.header.columns
        self._key = cols[self.opts.key]
        self._agency = cols[self.opts.agency_column] if self.opts.agency_column else None
        self._defaults = [(cols[name], value) for name, value in self.opts.defaults.items() if name in cols]
        self._fixed_agency = self.opts.agency_id or self.agency_id
        width = max(cols.values(), default=-1) + 1
        self._width = width

    def record(self, line: int, cells: list[str], notes: list[Issue] | None = None) -> ExtractResult:
        self.recno += 1
        if self._defaults:
            if len(cells) < self._width:
                cells = cells + [""] * (self._width - len(cells))
            for i, value in self._defaults:
                if not cells[i].strip():
                    cells[i] = value
        location = SourceLocation(self.display, line, self.recno)
        key = _cell(cells, self._key)
        agency = (_cell(cells, self._agency) if self._agency is not None else "") or self._fixed_agency
        issues = list(notes or ())
        if not key:
            return self._error(location, agency, None, cells, error(
                "E_KEY_MISSING",
                f"{self.display}, ligne {line} : {self.header.labels[self.opts.key]} vide ; l'annonce ne peut pas être "
                "identifiée. Renseignez sa référence.", source_field=self.header.labels[self.opts.key], value=""))
        if not agency:
            where = self.header.labels[self.opts.agency_column] if self.opts.agency_column else "colonne agence"
            return self._error(location, None, key, cells, error(
                "E_AGENCY_MISSING",
                f"{self.display}, ligne {line} : {where} vide et aucune agence n'est configurée pour ce fichier "
                "(agency_id) ; l'annonce ne peut être rattachée à aucune agence. Renseignez-la, ou demandez à "
                "l'exploitant de fixer l'agence de ce fichier.", source_field=where, value=""))
        first = self.seen.get((agency, key))
        if first is not None:
            label = self.header.labels[self.opts.key]
            return self._error(location, agency, key, cells, error(
                "E_KEY_DUPLICATE",
                f"{self.display}, ligne {line} : la référence « {key} » figure déjà ligne {first} ; cette seconde "
                "annonce est ignorée. Chaque annonce doit avoir sa propre référence.", source_field=label, value=key))
        self.seen[(agency, key)] = line
        return SourceRecord(agency, key, location, cells, self.header.columns, None, issues)

    def _error(self, location: SourceLocation, agency: str | None, key: str | None, cells: Sequence[str],
               issue: Issue) -> RecordError:
        self.errors += 1
        raw = " | ".join(cells[:8])
        return RecordError(location, [issue], agency_id=agency, source_key=key, raw=raw[:_RAW_PREFIX])

    def failed(self, line: int, issue: Issue, raw: str = "") -> RecordError:
        """A row that could not be read at all (over-long line, broken quotes)."""
        self.recno += 1
        self.errors += 1
        return RecordError(SourceLocation(self.display, line, self.recno), [issue], raw=raw[:_RAW_PREFIX] or None)


def _cell(cells: Sequence[str], i: int | None) -> str:
    return cells[i].strip() if i is not None and i < len(cells) else ""



class TableFeed(Feed):
    """What CSV and Excel feeds answer alike: columns and labels come from their header."""

    header: Header

    @property
    def columns(self) -> Mapping[str, int]:
        return self.header.columns

    def label(self, name: str) -> str:
        return self.header.labels.get(name) or f"colonne {name}"


def require_key(header: Header, opts: TableOptions, display: str) -> None:
    """A file without the column identifying its listings cannot be read: say what it has instead."""
    if not any(header.names):
        # Refused rather than read as "no listings": that would take the agency's whole stock offline.
        raise SourceUnreadable(f"{display} : fichier vide (aucune ligne d'en-tête ni annonce) ; envoi refusé, "
                               "les annonces en ligne sont conservées. Renvoyez un export complet.")
    if opts.key in header.missing and opts.key not in opts.defaults:
        shown = ", ".join(n for n in header.names if n)[:200]
        raise SourceUnreadable(
            f"{display} : colonne de référence « {opts.key} » introuvable (en-tête lu ligne {header.row} : {shown}) ; "
            "les annonces ne peuvent pas être identifiées. Ajoutez la colonne ou déclarez son nom (source.rename).")
