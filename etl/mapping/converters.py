"""Single-value converters: a raw source string → a JSON value for the AVIV body.

Each converter is a pure function ``(raw: str) -> value`` that raises
``ConversionError`` with a French message an agency can act on. Empty input
never reaches a converter (the engine skips empty values), but Poliris writes
"empty" as ``0`` or ``00/00/0000`` in optional fields: ``is_blank`` knows that.
"""

from __future__ import annotations

import re
import unicodedata
from math import isfinite as _isfinite
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from etl.records import SOFTWARE_BLANKS

PARIS = ZoneInfo("Europe/Paris")


class ConversionError(ValueError):
    """A value that cannot be converted; the message is shown to the agency."""


BLANK_MARKERS = SOFTWARE_BLANKS  # the default empties of every converter and builder


def is_blank(raw: str) -> bool:
    """Poliris writes an absent optional value as ``0`` or ``00/00/0000``."""
    return not raw or raw in BLANK_MARKERS


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive key for matching enumerated source values."""
    text = unicodedata.normalize("NFKD", text.strip().casefold().replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


# --- numbers -----------------------------------------------------------------------------------

_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f€]|eur(os?)?$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _normalise_number(raw: str) -> str:
    s = _NUMBER_JUNK.sub("", raw.strip())
    if _PLAIN_NUMBER.fullmatch(s):  # the common case: "2950000.00", "58.4", "4"
        return s
    s = s.replace("'", "")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        # The right-most separator is the decimal one: "495.000,00" and "495,000.00".
        dec, thou = (",", ".") if s.rfind(",") > s.rfind(".") else (".", ",")
        s = s.replace(thou, "").replace(dec, ".")
    elif commas == 1:
        s = s.replace(",", ".")  # French decimal comma: "58,4"
    elif commas > 1:
        s = s.replace(",", "")
    elif dots > 1:
        s = s.replace(".", "")  # "1.250.000"
    return s


def number(raw: str) -> int | float:
    """French or dotted number → JSON number; whole values become ints so hashes are stable."""
    try:
        value = float(raw)  # the common case, "350000" or "58.4", needs no normalising
    except ValueError:
        try:
            value = float(_normalise_number(raw))
        except ValueError:
            raise ConversionError(f"« {raw} » n'est pas un nombre") from None
    if not _isfinite(value):  # NaN and ±inf
        raise ConversionError(f"« {raw} » n'est pas un nombre")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _non_negative(value: int | float, raw: str) -> int | float:
    if value < 0:
        raise ConversionError(f"« {raw} » est négatif")
    return value


def _numeric(parse: Callable[[str], int | float]) -> tuple[Callable[[str], Any], ...]:
    """The number converters over one reading of numbers (``number`` for Poliris' export formats,
    ``strict_number`` for a spreadsheet typed by hand, where « 1,250 » is ambiguous)."""

    def amount(raw: str) -> int | float:
        """A price or area: a number ≥ 0."""
        return _non_negative(parse(raw), raw)

    def positive_amount(raw: str) -> int | float:
        value = amount(raw)
        if value == 0:
            raise ConversionError("la valeur est 0")
        return value

    def integer(raw: str) -> int:
        value = parse(raw)
        if isinstance(value, float):
            raise ConversionError(f"« {raw} » n'est pas un nombre entier")
        return value

    def count(raw: str) -> int:
        return int(_non_negative(integer(raw), raw))

    def half_count(raw: str) -> int | float:
        """Room counts may be halves (AVIV ``numberOfRooms`` is a number)."""
        value = amount(raw)
        if value * 2 != int(value * 2):
            raise ConversionError(f"« {raw} » n'est pas un nombre de pièces valide")
        return value

    return amount, positive_amount, integer, count, half_count


amount, positive_amount, integer, count, half_count = _numeric(number)


# --- dates -------------------------------------------------------------------------------------

_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(raw: str) -> date:
    s = raw.strip()
    try:
        if m := _DMY.fullmatch(s):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _YMD.fullmatch(s[:10]):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ConversionError(f"« {raw} » n'est pas une date valide") from None
    raise ConversionError(f"« {raw} » n'est pas une date au format JJ/MM/AAAA")


@lru_cache(maxsize=4096)  # pure, and a feed repeats its dates (DPE dates, availability…)
def iso_date(raw: str) -> str:
    """DD/MM/YYYY → ``YYYY-MM-DD`` (AVIV ``format: date``)."""
    return parse_date(raw).isoformat()


def iso_datetime(raw: str) -> str:
    """DD/MM/YYYY → midnight in France as RFC 3339 with its offset (AVIV ``format: date-time``)."""
    d = parse_date(raw)
    return datetime.combine(d, time(0, 0), tzinfo=PARIS).isoformat()


_YEAR = re.compile(r"\d{4}")


@lru_cache(maxsize=1024)  # pure, and a feed repeats its years
def year_date(raw: str) -> str:
    """A reference year (``2021``) or a date (``01/01/2000``, seen in field 328) → ``YYYY-01-01``."""
    s = raw.strip()
    if _YEAR.fullmatch(s):
        year = int(s)
        if not 1900 <= year <= 2100:
            raise ConversionError(f"« {raw} » n'est pas une année plausible")
        return f"{year:04d}-01-01"
    return iso_date(s)


def year(raw: str) -> int:
    value = integer(raw)
    if not 1000 <= value <= 2100:
        raise ConversionError(f"« {raw} » n'est pas une année plausible")
    return value


# --- text and enumerations ---------------------------------------------------------------------


def text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ConversionError("le texte est vide")
    return value


_YES = frozenset({"oui", "o", "yes", "y", "1", "true", "vrai", "x"})
_NO = frozenset({"non", "n", "no", "0", "false", "faux"})


def boolean(raw: str) -> bool:
    key = raw.strip().casefold()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ConversionError(f"« {raw} » n'est ni OUI ni NON")


def tristate(raw: str) -> str:
    """OUI/NON → the AVIV string tri-state YES/NO."""
    return "YES" if boolean(raw) else "NO"


def upper(raw: str) -> str:
    return text(raw).upper()


_COUNTRIES = {
    "france": "FRA", "fr": "FRA", "fra": "FRA", "france metropolitaine": "FRA",
    "monaco": "MCO", "mc": "MCO", "mco": "MCO",
    "belgique": "BEL", "belgium": "BEL", "be": "BEL", "bel": "BEL",
    "suisse": "CHE", "switzerland": "CHE", "ch": "CHE", "che": "CHE",
    "luxembourg": "LUX", "lu": "LUX", "lux": "LUX",
    "espagne": "ESP", "spain": "ESP", "es": "ESP", "esp": "ESP",
    "italie": "ITA", "italy": "ITA", "it": "ITA", "ita": "ITA",
    "portugal": "PRT", "pt": "PRT", "prt": "PRT",
    "allemagne": "DEU", "germany": "DEU", "de": "DEU", "deu": "DEU",
    "royaume-uni": "GBR", "royaume uni": "GBR", "angleterre": "GBR", "gb": "GBR", "gbr": "GBR",
    "maroc": "MAR", "ma": "MAR", "mar": "MAR", "andorre": "AND", "and": "AND",
    "maurice": "MUS", "ile maurice": "MUS", "mus": "MUS",
    "guadeloupe": "GLP", "martinique": "MTQ", "guyane": "GUF", "la reunion": "REU", "reunion": "REU",
    "mayotte": "MYT", "nouvelle-caledonie": "NCL", "polynesie francaise": "PYF",
    "saint-martin": "MAF", "saint-barthelemy": "BLM", "saint-pierre-et-miquelon": "SPM",
}


def country_iso3(raw: str) -> str:
    """French country name or ISO code → ISO 3166 alpha-3 (what AVIV advises)."""
    key = fold(raw)
    if key in _COUNTRIES:
        return _COUNTRIES[key]
    if re.fullmatch(r"[a-z]{3}", key):
        return key.upper()
    raise ConversionError(f"pays « {raw} » inconnu : indiquez le nom du pays en français ou son code ISO")


# XML feeds (Kyero, Trovit…) name the country in English or in the country's own language
# (« Spain », « España »): these names on top of ``country_iso3``'s French names and ISO codes.
_FOREIGN_COUNTRY_NAMES = {
    "espana": "ESP", "francia": "FRA", "frankreich": "FRA", "italia": "ITA", "deutschland": "DEU",
    "united kingdom": "GBR", "uk": "GBR", "england": "GBR", "great britain": "GBR",
    "belgie": "BEL", "schweiz": "CHE", "svizzera": "CHE",
    "greece": "GRC", "grece": "GRC", "cyprus": "CYP", "chypre": "CYP", "malta": "MLT", "malte": "MLT",
    "croatia": "HRV", "croatie": "HRV", "bulgaria": "BGR", "bulgarie": "BGR", "turkey": "TUR", "turquie": "TUR",
    "morocco": "MAR", "netherlands": "NLD", "pays-bas": "NLD", "andorra": "AND", "mauritius": "MUS",
    "united arab emirates": "ARE", "emirats arabes unis": "ARE", "united states": "USA",
    "etats-unis": "USA", "ireland": "IRL", "irlande": "IRL", "austria": "AUT", "autriche": "AUT",
}


def country_any(raw: str) -> str:
    """A country as XML feeds write it (English, own language, French or ISO) → ISO 3166 alpha-3."""
    return _FOREIGN_COUNTRY_NAMES.get(fold(raw)) or country_iso3(raw)


def postal_code(raw: str) -> str:
    value = raw.strip().replace(" ", "")
    if re.fullmatch(r"\d{4}", value):
        value = "0" + value  # spreadsheets drop the leading zero of 06250
    if not re.fullmatch(r"\d{5}", value):
        raise ConversionError(f"« {raw} » n'est pas un code postal français à 5 chiffres")
    return value


def lowercase_language(raw: str) -> str:
    value = raw.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", value):
        raise ConversionError(f"« {raw} » n'est pas un code langue ISO à 2 lettres")
    return value


CONVERTERS = {
    "text": text,
    "upper": upper,
    "number": number,
    "amount": amount,
    "positive_amount": positive_amount,
    "integer": integer,
    "count": count,
    "half_count": half_count,
    "date": iso_date,
    "datetime": iso_datetime,
    "year_date": year_date,
    "year": year,
    "boolean": boolean,
    "tristate": tristate,
    "country": country_iso3,
    "country_any": country_any,
    "postal_code": postal_code,
    "language": lowercase_language,
}


# --- spreadsheet values (``values: spreadsheet`` in a mapping) -----------------------------------
# A CSV or Excel file typed by hand mixes French and English habits, so a number whose single
# separator could be either ("1,250", "1.250") is refused rather than guessed: reading it wrong
# publishes a price off by a factor of 1,000. Dates also come as "12/03/25" or as Excel serial days.

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_CURRENCY = re.compile(r"(€|eur(os?)?)$", re.IGNORECASE)
_GROUPED = re.compile(r"-?\d{1,3}(?:(?P<sep>[.,])\d{3})(?:(?P=sep)\d{3})*")


def strict_number(raw: str) -> int | float:
    """A number as a French or English writer meant it; an ambiguous one is an error, never a guess."""
    s = _CURRENCY.sub("", raw.strip()).strip()
    spaced = bool(_SPACES.search(s))  # "1 250,5": spaces group thousands, so the comma is decimal
    s = _SPACES.sub("", s)
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        dec, thou = (",", ".") if s.rfind(",") > s.rfind(".") else (".", ",")
        whole, _, frac = s.rpartition(dec)
        if not _GROUPED.fullmatch(whole) or thou not in whole:
            raise ConversionError(f"« {raw} » n'est pas un nombre")
        s = whole.replace(thou, "") + "." + frac
    elif dots + commas > 1:
        if not _GROUPED.fullmatch(s):
            raise ConversionError(f"« {raw} » n'est pas un nombre")
        s = s.replace(",", "").replace(".", "")  # "1.250.000", "1,250,000": thousands only
    elif dots + commas == 1:
        sep = "." if dots else ","
        whole, _, frac = s.partition(sep)
        if len(frac) == 3 and not spaced and whole.lstrip("-") not in ("", "0"):
            raise ConversionError(
                f"« {raw} » est ambigu (séparateur de milliers ou virgule décimale ?) : écrivez {whole}{frac} "
                f"ou {whole},{frac.rstrip('0') or '0'}, sans séparateur de milliers")
        s = whole + "." + frac
    return number(s) if s else number(raw)


_strict_amount, _strict_positive_amount, _strict_integer, _strict_count, _strict_half_count = _numeric(strict_number)


_DMY2 = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2})")
_SERIAL = re.compile(r"\d{5}(\.\d+)?")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
_SERIAL_RANGE = (18264, 73051)  # 1950-01-01 … 2099-12-31: other 5-digit numbers are not dates


def sheet_date(raw: str) -> date:
    """``12/03/2025``, ``12/03/25``, ``2025-03-12`` (a typed Excel date), or Excel serial days."""
    s = raw.strip()
    if m := _DMY2.fullmatch(s):
        yy = int(m[3])
        try:
            return date(2000 + yy if yy < 70 else 1900 + yy, int(m[2]), int(m[1]))
        except ValueError:
            raise ConversionError(f"« {raw} » n'est pas une date valide") from None
    if _SERIAL.fullmatch(s) and _SERIAL_RANGE[0] <= float(s) <= _SERIAL_RANGE[1]:
        return _EXCEL_EPOCH + timedelta(days=int(float(s)))
    return parse_date(s)


def _sheet_iso_date(raw: str) -> str:
    return sheet_date(raw).isoformat()


def _sheet_iso_datetime(raw: str) -> str:
    return datetime.combine(sheet_date(raw), time(0, 0), tzinfo=PARIS).isoformat()


def _sheet_year(raw: str) -> int:
    value = _strict_integer(raw)
    if not 1000 <= value <= 2100:
        raise ConversionError(f"« {raw} » n'est pas une année plausible")
    return value


def _sheet_year_date(raw: str) -> str:
    s = raw.strip()
    return year_date(s) if re.fullmatch(r"\d{4}", s) else _sheet_iso_date(s)


SPREADSHEET_CONVERTERS = {
    **CONVERTERS,
    "number": strict_number,
    "amount": _strict_amount,
    "positive_amount": _strict_positive_amount,
    "integer": _strict_integer,
    "count": _strict_count,
    "half_count": _strict_half_count,
    "date": _sheet_iso_date,
    "datetime": _sheet_iso_datetime,
    "year_date": _sheet_year_date,
    "year": _sheet_year,
}
