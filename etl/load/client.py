"""The AVIV Classified API v4 client: httpx async, one client per run, keep-alive.

Transport concerns only: tokens, User-Agent, traceparent, retries with
backoff and jitter, Retry-After, rate and concurrency limits. What an answer
means for a listing (duplicate adoption, 412, 404) is the applier's business.
"""

from __future__ import annotations

import asyncio
import platform
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
import orjson

from etl.agencies import ApiSettings, ResolvedCredentials
from etl.load.tokens import AuthError, Token, TokenFile, TokenProvider

try:
    from importlib.metadata import version as _pkg_version
    _VERSION = _pkg_version("classifieds-etl")
except Exception:  # running from a checkout without installed metadata
    _VERSION = "0.0.0"

MAX_DETAIL = 2000
# Transport errors raised before the request could reach the server: repeating them is always safe.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_UUIDISH = re.compile(r"classifiedId\W{0,3}\s*([0-9A-Za-z][0-9A-Za-z-]{3,63})")


def _token(s: str) -> str:
    return re.sub(r"[/\s]+", "-", s) or "unknown"


def user_agent(product: str = "ClassifiedsEtl") -> str:
    """Three ``name/version`` tokens, as the API's User-Agent pattern requires."""
    return (f"{_token(product)}/{_token(_VERSION)} python-httpx/{_token(httpx.__version__)} "
            f"{_token(platform.system().lower() or 'os')}/{_token(platform.release() or '0')}")


def traceparent(trace_id: str | None = None) -> str:
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@dataclass(slots=True)
class ApiResult:
    """The final answer to one logical request (after retries)."""

    method: str
    path: str
    status: int | None            # None: no HTTP answer at all (timeouts, connection errors)
    traceparent: str
    attempts: int
    body: Any = None
    etag: str | None = None
    error: str | None = None      # transport error or the API's problem text

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def problem_title(self) -> str:
        return str(self.body.get("title", "")) if isinstance(self.body, dict) else ""

    @property
    def is_duplicate(self) -> bool:
        if self.status != 400 or not isinstance(self.body, dict):
            return False
        return "duplicated classified" in self.problem_title.lower() or \
            "duplicated-classified" in str(self.body.get("type", "")).lower()

    def duplicate_classified_id(self) -> str | None:
        """The existing id, which the API only gives inside the ``detail`` text."""
        if not isinstance(self.body, dict):
            return None
        m = _UUIDISH.search(str(self.body.get("detail", "")))
        return m.group(1) if m else None

    def summary(self) -> str:
        """The API's answer in one line, for the run summary (no secrets: bodies are the API's)."""
        if self.status is None:
            return f"{self.method} {self.path}: pas de réponse ({self.error}) après {self.attempts} essais"
        text = self.error
        if text is None and self.body is not None:
            text = orjson.dumps(self.body).decode() if not isinstance(self.body, str) else self.body
        return f"{self.method} {self.path}: HTTP {self.status} {(text or '')[:MAX_DETAIL]}"


@dataclass(slots=True)
class ClientStats:
    requests: int = 0
    retries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Evenly spaced starts, and never more than ``rate`` in any one-second window.

    Callers queue in order. A caller woken late keeps the schedule (so the
    average holds), but the last ``rate`` starts are also remembered: a start
    waits until the one ``rate`` places back is more than a second (plus a
    quarter interval, for the network's jitter) old, so event-loop stalls and
    catch-ups can never add up to a burst. The cost is ~0.5 % of throughput.
    """

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._window: deque[float] = deque(maxlen=max(1, int(rate)))
        self._span = 1.0 + self.interval / 4
        self.starts = 0
        self.first: float | None = None
        self.last: float | None = None
        # shortest time spanned by rate+1 consecutive starts: ≥ 1 s means no second ever held more than rate
        self.tightest: float | None = None

    async def confirm(self, slot: None) -> None:
        """Nothing to confirm: starts are measured when taken (``tightest_window_s``)."""
        return None

    async def acquire(self, creds: ResolvedCredentials | None = None) -> None:
        """``creds`` is ignored: this limit holds for the whole process."""
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            if len(self._window) == self._window.maxlen and self.interval <= 1.0:
                wait = max(wait, self._window[0] + self._span - now)
            if wait > 0:
                await asyncio.sleep(wait)
                now = time.monotonic()
            self._next = max(self._next, now - self.interval) + self.interval
            if len(self._window) == self._window.maxlen:
                span = now - self._window[0]
                self.tightest = span if self.tightest is None else min(self.tightest, span)
            self._window.append(now)
            self.starts += 1
            self.first = now if self.first is None else self.first
            self.last = now

    def report(self) -> dict[str, float | int | None]:
        achieved = (self.starts - 1) / (self.last - self.first) if self.first and self.last and self.last > self.first \
            else None
        return {"limit": round(1 / self.interval, 3), "starts": self.starts,
                "achieved": round(achieved, 3) if achieved else None,
                "tightest_window_s": round(self.tightest, 4) if self.tightest is not None else None,
                "window_starts": self._window.maxlen + 1}


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _parse(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return resp.text[:MAX_DETAIL]


class Limiter(Protocol):
    """What paces the requests: this process's ``RateLimiter``, or one shared between processes
    (``etl.load.ratelimit.SharedRateLimiter``)."""

    async def acquire(self, creds: ResolvedCredentials | None = None) -> Any:
        """Wait for a start; returns what ``confirm`` needs."""

    async def confirm(self, slot: Any) -> Any:
        """When the request leaves (after the journal's write, and again as its first byte is written);
        returns the start it leaves with."""

    def report(self) -> dict[str, Any]: ...


class AvivClient:
    """One per run. Use ``async with AvivClient(settings, token_file) as api``."""

    def __init__(self, settings: ApiSettings, token_file: TokenFile | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, limiter: Limiter | None = None):
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.user_agent = user_agent(settings.user_agent_product)
        self.stats = ClientStats()
        self.limiter: Limiter = limiter or RateLimiter(settings.rate_limit)
        self._sem = asyncio.Semaphore(settings.concurrency)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency),
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            transport=transport,
        )
        self.tokens = TokenProvider(token_file or TokenFile(None), settings.token_url,
                                    settings.effective_audience, self._fetch_token)

    async def __aenter__(self) -> AvivClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return random.uniform(0, min(s.backoff_max, s.backoff_base * (2 ** (attempt - 1))))

    async def _fetch_token(self, creds: ResolvedCredentials) -> Token:
        payload = {"client_id": creds.client_id, "client_secret": creds.client_secret,
                   "grant_type": "client_credentials", "audience": self.settings.effective_audience,
                   "intermediary_id": creds.intermediary_id}
        last = "?"
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                resp = await self._http.post(self.settings.token_url, content=orjson.dumps(payload),
                                             headers={"Content-Type": "application/json", "traceparent": traceparent()})
            except httpx.TransportError as exc:
                last = type(exc).__name__
            else:
                if resp.status_code == 200:
                    data = _parse(resp)
                    if isinstance(data, dict) and data.get("access_token"):
                        return Token(str(data["access_token"]), time.time() + float(data.get("expires_in", 3600)))
                    raise AuthError(f"réponse du serveur de jetons inattendue (HTTP 200 sans access_token) pour "
                                    f"l'intermédiaire {creds.intermediary_id}")
                if resp.status_code < 500 and resp.status_code != 429:
                    body = _parse(resp)
                    # the answer may echo the request; keep only the error fields
                    why = body.get("error_description") or body.get("error") or body.get("title") \
                        if isinstance(body, dict) else ""
                    raise AuthError(f"jeton refusé (HTTP {resp.status_code} {why}) pour le client {creds.client_id} "
                                    f"et l'intermédiaire {creds.intermediary_id}")
                last = f"HTTP {resp.status_code}"
                ra = _retry_after(resp)
                if ra is not None and attempt < self.settings.max_attempts:
                    await asyncio.sleep(min(ra, self.settings.backoff_max))
                    continue
            if attempt < self.settings.max_attempts:
                await asyncio.sleep(self._backoff(attempt))
        raise AuthError(f"serveur de jetons injoignable ({last}) après {self.settings.max_attempts} essais")

    async def request(self, creds: ResolvedCredentials, method: str, path: str, *, json: Any = None,
                      params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                      on_send: Callable[[str], None] | None = None, retry_unanswered: bool = True) -> ApiResult:
        """Send with retries on 5xx / 429 / timeouts / dropped connections; one token refresh on 401.

        ``on_send(traceparent)`` runs once, right before the first attempt leaves (past the rate and
        concurrency limits): the write-ahead journal hooks in there, so a run killed while queued
        has journaled nothing it did not send. ``retry_unanswered=False`` returns at once when an
        attempt may have reached the API without its answer reaching us (the caller looks the
        truth up instead of repeating a write blind).
        """
        trace_id = secrets.token_hex(16)
        content = orjson.dumps(json) if json is not None else None
        url = self.base_url + path
        refreshed = False
        attempt = 0
        result: ApiResult | None = None
        while attempt < self.settings.max_attempts:
            attempt += 1
            tp = traceparent(trace_id)
            delay: float | None = None
            async with self._sem:
                slot = await self.limiter.acquire(creds)
                # the token is taken at the last moment: a request queued behind a refresh uses the new
                # token, and one queued behind a refusal is never sent
                token = await self.tokens.get(creds)
                h = {"Authorization": f"Bearer {token.access_token}", "traceparent": tp}
                if content is not None:
                    h["Content-Type"] = "application/json"
                if headers:
                    h.update(headers)
                if on_send is not None:
                    on_send(tp)
                    on_send = None
                slot = await self.limiter.confirm(slot)  # a shared limit re-times a start the journal made late

                async def leaving(event: str, info: Any) -> None:
                    # The request's first byte is written right after this (no await in between): where the
                    # API counts a start. A new connection or the event loop's other tasks may have made it
                    # late since the confirm above; a shared limit re-times it here.
                    nonlocal slot
                    if event.endswith(".send_request_headers.started"):
                        slot = await self.limiter.confirm(slot)

                self.stats.requests += 1
                try:
                    resp = await self._http.request(method, url, content=content, params=params, headers=h,
                                                    extensions={"trace": leaving})
                except httpx.TransportError as exc:  # timeouts, refused / reset / dropped connections
                    result = ApiResult(method, path, None, tp, attempt, error=type(exc).__name__)
                    self._count("transport")
                    if not retry_unanswered and not isinstance(exc, _NEVER_SENT):
                        return result
                    delay = self._backoff(attempt)
                    resp = None
            if resp is not None:
                self._count(str(resp.status_code))
                result = ApiResult(method, path, resp.status_code, resp.headers.get("traceparent") or tp, attempt,
                                   body=_parse(resp), etag=resp.headers.get("etag"))
                if resp.status_code == 401 and not refreshed:
                    refreshed = True
                    self.tokens.invalidate(creds, token)
                    attempt -= 1  # a refresh is not a retry of the operation
                    continue
                if resp.status_code == 429:
                    ra = _retry_after(resp)
                    delay = min(ra, self.settings.backoff_max) if ra is not None else self._backoff(attempt)
                elif resp.status_code >= 500:
                    delay = self._backoff(attempt)
                else:
                    return result
            if attempt < self.settings.max_attempts:
                self.stats.retries += 1
                await asyncio.sleep(delay or 0)
        assert result is not None
        return result

    def _count(self, key: str) -> None:
        self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1

    # -- the operations of the API -------------------------------------------

    async def create(self, creds: ResolvedCredentials, body: dict[str, Any], *,
                     on_send: Callable[[str], None] | None = None) -> ApiResult:
        # A repeated POST that had landed meets "Duplicated classified": safe to retry.
        return await self.request(creds, "POST", "/classifieds", json=body, on_send=on_send)

    async def update(self, creds: ResolvedCredentials, classified_id: str, body: dict[str, Any],
                     etag: str | None = None, *, on_send: Callable[[str], None] | None = None) -> ApiResult:
        # With If-Match a repeated PUT that had landed meets 412; without it, it would be a no-op PUT
        # (which AVIV asks us never to send), so an unanswered attempt is not repeated blind.
        return await self.request(creds, "PUT", f"/classifieds/{classified_id}", json=body,
                                  headers={"If-Match": etag} if etag else None, on_send=on_send,
                                  retry_unanswered=etag is not None)

    async def delete(self, creds: ResolvedCredentials, classified_id: str, *,
                     on_send: Callable[[str], None] | None = None) -> ApiResult:
        # A repeated DELETE that had landed meets 404, which means deleted.
        return await self.request(creds, "DELETE", f"/classifieds/{classified_id}", on_send=on_send)

    async def get(self, creds: ResolvedCredentials, classified_id: str) -> ApiResult:
        return await self.request(creds, "GET", f"/classifieds/{classified_id}")

    async def find(self, creds: ResolvedCredentials, offerer_estate_id: str) -> ApiResult:
        return await self.request(creds, "GET", "/classifieds", params={"offererEstateId": offerer_estate_id})

    async def statuses(self, creds: ResolvedCredentials, classified_id: str) -> ApiResult:
        return await self.request(creds, "GET", f"/classifieds/{classified_id}/statuses", params={"filter": "latest"})

    async def list_all(self, creds: ResolvedCredentials, limit: int = 250) -> list[dict[str, Any]]:
        """Every classified of the intermediary (follows ``nextToken``)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            res = await self.request(creds, "GET", "/classifieds", params=params)
            if not res.ok or not isinstance(res.body, dict):
                raise RuntimeError(res.summary())
            items.extend(res.body.get("items", []))
            nxt = res.body.get("nextToken")
            if not nxt:
                return items
            params = {"limit": limit, "nextToken": nxt}
