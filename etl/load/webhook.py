"""The receiving end of AVIV's status callbacks: ``POST …/<token>/classifieds/<classifiedId>/statuses``.

An ASGI app that authenticates a callback, keeps it once in the state store and answers 201 — in
one short transaction, so AVIV is never kept waiting; folding it into its listing is a job of its
own (``on_stored``). AVIV documents no signature: what authenticates a callback is the secret
token ending the URL each intermediary subscribed (``statuses.webhook_token``), compared in
constant time, plus an optional address filter. The token is a secret: it is never logged.

Answers: 201 kept (or already kept: redeliveries are harmless), 400 not a ClassifiedStatus,
403 address not allowed, 404 unknown URL or token (a prober learns nothing more), 405, 413 too
large, 503 the store is unreachable (AVIV retries).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from etl.load.statuses import event_digest, parse_status

_PATH = re.compile(r"^(?:/[^/]+)*?/([0-9a-f]{40})/classifieds/([A-Za-z0-9._~-]{1,64})/statuses/?$")

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class CallbackReceiver:
    """``tokens``: each intermediary's token → its id. ``on_stored()`` is awaited after a callback was
    kept for the first time, before the answer: it must only schedule the work (the conductor's
    ``Coalesced``). ``log(event, message, **fields)``."""

    def __init__(self, store: Any, tokens: Mapping[str, str], *, allow_from: Sequence[str] = (),
                 max_body: int = 65536, on_stored: Callable[[], Awaitable[None]] | None = None,
                 log: Callable[..., None] | None = None) -> None:
        self.store = store
        self._tokens = dict(tokens)
        self._networks = [ipaddress.ip_network(n, strict=False) for n in allow_from]
        self.max_body = max_body
        self.on_stored = on_stored
        self._log = log or (lambda *a, **k: None)
        self.counts: dict[str, int] = {}

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, body = await self._handle(scope, receive)
        self.counts[str(status)] = self.counts.get(str(status), 0) + 1
        payload = orjson.dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> tuple[int, Any]:
        path, method = scope["path"], scope["method"]
        if method == "GET" and path.rstrip("/").endswith("/healthz"):
            return 200, "ok"
        client = (scope.get("client") or ("", 0))[0]
        if self._networks and not self._allowed(client):
            self._log("callback_refused", f"rappel refusé : adresse {client} non autorisée", level="warning",
                      client=client)
            return 403, {"error": "forbidden"}
        m = _PATH.match(path)
        intermediary = self._intermediary(m.group(1)) if m else None
        if m is None or intermediary is None:
            # never echo the path: it may carry a (wrong) token
            self._log("callback_refused", f"rappel refusé : adresse de rappel inconnue (depuis {client})",
                      level="warning", client=client)
            return 404, {"error": "not found"}
        if method != "POST":
            return 405, {"error": "method not allowed"}
        raw = await _read_body(receive, self.max_body)
        if raw is None:
            return 413, {"error": f"body larger than {self.max_body} bytes"}
        parsed = parse_status(raw)
        classified_id = m.group(2)
        if isinstance(parsed, str):
            self._log("callback_refused", f"rappel refusé pour {classified_id} : {parsed}", level="warning",
                      intermediary=intermediary, classified_id=classified_id)
            return 400, {"error": parsed}
        canonical = orjson.dumps(parsed.model_dump(mode="json", exclude_none=True), option=orjson.OPT_SORT_KEYS)
        try:
            kept = await asyncio.to_thread(
                self.store.record_status_event, intermediary_id=intermediary, classified_id=classified_id,
                status=parsed.status, status_at=parsed.at, body=canonical.decode(),
                digest=event_digest(intermediary, classified_id, canonical))
        except Exception as exc:  # noqa: BLE001 — AVIV retries a 503; the reason goes to our log only
            self._log("callback_store_error", f"rappel non enregistré ({type(exc).__name__}) : AVIV le renverra",
                      level="error", intermediary=intermediary, classified_id=classified_id)
            return 503, {"error": "temporarily unavailable"}
        self._log("callback", f"{classified_id} : {parsed.status}" + ("" if kept else " (déjà reçu)"),
                  intermediary=intermediary, classified_id=classified_id, status=parsed.status, duplicate=not kept)
        if kept and self.on_stored is not None:
            await self.on_stored()
        return 201, "created"

    def _intermediary(self, token: str) -> str | None:
        found = None
        for known, intermediary in self._tokens.items():  # every token compared, in constant time each
            if hmac.compare_digest(known, token):
                found = intermediary
        return found

    def _allowed(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in net for net in self._networks)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
