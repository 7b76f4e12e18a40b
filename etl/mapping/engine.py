"""Compile a ``MappingSpec`` once into one generated Python function, and apply it.

Compilation resolves every source name to a column index, every AVIV path to a key tuple,
every table to a folded-key dict and every converter to a function, then writes the rules out
as one straight-line function (``_generate``): applying a mapping to a record is one call, with
no per-rule dispatch. What "empty" looks like comes from the feed's format (``blank_markers``:
Poliris' ``0`` and ``00/00/0000``), narrowed or widened per field by the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.records import SourceRecord
from etl.issues import Issue, Severity
from etl.mapping.converters import BLANK_MARKERS, CONVERTERS, SPREADSHEET_CONVERTERS, ConversionError, fold
from etl.mapping.spec import Condition, MappingSpec, Rule
from etl.errors import MappingError


_NOROW = object()  # a table lookup that found no row (distinct from a row with no value)
_EMPTY: dict[str, Any] = {}  # what an inline path lookup walks through when a key is absent
_MEMO_KEY_MAX, _MEMO_SIZE = 32, 4096  # per converter rule: memory stays bounded whatever the feed


# What a builder's is_blank treats as empty.
_BUILDER_BLANK = BLANK_MARKERS | {""}


@dataclass(slots=True)
class FeedContext:
    """What a mapping needs to know about the feed and agency, beyond one record."""

    agency_id: str = ""
    photos_mode: str = "URL"  # Poliris Photos.cfg: URL, FULL or DIFF
    photo_base_url: str | None = None  # where photos shipped inside a ZIP are published
    photo_versions: Mapping[str, str] = field(default_factory=dict)  # file name → version tag


@dataclass(slots=True)
class Mapped:
    body: dict[str, Any]
    issues: list[Issue]
    outputs: dict[str, Any]  # the @name outputs (e.g. requested portals)
    values: Sequence[str] = ()  # the record's source values, as the rules read them

    @property
    def failed(self) -> bool:
        return any(i.is_error for i in self.issues)


class RecordScope:
    """Per-record state handed to builders: the body so far, issue collection, feed context."""

    __slots__ = ("record", "body", "issues", "outputs", "feed", "spec_settings", "_labels", "_rule_to",
                 "source_names")

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
        self.source_names: Sequence[str] = ()  # the running builder's ``from`` names

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
EMPTY_IS_NOTHING: set[Builder] = set()  # builders that produce nothing when all their inputs are empty


def builder(name: str, *, runs_on_empty: bool = False) -> Callable[[Builder], Builder]:
    """Register a builder. ``runs_on_empty``: it must run even when every source is empty
    (e.g. it writes keys the schema requires)."""
    def register(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        if not runs_on_empty:
            EMPTY_IS_NOTHING.add(fn)
        return fn
    return register


def _at_most(value: Any, limit: float) -> bool:
    from etl.mapping.converters import number
    try:
        return (number(value) if isinstance(value, str) else value) <= limit
    except (ConversionError, TypeError):
        return False


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
                 labels: Callable[[str], str] | None = None, *, blank_markers: frozenset[str] = frozenset()) -> None:
        self.spec = spec
        self.columns = columns
        self._labels = labels or (lambda name: name)
        self._tables = {name: {fold(k): v for k, v in rows.items()} for name, rows in spec.tables.items()}
        self._width = max(columns.values(), default=-1) + 1
        default = frozenset(spec.blank) if spec.blank is not None else blank_markers
        self._default_blank = default | {""}
        for name in spec.fields:
            self._index(name, f"mapping {spec.mapping}, fields")
        self.source = ""
        self._run = self._generate()
        self.label_choosers = self._generate_label_choosers()

    def _blank(self, name: str) -> frozenset[str]:
        """What "empty" looks like in this source field (always including "")."""
        declared = self.spec.fields.get(name)
        if declared is not None and declared.blank is not None:
            return frozenset(declared.blank) | {""}
        return self._default_blank

    # Helpers used at compile time only.
    def _index(self, name: str, where: str) -> int:
        if name not in self.columns:
            raise MappingError(f"{where}: champ source inconnu « {name} »")
        return self.columns[name]

    def _condition(self, cond: Condition, where: str, ns: dict[str, Any]) -> str:
        """A condition as an inline Python expression over ``v`` (source values) and ``body``/``out``."""
        if cond.all is not None:
            return "(" + " and ".join(self._condition(c, where, ns) for c in cond.all) + ")"
        if cond.any is not None:
            return "(" + " or ".join(self._condition(c, where, ns) for c in cond.any) + ")"
        if cond.not_ is not None:
            return f"(not {self._condition(cond.not_, where, ns)})"
        n = len(ns)
        if cond.field is not None:
            i = self._index(cond.field, where)
            ns[f"FB{n}"] = self._blank(cond.field)
            present = f"(v[{i}] and v[{i}] not in FB{n})"  # "" and the field's blank markers (Poliris' 0…)
            value, normalise = f"v[{i}]", (lambda x: fold(x) if isinstance(x, str) else x)
            folded = f"_fold(v[{i}])"
        else:
            path = cond.path or ""
            if path.startswith("@"):
                lookup, absent = f"out.get({path[1:]!r})", "None"
            else:
                # Inline lookups: a condition is evaluated for every record. An absent (or falsy)
                # value reads as _EMPTY; it is looked up once, into _c, when compared after.
                lookup, absent = "body", "_EMPTY"
                for key in path.split("."):
                    lookup = f"({lookup}.get({key!r}) or _EMPTY)"
            if cond.filled is not None:
                present = f"({lookup} is not {absent})"
                return present if cond.filled else f"(not {present})"
            present, value = f"((_c := {lookup}) is not {absent})", "_c"
            normalise, folded = (lambda x: x), value
        if cond.filled is not None:
            return present if cond.filled else f"(not {present})"
        if cond.equals is not None:
            ns[f"Q{n}"] = normalise(cond.equals)
            return f"({present} and {folded} == Q{n})"
        if cond.in_ is not None:
            ns[f"Q{n}"] = frozenset(normalise(x) for x in cond.in_)
            return f"({present} and {folded} in Q{n})"
        ns[f"Q{n}"] = cond.at_most
        return f"({present} and _at_most({value}, Q{n}))"

    def _generate(self) -> Step:
        """Generate one straight-line Python function for the whole mapping.

        Per record, a mapping of ~150 rules over mostly empty fields is dominated by
        call overhead; emitting each rule as a few inline lines (converters,
        builders and conditions still being plain functions) makes it several
        times faster than a list of closures, which the convert budget needs.
        """
        ns: dict[str, Any] = {"_set": set_path, "_fresh": fresh, "_placeholder": self._placeholder,
                              "_fold": fold, "_at_most": _at_most, "ConversionError": ConversionError,
                              "_NOROW": _NOROW, "_EMPTY": _EMPTY}
        lines = ["def _apply(v, s):", "    body = s.body", "    out = s.outputs"]
        for n, rule in enumerate(self.spec.rules):
            lines.extend(self._emit(n, rule, ns))
        source = "\n".join(lines)
        exec(compile(source, f"<mapping {self.spec.mapping}>", "exec"), ns)  # noqa: S102
        self.source = source
        return ns["_apply"]

    def _generate_label_choosers(self) -> dict[str, Callable[[Sequence[str], dict[str, Any], dict[str, Any]], str]]:
        """For each AVIV path that several rules write (under different conditions, a builder of a
        parent path included): a function of
        (source values, body, outputs) giving the label of the rule that applies to this record —
        the first whose condition holds — so advice names the field the agency must fill (field
        218 for a commercial lease's lease right, field 11 for a cession's), even when it is empty.
        """
        written = [(n, rule) for n, rule in enumerate(self.spec.rules) if rule.sources and not rule.to.startswith("@")]
        choosers = {}
        for path in dict.fromkeys(rule.to for _, rule in written):
            # the rules naming this path first, then those filling a parent path (a builder's subtree):
            # a parent's writer speaks only for listings no rule of the path itself applies to
            rules = [(n, rule) for n, rule in written if rule.to == path] + \
                [(n, rule) for n, rule in written if path.startswith(rule.to + ".")]
            if len({rule.sources[0] for _, rule in rules}) < 2:
                continue
            own = rules[0][0]  # the label used when no condition holds
            ns: dict[str, Any] = {"_fold": fold, "_at_most": _at_most, "_EMPTY": _EMPTY}
            lines = ["def _choose(v, body, out):"]
            for n, rule in rules:
                ns[f"L{n}"] = self._labels(rule.sources[0])
                if rule.when is None:
                    lines.append(f"    return L{n}")
                    break
                where = f"mapping {self.spec.mapping}, règle {n + 1} ({rule.to})"
                lines.append(f"    if {self._condition(rule.when, where, ns)}:")
                lines.append(f"        return L{n}")
            else:
                lines.append(f"    return L{own}")
            exec(compile("\n".join(lines), f"<labels {self.spec.mapping} {path}>", "exec"), ns)  # noqa: S102
            choosers[path] = ns["_choose"]
        return choosers

    def _guarded(self, n: int, rule: Rule, index: int, ns: dict[str, Any], where: str, inner: list[str],
                 when: str | None) -> list[str]:
        """Run ``inner`` with ``raw`` = the source value when it is present; a required rule
        reports a missing value instead. Optional rules also skip the field's blank markers
        and drop its declared placeholders with a warning.

        ``when`` (the rule's condition, inline) is tested inside, after the emptiness test, for
        rules that say nothing about a missing value: most fields are empty, and a condition on
        the body costs several lookups."""
        name = rule.sources[0]
        if rule.required:
            lines = [f"raw = v[{index}]", "if raw:"] + ["    " + line for line in inner]
            lines += ["else:", f"    MISS{n}(s)"]
            return lines if when is None else [f"if {when}:"] + ["    " + line for line in lines]
        ns[f"BL{n}"] = self._blank(name)
        # "raw and": most fields are empty, and a falsy test is cheaper than a set lookup.
        test = f"raw and raw not in BL{n}"
        if when is not None and not rule.warn_if_missing:
            test, when = f"{test} and {when}", None
        lines = [f"raw = v[{index}]", f"if {test}:"]
        if check := self._placeholder_test(name, "raw", ns, where):
            lines += [f"    if {check}:", f"        _placeholder(s, {name!r}, raw, TO{n})", "    else:"]
            lines += ["        " + line for line in inner]
        else:
            lines += ["    " + line for line in inner]
        if rule.warn_if_missing:
            lines += ["else:", f"    MISS{n}(s)"]
        return lines if when is None else [f"if {when}:"] + ["    " + line for line in lines]

    def _placeholder_test(self, name: str, var: str, ns: dict[str, Any], where: str) -> str | None:
        """An inline test "``var`` is one of this field's software defaults", or None when it has none."""
        declared = self.spec.fields.get(name)
        if declared is None or not declared.placeholders:
            return None
        key = f"PH{len(ns)}"
        ns[key] = frozenset(declared.placeholders)
        test = f"{var}.strip() in {key}"
        if declared.placeholder_when is not None:
            test += f" and {self._condition(declared.placeholder_when, where, ns)}"
        return test

    def _emit(self, n: int, rule: Rule, ns: dict[str, Any]) -> list[str]:
        where = f"mapping {self.spec.mapping}, règle {n + 1} ({rule.to})"
        to = rule.to
        indexes = [self._index(name, where) for name in rule.sources]
        sources = rule.sources
        severity = Severity.ERROR if (rule.required or rule.invalid == "error") else Severity.WARNING
        labels = self._labels
        missing_code = rule.code or ("E_REQUIRED_MISSING" if rule.required else "W_VALUE_MISSING")
        missing_severity = Severity.ERROR if rule.required else Severity.WARNING

        def missing(scope: RecordScope) -> None:
            label = labels(sources[0]) if sources else None
            msg = rule.message or (f"Valeur obligatoire absente : renseignez {label or to}." if rule.required
                                   else f"Valeur absente : renseignez {label or to} si l'information existe.")
            scope.issues.append(Issue(missing_code, msg, missing_severity, label, to, ""))

        def invalid(scope: RecordScope, raw: str, exc: ConversionError) -> None:
            label = labels(sources[0])
            code = "E_VALUE_INVALID" if severity is Severity.ERROR else "W_VALUE_IGNORED"
            tail = "" if severity is Severity.ERROR else " ; la valeur est ignorée"
            scope.issues.append(Issue(code, f"{label} : {exc}{tail}.", severity, label, to, raw))

        ns[f"MISS{n}"], ns[f"INV{n}"], ns[f"TO{n}"] = missing, invalid, to
        if to.startswith("@"):
            target = scalar_target = f"out[{to[1:]!r}] = {{}}"
        else:
            keys = to.split(".")
            ns[f"K{n}"] = tuple(keys)
            target = f"_set(body, K{n}, {{}})"  # merges a dict value into an existing one
            chain = "body" + "".join(f".setdefault({k!r}, {{{{}}}})" for k in keys[:-1])
            scalar_target = f"{chain}[{keys[-1]!r}] = {{}}"
        body: list[str] = [f"# rule {n + 1}: {to}"]
        when = self._condition(rule.when, where, ns) if rule.when is not None else None

        if rule.value is not None:
            ns[f"C{n}"] = rule.value
            if isinstance(rule.value, (dict, list)):
                body.append(target.format(f"_fresh(C{n})"))
            else:  # a scalar merges into nothing: written like a converted value
                body.append(scalar_target.format(f"C{n}"))
        elif rule.convert is not None:
            fn = (SPREADSHEET_CONVERTERS if self.spec.values == "spreadsheet" else CONVERTERS).get(rule.convert)
            if fn is None:
                raise MappingError(f"{where}: convertisseur inconnu « {rule.convert} »")
            if len(indexes) != 1:
                raise MappingError(f"{where}: convert lit un seul champ")
            ns[f"C{n}"], ns[f"M{n}"] = fn, {}
            # Converters are pure and return scalars, and a feed repeats most short values
            # ("3", "OUI", "75011", "2021"): a per-rule memo answers those with one dict lookup.
            body += self._guarded(n, rule, indexes[0], ns, where, when=when, inner=[
                f"val = M{n}.get(raw, _NOROW)",
                "if val is _NOROW:",
                "    try:",
                f"        val = C{n}(raw)",
                "    except ConversionError as exc:",
                f"        INV{n}(s, raw, exc)  # val stays _NOROW: nothing written, nothing memoised",
                "    else:",
                f"        if len(raw) <= {_MEMO_KEY_MAX} and len(M{n}) < {_MEMO_SIZE}:",
                f"            M{n}[raw] = val",
                "if val is not _NOROW:",
                f"    {scalar_target.format('val')}"])
            when = None
        elif rule.table is not None:
            rows = self._tables.get(rule.table)
            if rows is None:
                raise MappingError(f"{where}: table inconnue « {rule.table} »")
            column = rule.column
            table = {k: (row.get(column) if isinstance(row, dict) else row) for k, row in rows.items()}
            ns[f"T{n}"] = table
            if len(indexes) > 1:
                second = indexes[1]

                def find_row(raw: str, sub: str, table: dict[str, Any] = table) -> Any:
                    # "type > sub-type", then "* > sub-type", then "type".
                    key = fold(raw)
                    if sub:
                        sub = fold(sub)
                        for k in (f"{key} > {sub}", f"* > {sub}"):
                            if k in table:
                                return table[k]
                    return table.get(key, _NOROW)

                def lookup(v: Sequence[str], raw: str, second: int = second, find_row: Callable[..., Any] = find_row,
                           memo: dict[tuple[str, str], Any] = {}) -> Any:  # noqa: B006 (the memo, per rule)
                    # A feed spells its (type, sub-type) pairs a handful of ways: each is looked up once.
                    pair = (raw, v[second])
                    row = memo.get(pair, memo)
                    if row is memo:
                        row = find_row(*pair)
                        if len(memo) < _MEMO_SIZE and len(raw) + len(pair[1]) <= 2 * _MEMO_KEY_MAX:
                            memo[pair] = row
                    return row
                ns[f"L{n}"] = lookup
                find = f"L{n}(v, raw)"
            else:
                find = f"T{n}.get(_fold(raw), _NOROW)"
            rows_set = [x for x in table.values() if x is not None]
            container = any(isinstance(x, (dict, list)) for x in rows_set)
            # Rows that are all flat objects or lists ({apartment: FLAT}): a shallow copy is a fresh one.
            flat = container and all(
                isinstance(x, (dict, list)) and not any(isinstance(y, (dict, list)) for y in
                                                        (x.values() if isinstance(x, dict) else x))
                for x in rows_set)
            write = (target.format("val.copy()") if flat else target.format("_fresh(val)") if container
                     else scalar_target.format("val"))
            body += self._guarded(n, rule, indexes[0], ns, where, when=when, inner=[
                f"val = {find}",
                "if val is _NOROW:",
                f"    INV{n}(s, raw, ConversionError(f'« {{raw}} » n\\'est pas une valeur reconnue pour ce champ'))",
                "elif val is not None:",
                f"    {write}"])
            when = None
        else:
            fn_b = BUILDERS.get(rule.build)  # type: ignore[arg-type]
            if fn_b is None:
                raise MappingError(f"{where}: constructeur inconnu « {rule.build} »")
            ns[f"B{n}"] = fn_b
            args, prepare = [], []
            for k, (name, i) in enumerate(zip(sources, indexes, strict=True)):
                blank = self._blank(name)
                if not blank >= BLANK_MARKERS & self._default_blank:
                    # Builders treat the converters' markers as blank (is_blank): they cannot see a 0
                    # this field declares meaningful. Adding markers or placeholders is fine. (A feed
                    # whose format has no such markers, a spreadsheet, declares nothing meaningful here.)
                    raise MappingError(f"{where}: « {name} » redéfinit ses valeurs vides, un constructeur ne peut pas le lire")
                check = self._placeholder_test(name, f"a{k}", ns, where)
                # builders know only the converters' markers (is_blank): clear any other this field uses
                if not blank <= _BUILDER_BLANK or check:
                    ns[f"BL{n}_{k}"] = blank
                    prepare += [f"a{k} = v[{i}]", f"if a{k} in BL{n}_{k}:", f"    a{k} = ''"]
                    if check:
                        prepare += [f"elif {check}:", f"    _placeholder(s, {name!r}, a{k}, TO{n})", f"    a{k} = ''"]
                    args.append(f"a{k}")
                else:
                    args.append(f"v[{i}]")
            raws = ", ".join(args)
            ns[f"SRC{n}"] = tuple(sources)
            call = prepare + [f"s._rule_to = TO{n}", f"s.source_names = SRC{n}",
                    "try:",
                    f"    val = B{n}([{raws}], s)",
                    "except ConversionError as exc:",
                    f"    INV{n}(s, v[{indexes[0]}], exc)",
                    "else:",
                    "    if type(val) is dict:",  # a subtree merges into what earlier rules wrote
                    f"        {target.format('val')}",
                    "    elif val is not None:",
                    f"        {scalar_target.format('val')}"]
            if rule.required or rule.warn_if_missing:
                call += ["    else:", f"        MISS{n}(s)"]
            if fn_b in EMPTY_IS_NOTHING:
                # Most of a listing's fields are empty: skip the call (and its argument list) then.
                # Empty as each field says (its blank markers): a headline "0" is no headline.
                for k, name in enumerate(sources):
                    ns[f"BE{n}_{k}"] = self._blank(name)
                any_filled = " or ".join(f"(v[{i}] and v[{i}] not in BE{n}_{k})" for k, i in enumerate(indexes))
                if rule.required or rule.warn_if_missing:
                    call = [f"if {any_filled}:"] + ["    " + line for line in call] + ["else:", f"    MISS{n}(s)"]
                else:
                    test = f"({any_filled}) and {when}" if when is not None else any_filled
                    call, when = [f"if {test}:"] + ["    " + line for line in call], None
            body += call

        if when is not None:
            body = [body[0], f"if {when}:"] + ["    " + line for line in body[1:]]
        return ["    " + line for line in body]

    def _placeholder(self, scope: RecordScope, name: str, raw: str, to: str) -> None:
        """A field's software default (``01/01/2000`` for a DPE date…): not a fact about the
        property, so it is not sent; the report counts it (« valeur par défaut ignorée »)."""
        label = self._labels(name)
        if any(i.code == "W_PLACEHOLDER_IGNORED" and i.source_field == label for i in scope.issues):
            return  # one line per field, however many rules read it
        scope.issues.append(Issue(
            "W_PLACEHOLDER_IGNORED",
            f"{label} : « {raw} » est une valeur par défaut du logiciel, pas une donnée du bien "
            "(valeur par défaut ignorée) ; laissez le champ vide ou renseignez la vraie valeur.",
            Severity.WARNING, label, to, raw))

    def apply(self, record: SourceRecord, feed: FeedContext) -> Mapped:
        scope = RecordScope(record, feed, self.spec.settings, self._labels)
        values = record.values
        if len(values) < self._width:
            values = list(values) + [""] * (self._width - len(values))
        self._run(values, scope)
        return Mapped(scope.body, scope.issues, scope.outputs, values)
