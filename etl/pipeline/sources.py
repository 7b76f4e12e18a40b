"""Where an agency's feed comes from (path, glob, URL) and how it becomes Outcomes.

Conversion proper is ``etl.pipeline.convert``; the ``payloads-jsonl`` format
loads what ``classifieds-etl convert`` wrote (``payloads.jsonl``), so a feed
can be converted and checked first, then loaded as is.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson

from etl.records import SourceLocation
from etl.errors import SourceUnreadable
from etl.agencies import Agency, LoadedConfig
from etl.pipeline.convert import AgencyOptions, convert
from etl.records import FeedFacts
from etl.outcome import ListingKey, Outcome

PAYLOADS_FORMAT = "payloads-jsonl"


def _is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def resolve_source(cfg: LoadedConfig, agency: Agency, work_dir: Path) -> Path:
    """The one file to read tonight. Raises SourceUnreadable (exit 4) when there is none."""
    src = agency.source
    if _is_url(src):
        name = Path(urlparse(src).path).name or "feed"
        dest = Path(tempfile.mkdtemp(prefix=f"feed-{agency.id}-", dir=work_dir)) / name
        try:
            with httpx.stream("GET", src, timeout=120, follow_redirects=True) as resp:
                resp.raise_for_status()
                with dest.open("wb") as f:
                    for chunk in resp.iter_bytes():
                        f.write(chunk)
        except httpx.HTTPError as exc:
            raise SourceUnreadable(f"téléchargement du flux impossible ({src}) : {exc}") from None
        return dest
    pattern = str(cfg.resolve_path(src))
    if glob.has_magic(pattern):
        matches = [Path(p) for p in glob.glob(pattern) if os.path.isfile(p)]
        if not matches:
            raise SourceUnreadable(f"aucun fichier ne correspond à {pattern}")
        return max(matches, key=lambda p: (p.stat().st_mtime, p.name))
    path = Path(pattern)
    if not path.exists():
        raise SourceUnreadable(f"fichier de flux introuvable : {path}")
    return path


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
