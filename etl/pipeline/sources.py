"""Where an agency's feed comes from (path, glob, URL) and how it becomes Outcomes.

Conversion proper is ``etl.pipeline.convert``; the ``payloads-jsonl`` format
loads what ``classifieds-etl convert`` wrote (``payloads.jsonl``), so a feed
can be converted and checked first, then loaded as is.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson

from etl.records import SourceLocation
from etl.errors import SourceMissing, SourceUnreadable
from etl import __version__
from etl.agencies import Agency, LoadedConfig
from etl.extract.fetch import fetch
from etl.mapping import MAPPINGS_DIR
from etl.pipeline.convert import AgencyOptions, convert
from etl.records import FeedFacts
from etl.outcome import ListingKey, Outcome

PAYLOADS_FORMAT = "payloads-jsonl"


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


@dataclass(frozen=True, slots=True)
class Tonight:
    """The feed to read tonight. ``path`` is None when a URL feed has not changed since the last
    clean run under the same configuration (the server answered 304): nothing to convert or send."""

    path: Path | None
    url: str | None = None  # the agency's URL, for a downloaded feed
    validators: dict[str, str] = field(default_factory=dict)  # the download's ETag / Last-Modified


def resolve_source(cfg: LoadedConfig, agency: Agency, work_dir: Path, *,
                   validators: Mapping[str, str] | None = None) -> Tonight:
    """The one file to read tonight. Raises SourceMissing (exit 4) when there is none.
    ``validators``: what the last clean run's download answered, for a conditional GET."""
    src = agency.source
    if is_url(src):
        dest = Path(tempfile.mkdtemp(prefix=f"feed-{agency.id}-", dir=work_dir))
        got = fetch(src, dest, validators=validators)
        if got.path is None:  # unchanged (304): nothing was written
            dest.rmdir()
        return Tonight(got.path, src, dict(got.validators))
    pattern = str(cfg.resolve_path(src))
    if glob.has_magic(pattern):
        matches = [Path(p) for p in glob.glob(pattern) if os.path.isfile(p)]
        if not matches:
            raise SourceMissing(f"aucun fichier ne correspond à {pattern}")
        return Tonight(max(matches, key=lambda p: (p.stat().st_mtime, p.name)))
    path = Path(pattern)
    if not path.exists():
        raise SourceMissing(f"fichier de flux introuvable : {path}")
    return Tonight(path)


def config_fingerprint(cfg: LoadedConfig, agency: Agency) -> str:
    """What decides how a feed converts, besides the feed: the agency's settings, its portal rules,
    its mapping (or every built-in one) and this tool's version. A 304 skips the night only when
    this is unchanged too."""
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(agency.model_dump_json().encode())
    digest.update(cfg.portal_rules(agency).model_dump_json().encode())
    mappings = [cfg.resolve_path(agency.mapping)] if agency.mapping else sorted(MAPPINGS_DIR.glob("*.yaml"))
    for path in mappings:
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def _key_of(raw: Any, agency_id: str) -> ListingKey | None:
    if isinstance(raw, dict):
        sk = raw.get("source_key")
    elif isinstance(raw, (list, tuple)) and len(raw) == 2:
        sk = raw[1]
    elif isinstance(raw, str):
        sk = raw.split("/", 1)[1] if raw.startswith(agency_id + "/") else raw
    else:
        sk = None
    return ListingKey(agency_id, str(sk)) if sk not in (None, "") else None


def read_payloads(path: Path, agency_id: str, stats: FeedFacts | None = None) -> Iterator[Outcome]:
    """Outcomes from a ``payloads.jsonl`` (one accepted listing per line)."""
    from etl.issues import error
    from etl.model.canonical import payload_and_hash

    n = 0
    try:
        f = path.open("rb")
    except OSError as exc:
        raise SourceUnreadable(f"{path}: illisible ({exc.strerror})") from None
    with f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            loc = SourceLocation(str(path), line_no, n)
            try:
                rec = orjson.loads(line)
                body = rec["body"]
                key = _key_of(rec.get("listing_key"), agency_id)
                oeid = body["data"]["metaData"]["source"]["offererEstateId"]
                reference = body["data"]["metaData"]["source"].get("offererMarketingKey", "")
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                if not line.endswith(b"\n"):
                    # a last line cut short: the upload was truncated
                    if stats is not None:
                        stats.mark_incomplete(f"{path}:{line_no}: dernière ligne tronquée")
                yield Outcome(loc, None, "", False, issues=[error(
                    "E_PAYLOAD_UNREADABLE", f"ligne {line_no} de {path.name} illisible ({type(exc).__name__})")])
                continue
            if key is None:
                key = ListingKey(agency_id, oeid)
            payload, body_hash = payload_and_hash(body)
            yield Outcome(loc, key, reference, True, body=body, body_hash=body_hash,
                          requested_portals=list(body.get("portals", [])), portals=list(body.get("portals", [])),
                          payload=payload)
    if stats is not None:
        stats.records = n


def outcomes(cfg: LoadedConfig, agency: Agency, path: Path, stats: FeedFacts, *, workers: int = 1) -> Iterator[Outcome]:
    """The agency's outcomes tonight: what ``convert`` wrote (``payloads-jsonl``), or its feed
    converted with its mapping (or its format's own), keeping its own records of a grouped send."""
    if agency.format == PAYLOADS_FORMAT:
        stats.format = PAYLOADS_FORMAT
        return read_payloads(path, agency.id, stats)
    mapping = str(cfg.resolve_path(agency.mapping)) if agency.mapping else None
    options = AgencyOptions(portal_rules=cfg.portal_rules(agency), photo_base_url=agency.photo_base_url,
                            source_system=agency.source_system, offerer_estate_id=agency.offerer_estate_id)
    return convert(path, agency_id=agency.id, mapping=mapping, stats=stats, only_agency=agency.id,
                   options_for=lambda _agency: options, format=agency.format, source_options=agency.source_options,
                   workers=workers)
