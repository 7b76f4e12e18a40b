"""One Poliris line → its values, tolerant of what real exports do.

Wire format: values wrapped in ``"``, separated by ``!#``; no escaping of any kind. Seen in
the wild and in the spec's own examples: spaces around ``!#``, a trailing ``!#``, unquoted
values, a value missing its closing (or opening) quote, ``"`` left inside a value.

Fast path: a line that starts and ends with ``"`` is split on ``"!#"``; it is *clean* when it
then holds exactly two quotes per value (so no value contains a quote and none was missing
one), which is the case for almost every line. Anything else goes through ``_careful``,
where each ``!#`` is judged by its neighbours:

* a quote on either side (ignoring blanks) makes it a separator, so a missing quote on one
  side (``"OUI!#"NON"``) or an unquoted value (``"a"!#10!#"b"``) never shifts the columns;
* a bare ``!#`` (letters on both sides) is text when it sits inside a value that opened with
  a quote ("Affaire !# à saisir"), a separator between unquoted values. When the caller knows
  the row width and that reading misses it, the other reading (every ``!#`` separates) is
  tried, also for a clean-looking line: ``"OUI!#NON"`` is one value, or two values that
  each lost a quote.
"""

from __future__ import annotations

import re
from typing import Final

_BR_RE: Final = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_BLANKS: Final = " \t"


def normalise(text: str) -> str:
    """Format-level clean-up of a decoded line: ``<BR>`` and stray CRs → "\\n", no-break space → space."""
    if "<" in text:
        text = text.replace("<BR>", "\n")
        if "<" in text:
            text = text.replace("<br>", "\n")
            if "<" in text:
                text = _BR_RE.sub("\n", text)
    if "\xa0" in text:
        text = text.replace("\xa0", " ")
    if "\r" in text:
        text = text.replace("\r", "\n")
    return text


def split_fields(text: str, width: int | None = None) -> tuple[list[str], bool, list[int]]:
    """Split a line (already normalised, not blank) into its values.

    Returns ``(values, clean, quote_repairs)``: ``clean`` is True for a perfectly formed line;
    ``quote_repairs`` lists the 1-based ranks of values that had a lone quote.
    """
    s = text.strip()
    if s.endswith("!#"):
        s = s[:-2].rstrip()
    if len(s) > 1 and s[0] == '"' and s[-1] == '"':
        values = s[1:-1].split('"!#"')
        quotes = s.count('"')
        clean = quotes == 2 * len(values)
        if not clean and '" !# "' in s:  # the 4.09 spec's own example puts spaces around "!#"
            values = s[1:-1].replace('" !# "', '"!#"').split('"!#"')
            clean = quotes == 2 * len(values)
        if clean:
            if width is not None and len(values) != width:
                # '"OUI!#NON"' may be one value, or two that each lost a quote.
                other, other_repairs = _careful(s, weak_is_text=False)
                if len(other) == width:
                    return other, False, other_repairs
            return values, True, []
    values, repairs = _careful(s, weak_is_text=True)
    if width is not None and len(values) != width:
        other, other_repairs = _careful(s, weak_is_text=False)
        if len(other) == width:
            return other, False, other_repairs
    return values, False, repairs


def _opens_with_quote(s: str, start: int, end: int) -> bool:
    while start < end and s[start] in _BLANKS:
        start += 1
    return start < end and s[start] == '"'


def _careful(s: str, *, weak_is_text: bool) -> tuple[list[str], list[int]]:
    n = len(s)
    cuts: list[int] = []
    start = 0
    quoted = _opens_with_quote(s, 0, n)
    pos = s.find("!#")
    while pos >= 0:
        j = pos - 1
        while j >= start and s[j] in _BLANKS:
            j -= 1
        k = pos + 2
        while k < n and s[k] in _BLANKS:
            k += 1
        quote_beside = (j >= start and s[j] == '"') or (k < n and s[k] == '"')
        if quote_beside or not quoted or not weak_is_text:
            cuts.append(pos)
            start = pos + 2
            quoted = _opens_with_quote(s, start, n)
        pos = s.find("!#", pos + 2)
    values: list[str] = []
    repairs: list[int] = []
    prev = 0
    for rank, cut in enumerate([*cuts, n], start=1):
        v = s[prev:cut].strip()
        prev = cut + 2
        opens = v[:1] == '"'
        closes = len(v) > 1 and v[-1] == '"' if opens else v[-1:] == '"'
        if opens and closes:
            v = v[1:-1]
        elif opens or closes:
            v = v[1:] if opens else v[:-1]
            repairs.append(rank)
        values.append(v)
    return values, repairs
