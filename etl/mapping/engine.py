"""Compile a ``MappingSpec`` once into fast per-record callables, and apply it.

Compilation resolves every source name to a column index, every AVIV path to a
key tuple, every table to a folded-key dict and every converter to a function,
so applying a mapping to a record is a loop over small closures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.extract.record import SourceRecord
from etl.issues import Issue, Severity
from etl.mapping.converters import BLANK_MARKERS, CONVERTERS, ConversionError, fold, is_blank
from etl.mapping.spec import Condition, MappingSpec, Rule


_NOROW = object()  # a table lookup that found no row (distinct from a row with no value)


class MappingError(Exception):
    """The mapping config refers to something that does not exist (run stops, exit 2)."""


@dataclass(slots=True)
class FeedContext:
    """What a mapping needs to know about the feed and agency, beyond one record."""

    agency_id: str = ""
    photos_mode: str = "URL"  # Poliris Photos.cfg: URL, FULL or DIFF
    photo_base_url: str | None = None  # where photos shipped inside a ZIP are published
    photo_versions: Mapping[str, str] = field(default_factory=dict)  # file name → version tag
    source_system_version: str = ""


@dataclass(slots=True)
class Mapped:
    body: dict[str, Any]
    issues: list[Issue]
    outputs: dict[str, Any]  # the @name outputs (e.g. requested portals)

    @property
    def failed(self) -> bool:
        return any(i.is_error for i in self.issues)


class RecordScope:
    """Per-record state handed to builders: the body so far, issue collection, feed context."""

    __slots__ = ("record", "body", "issues", "outputs", "feed", "spec_settings", "_labels", "_rule_to")

    def __init__(self, record: SourceRecord, feed: FeedContext, settings: Mapping[str, Any],
                 labels: Callable[[str], str]) -> None:
        self.record = record
        self.body: dict[str, Any] = {}
        self.issues: list[Issue] = []
        self.outputs: dict[str, Any] = {}
        self.feed = feed
        self.spec_settings = settings
        self._labels = labels
        self._rule_to = ""

    def label(self, name: str) -> str:
        return self._labels(name)

    def warn(self, code: str, message: str, *, source: str | None = None, value: str | None = None,
             path: str | None = None) -> None:
        self.issues.append(Issue(code, message, Severity.WARNING, self.label(source) if source else None,
                                 path or self._rule_to, value))

    def fail(self, code: str, message: str, *, source: str | None = None, value: str | None = None,
             path: str | None = None) -> None:
        self.issues.append(Issue(code, message, Severity.ERROR, self.label(source) if source else None,
                                 path or self._rule_to, value))


Builder = Callable[[Sequence[str], RecordScope], Any]
BUILDERS: dict[str, Builder] = {}


def builder(name: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn
    return register


def get_path(body: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = body
    for k in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(k)
        if node is None:
            return None
    return node


def _merge(into: dict[str, Any], value: Mapping[str, Any]) -> None:
    for k, v in value.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def fresh(value: Any) -> Any:
    """A private copy of a config value (tables and constants are shared by every record)."""
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh(v) for v in value]
    return value


def set_path(body: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = body
    for k in keys[:-1]:
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        node = nxt
    last = keys[-1]
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        _merge(node[last], value)
    else:
        node[last] = value


# --- compilation -------------------------------------------------------------------------------

Step = Callable[[Sequence[str], RecordScope], None]


class CompiledMapping:
    def __init__(self, spec: MappingSpec, columns: Mapping[str, int],
                 labels: Callable[[str], str] | None = None) -> None:
        self.spec = spec
        self.columns = columns
        self._labels = labels or (lambda name: name)
        self._tables = {name: {fold(k): v for k, v in rows.items()} for name, rows in spec.tables.items()}
        self._width = max(columns.values(), default=-1) + 1
        self.source = ""
        self._run = self._generate()

    # Helpers used at compile time only.
    def _index(self, name: str, where: str) -> int:
        if name not in self.columns:
            raise MappingError(f"{where}: champ source inconnu « {name} »")
        return self.columns[name]

    def _compile_condition(self, cond: Condition, where: str) -> Callable[[Sequence[str], RecordScope], bool]:
        if cond.all is not None:
            parts = [self._compile_condition(c, where) for c in cond.all]
            return lambda v, s: all(p(v, s) for p in parts)
        if cond.any is not None:
            parts = [self._compile_condition(c, where) for c in cond.any]
            return lambda v, s: any(p(v, s) for p in parts)
        if cond.not_ is not None:
            inner = self._compile_condition(cond.not_, where)
            return lambda v, s: not inner(v, s)
        if cond.field is not None:
            i = self._index(cond.field, where)

            def read(v: Sequence[str], s: RecordScope, i: int = i) -> Any:
                raw = v[i] if i < len(v) else ""
                return None if is_blank(raw) else raw
            normalise: Callable[[Any], Any] = lambda x: fold(x) if isinstance(x, str) else x
        else:
            keys = tuple(cond.path.split("."))  # type: ignore[union-attr]

            def read(v: Sequence[str], s: RecordScope, keys: tuple[str, ...] = keys) -> Any:
                if keys[0].startswith("@"):
                    return s.outputs.get(keys[0][1:])
                return get_path(s.body, keys)
            normalise = lambda x: x  # noqa: E731
        if cond.filled is not None:
            want = cond.filled
            return lambda v, s: (read(v, s) is not None) is want
        if cond.equals is not None:
            target = normalise(cond.equals)
            return lambda v, s: (x := read(v, s)) is not None and normalise(x) == target
        if cond.in_ is not None:
            allowed = frozenset(normalise(x) for x in cond.in_)
            return lambda v, s: (x := read(v, s)) is not None and normalise(x) in allowed
        limit = cond.at_most
        from etl.mapping.converters import number

        def at_most(v: Sequence[str], s: RecordScope) -> bool:
            x = read(v, s)
            if x is None:
                return False
            try:
                return (number(x) if isinstance(x, str) else x) <= limit
            except (ConversionError, TypeError):
                return False
        return at_most

    def _generate(self) -> Step:
        """Generate one straight-line Python function for the whole mapping.

        Per record, a mapping of ~150 rules over mostly empty fields is dominated by
        call overhead; emitting each rule as a few inline lines (converters,
        builders and conditions still being plain functions) makes it several
        times faster than a list of closures, which the convert budget needs.
        """
        ns: dict[str, Any] = {"_set": set_path, "_fresh": fresh, "_blank": BLANK_MARKERS, "_fold": fold,
                              "ConversionError": ConversionError, "_NOROW": _NOROW}
        lines = ["def _apply(v, s):", "    body = s.body", "    out = s.outputs"]
        for n, rule in enumerate(self.spec.rules):
            lines.extend(self._emit(n, rule, ns))
        source = "\n".join(lines)
        exec(compile(source, f"<mapping {self.spec.mapping}>", "exec"), ns)  # noqa: S102
        self.source = source
        return ns["_apply"]

    def _emit(self, n: int, rule: Rule, ns: dict[str, Any]) -> list[str]:
        where = f"mapping {self.spec.mapping}, règle {n + 1} ({rule.to})"
        to = rule.to
        indexes = [self._index(name, where) for name in rule.sources]
        sources = rule.sources
        severity = Severity.ERROR if (rule.required or rule.invalid == "error") else Severity.WARNING
        labels = self._labels
        missing_code = rule.code or "E_REQUIRED_MISSING"

        def missing(scope: RecordScope) -> None:
            label = labels(sources[0]) if sources else None
            msg = rule.message or f"Valeur obligatoire absente : renseignez {label or to}."
            scope.issues.append(Issue(missing_code, msg, Severity.ERROR, label, to, ""))

        def invalid(scope: RecordScope, raw: str, exc: ConversionError) -> None:
            label = labels(sources[0])
            code = "E_VALUE_INVALID" if severity is Severity.ERROR else "W_VALUE_IGNORED"
            tail = "" if severity is Severity.ERROR else " ; la valeur est ignorée"
            scope.issues.append(Issue(code, f"{label} : {exc}{tail}.", severity, label, to, raw))

        ns[f"MISS{n}"], ns[f"INV{n}"], ns[f"TO{n}"] = missing, invalid, to
        if to.startswith("@"):
            target = f"out[{to[1:]!r}] = {{}}"
        else:
            ns[f"K{n}"] = tuple(to.split("."))
            target = f"_set(body, K{n}, {{}})"
        body: list[str] = [f"# rule {n + 1}: {to}"]

        if rule.value is not None:
            ns[f"C{n}"] = rule.value
            value = f"_fresh(C{n})" if isinstance(rule.value, (dict, list)) else f"C{n}"
            body.append(target.format(value))
        elif rule.convert is not None:
            fn = CONVERTERS.get(rule.convert)
            if fn is None:
                raise MappingError(f"{where}: convertisseur inconnu « {rule.convert} »")
            if len(indexes) != 1:
                raise MappingError(f"{where}: convert lit un seul champ")
            ns[f"C{n}"] = fn
            present = "raw" if rule.required else "raw and raw not in _blank"
            body += [f"raw = v[{indexes[0]}]",
                     f"if {present}:",
                     "    try:",
                     f"        {target.format(f'C{n}(raw)')}",
                     "    except ConversionError as exc:",
                     f"        INV{n}(s, raw, exc)"]
            if rule.required:
                body += ["else:", f"    MISS{n}(s)"]
        elif rule.table is not None:
            rows = self._tables.get(rule.table)
            if rows is None:
                raise MappingError(f"{where}: table inconnue « {rule.table} »")
            column = rule.column
            table = {k: (row.get(column) if isinstance(row, dict) else row) for k, row in rows.items()}
            ns[f"T{n}"] = table
            ns[f"E{n}"] = rule.table
            if len(indexes) > 1:
                second = indexes[1]

                def lookup(v: Sequence[str], raw: str, table: dict[str, Any] = table, second: int = second) -> Any:
                    # "type > sub-type", then "* > sub-type", then "type".
                    key = fold(raw)
                    if sub := v[second]:
                        sub = fold(sub)
                        for k in (f"{key} > {sub}", f"* > {sub}"):
                            if k in table:
                                return table[k]
                    return table.get(key, _NOROW)
                ns[f"L{n}"] = lookup
                find = f"L{n}(v, raw)"
            else:
                find = f"T{n}.get(_fold(raw), _NOROW)"
            container = any(isinstance(x, (dict, list)) for x in table.values())
            present = "raw" if rule.required else "raw and raw not in _blank"
            body += [f"raw = v[{indexes[0]}]",
                     f"if {present}:",
                     f"    val = {find}",
                     "    if val is _NOROW:",
                     f"        INV{n}(s, raw, ConversionError(f'« {{raw}} » ne fait pas partie des valeurs reconnues ({{E{n}}})'))",
                     "    elif val is not None:",
                     f"        {target.format('_fresh(val)' if container else 'val')}"]
            if rule.required:
                body += ["else:", f"    MISS{n}(s)"]
        else:
            fn_b = BUILDERS.get(rule.build)  # type: ignore[arg-type]
            if fn_b is None:
                raise MappingError(f"{where}: constructeur inconnu « {rule.build} »")
            ns[f"B{n}"] = fn_b
            raws = ", ".join(f"v[{i}]" for i in indexes)
            body += [f"s._rule_to = TO{n}",
                     "try:",
                     f"    val = B{n}([{raws}], s)",
                     "except ConversionError as exc:",
                     f"    INV{n}(s, v[{indexes[0]}], exc)",
                     "else:",
                     "    if val is not None:",
                     f"        {target.format('val')}"]
            if rule.required:
                body += ["    else:", f"        MISS{n}(s)"]

        if rule.when is not None:
            ns[f"W{n}"] = self._compile_condition(rule.when, where)
            body = [body[0], f"if W{n}(v, s):"] + ["    " + line for line in body[1:]]
        return ["    " + line for line in body]

    def apply(self, record: SourceRecord, feed: FeedContext) -> Mapped:
        scope = RecordScope(record, feed, self.spec.settings, self._labels)
        values = record.values
        if len(values) < self._width:
            values = list(values) + [""] * (self._width - len(values))
        self._run(values, scope)
        return Mapped(scope.body, scope.issues, scope.outputs)
