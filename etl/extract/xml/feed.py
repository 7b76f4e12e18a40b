"""An XML feed opened by its table: the ``Feed`` every XML format (dialect or generic) returns.

Per record: the table's values, cleaned (plain text, double-encoded UTF-8 repaired with a
warning), a key (the table's ``key`` fields, first non-empty; missing or repeated → a record
error), an agency (the configured one, else the feed's advertiser, else the file's name), and
a location naming the file, line, XPath and ordinal. A feed that is not well-formed from some
record on yields the records before it, then that record as an error, and is marked incomplete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Final

from etl.errors import SourceUnreadable
from etl.extract.base import Feed, FeedFacts, FeedFormat
from etl.extract.container import Container
from etl.extract.xml.safe import Broken, Oversized, RawRecord, RecordStream
from etl.extract.xml.table import Table
from etl.extract.xml.text import repaired
from etl.issues import Issue, error, warning
from etl.records import ExtractResult, RecordError, SourceLocation, SourceRecord

_RAW_PREFIX: Final = 300

# A dialect's last word on a record's values (derived columns): pure, in place.
Normalise = Callable[[list[str], Mapping[str, int]], None]


def xml_member(container: Container) -> str | None:
    """The feed's file in a ZIP or folder: its one ``.xml`` file, or the biggest of several."""
    if container.kind == "file":
        return None
    xml = [m for m in container.members if PurePosixPath(m).suffix.lower() == ".xml"]
    if not xml:
        raise SourceUnreadable(f"{container.name} : aucun fichier .xml dans "
                               f"{'l’archive' if container.kind == 'zip' else 'le dossier'}.")
    return max(xml, key=container.size)


@dataclass(eq=False)
class XmlFeed(Feed):
    format: FeedFormat
    container: Container
    member: str | None
    table: Table
    dialect: str
    agency_id: str | None = None
    normalise: Normalise | None = None
    derived: Mapping[str, str] = field(default_factory=dict)  # labels of the columns a dialect derives
    issues: list[Issue] = field(default_factory=list)
    facts: FeedFacts = field(init=False)

    def __post_init__(self) -> None:
        self.facts = FeedFacts(self.source, format=self.format.name, dialect=self.dialect)

    @property
    def source(self) -> str:
        return self.container.label(self.member)

    @property
    def columns(self) -> Mapping[str, int]:
        return self.table.columns

    def label(self, name: str) -> str:
        if name in self.derived:
            return self.derived[name]
        path = self.table.paths.get(name)
        if not path:
            return name
        return f"attribut {path}" if path.rpartition("/")[2].startswith("@") else f"élément <{path}>"

    def records(self) -> Iterator[ExtractResult]:
        self.facts = facts = FeedFacts(self.source, format=self.format.name, dialect=self.dialect)
        self.issues = []
        seen: dict[tuple[str, str], int] = {}  # per agency, as the state keys listings
        fallback_agency = self.agency_id or PurePosixPath(self.source).stem
        with self.container.open(self.member) as stream:
            items = RecordStream(stream, self.source, self.table.spec.record)
            for item in items:
                facts.records += 1
                if isinstance(item, RawRecord):
                    result = self._record(item, seen, fallback_agency)
                elif isinstance(item, Oversized):
                    result = self._error(item.ordinal, item.line, item.xpath, error(
                        "E_RECORD_TOO_LARGE",
                        f"{self.source}, ligne {item.line}, {item.xpath} : annonce trop volumineuse (plus de "
                        "50 000 éléments XML), ignorée. Vérifiez cette annonce dans votre logiciel (nombre de photos "
                        "ou de textes), puis refaites l'export."), fallback_agency)
                else:
                    facts.records -= 1
                    yield from self._broken(item, fallback_agency)
                    break
                if isinstance(result, RecordError):
                    facts.errors += 1
                yield result
            facts.encoding = items.source.encoding
            if items.source.invalid_utf8:
                facts.encoding = "mixed"
                self.issues.append(warning(
                    "W_ENCODING_MIXED",
                    f"{self.source} : le fichier se déclare en {items.source.declared or 'UTF-8'} mais contient "
                    f"{items.source.invalid_utf8} suite(s) d'octets qui n'en sont pas, lues en Windows-1252 ; "
                    "vérifiez les accents et exportez le flux dans l'encodage qu'il déclare."))
            if items.root is None and facts.complete:
                raise SourceUnreadable(f"{self.source} : aucun élément XML dans le fichier.")

    def _broken(self, item: Broken, agency: str) -> Iterator[ExtractResult]:
        where = f"ligne {item.error_line}"
        problem = (f"{self.source} : XML mal formé {where} ({item.reason}) ; la lecture s'arrête là : "
                   f"{self.facts.records} annonce(s) lue(s) avant, la suite du fichier est perdue "
                   "(fichier tronqué ou corrompu ?).")
        if item.ordinal == 0 and self.facts.records == 0:
            raise SourceUnreadable(f"{self.source} : XML mal formé {where} ({item.reason}) ; aucune annonce lisible.")
        self.facts.mark_incomplete(problem)
        if item.ordinal:
            self.facts.records += 1
            self.facts.errors += 1
            yield self._error(item.ordinal, item.line, item.xpath or "", error(
                "E_XML_MALFORMED",
                f"{self.source}, ligne {item.line}, {item.xpath} : annonce illisible, le XML est mal formé "
                f"{where} ({item.reason}) ; elle n'est pas publiée et sa version en ligne est conservée, "
                "comme toutes les annonces du flux (rien n'est retiré). Relancez l'export depuis votre logiciel ; si "
                "l'erreur revient, transmettez ce rapport à votre éditeur de logiciel."), agency)

    def _error(self, ordinal: int, line: int, xpath: str, issue: Issue, agency: str | None,
               key: str | None = None) -> RecordError:
        return RecordError(SourceLocation(self.source, line, ordinal, xpath), [issue], agency_id=agency,
                           source_key=key)

    def _record(self, item: RawRecord, seen: dict[tuple[str, str], int], fallback_agency: str) -> ExtractResult:
        table = self.table
        values, notes = table.read(item.element)
        where = f"{self.source}, ligne {item.line}, {item.xpath}"
        issues: list[Issue] = []
        for i, v in enumerate(values):
            if v and not v.isascii():
                fixed, sample = repaired(v)
                if sample is not None:
                    values[i] = fixed
                    name = table.names[i]
                    issues.append(warning(
                        "W_ENCODING_REPAIRED",
                        f"{where}, {self.label(name)} : accents mal encodés corrigés (« {sample} » corrigé en "
                        f"« {repaired(sample)[0]} ») ; le logiciel d'export encode deux fois en UTF-8, "
                        "signalez-le à son éditeur.", source_field=self.label(name), value=sample))
        for path, note in notes:
            issues.append(warning("W_VALUE_IGNORED", f"{where} : {note}.", source_field=f"<{path}>"))
        if self.normalise is not None:
            self.normalise(values, table.columns)
        agency = self.agency_id or (values[table.agency].strip() if table.agency is not None else "") or fallback_agency
        key = next((values[i].strip() for i in table.keys if values[i].strip()), "")
        location = SourceLocation(self.source, item.line, item.ordinal, item.xpath)
        if not key:
            key_names = self._key_names()
            return RecordError(location, [error(
                "E_KEY_MISSING",
                f"{where} : identifiant de l'annonce absent ({key_names}) ; l'annonce ne peut pas être suivie "
                "d'un envoi à l'autre. Renseignez-le dans le logiciel d'export.", source_field=key_names)],
                agency_id=agency, raw=_raw(values))
        first = seen.get((agency, key))
        if first is not None:
            key_names = self._key_names()
            return RecordError(location, [error(
                "E_KEY_DUPLICATE",
                f"{where} : l'identifiant « {key} » figure déjà dans l'annonce n° {first} du flux ; cette seconde "
                f"annonce est ignorée. Chaque annonce doit avoir son propre identifiant ({key_names}).",
                source_field=key_names, value=key)], agency_id=agency, source_key=key, raw=_raw(values))
        seen[(agency, key)] = item.ordinal
        return SourceRecord(agency, key, location, values, table.columns, self.dialect, issues)

    def _key_names(self) -> str:
        return " ou ".join(self.label(self.table.names[i]) for i in self.table.keys)


def _raw(values: list[str]) -> str:
    return " | ".join(v for v in values if v)[:_RAW_PREFIX]
