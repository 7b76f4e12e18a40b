"""Feeds from URLs: one download, streamed to a file, conditional, bounded, retried.

``fetch(url, dest_dir, validators=…)`` sends the ``If-None-Match`` / ``If-Modified-Since`` the
last run remembered; a 304 is ``not_modified`` (nothing downloaded: the night can skip the
feed). Otherwise the body streams to a temporary file in ``dest_dir`` (never into memory), is
refused past ``max_bytes`` (announced or actually received), and is renamed into place only when
complete, with the new ``ETag`` / ``Last-Modified`` to remember. Timeouts, connection errors,
a body cut short and 5xx / 429 answers are retried with exponential backoff; the last failure,
and any other answer that delivers no feed, is a ``SourceMissing`` (exit 4: tonight's feed was not
received), a body over the limit a ``SourceUnreadable``; the French message names the URL without
its credentials (user, password, query string: ``https://feeds.example/export.xml?…``).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from etl.errors import SourceMissing, SourceUnreadable
from etl.extract.container import _size  # the French size wording of every source message

DEFAULT_MAX_BYTES: Final = 2 << 30
DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_RETRIES: Final = 3
_CHUNK: Final = 256 << 10
_RETRY_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
_USER_AGENT: Final = "classifieds-etl/1.0 (feed download)"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a download gave. ``path`` is None when the feed did not change (``not_modified``)."""

    path: Path | None
    not_modified: bool
    validators: dict[str, str] = field(default_factory=dict)  # {"etag": …, "last_modified": …} to remember
    size: int = 0
    status: int = 200


class _Retry(Exception):
    """A transient failure: worth another attempt (the message is already safe to show)."""


def safe_url(url: str) -> str:
    """The URL as messages show it: no user, no password, no query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))
    except ValueError:
        return "(adresse illisible)"


def fetch(url: str, dest_dir: str | Path, *, validators: Mapping[str, str] | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
          backoff: float = 1.0, transport: httpx.BaseTransport | None = None,
          sleep: Callable[[float], None] = time.sleep) -> FetchResult:
    """Download ``url`` into ``dest_dir`` (see the module's docstring). ``retries`` is the number of
    attempts after the first; ``backoff`` the first pause in seconds, doubled each time."""
    shown = safe_url(url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise SourceUnreadable(f"{shown} : seules les adresses http(s) sont acceptées pour un flux.")
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if validators:
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
    last = ""
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=5,
                      transport=transport) as client:
        for attempt in range(retries + 1):
            try:
                return _attempt(client, url, shown, dest, headers, max_bytes)
            except _Retry as exc:
                last = str(exc)
                if attempt < retries:
                    sleep(backoff * (2 ** attempt))
    raise SourceMissing(f"{shown} : téléchargement impossible après {retries + 1} tentative(s) ({last}) ; "
                           "le flux de cette nuit n'est pas lu et rien n'est retiré des portails.")


def _attempt(client: httpx.Client, url: str, shown: str, dest: Path, headers: dict[str, str],
             max_bytes: int) -> FetchResult:
    tmp: Path | None = None
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            remembered = _validators(response)
            if status == 304:
                return FetchResult(None, True, remembered, 0, status)
            if status in _RETRY_STATUS:
                raise _Retry(f"réponse HTTP {status}")
            if status >= 400:
                raise SourceMissing(f"{shown} : le serveur répond HTTP {status} ({_reason(status)}) ; "
                                       "le flux de cette nuit n'est pas lu et rien n'est retiré des portails.")
            announced = response.headers.get("Content-Length")
            if announced and announced.isdigit() and int(announced) > max_bytes \
                    and not response.headers.get("Content-Encoding"):
                raise SourceUnreadable(f"{shown} : le serveur annonce {_size(int(announced))}, au-delà de la limite "
                                       f"de {_size(max_bytes)} ; flux refusé.")
            fd, name = tempfile.mkstemp(prefix=".download-", dir=dest)
            tmp = Path(name)
            size = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceUnreadable(f"{shown} : plus de {_size(max_bytes)} reçus, au-delà de la limite ; "
                                               "flux refusé.")
                    out.write(chunk)
            final = dest / _file_name(url, response)
            os.replace(tmp, final)
            tmp = None
            return FetchResult(final, False, remembered, size, status)
    except httpx.TimeoutException as exc:
        raise _Retry("délai dépassé") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError, httpx.WriteError) as exc:
        raise _Retry(_transport_reason(exc)) from exc
    except httpx.TooManyRedirects as exc:
        raise SourceMissing(f"{shown} : trop de redirections ; vérifiez l'adresse du flux.") from exc
    except httpx.HTTPError as exc:
        raise SourceMissing(f"{shown} : téléchargement impossible ({type(exc).__name__}).") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _validators(response: httpx.Response) -> dict[str, str]:
    out = {}
    if etag := response.headers.get("ETag"):
        out["etag"] = etag
    if modified := response.headers.get("Last-Modified"):
        out["last_modified"] = modified
    return out


def _file_name(url: str, response: httpx.Response) -> str:
    """The URL's last path segment when it names a file, else ``feed`` (+ an extension from the type)."""
    name = PurePosixPath(urlsplit(str(response.url)).path or urlsplit(url).path).name
    if name and "." in name and all(c.isalnum() or c in "._-" for c in name):
        return name
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    ext = {"application/zip": ".zip", "application/xml": ".xml", "text/xml": ".xml", "text/csv": ".csv"}.get(kind, "")
    return "feed" + ext


def _transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connexion impossible"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connexion coupée pendant le transfert"
    return "erreur réseau pendant le transfert"


def _reason(status: int) -> str:
    return {401: "identifiants refusés", 403: "accès interdit", 404: "flux introuvable", 410: "flux supprimé"}.get(
        status, "erreur")

