"""French wording and formatting shared by every report format."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from etl.issues import Severity

SEVERITY_LABELS: dict[str, str] = {Severity.ERROR: "erreur", Severity.WARNING: "avertissement"}

_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_SLUG_MAX = 60


def agency_slug(agency_id: str) -> str:
    """A file-name-safe form of an agency id: ASCII letters, digits, ``.``, ``_``, ``-`` only."""
    ascii_id = unicodedata.normalize("NFKD", agency_id).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_BAD.sub("-", ascii_id).strip(".-")[:_SLUG_MAX].strip(".-")
    return slug or "inconnue"


def agency_file_names(agency_ids: Iterable[str], *, prefix: str = "report-",
                      suffix: str = ".html") -> dict[str, str]:
    """One distinct file name per agency; ids that sanitise alike get a short hash of the id."""
    ids = sorted(set(agency_ids))
    slugs = {a: agency_slug(a) for a in ids}
    # Grouped case-insensitively: "Agence" and "agence" are one file on macOS and Windows.
    groups: dict[str, list[str]] = {}
    for a in ids:
        groups.setdefault(slugs[a].lower(), []).append(a)
    names: dict[str, str] = {}
    for members in groups.values():
        # An id that already is a clean name keeps it, so it stays stable from run to run;
        # the others get a short hash of their id.
        keeper = next((a for a in members if slugs[a] == a), None) if len(members) > 1 else members[0]
        for a in members:
            slug = slugs[a]
            if a != keeper:
                slug = f"{slug}-{hashlib.sha256(a.encode()).hexdigest()[:8]}"
            names[a] = f"{prefix}{slug}{suffix}"
    return names


# What a spreadsheet reads as the start of a formula (CSV / formula injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """Stop a spreadsheet from reading agency text as a formula (CSV injection)."""
    if text.startswith(FORMULA_LEADS):
        return "'" + text
    return text
