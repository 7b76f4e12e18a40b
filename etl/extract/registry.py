"""Format name → implementation, and detection: which registered format a source is.

Adding a format is one folder beside ``poliris/`` and one line in ``_BUILTIN``; a package may
also declare formats under the ``classifieds_etl.formats`` entry-point group, and a test may
``register`` one of its own.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Final

from etl.errors import ConfigError, UnsupportedFeed
from etl.extract.base import NOTHING, Feed, FeedFormat
from etl.extract.container import DEFAULT_LIMITS, ArchiveLimits, Container, open_container
from etl.extract.sniff import describe

AUTO: Final = "auto"
SURE: Final = 0.5  # below this, a format does not claim a source
_BUILTIN: Final = {
    "poliris": "etl.extract.poliris:FORMAT",
    "kyero": "etl.extract.xml.dialects:KYERO",
    "ubiflow": "etl.extract.xml.dialects:UBIFLOW",
    "trovit": "etl.extract.xml.dialects:TROVIT",
    "openimmo": "etl.extract.xml.dialects:OPENIMMO",
    "xml": "etl.extract.xml.generic:FORMAT",
    "csv": "etl.extract.delimited:FORMAT",
    "excel": "etl.extract.spreadsheet:FORMAT",
}
_ENTRY_POINTS: Final = "classifieds_etl.formats"

_formats: dict[str, FeedFormat] | None = None


def formats() -> dict[str, FeedFormat]:
    """Every registered format, by name (built-in ones first)."""
    global _formats
    if _formats is None:
        found: dict[str, FeedFormat] = {}
        for name, target in _BUILTIN.items():
            found[name] = _load(target)
        for ep in entry_points(group=_ENTRY_POINTS):
            found.setdefault(ep.name, ep.load())
        _formats = found
    return _formats


def _load(target: str) -> FeedFormat:
    module, _, attr = target.partition(":")
    fmt: FeedFormat = getattr(importlib.import_module(module), attr)
    return fmt


def register(fmt: FeedFormat) -> None:
    """Make a format available under ``fmt.name`` (replacing one of that name)."""
    formats()[fmt.name] = fmt


def unregister(name: str) -> None:
    formats().pop(name, None)


def get_format(name: str) -> FeedFormat:
    try:
        return formats()[name]
    except KeyError:
        known = ", ".join(sorted(formats()))
        raise ConfigError(f"format « {name} » inconnu (formats disponibles : {known}, ou {AUTO})") from None


def detect(container: Container, expected: str = AUTO) -> FeedFormat:
    """The format of a source, from its content. ``expected`` (``--format``, a mapping's or an
    agency's ``format:``) must agree with the content; ``auto`` takes the surest claim.
    Raises ``UnsupportedFeed`` (exit 4) naming what the source looks like."""
    claims = sorted(((fmt.detect(container).confidence, name) for name, fmt in formats().items()), reverse=True)
    best_score, best = claims[0] if claims else (0.0, None)
    if expected != AUTO:
        wanted = get_format(expected)
        if dict((n, s) for s, n in claims).get(expected, 0.0) >= SURE or (_empty(container) and best_score < SURE):
            return wanted
        seen = formats()[best].title if best is not None and best_score >= SURE else describe(container)
        raise UnsupportedFeed(f"{container.name} : {seen}, alors que la configuration attend un {wanted.title} ; "
                              "vérifiez le fichier envoyé ou le format configuré.")
    if best is not None and best_score >= SURE:
        return formats()[best]
    if _empty(container):
        return get_format(next(iter(formats())))  # an empty send is an empty feed, not an unknown format
    known = ", ".join(fmt.title for fmt in formats().values())
    raise UnsupportedFeed(f"{container.name} : {describe(container)} : format non pris en charge par cette configuration "
                          f"(formats reconnus : {known}).")


def _empty(container: Container) -> bool:
    if container.kind == "file":
        return not container.head(None, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return not container.members


def open_feed(source: str | Path, *, format: str = AUTO, agency_id: str | None = None,
              options: Mapping[str, Any] = NOTHING, limits: ArchiveLimits = DEFAULT_LIMITS) -> Feed:
    """Open a source with the format its content shows (or the one required, if it agrees)."""
    container, fmt = identify(source, format=format, limits=limits)
    return fmt.open(container, agency_id=agency_id, options=options)


def identify(source: str | Path, *, format: str = AUTO,
             limits: ArchiveLimits = DEFAULT_LIMITS) -> tuple[Container, FeedFormat]:
    """The source, opened safely, and its format (``detect``): for callers that need the format
    before they open the feed (its default mapping holds the options to open it with)."""
    container = open_container(source, limits=limits)
    return container, detect(container, format)
