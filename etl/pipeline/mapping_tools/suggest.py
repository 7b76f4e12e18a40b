"""``mapping suggest``: a draft mapping for a spreadsheet nobody has mapped yet.

Each column of the file is scored against each column of the template mapping
(``generic-csv``: its names and header spellings) twice: by its header (same words, close
spelling) and by its content (postcodes, prices, surfaces, URLs, dates, e-mails, GPS
coordinates, transaction and property words). The best pairs win, one column per name; the
draft extends the template, so its rules and tables apply unedited, and it lists what it did
not match as comments. Value tables are pre-filled with the distinct values seen in the type
and transaction columns, each with the template's reading of it when one word gives it away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Final

from etl.extract.tabular import header_key
from etl.mapping import MappingSpec, load_mapping
from etl.mapping.converters import ConversionError, fold, sheet_date, strict_number

TEMPLATE: Final = "generic-csv"
SAMPLE_ROWS: Final = 200
MIN_SCORE: Final = 0.45


def _numbers(values: Sequence[str]) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(float(strict_number(v)))
        except (ConversionError, ValueError):
            pass
    return out


def _share(values: Sequence[str], test: Callable[[str], bool]) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _numeric_share(values: Sequence[str], low: float, high: float, *, whole: bool = False) -> float:
    nums = _numbers(values)
    if not values or len(nums) < 0.8 * len(values):
        return 0.0
    return sum(1 for x in nums if low <= x <= high and (not whole or x.is_integer())) / len(values)


def _is_date(v: str) -> bool:
    try:
        sheet_date(v)
        return not re.fullmatch(r"\d+(\.\d+)?", v.strip())  # a plain number is not taken for a date
    except ConversionError:
        return False


_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


def _content_scores(values: Sequence[str], spec: MappingSpec) -> dict[str, float]:
    """Column name → how much these values look like what it holds (0-1)."""
    v = [x for x in values if x.strip()]
    if not v:
        return {}
    words = {fold(x) for x in v}
    property_words = set(spec.tables.get("property", {}))
    transaction_words = set(spec.tables.get("transaction", {}))
    avg_len = sum(map(len, v)) / len(v)
    distinct = len(set(v)) / len(v)
    scores = {
        "postal_code": _share(v, lambda x: bool(re.fullmatch(r"(0[1-9]|[1-8]\d|9[0-8])\d{3}|[1-9]\d{3}", x.strip()))),
        "price": _numeric_share(v, 50, 50_000_000) * (1.0 if max(_numbers(v) or [0]) >= 10_000 else 0.6),
        "charges": _numeric_share(v, 0, 2_000) * 0.5,
        "living_area": _numeric_share(v, 8, 5_000) * 0.6,
        "land_area": _numeric_share(v, 50, 1_000_000) * 0.3,
        "rooms": _numeric_share(v, 1, 30, whole=True) * 0.5,
        "bedrooms": _numeric_share(v, 0, 20, whole=True) * 0.4,
        "year_built": _numeric_share(v, 1700, 2030, whole=True) * 0.7,
        "latitude": _numeric_share(v, 41, 51.5) * (1.0 if any("." in x or "," in x for x in v) else 0.0),
        "longitude": _numeric_share(v, -5.5, 10) * (1.0 if any(("." in x or "," in x) and x.strip("-0") for x in v) else 0.0),
        "photos": _share(v, lambda x: bool(_URL.match(x.strip()))),
        "contact_email": _share(v, lambda x: bool(_EMAIL.fullmatch(x.strip()))),
        "available_from": _share(v, _is_date) * 0.8,
        "transaction_type": sum(1 for w in words if w in transaction_words or any(t in w for t in ("vente", "location")))
                           / len(words) if len(words) <= 12 else 0.0,
        "property_type": sum(1 for w in words if w in property_words or any(p in w for p in property_words if len(p) > 4))
                         / len(words) if len(words) <= 40 else 0.0,
        "description": 1.0 if avg_len > 120 else 0.0,
        "title": 0.6 if 15 <= avg_len <= 90 and distinct > 0.5 and not _numbers(v) else 0.0,
        "reference": 0.5 if distinct == 1.0 and avg_len <= 24 and len(v) > 1 else 0.0,
        "energy_class": _share(v, lambda x: x.strip().upper() in tuple("ABCDEFG")) * 0.6,
        "city": 0.3 if distinct < 0.9 and 3 <= avg_len <= 30 and not _numbers(v) else 0.0,
    }
    return {k: s for k, s in scores.items() if s > 0}


_DETECTED: Final = frozenset({"postal_code", "price", "charges", "living_area", "land_area", "rooms", "bedrooms",
                              "year_built", "latitude", "longitude", "photos", "contact_email", "available_from",
                              "transaction_type", "property_type", "description", "title", "reference",
                              "energy_class", "city"})


_STOP: Final = frozenset({"a", "au", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "par", "sur"})
# Content no other column has: it decides even under a header that says nothing.
_TELLING: Final = frozenset({"contact_email", "photos", "postal_code", "latitude", "longitude", "description"})


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", fold(text)) if w not in _STOP]


def _hit(alias_word: str, header_words: Sequence[str]) -> bool:
    """Same word, or an abbreviation of it (« Nb ch. » for « Nb chambres », « dispo »)."""
    return any(h == alias_word or (len(h) >= 2 and alias_word.startswith(h)) for h in header_words)


def _name_score(header: str, name: str, spellings: Sequence[str]) -> float:
    """1 for a known spelling; 0.7-0.95 when every word of a spelling is in the header (the more
    of the header it explains, the higher); a close spelling otherwise."""
    key = header_key(header)
    if not key:
        return 0.0
    keys = [header_key(name), *(header_key(s) for s in spellings)]
    if key in keys:
        return 1.0
    best = max(SequenceMatcher(None, key, k).ratio() for k in keys if k)
    best = best if best >= 0.8 else best * 0.5
    words = _words(header)
    for spelling in spellings:
        alias = _words(spelling)
        if alias and words and all(_hit(w, words) for w in alias):
            used = sum(1 for h in words if any(a == h or a.startswith(h) for a in alias)) / len(words)
            best = max(best, 0.7 + 0.25 * used)
    return best


@dataclass(frozen=True, slots=True)
class Match:
    column: str  # the file's header
    name: str  # the template's column
    score: float
    by: str  # "nom", "contenu" or "nom et contenu"


def match_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], spec: MappingSpec) -> list[Match]:
    """The file's columns → the template's names, best pairs first, one each."""
    spellings: dict[str, list[str]] = spec.source.get("columns", {})
    candidates: list[Match] = []
    for i, header in enumerate(headers):
        if not header:
            continue
        values = [r[i] for r in rows if i < len(r)]
        content = _content_scores(values, spec)
        for name, aliases in spellings.items():
            by_name = _name_score(header, name, aliases)
            by_content = content.get(name, 0.0)
            if name in _DETECTED:
                score = 0.6 * by_name + 0.4 * by_content + (0.1 if by_name >= 0.5 and by_content >= 0.5 else 0.0)
                score = max(score, (0.9 if name in _TELLING else 0.6) * by_content)
            else:
                score = by_name
            if score >= MIN_SCORE:
                by = "nom et contenu" if by_name >= 0.5 and by_content >= 0.5 else "nom" if by_name >= by_content else "contenu"
                candidates.append(Match(header, name, round(min(score, 1.0), 2), by))
    chosen: list[Match] = []
    used_cols: set[str] = set()
    used_names: set[str] = set()
    for m in sorted(candidates, key=lambda m: -m.score):
        if m.column not in used_cols and m.name not in used_names:
            chosen.append(m)
            used_cols.add(m.column)
            used_names.add(m.name)
    return sorted(chosen, key=lambda m: headers.index(m.column))


def _table_rows(values: Sequence[str], table: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Distinct values of a column → the template table's row for each (when a known word is in
    it: « Appartement T3 » reads as « appartement »), and those it cannot read."""
    known: dict[str, Any] = {}
    unknown: list[str] = []
    for value in dict.fromkeys(v.strip() for v in values if v.strip()):
        key = fold(value)
        if key in table:
            continue  # the template already reads it
        word = next((k for k in sorted(table, key=len, reverse=True) if len(k) > 2 and k in key), None)
        if word is not None:
            known[value] = table[word]
        else:
            unknown.append(value)
    return known, unknown


def suggest(headers: Sequence[str], rows: Sequence[Sequence[str]], *, format: str, source_name: str,
            template: str = TEMPLATE) -> tuple[dict[str, Any], list[str], list[Match]]:
    """The draft (a mapping as a dict), comment lines to print above it, and the matches."""
    spec = load_mapping(template)
    matches = match_columns(headers, rows, spec)
    by_name = {m.name: m for m in matches}
    base_columns: dict[str, list[str]] = spec.source.get("columns", {})
    columns = {name: ([by_name[name].column] if name in by_name else []) for name in base_columns}
    source: dict[str, Any] = {"key": "reference", "columns": columns}
    comments = [f"Brouillon de mapping pour {source_name}, écrit par `classifieds-etl mapping suggest`.",
                f"Il reprend les règles et les tables de {template}.yaml ; vérifiez chaque colonne ci-dessous,",
                "puis essayez-le : classifieds-etl mapping check CE_FICHIER.yaml " + source_name, ""]
    comments.append("Colonnes reconnues (colonne du fichier → nom du modèle, reconnue par) :")
    comments += [f"  « {m.column} » → {m.name} ({m.by}, {m.score:.2f})" for m in matches]
    if "agency" in by_name:
        source["agency_column"] = "agency"
    else:
        comments += ["", "Pas de colonne agence : l'agence vient de la configuration (agencies.yaml) ou de --agency,",
                     "ou indiquez-la ici : source.agency_id."]
    if "reference" not in by_name:
        comments += ["", "ATTENTION : aucune colonne de référence reconnue ; indiquez-la dans source.columns.reference."]
    unmatched = [h for h in headers if h and h not in {m.column for m in matches}]
    if unmatched:
        comments += ["", "Colonnes non reconnues (non publiées ; ajoutez-les à source.columns si besoin) :"]
        comments += [f"  « {h} »{examples(headers, rows, h)}" for h in unmatched]
    draft: dict[str, Any] = {"mapping": source_name.rsplit(".", 1)[0], "extends": template, "format": format,
                             "source": source}
    add_value_tables(draft, comments, matches, headers, rows, spec)
    return draft, comments, matches


def examples(headers: Sequence[str], rows: Sequence[Sequence[str]], header: str) -> str:
    """« (ex. : a, b, c) »: up to three distinct values of a column, for a comment line."""
    i = list(headers).index(header)
    samples = list(dict.fromkeys(r[i] for r in rows if i < len(r) and r[i]))[:3]
    shown = ", ".join(s[:30].replace("\n", " ") for s in samples)
    return f" (ex. : {shown})" if shown else ""


def add_value_tables(draft: dict[str, Any], comments: list[str], matches: Sequence[Match], headers: Sequence[str],
                     rows: Sequence[Sequence[str]], spec: MappingSpec) -> None:
    """Give the draft the template's tables with the values seen in the type and transaction
    columns added (when one word of them gives their reading away); comment on those it cannot read."""
    by_name = {m.name: m for m in matches}
    tables: dict[str, Any] = {}
    for name, table in (("transaction_type", "transaction"), ("property_type", "property")):
        if name not in by_name:
            continue
        i = list(headers).index(by_name[name].column)
        known, unknown = _table_rows([r[i] for r in rows if i < len(r)], spec.tables.get(table, {}))
        if known or unknown:
            tables[table] = {**spec.tables[table], **known}
        if unknown:
            comments += ["", f"Valeurs de « {by_name[name].column} » sans équivalent (ajoutez-les à tables.{table}) :",
                         "  " + ", ".join(f"« {u} »" for u in unknown[:20])]
    if tables:
        draft["tables"] = {**spec.tables, **tables}
