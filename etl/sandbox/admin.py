"""The admin API under ``/_sandbox``: what tests, the demo and a rehearsing operator inspect and steer.

No authentication (the sandbox listens on 127.0.0.1), no faults, not in the request
log. :class:`etl.sandbox.server.SandboxClient` is its Python client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from etl.sandbox import jsonio
from etl.sandbox.config import FaultConfig
from etl.sandbox.store import Classified

if TYPE_CHECKING:
    from etl.sandbox.app import SandboxApp

PREFIX = "/_sandbox"


class AdminApi:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "/health"): self.health,
            ("GET", "/config"): self.config,
            ("GET", "/requests"): self.requests,
            ("DELETE", "/requests"): self.clear_requests,
            ("GET", "/tokens"): self.tokens,
            ("POST", "/tokens/expire"): self.expire_tokens,
            ("GET", "/faults"): self.get_faults,
            ("PUT", "/faults"): self.set_faults,
            ("DELETE", "/faults"): self.clear_faults,
            ("GET", "/classifieds"): self.classifieds,
            ("POST", "/process"): self.process,
            ("POST", "/reset"): self.reset,
            ("GET", "/webhooks"): self.webhooks,
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        sub = scope["path"][len(PREFIX):].rstrip("/") or "/health"
        handler = self._routes.get((scope["method"], sub))
        if handler is None and scope["method"] == "GET" and sub.startswith("/classifieds/"):
            handler = self.classified
        if handler is None:
            response: Response = _json({"error": f"no admin endpoint {scope['method']} {sub}"}, 404)
        else:
            try:
                response = await handler(request)
            except (ValueError, ValidationError) as exc:
                response = _json({"error": str(exc)}, 400)
        await response(scope, receive, send)

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok", "pendingJobs": self.app.store.pending_jobs()})

    async def config(self, request: Request) -> Response:
        return _json(self.app.config.public_dict())

    async def requests(self, request: Request) -> Response:
        q = request.query_params
        items = self.app.requests.entries(since=int(q.get("since", "0")), path_prefix=q.get("path_prefix"),
                                          kind=q.get("kind"), limit=int(q["limit"]) if "limit" in q else None)
        return _json({"items": items, "lastSeq": self.app.requests.last_seq})

    async def clear_requests(self, request: Request) -> Response:
        self.app.requests.clear()
        return _json({"cleared": True, "lastSeq": self.app.requests.last_seq})

    async def tokens(self, request: Request) -> Response:
        rows = self.app.store.token_counts()
        by_client: dict[str, int] = {}
        for client_id, _, count in rows:
            by_client[client_id] = by_client.get(client_id, 0) + count
        return _json({"byClient": by_client,
                      "counts": [{"clientId": c, "intermediaryId": i, "count": n} for c, i, n in rows]})

    async def expire_tokens(self, request: Request) -> Response:
        self.app.rotate_key()
        return _json({"expired": True})

    async def get_faults(self, request: Request) -> Response:
        return _json(orjson.loads(self.app.faults.faults.model_dump_json()))

    async def set_faults(self, request: Request) -> Response:
        faults = FaultConfig.model_validate_json(await request.body() or b"{}")
        self.app.set_faults(faults)
        return _json(orjson.loads(faults.model_dump_json()))

    async def clear_faults(self, request: Request) -> Response:
        self.app.set_faults(FaultConfig())
        return _json(orjson.loads(FaultConfig().model_dump_json()))

    async def classifieds(self, request: Request) -> Response:
        q = request.query_params
        found = self.app.store.all_classifieds(intermediary_id=q.get("intermediary_id"),
                                               include_deleted=_flag(q.get("include_deleted")))
        items = [self._view(c, with_body=_flag(q.get("with_body"))) for c in found]
        return _json({"items": items})

    async def classified(self, request: Request) -> Response:
        classified_id = request.url.path.rsplit("/", 1)[-1]
        c = self.app.store.classified(classified_id)
        if c is None:
            return _json({"error": f"no classified {classified_id}"}, 404)
        view = self._view(c, with_body=True)
        view["statuses"] = [s for _, s in self.app.store.statuses(c.id)]
        return _json(view)

    def _view(self, c: Classified, *, with_body: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "classifiedId": c.id, "intermediaryId": c.intermediary_id, "clientId": c.client_id,
            "offererEstateId": c.offerer_estate_id, "revision": c.revision, "deleted": c.deleted,
            "publishedPortals": c.published_portals, "media": c.media, "createdAt": c.created_at,
            "updatedAt": c.updated_at, "deletedAt": c.deleted_at,
            # False during the visibility lag after its POST: API look-ups do not find it yet.
            "visible": self.app.engine.visible(c),
            "latestStatus": self.app.store.latest_status(c.id),
        }
        if with_body:
            view["body"] = c.body
        return view

    async def process(self, request: Request) -> Response:
        processed = await self.app.engine.process_due(everything=True)
        return _json({"processed": processed, "madeVisible": self.app.engine.end_visibility_lag()})

    async def reset(self, request: Request) -> Response:
        self.app.store.reset()
        self.app.engine.forget_schedule()
        self.app.requests.clear()
        return _json({"reset": True})

    async def webhooks(self, request: Request) -> Response:
        deliveries = [{"seq": d.seq, "intermediaryId": d.intermediary_id, "url": d.url,
                       "classifiedId": d.classified_id, "status": d.payload.get("status"), "attempts": d.attempts,
                       "state": d.state, "lastStatus": d.last_status, "lastError": d.last_error,
                       "payload": d.payload}
                      for d in self.app.store.deliveries()]
        return _json({"subscriptions": self.app.store.webhooks(), "deliveries": deliveries})


def _json(data: Any, status: int = 200) -> Response:
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")
