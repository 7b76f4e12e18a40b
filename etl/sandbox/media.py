"""Media downloads as AVIV does them: by URL, once.

A URL already seen on a classified is not downloaded again (so a broken image
stays broken until its URL changes, which is the manage-medias page's advice);
a new URL is "downloaded": it fails when it matches one of the configured
unreachable patterns or, with ``fetch_media``, when a real GET does not return 2xx.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from etl.sandbox.config import ProcessingConfig

OK_NEW, OK_SEEN, FAILED = "CREATED", "UPDATED", "DOWNLOADING_FAILED"


class MediaChecker:
    def __init__(self, config: ProcessingConfig) -> None:
        self._unreachable = [re.compile(p) for p in config.unreachable_media]
        self._fetch = config.fetch_media
        self._timeout = config.fetch_timeout_s
        self._client: httpx.AsyncClient | None = None  # one for the server's life: TLS setup is slow

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _matches_unreachable(self, url: str) -> bool:
        return any(p.search(url) for p in self._unreachable)

    async def _reachable(self, client: httpx.AsyncClient | None, url: str) -> bool:
        if self._matches_unreachable(url):
            return False
        if client is None:
            return True
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            return False
        return response.is_success

    async def process(self, media: Sequence[Mapping[str, Any]], seen: Mapping[str, str]) -> dict[str, str]:
        """url → status for the classified's new media list (dropped media disappear)."""
        urls = [m.get("url") for m in media if isinstance(m, Mapping) and isinstance(m.get("url"), str)]
        result: dict[str, str] = {}
        if self._fetch and self._client is None and any(u not in seen for u in urls):
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=True)
        for url in dict.fromkeys(urls):
            if url in seen:
                # Not downloaded again: a failure sticks, a success is reported as updated.
                result[url] = FAILED if seen[url] == FAILED else OK_SEEN
            else:
                result[url] = OK_NEW if await self._reachable(self._client, url) else FAILED
        return result
