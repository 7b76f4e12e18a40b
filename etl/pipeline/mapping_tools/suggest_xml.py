"""``mapping suggest`` for an XML feed nobody has mapped: which element is a listing, and which
path under it feeds which column of the template.

The record element is the name that repeats most among elements holding other elements (in
the first megabytes: ``<bien>`` under ``<inventaire>``). The records are then read with the
same safe streaming parser as a night's convert (no entity, no DTD, no network), each leaf
element and attribute becoming a path (``localisation/code_postal``, ``@ref``) with its values.
Paths are matched to the template's columns as a spreadsheet's headers are (``suggest``: by
name and by content); a path repeated within a record (``photos/photo``) is joined with « | ».
The draft extends the template (its rules and tables) with ``format: xml`` and a ``source:``
block of XPaths (``docs/xml-feeds.md``), every column the rules read declared, unmatched ones
empty (``null``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

from lxml import etree

from etl.errors import UnsupportedFeed
from etl.extract.container import Container
from etl.extract.xml.feed import xml_member
from etl.extract.xml.safe import ENTITY_DECL, RawRecord, RecordStream, hardened_parser, local_name
from etl.extract.xml.text import element_text
from etl.mapping import load_mapping
from etl.pipeline.mapping_tools.suggest import TEMPLATE, Match, add_value_tables, examples, match_columns

SCAN_BYTES: Final = 2 << 20  # what is read to find the record element
JOIN: Final = " | "


def record_element(container: Container) -> str:
    """The local name of the element each listing is (the most repeated one holding elements)."""
    head = container.head(xml_member(container), SCAN_BYTES)
    if ENTITY_DECL in head:
        raise UnsupportedFeed(f"{container.name} : le fichier XML déclare des entités XML (<!ENTITY …>) : refusé par sécurité.")
    parser = hardened_parser()
    depth = 0
    parents: Counter[tuple[int, str]] = Counter()
    children: list[int] = [0]
    try:
        parser.feed(head)
        for event, el in parser.read_events():
            if event == "start":
                children[-1] += 1
                children.append(0)
                depth += 1
            else:
                if children.pop() >= 2:
                    parents[(depth, local_name(el.tag))] += 1
                depth -= 1
    except etree.XMLSyntaxError:
        pass  # the head ends mid-document: what was read is enough
    repeated = [(n, -d, name) for (d, name), n in parents.items() if n >= 2]
    if not repeated:
        raise UnsupportedFeed(f"{container.name} : aucun élément XML ne se répète ; impossible de deviner ce qu'est une annonce.")
    return max(repeated)[2]


def _leaves(record: etree._Element) -> Iterator[tuple[str, str]]:
    """(path relative to the record, value) of every attribute and leaf element, in document order."""
    for name, value in record.attrib.items():
        yield f"@{local_name(name)}", value
    stack: list[tuple[etree._Element, str]] = [(c, local_name(c.tag)) for c in record if isinstance(c.tag, str)]
    stack.reverse()
    while stack:
        el, path = stack.pop()
        for name, value in el.attrib.items():
            yield f"{path}/@{local_name(name)}", value
        kids = [c for c in el if isinstance(c.tag, str)]
        if kids and not (el.text or "").strip():
            stack.extend(reversed([(c, f"{path}/{local_name(c.tag)}") for c in kids]))
        else:
            yield path, element_text(el)


def sample(container: Container, record: str, rows: int) -> tuple[list[str], list[list[str]], set[str]]:
    """Paths (first seen first), one row of first values per record, and the paths repeated in a record."""
    paths: dict[str, None] = {}
    repeated: set[str] = set()
    seen: list[dict[str, str]] = []
    with container.open(xml_member(container)) as stream:
        for item in RecordStream(stream, container.name, record):
            if not isinstance(item, RawRecord):
                continue
            values: dict[str, str] = {}
            for path, value in _leaves(item.element):
                paths.setdefault(path)
                if path in values:
                    repeated.add(path)
                elif value:
                    values[path] = value
            seen.append(values)
            if len(seen) >= rows:
                break
    headers = list(paths)
    return headers, [[values.get(p, "") for p in headers] for values in seen], repeated


def suggest_xml(container: Container, *, source_name: str, rows: int = 200,
                template: str = TEMPLATE) -> tuple[dict[str, Any], list[str], list[Match]]:
    """The draft (a mapping as a dict), comment lines to print above it, and the matches."""
    record = record_element(container)
    headers, values, repeated = sample(container, record, rows)
    spec = load_mapping(template)
    matches = match_columns(headers, values, spec)
    by_name = {m.name: m for m in matches}
    fields: dict[str, Any] = {}
    for name in spec.source.get("columns", {}):
        match = by_name.get(name)
        if match is None:
            fields[name] = None
        elif match.column in repeated:
            fields[name] = {"path": match.column, "join": JOIN}
        else:
            fields[name] = match.column
    source: dict[str, Any] = {"record": record, "key": "reference", "fields": fields}
    if "agency" in by_name:
        source["agency"] = "agency"
    comments = [f"Brouillon de mapping pour {source_name}, écrit par `classifieds-etl mapping suggest`.",
                f"Chaque annonce est un élément <{record}> ({len(values)} lues) ; les chemins sont relatifs à lui.",
                f"Il reprend les règles et les tables de {template}.yaml ; vérifiez chaque chemin ci-dessous,",
                "puis essayez-le : classifieds-etl mapping check CE_FICHIER.yaml " + source_name, ""]
    comments.append("Chemins reconnus (chemin du flux → nom du modèle, reconnu par) :")
    comments += [f"  <{m.column}> → {m.name} ({m.by}, {m.score:.2f})" for m in matches]
    if "reference" not in by_name:
        comments += ["", "ATTENTION : aucun identifiant d'annonce reconnu ; indiquez son chemin dans source.fields.reference."]
    if "agency" not in by_name:
        comments += ["", "Pas d'agence dans le flux : elle vient de la configuration (agencies.yaml) ou de --agency."]
    unmatched = [h for h in headers if h not in {m.column for m in matches}]
    if unmatched:
        comments += ["", "Chemins non reconnus (non publiés ; ajoutez-les à source.fields si besoin) :"]
        comments += [f"  <{h}>{examples(headers, values, h)}" for h in unmatched[:60]]
    draft: dict[str, Any] = {"mapping": source_name.rsplit(".", 1)[0], "extends": template, "format": "xml",
                             "source": source}
    add_value_tables(draft, comments, matches, headers, values, spec)
    return draft, comments, matches
