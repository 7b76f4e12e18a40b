"""Webhook callbacks: ``POST {url}/classifieds/{classifiedId}/statuses`` with a ClassifiedStatus body.

The subscriber must answer 201 (the spec's callback response). Anything else, or
no answer, is retried with exponential backoff up to ``webhooks.max_attempts``.
AVIV documents neither its retry policy nor an ordering guarantee; the sandbox
delivers in status order but a retried callback may arrive after later ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import httpx

from etl.sandbox.config import WebhookConfig
from etl.sandbox.store import Delivery, Store

USER_AGENT = "AvivClassifiedApiSandbox/4.0.2 classifieds-etl/0.1.0 python/3"


def callback_url(base: str, classified_id: str) -> str:
    return f"{base.rstrip('/')}/classifieds/{quote(classified_id, safe='')}/statuses"


class Dispatcher:
    def __init__(self, store: Store, config: WebhookConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._client: httpx.AsyncClient | None = None

    async def run_due(self) -> int:
        due = self._store.due_deliveries(self._clock())
        if not due:
            return 0
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._config.timeout_s)
        for delivery in due:
            await self._deliver(self._client, delivery)
        return len(due)

    async def _deliver(self, client: httpx.AsyncClient, d: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(callback_url(d.url, d.classified_id), json=d.payload,
                                         headers={"User-Agent": USER_AGENT})
            status = response.status_code
            if status != 201:
                error = f"answered {status}, expected 201"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = d.attempts + 1
        if error is None:
            state, next_at = "delivered", self._clock()
        elif attempts >= self._config.max_attempts:
            state, next_at = "failed", self._clock()
        else:
            state, next_at = "pending", self._clock() + self._config.backoff_s * 2 ** (attempts - 1)
        self._store.record_attempt(d.seq, state=state, next_at=next_at, status=status, error=error)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
