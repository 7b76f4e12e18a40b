"""String formats of the AVIV v4 schema: the patterns and predicates the types use.

The acceptance oracle is ``jsonschema`` (Draft 7, FormatChecker with rfc3339-validator),
so each check accepts what that checker accepts — except where the checker is looser than
the format it names, in which case the check is stricter, because a body must also pass the
real server (whose validator is ECMAScript-based): a date-time with a trailing newline, a
media title spanning lines, an e-mail without a domain. Stricter never breaks "the model
accepts ⇒ the oracle accepts". ``url`` is not a JSON-Schema format; its definition here is
the project's (docs/model.md).

The ``*_PATTERN`` strings mean the same under Python ``re`` and under the
Rust ``regex`` crate pydantic-core runs them with: a URL and a title per picture, a few dates
per listing, all checked without a call into Python.
"""

from __future__ import annotations

import re
from uuid import UUID

# `format: url`: http(s)://host[:port][/…|?…|#…], scheme in any case. The host is an ASCII
# RFC 3986 reg-name (an IDN goes in punycode): no `user:password@` (a credential must never
# travel in a listing), no IPv6 literal. No whitespace or control character anywhere: a raw
# space is not a URL.
URL_PATTERN = (
    r"^[hH][tT][tT][pP][sS]?://"
    r"[A-Za-z0-9._~%!$&'()*+,;=-]+"
    r"(?::[0-9]{1,5})?"
    r"(?:[/?#][^\s\x00-\x1f\x7f]*)?$"
)

# MediaTitle is `(?!(^\s+$))^.+$`: one line (ECMAScript's `.` refuses \n, \r, U+2028 and
# U+2029) that is not all whitespace, whitespace as either engine sees it (Python adds
# \x1c-\x1f, ECMAScript adds U+FEFF to Unicode's White_Space).
MEDIA_TITLE_PATTERN = r"^[^\n\r\u2028\u2029]*[^\s\x1c-\x1f\ufeff][^\n\r\u2028\u2029]*$"

# `format: date` as jsonschema checks it (YYYY-MM-DD that `date.fromisoformat` accepts),
# written out so that pydantic-core checks it without calling Python: year 0001-9999,
# months of 30 and 31 days, 29 February in leap years only.
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DAY = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    rf"|{_LEAP}-02-29)"
)
DATE_PATTERN = rf"^{_DAY}$"
# `format: date-time` (RFC 3339 §5.6) as jsonschema + rfc3339-validator check it: the value
# upper-cased, so `t` and `z` pass; the offset is mandatory; no leap second.
DATE_TIME_PATTERN = (
    rf"^{_DAY}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)

_URL = re.compile(URL_PATTERN)
_MEDIA_TITLE = re.compile(MEDIA_TITLE_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def is_url(value: str) -> bool:
    return _URL.fullmatch(value) is not None


def is_media_title(value: str) -> bool:
    return _MEDIA_TITLE.fullmatch(value) is not None


def is_date(value: str) -> bool:
    return _DATE.fullmatch(value) is not None


def is_date_time(value: str) -> bool:
    return _DATE_TIME.fullmatch(value) is not None


def is_email(value: str) -> bool:
    """`format: email`: ``local@domain.tld`` (jsonschema only asks for an ``@``)."""
    return _EMAIL.fullmatch(value) is not None


def is_uuid(value: str) -> bool:
    """`format: uuid`, as jsonschema checks it: parses, hyphens at 8, 13, 18 and 23."""
    try:
        UUID(value)
    except ValueError:
        return False
    return all(value[i] == "-" for i in (8, 13, 18, 23))
