"""Generate ``etl/model/classified.py`` from the official AVIV v4 OpenAPI spec.

    uv run python -m etl.model.generate          # rewrite classified.py
    uv run python -m etl.model.generate --check  # exit 1 if classified.py is stale

The types must accept exactly what a strict JSON-Schema (Draft 7) reading of
``components.schemas.AvivClassified`` accepts. The one non-obvious part is ``allOf``: a
validator checks every branch on its own, so a branch with ``additionalProperties: false``
refuses the keys that only a sibling branch declares. This generator therefore *intersects*
the branches of every ``allOf``: a key survives only if every closed branch declares it, its
schema is the conjunction of the branches that declare it, and the keys that are declared
but refused are recorded in ``UNUSABLE_KEYS`` so error messages can say why.

Objects become ``TypedDict`` classes carrying a pydantic config (``extra="forbid"`` when
closed): validating a dict against them costs a third of what ``BaseModel`` instances cost
(no instance, no default filling), and a body stays the plain dict the mapping built.

Anything in the spec this generator does not understand stops it with ``SpecError`` rather
than producing a type that silently disagrees with the spec.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC_PATH = HERE / "aviv-classified-api-v4.json"
OUT_PATH = HERE / "classified.py"

# Keywords that only annotate: they never change what validates.
ANNOTATIONS = {"description", "example", "examples", "externalDocs", "deprecated", "title", "default"}
KNOWN = ANNOTATIONS | {
    "type", "properties", "additionalProperties", "required", "enum", "maxLength", "minLength",
    "format", "pattern", "minimum", "maximum", "items", "minItems", "maxItems", "uniqueItems",
    "anyOf",
}  # fmt: skip
# `float` is an OpenAPI format; as a JSON-Schema format it is unknown, hence an annotation.
ANNOTATION_FORMATS = {"float"}
FORMAT_VALIDATORS = {
    "date": "DATE",
    "date-time": "DATE_TIME",
    "url": "URL",
    "email": "EMAIL",
    "uuid": "UUID",
}
# The only pattern in the spec (MediaTitle); arbitrary regexes are not translated.
KNOWN_PATTERNS = {r"(?!(^\s+$))^.+$": "MEDIA_TITLE"}
# Named enum components become type aliases, and so does any inline enum with the same values.
ENUM_ALIASES = ("CurrencyCodes", "EstateType", "MediaCategory", "MediaType", "Orientation")
# Components whose children are named without the component's name as prefix.
UNPREFIXED = {"AvivClassified", "RealEstate"}
# Closed objects of many optional keys sharing one schema, emitted as ``dict[<keys>, <value>]``:
# a 184-field TypedDict costs 184 lookups per text, the dict only the keys present.
KEYED_MAPS = {"MultiLingualText": "LanguageCode"}
EMPTY_CLASS = "EmptyObject"


class SpecError(Exception):
    """The spec uses something this generator does not translate faithfully."""


# ---------------------------------------------------------------------------------------
# Intermediate representation: what validates, plus the annotations worth printing.


@dataclass
class Str:
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    fmt: str | None = None
    pattern: str | None = None

    def key(self) -> tuple[Any, ...]:
        return ("str", self.max_length, self.enum, self.fmt, self.pattern)


@dataclass
class Num:
    integer: bool
    ge: float | None = None
    le: float | None = None

    def key(self) -> tuple[Any, ...]:
        return ("int" if self.integer else "num", self.ge, self.le)


@dataclass
class Bool:
    def key(self) -> tuple[Any, ...]:
        return ("bool",)


@dataclass
class Arr:
    items: Node
    min_items: int | None = None
    max_items: int | None = None
    unique: bool = False

    def key(self) -> tuple[Any, ...]:
        return ("arr", self.items.key(), self.min_items, self.max_items, self.unique)


@dataclass
class AnyOf:
    branches: list[Obj]

    def key(self) -> tuple[Any, ...]:
        return ("anyof", tuple(b.key() for b in self.branches))


@dataclass
class Prop:
    node: Node
    description: str | None = None
    deprecated: bool = False


@dataclass
class Obj:
    props: dict[str, Prop]
    required: frozenset[str] = frozenset()
    closed: bool = False
    typed: bool = True  # `type: object`; False for a branch that only lists properties
    unusable: tuple[str, ...] = ()
    component: str | None = None
    description: str | None = None
    path: str = ""  # where it sits in a body, e.g. data.prices.buy.price
    npath: str = ""  # what its class is named after, e.g. prices.buy.price

    def key(self) -> tuple[Any, ...]:
        return (
            "obj",
            self.closed,
            tuple(sorted(self.required)),
            tuple((k, p.node.key()) for k, p in sorted(self.props.items())),
        )


Node = Str | Num | Bool | Arr | AnyOf | Obj


# ---------------------------------------------------------------------------------------
# Spec → IR


class Reader:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, ref: str) -> tuple[dict[str, Any], str | None]:
        if not ref.startswith("#/"):
            raise SpecError(f"external $ref {ref}")
        node: Any = self.spec
        for part in ref[2:].split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        parts = ref.split("/")
        component = parts[3] if len(parts) == 4 and parts[2] == "schemas" else None
        return node, component

    def read(self, schema: dict[str, Any], path: str, npath: str) -> Node:
        component = None
        while "$ref" in schema:
            extra = set(schema) - {"$ref"} - ANNOTATIONS
            if extra:
                raise SpecError(f"{path}: $ref with sibling keywords {extra}")
            schema, component = self.resolve(schema["$ref"])
            if component:
                npath = "" if component in UNPREFIXED else component
        branches: list[dict[str, Any]] = []
        if "oneOf" in schema:
            # Exactly one of a single branch is that branch.
            if len(schema["oneOf"]) != 1:
                raise SpecError(f"{path}: oneOf with several branches")
            branches.extend(schema["oneOf"])
        branches.extend(schema.get("allOf", []))
        if not branches:
            return self.read_plain(schema, path, npath, component)
        own = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf")}
        nodes: list[Node] = []
        if set(own) - ANNOTATIONS:
            nodes.append(self.read_plain(own, path, npath, None))
        nodes.extend(self.read(b, path, npath) for b in branches)
        merged = nodes[0]
        for other in nodes[1:]:
            merged = intersect(merged, other, path)
        if isinstance(merged, Obj):
            merged.description = schema.get("description") or merged.description
            merged.path, merged.npath = path, npath
        return merged

    def read_plain(self, schema: dict[str, Any], path: str, npath: str, component: str | None) -> Node:
        unknown = set(schema) - KNOWN
        if unknown:
            raise SpecError(f"{path}: unsupported keywords {unknown}")
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            return self.read_object(schema, path, npath, component, typed=False)
        if kind == "object":
            if "anyOf" in schema:
                if schema.get("properties") or "additionalProperties" in schema:
                    raise SpecError(f"{path}: anyOf beside properties")
                return AnyOf([self.branch(b, path, npath, i) for i, b in enumerate(schema["anyOf"])])
            return self.read_object(schema, path, npath, component, typed=True)
        if "anyOf" in schema:
            raise SpecError(f"{path}: anyOf on type {kind}")
        if kind == "string":
            return self.read_string(schema, path)
        if kind in ("integer", "number"):
            if "enum" in schema:
                raise SpecError(f"{path}: numeric enum")
            return Num(kind == "integer", schema.get("minimum"), schema.get("maximum"))
        if kind == "boolean":
            return Bool()
        if kind == "array":
            if "items" not in schema:
                raise SpecError(f"{path}: array without items")
            items = self.read(schema["items"], path + "[]", npath + "[]")
            return Arr(
                items,
                schema.get("minItems") or None,  # minItems 0 says nothing
                schema.get("maxItems"),
                bool(schema.get("uniqueItems")),
            )
        raise SpecError(f"{path}: type {kind!r}")

    def read_string(self, schema: dict[str, Any], path: str) -> Str:
        if schema.get("minLength", 0) != 0:
            raise SpecError(f"{path}: minLength")
        fmt = schema.get("format")
        if fmt in ANNOTATION_FORMATS:
            fmt = None
        if fmt is not None and fmt not in FORMAT_VALIDATORS:
            raise SpecError(f"{path}: format {fmt}")
        pattern = schema.get("pattern")
        if pattern is not None and pattern not in KNOWN_PATTERNS:
            raise SpecError(f"{path}: pattern {pattern}")
        enum = tuple(schema["enum"]) if "enum" in schema else None
        if enum is not None and not all(isinstance(v, str) for v in enum):
            raise SpecError(f"{path}: non-string enum")
        max_length = schema.get("maxLength")
        if enum is not None and (fmt or pattern):
            raise SpecError(f"{path}: enum with format or pattern")
        if enum is not None and max_length is not None:
            # The enum decides alone once every value fits the length.
            if any(len(v) > max_length for v in enum):
                raise SpecError(f"{path}: enum value longer than maxLength")
            max_length = None
        return Str(max_length, enum, fmt, pattern)

    def branch(self, schema: dict[str, Any], path: str, npath: str, index: int) -> Obj:
        node = self.read(schema, path, npath)
        if not isinstance(node, Obj) or not node.typed:
            raise SpecError(f"{path}: anyOf branch {index} is not an object")
        node.path, node.npath = path, npath + _variant_name(node, index)
        return node

    def read_object(
        self, schema: dict[str, Any], path: str, npath: str, component: str | None, typed: bool
    ) -> Obj:
        extra = schema.get("additionalProperties", True)
        if extra not in (True, False):
            raise SpecError(f"{path}: additionalProperties schema")
        props = {
            name: Prop(
                self.read(sub, _join(path, name), _join(npath, name)),
                _first_sentence(sub.get("description")),
                bool(sub.get("deprecated")),
            )
            for name, sub in schema.get("properties", {}).items()
        }
        return Obj(
            props=props,
            required=frozenset(schema.get("required", ())),
            closed=extra is False,
            typed=typed,
            component=component,
            description=schema.get("description"),
            path=path,
            npath=npath,
        )


def intersect(a: Node, b: Node, path: str) -> Node:
    """The schema that accepts what both ``a`` and ``b`` accept (``allOf``)."""
    if isinstance(a, Obj) and isinstance(b, Obj):
        return _intersect_objects(a, b, path)
    if a.key() == b.key():
        return a
    raise SpecError(f"{path}: allOf of differing non-object schemas {a.key()} / {b.key()}")


def _intersect_objects(a: Obj, b: Obj, path: str) -> Obj:
    declared = list(dict.fromkeys([*a.props, *b.props]))
    props: dict[str, Prop] = {}
    for key in declared:
        if any(o.closed and key not in o.props for o in (a, b)):
            continue  # a closed branch refuses it, whatever the other branch says
        pa, pb = a.props.get(key), b.props.get(key)
        if pa and pb:
            node = intersect(pa.node, pb.node, f"{path}.{key}")
            props[key] = Prop(node, pa.description or pb.description, pa.deprecated or pb.deprecated)
        else:
            props[key] = pa or pb  # type: ignore[assignment]
    required = a.required | b.required
    if (a.closed or b.closed) and not required <= set(props):
        raise SpecError(f"{path}: allOf requires keys that a closed branch refuses")
    unusable = tuple(k for k in declared if k not in props) + a.unusable + b.unusable
    merged = Obj(
        props=props,
        required=required,
        closed=a.closed or b.closed,
        typed=a.typed or b.typed,
        unusable=tuple(dict.fromkeys(unusable)),
        description=a.description or b.description,
        path=path,
        npath=a.npath or b.npath,
    )
    # PriceCommon ∩ PriceInformation accepts exactly what PriceCommon accepts: keep the name.
    for side in (a, b):
        if side.component and side.key() == merged.key():
            merged.component = side.component
    return merged


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _first_sentence(text: str | None, limit: int = 100) -> str | None:
    if not text:
        return None
    line = " ".join(text.strip().split("\n")[0].split())
    line = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _variant_name(obj: Obj, index: int) -> str:
    tag = obj.props.get("type")
    if tag and isinstance(tag.node, Str) and tag.node.enum and len(tag.node.enum) == 1:
        return tag.node.enum[0]
    return f"Variant{index}"


# ---------------------------------------------------------------------------------------
# IR → Python source


def _class_name(npath: str) -> str:
    def pascal(segment: str) -> str:
        items = segment.count("[]")
        segment = segment.replace("[]", "").rstrip("?")
        return segment[:1].upper() + segment[1:] + "Item" * items

    return "".join(pascal(s) for s in npath.split(".") if s)


def _is_identifier(key: str) -> bool:
    return key.isidentifier() and not keyword.iskeyword(key)


def _literal(values: tuple[str, ...]) -> str:
    return "Literal[" + "".join(f"\n    {v!r}," for v in values) + "\n]"


@dataclass
class Emitter:
    spec: dict[str, Any]
    classes: dict[tuple[Any, ...], str] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)  # name → source of the alias
    alias_by_values: dict[tuple[str, ...], str] = field(default_factory=dict)
    unusable: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        schemas = self.spec["components"]["schemas"]
        for name in ENUM_ALIASES:
            self.alias_by_values[tuple(schemas[name]["enum"])] = name

    def unique_name(self, name: str) -> str:
        base, n = name, 2
        while name in self.names:
            name, n = f"{base}{n}", n + 1
        self.names.add(name)
        return name

    def class_for(self, obj: Obj) -> str:
        if obj.unusable:
            self.unusable[obj.path] = obj.unusable
        key = obj.key()
        if key in self.classes:
            return self.classes[key]
        empty = obj.closed and not obj.props
        name = self.unique_name(EMPTY_CLASS if empty else obj.component or _class_name(obj.npath))
        self.classes[key] = name
        functional = not all(_is_identifier(k) for k in obj.props)
        fields = [self.field_lines(k, prop, obj, functional) for k, prop in obj.props.items()]
        config = "CLOSED" if obj.closed else "OPEN"
        doc = f'    """{self.class_doc(obj, empty)}"""'
        if not functional:
            lines = [f"@with_config({config})", f"class {name}(TypedDict, total=False):", doc]
            if fields:
                lines.append("")
                lines.extend(fields)
        else:
            # Keys such as "isDuplex?" only fit TypedDict's functional form.
            lines = [f"{name} = with_config({config})(", "    TypedDict(", f"        {name!r},", "        {"]
            lines.extend(textwrap.indent(f, "        ") for f in fields)
            lines.extend(["        },", "        total=False,", "    )", ")"])
        self.blocks.append("\n".join(lines))
        return name

    def class_doc(self, obj: Obj, empty: bool) -> str:
        if empty:
            return (
                "A closed object that accepts no key: only ``{}`` validates.\n\n"
                "    The spec declares keys at the paths using it (see UNUSABLE_KEYS), but\n"
                "    ``allOf`` with ``additionalProperties: false`` refuses every one of them.\n    "
            )
        if obj.component == "AvivClassified":
            return "``components.schemas.AvivClassified``: the body of POST and PUT /classifieds."
        if obj.component:
            spec_doc = self.spec["components"]["schemas"][obj.component].get("description")
            where = f"``components.schemas.{obj.component}``"
        else:
            spec_doc, where = obj.description, f"``{obj.path}``"
        first = _first_sentence(spec_doc, 80)
        text = f"{where}: {first}" if first else where
        return text.replace('"""', "'''").replace("\\", "\\\\")

    def keyed_map(self, obj: Obj) -> str:
        name = obj.component
        assert name is not None
        values = {p.node.key() for p in obj.props.values()}
        if not obj.closed or obj.required or len(values) != 1:
            raise SpecError(f"{name} is not a closed map of optional keys of one type")
        if name not in self.aliases:
            key_alias = KEYED_MAPS[name]
            self.aliases[key_alias] = _literal(tuple(obj.props))
            value = self.type_expr(next(iter(obj.props.values())).node, name)
            self.aliases[name] = f"dict[{key_alias}, {value}]"
            self.names.update((name, key_alias))
        return name

    def literal(self, values: tuple[str, ...], npath: str) -> str:
        if values in self.alias_by_values:
            name = self.alias_by_values[values]
            self.aliases.setdefault(name, _literal(values))
            return name
        inline = f"Literal[{', '.join(repr(v) for v in values)}]"
        if len(inline) <= 60:
            return inline
        name = self.unique_name(_class_name(npath))
        self.aliases[name] = _literal(values)
        self.alias_by_values[values] = name
        return name

    def type_expr(self, node: Node, npath: str) -> str:
        if isinstance(node, Obj):
            return self.keyed_map(node) if node.component in KEYED_MAPS else self.class_for(node)
        if isinstance(node, AnyOf):
            names = [self.class_for(b) for b in node.branches]
            return f"Annotated[{' | '.join(names)}, ANY_OF]"
        if isinstance(node, Bool):
            return "bool"
        if isinstance(node, Num):
            bounds = ", ".join(f"{k}={v!r}" for k, v in (("ge", node.ge), ("le", node.le)) if v is not None)
            if node.integer:
                return f"Annotated[int, Integer({bounds})]"
            return f"Annotated[Number, Field({bounds})]" if bounds else "Number"
        if isinstance(node, Str):
            base = self.literal(node.enum, npath) if node.enum is not None else "str"
            extras = []
            if node.max_length is not None:
                extras.append(f"Field(max_length={node.max_length})")
            if node.fmt:
                extras.append(FORMAT_VALIDATORS[node.fmt])
            if node.pattern:
                extras.append(KNOWN_PATTERNS[node.pattern])
            return f"Annotated[{base}, {', '.join(extras)}]" if extras else base
        if isinstance(node, Arr):
            inner = self.type_expr(node.items, npath + "[]")
            extras = []
            sizes = [
                (k, v)
                for k, v in (("min_length", node.min_items), ("max_length", node.max_items))
                if v is not None
            ]
            if sizes:
                extras.append(f"Field({', '.join(f'{k}={v}' for k, v in sizes)})")
            if node.unique:
                extras.append("UNIQUE")
            return f"Annotated[list[{inner}], {', '.join(extras)}]" if extras else f"list[{inner}]"
        raise TypeError(node)

    def field_lines(self, key: str, prop: Prop, parent: Obj, functional: bool) -> str:
        expr = self.type_expr(prop.node, _join(parent.npath, key))
        if key in parent.required:
            expr = f"Required[{expr}]"
        comment = prop.description or ""
        if prop.deprecated:
            comment = f"(deprecated) {comment}".strip()
        if isinstance(prop.node, Obj) and prop.node.unusable:
            comment = f"{comment} [allOf refuses: {', '.join(prop.node.unusable)}]".strip()
        lines = textwrap.wrap(comment, 92, initial_indent="    # ", subsequent_indent="    # ")
        lines.append(f"    {key!r}: {expr}," if functional else f"    {key}: {expr}")
        return "\n".join(lines)


HEADER = '''\
"""AVIV Classified API v4 request body (``AvivClassified``) as pydantic-validated TypedDicts.

GENERATED by ``python -m etl.model.generate`` from ``aviv-classified-api-v4.json``
(info.version {version}); do not edit by hand. ``etl/model/generate.py`` explains how
``allOf`` is read, ``etl/model/scalars.py`` how integer, number and formats are checked.

Every object of the spec is a ``TypedDict`` carrying its pydantic config: ``CLOSED``
(``extra="forbid"``) where the spec says ``additionalProperties: false``, ``OPEN`` elsewhere.
A body is a plain dict: build it with these types for static checking and validate it with
``etl.model.check.check_body``. Validation never adds anything to it (no defaults).
"""

# ruff: noqa: E501

from typing import Annotated, Literal, Required

from pydantic import Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from etl.model.scalars import (
    ANY_OF,
    CLOSED,
    DATE,
    DATE_TIME,
    EMAIL,
    MEDIA_TITLE,
    OPEN,
    UNIQUE,
    URL,
    UUID,
    Integer,
    Number,
)

SPEC_VERSION = {version!r}
'''


def generate(spec: dict[str, Any]) -> str:
    root = Reader(spec).read({"$ref": "#/components/schemas/AvivClassified"}, "", "")
    if not isinstance(root, Obj):
        raise SpecError("AvivClassified is not an object")
    emitter = Emitter(spec)
    emitter.class_for(root)
    version = spec.get("info", {}).get("version", "?")
    parts = [HEADER.format(version=version)]
    parts.extend(f"{name} = {source}" for name, source in emitter.aliases.items())
    parts.extend(emitter.blocks)
    unusable = "".join(
        f"    {path!r}: frozenset({sorted(keys)!r}),\n" for path, keys in sorted(emitter.unusable.items())
    )
    parts.append(
        "# Keys the spec declares at these paths (``[]`` = any array index) but that\n"
        "# ``allOf`` + ``additionalProperties: false`` refuses under strict JSON Schema.\n"
        f"UNUSABLE_KEYS: dict[str, frozenset[str]] = {{\n{unusable}}}"
    )
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate etl/model/classified.py")
    parser.add_argument("--check", action="store_true", help="fail if the module is stale")
    args = parser.parse_args(argv)
    source = generate(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    if args.check:
        if OUT_PATH.read_text(encoding="utf-8") != source:
            print(f"{OUT_PATH} is stale: run python -m etl.model.generate", file=sys.stderr)
            return 1
        return 0
    OUT_PATH.write_text(source, encoding="utf-8")
    print(f"wrote {OUT_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
