"""Which values of a record element become which source fields: a table of paths, compiled once.

The same table describes a built-in dialect (``kyero.py``…) and the ``source:`` block of a
mapping for any XML (``generic.py``)::

    record: annonce                     # local name of the record element
    key: reference                      # the field that identifies a listing (first non-empty)
    fields:
      reference: reference              # a path relative to the record
      ville: [bien/ville, ville]        # alternatives: the first that has a value
      client: ../@reference             # anything else is XPath 1.0
      equipements: {path: features/feature, join: ", "}
      photo: {each: photos/photo, max: 30, order_by: "@ordre", parts: {"": ".", titre: "@titre"}}

A repeated element read as one field gives columns ``name_1`` … ``name_N``; a group gives
``photo_1``, ``photo_1_titre`` …, in ``order_by`` order (numbers compared as numbers). A path
made of element names and an optional final ``@attribute`` is walked directly (fast, namespace
prefixes ignored); anything else is compiled as XPath, and a bad one is a ``ConfigError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from etl.errors import ConfigError, validation_problems
from etl.extract.xml.text import element_text, plain

ABSENT: Final = "absent"  # a column every XML feed has, always empty: builder slots a dialect lacks
_SIMPLE: Final = re.compile(r"^(?:\.|[A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)*)(?:/@[A-Za-z_][\w.:-]*)?$|^@[A-Za-z_][\w.:-]*$")
_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Node = etree._Element | str
Index = dict[str, list[etree._Element]]  # relative path of element names → elements, in document order
Select = Callable[[etree._Element, Index], list[Node]]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repeated(_Closed):
    path: str | list[str]
    repeat: int | None = Field(default=None, ge=1, le=200)
    join: str | None = None


class Group(_Closed):
    each: str
    parts: dict[str, str | list[str]]  # a list: alternatives, the first that has a value
    max: int = Field(default=30, ge=1, le=200)
    order_by: str | None = None


class TableSpec(_Closed):
    """A mapping's ``source:`` block for XML (also how dialects declare themselves)."""

    record: str
    key: str | list[str]
    fields: dict[str, str | list[str] | Repeated | Group | None]  # None: a column a dialect derives
    agency: str | None = None  # the field naming the advertiser, when the feed has one

    @field_validator("record")
    @classmethod
    def _record_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", v):
            raise ValueError("record : nom d'élément XML attendu (sans chemin ni préfixe)")
        return v


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    path: str  # as written, for messages


@dataclass(slots=True)
class _Single:
    index: int
    selects: list[Select]
    path: str


@dataclass(slots=True)
class _Many:
    first: int
    count: int
    select: Select
    join: str | None
    path: str


@dataclass(slots=True)
class _Grouped:
    first: int  # index of photo_1 (the parts follow, part by part, then photo_2…)
    width: int  # parts per item
    max: int
    each: Select
    parts: list[Select]
    order: Select | None
    path: str


def table_spec(options: Mapping[str, Any], where: str) -> TableSpec:
    """Validate a ``source:`` block; errors are French, name the mapping and the key."""
    try:
        return TableSpec.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(f"{where} invalide pour un flux XML ({validation_problems(exc)}).") from None


class Table:
    """A compiled table: ``columns`` (name → index) and ``read(record) -> (values, notes)``."""

    def __init__(self, spec: TableSpec, where: str) -> None:
        self.spec = spec
        self.where = where
        self.columns: dict[str, int] = {}
        self.paths: dict[str, str] = {}  # column → path shown in messages
        self._singles: list[_Single] = []
        self._many: list[_Many] = []
        self._groups: list[_Grouped] = []
        for name, field in spec.fields.items():
            self._add(name, field)
        self._add_column(ABSENT, "")
        keys = [spec.key] if isinstance(spec.key, str) else list(spec.key)
        for k in keys + ([spec.agency] if spec.agency else []):
            if k not in self.columns:
                raise ConfigError(f"{where} : key/agency « {k} » ne désigne aucun champ de fields.")
        self.keys = [self.columns[k] for k in keys]
        self.agency = self.columns[spec.agency] if spec.agency else None
        self.width = len(self.columns)
        self.names = list(self.columns)  # index → column name

    def _add_column(self, name: str, path: str) -> int:
        if name in self.columns:
            raise ConfigError(f"{self.where} : le champ « {name} » est défini deux fois.")
        self.columns[name] = len(self.columns)
        self.paths[name] = path
        return self.columns[name]

    def _add(self, name: str, field: str | list[str] | Repeated | Group | None) -> None:
        if not _NAME.match(name):
            raise ConfigError(f"{self.where} : nom de champ « {name} » invalide (lettres, chiffres, _).")
        if field is None:
            self._add_column(name, "")
        elif isinstance(field, (str, list)):
            paths = [field] if isinstance(field, str) else field
            index = self._add_column(name, " | ".join(paths))
            self._singles.append(_Single(index, [self._compile(p) for p in paths], " | ".join(paths)))
        elif isinstance(field, Repeated):
            paths = [field.path] if isinstance(field.path, str) else field.path
            path = " | ".join(paths)
            select = self._compile(path)
            if field.join is not None:
                index = self._add_column(name, path)
                self._many.append(_Many(index, 1, select, field.join, path))
            else:
                count = field.repeat or 1
                first = len(self.columns)
                for i in range(1, count + 1):
                    self._add_column(f"{name}_{i}", f"{path}[{i}]")
                self._many.append(_Many(first, count, select, None, path))
        else:
            first = len(self.columns)
            for i in range(1, field.max + 1):
                for part, rel in field.parts.items():
                    shown = rel if isinstance(rel, str) else " | ".join(rel)
                    self._add_column(f"{name}_{i}" + (f"_{part}" if part else ""),
                                     f"{field.each}[{i}]" + ("" if shown == "." else f"/{shown}"))
            parts = [self._alternatives([rel] if isinstance(rel, str) else rel) for rel in field.parts.values()]
            self._groups.append(_Grouped(first, len(field.parts), field.max, self._compile(field.each), parts,
                                         self._compile(field.order_by) if field.order_by else None, field.each))

    def _alternatives(self, paths: list[str]) -> Select:
        selects = [self._compile(p) for p in paths]
        if len(selects) == 1:
            return selects[0]

        def first_found(el: etree._Element, index: Index) -> list[Node]:
            for select in selects:
                found = select(el, index)
                if found and any(value_of(x) for x in found):
                    return found
            return []
        return first_found

    def _compile(self, path: str) -> Select:
        path = path.strip()
        if _SIMPLE.match(path):
            return _walker(path)
        try:
            xpath = etree.XPath(path, smart_strings=False)
        except etree.XPathSyntaxError as exc:
            raise ConfigError(f"{self.where} : chemin XPath « {path} » invalide ({exc}).") from None

        def select(el: etree._Element, index: Index) -> list[Node]:
            found = xpath(el)
            if isinstance(found, list):
                return [x if isinstance(x, etree._Element) else str(x) for x in found
                        if isinstance(x, (etree._Element, str))]
            if isinstance(found, bool):
                return ["true" if found else "false"]
            if isinstance(found, float):
                return [str(int(found)) if found.is_integer() else str(found)]
            return [str(found)] if found else []
        return select

    def read(self, record: etree._Element) -> tuple[list[str], list[tuple[str, str]]]:
        """The record's values by column, and notes (column, French note) on what was left out."""
        values = [""] * self.width
        notes: list[tuple[str, str]] = []
        index = path_index(record)
        for single in self._singles:
            for select in single.selects:
                found = select(record, index)
                if found:
                    values[single.index] = value_of(found[0])
                    if len(found) > 1 and isinstance(found[0], etree._Element):
                        others = [value_of(x) for x in found[1:]]
                        if any(o and o != values[single.index] for o in others):
                            notes.append((single.path, f"élément <{single.path}> présent {len(found)} fois : "
                                                       "seule la première valeur est lue"))
                    if values[single.index]:
                        break
        for many in self._many:
            found = [v for v in (value_of(x) for x in many.select(record, index)) if v]
            if many.join is not None:
                values[many.first] = many.join.join(dict.fromkeys(found))
                continue
            for i, v in enumerate(found[: many.count]):
                values[many.first + i] = v
            if len(found) > many.count:
                notes.append((many.path, f"{len(found)} éléments <{many.path}>, {many.count} au plus sont lus ; "
                                         f"les {len(found) - many.count} suivants sont ignorés"))
        for group in self._groups:
            items = group.each(record, index)
            indexed = [(x, path_index(x)) for x in items if isinstance(x, etree._Element)]
            if group.order is not None and len(indexed) > 1:
                indexed = _ordered(indexed, group.order)
            rows = [[_first(sel(item, item_index)) for sel in group.parts] for item, item_index in indexed]
            rows = [row for row in rows if any(row)]
            for i, row in enumerate(rows[: group.max]):
                base = group.first + i * group.width
                values[base: base + group.width] = row
            if len(rows) > group.max:
                notes.append((group.path, f"{len(rows)} éléments <{group.path}>, {group.max} au plus sont lus ; "
                                          f"les {len(rows) - group.max} suivants sont ignorés"))
        return values, notes


def _first(found: list[Node]) -> str:
    return value_of(found[0]) if found else ""


def value_of(node: Node) -> str:
    """An element's text (descendants included, see ``element_text``) or an attribute's value, as plain text."""
    raw = node if isinstance(node, str) else element_text(node)
    return plain(raw) if raw else ""


def _ordered(items: list[tuple[etree._Element, Index]], order: Select) -> list[tuple[etree._Element, Index]]:
    """Stable sort on the order key: numbers as numbers, then text, then items without a key."""
    def key(numbered: tuple[int, tuple[etree._Element, Index]]) -> tuple[int, float, str, int]:
        n, (item, index) = numbered
        found = order(item, index)
        raw = value_of(found[0]).strip() if found else ""
        try:
            return (0, float(raw.replace(",", ".")), "", n)
        except ValueError:
            return (1 if raw else 2, 0.0, raw, n)
    return [pair for _, pair in sorted(enumerate(items), key=key)]


def path_index(root: etree._Element) -> Index:
    """Every element under ``root`` by its path of local names (``images/image/url``), in
    document order: one breadth-first pass per record, then each field is a dict look-up."""
    out: Index = {}
    level: list[tuple[etree._Element, str]] = [(root, "")]
    while level:
        below: list[tuple[etree._Element, str]] = []
        for node, prefix in level:
            for child in node:
                tag = child.tag
                if not isinstance(tag, str):
                    continue  # comments, processing instructions, entity references
                path = prefix + (tag.rpartition("}")[2] if tag[:1] == "{" else tag)
                found = out.get(path)
                if found is None:
                    out[path] = [child]
                else:
                    found.append(child)
                if len(child):
                    below.append((child, path + "/"))
        level = below
    return out


def _walker(path: str) -> Select:
    """``a/b/c``, ``a/b/@attr``, ``@attr`` or ``.``, looked up in the record's path index."""
    if path == ".":
        return lambda el, index: [el]
    if path.startswith("@"):
        attr = path[1:]
        return lambda el, index: [v] if (v := el.get(attr)) is not None else []
    elements, _, attr = path.partition("/@")
    if attr:
        return lambda el, index: [v for n in index.get(elements, ()) if (v := n.get(attr)) is not None]
    return lambda el, index: index.get(path, [])  # type: ignore[return-value]
