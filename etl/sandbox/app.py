"""The sandbox as an ASGI application: the AVIV v4 API, its token endpoint, and an admin API.

Paths: the API under ``/caas/v4`` (and ``/sandbox/caas/v4``, AVIV's own sandbox
prefix), the token at ``/oauth/token``, the admin API under ``/_sandbox`` (no
auth, no faults, not logged). Every API response echoes the request's
``traceparent`` (or a fresh one), which error bodies repeat in ``instance``.

Checks run in the order a gateway then a validator would: User-Agent, bearer
token, scope, request parameters and body (400), then the resource (404), its
revision (412) and business rules (duplicates, colliding contacts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
import uuid
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from etl.sandbox import jsonio, problems, tokens
from etl.sandbox.admin import PREFIX as ADMIN_PREFIX
from etl.sandbox.admin import AdminApi
from etl.sandbox.config import FaultConfig, SandboxConfig
from etl.sandbox.engine import Engine
from etl.sandbox.faults import NO_FAULT, Decision, FaultInjector
from etl.sandbox.oauth import token_endpoint
from etl.sandbox.reqlog import RequestLog
from etl.sandbox.schema import FieldError, classified_validator, load_spec, webhook_validator
from etl.sandbox.store import Classified, Store
from etl.sandbox.webhooks import Dispatcher

log = logging.getLogger("etl.sandbox")

API_PREFIXES = ("/caas/v4", "/sandbox/caas/v4")
TOKEN_PATH = "/oauth/token"
JSON = "application/json"

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_USER_AGENT_PATTERN = load_spec()["components"]["parameters"]["userAgentHeader"]["schema"]["pattern"]
_USER_AGENT = re.compile(_USER_AGENT_PATTERN)
_STATUS_ENUM = frozenset(load_spec()["components"]["schemas"]["ClassifiedStatus"]["properties"]["status"]["enum"])
_PORTAL_ENUM = frozenset(("SL", "BUCOM", "BD", "SLC", "SLN"))
# Fields of data.metaData that the receiver sets: returned by GET, ignored when sent.
_RECEIVER_SET = ("createDate", "changeDate", "classifiedId", "portalWebKey")
MAX_PAGE = 1000
DEFAULT_PAGE = 250

_API_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/classifieds/?$"), "/classifieds"),
    (re.compile(r"^/classifieds/(?P<classifiedId>[^/]+)/?$"), "/classifieds/{classifiedId}"),
    (re.compile(r"^/classifieds/(?P<classifiedId>[^/]+)/statuses/?$"), "/classifieds/{classifiedId}/statuses"),
    (re.compile(r"^/webhooks/?$"), "/webhooks"),
)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@dataclass(slots=True)
class Ctx:
    """What one request has revealed so far, for its response headers and its log entry."""

    traceparent: str
    method: str
    route: str | None = None
    status: int | None = None
    client_id: str | None = None
    intermediary_id: str | None = None
    classified_id: str | None = None
    note: str | None = None
    suppress: bool = False  # a lost response: processed, never sent


Handler = Callable[[Request, Ctx, dict[str, str]], Awaitable[Response]]
Dropper = Callable[[dict[str, Any]], Awaitable[bool]]


class SandboxApp:
    def __init__(self, config: SandboxConfig | None = None, store: Store | None = None) -> None:
        self.config = config or SandboxConfig()
        self.store = store or Store()
        self.engine = Engine(self.config, self.store)
        self.faults = FaultInjector(self.config.faults)
        self.requests = RequestLog(self.config.request_log_size)
        self.dispatcher = Dispatcher(self.store, self.config.webhooks)
        self._key = self.store.meta("signing_key") or self.rotate_key()
        self._claims_cache: dict[str, tokens.Claims] = {}
        # Set by the server: closes a request's connection without an answer.
        self.drop_connection: Dropper | None = None
        self._background: list[asyncio.Task[None]] = []
        self._api: dict[tuple[str, str], Handler] = {
            ("POST", "/classifieds"): self.create_classified,
            ("GET", "/classifieds"): self.list_classifieds,
            ("GET", "/classifieds/{classifiedId}"): self.get_classified,
            ("PUT", "/classifieds/{classifiedId}"): self.update_classified,
            ("DELETE", "/classifieds/{classifiedId}"): self.delete_classified,
            ("GET", "/classifieds/{classifiedId}/statuses"): self.get_statuses,
            ("PUT", "/webhooks"): self.put_webhook,
            ("DELETE", "/webhooks"): self.delete_webhook,
        }
        self.admin = AdminApi(self)

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        arrived = time.time()  # first thing: a gateway counts a request when it arrives, not when answered
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self.admin(scope, receive, send)
            return
        api_path = next((path[len(p):] for p in API_PREFIXES if path.startswith(p + "/")), None)
        kind = "api" if api_path is not None else "token" if path == TOKEN_PATH else "other"
        request = Request(scope, receive)
        incoming = request.headers.get("traceparent", "")
        ctx = Ctx(traceparent=incoming if _TRACEPARENT.match(incoming) else new_traceparent(),
                  method=scope["method"])
        started = time.perf_counter()

        async def send_with_trace(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ctx.status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"traceparent", ctx.traceparent.encode("ascii"))]}
            if not ctx.suppress:
                await send(message)

        subject = kind == "api" or (kind == "token" and self.faults.faults.include_token_endpoint)
        # Only a PUT of a classified carrying If-Match can meet a (random or scripted) 412.
        conditional = (ctx.method == "PUT" and "if-match" in request.headers
                       and _match_route(api_path)[0] == "/classifieds/{classifiedId}")
        decision = self.faults.decide(ctx.method, path, conditional=conditional) if subject else NO_FAULT
        fault = decision.kind
        try:
            if decision.delay_s:
                # The request is read in full first, as a gateway would: a client that gives up
                # during the latency has still sent a request that will be processed.
                with contextlib.suppress(ClientDisconnect):
                    await request.body()
                await asyncio.sleep(decision.delay_s)
            if fault == "drop":
                await self._drop(scope, send)
            elif fault in ("error", "throttle", "rate_limit", "precondition_failed"):
                await self._fault_response(scope, decision, ctx, api_path, send_with_trace)
            else:
                if kind == "api":
                    await self.engine.process_due()  # what is due is visible to this request
                if fault == "lost_response":
                    ctx.suppress = True
                if kind == "api":
                    response = await self._serve_api(request, ctx, api_path or "")
                elif kind == "token":
                    response, ctx.client_id, ctx.intermediary_id = await token_endpoint(
                        request, self.config, self.store, self._key)
                else:
                    response = self._problem(ctx, problems.not_found(path, ctx.traceparent))
                await response(scope, receive, send_with_trace)
                if fault == "lost_response":
                    await self._drop(scope, send)
        except ClientDisconnect:
            pass  # the client left before its request was read: nobody to answer
        finally:
            self.requests.add({
                "kind": kind, "method": ctx.method, "path": path,
                "query": scope.get("query_string", b"").decode("latin-1"),
                "status": None if fault in ("drop", "lost_response") else ctx.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "traceparent": ctx.traceparent, "client_id": ctx.client_id,
                "intermediary_id": ctx.intermediary_id, "classified_id": ctx.classified_id,
                "fault": fault, "note": ctx.note, "arrived": arrived,
                # What the handler answered even though the client never saw it.
                **({"processed_status": ctx.status} if fault == "lost_response" else {}),
            })

    async def _drop(self, scope: dict[str, Any], send: Any) -> None:
        if self.drop_connection is not None and await self.drop_connection(scope):
            return
        # No handle on the transport (another ASGI server): a started, never-finished
        # response makes the server close the connection, which the client sees the same way.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        raise ConnectionAbortedError("sandbox fault: connection dropped")

    async def _fault_response(self, scope: dict[str, Any], decision: Decision, ctx: Ctx, api_path: str | None,
                              send: Any) -> None:
        route = _match_route(api_path)[0] if api_path is not None else None
        ctx.route = route
        status = decision.status or 500
        headers: dict[str, str] = {}
        if status == 429:
            body = problems.too_many_requests(decision.retry_after_s or 0, ctx.traceparent)
            headers["Retry-After"] = str(decision.retry_after_s or 0)
        elif status == 412:
            body = problems.precondition_failed(ctx.traceparent)
        else:
            body = problems.server_error(status, ctx.traceparent)
        response = Response(jsonio.dumps(body), status_code=status, headers=headers,
                            media_type=problems.media_type(ctx.method, route, status))
        await response(scope, _no_receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        jobs, deliveries = asyncio.Event(), asyncio.Event()
        # Engine callbacks may come from any thread (the admin handle of a test, say).
        self.engine.on_schedule = lambda: loop.call_soon_threadsafe(jobs.set)
        self.engine.on_delivery = lambda: loop.call_soon_threadsafe(deliveries.set)
        self._background = [
            asyncio.create_task(self._forever(self.engine.process_due, self.store.next_job_due, jobs)),
            asyncio.create_task(self._forever(self.dispatcher.run_due, self.store.next_delivery_due, deliveries)),
        ]

    async def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        await self.dispatcher.aclose()
        await self.engine.media.aclose()

    @staticmethod
    async def _forever(step: Callable[[], Awaitable[int]], next_due: Callable[[], float | None],
                       wake: asyncio.Event) -> None:
        """Run ``step`` whenever work is due, even when nobody calls the API.

        Processing and webhook callbacks get a task each, so that a slow subscriber
        never holds back the statuses of other classifieds.
        """
        while True:
            wake.clear()
            try:
                await step()
            except Exception:  # a background task must survive one bad step
                log.exception("sandbox background step failed")
            due = next_due()
            timeout = min(max(due - time.time(), 0.005), 0.25) if due is not None else 0.25
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    # --- helpers ---------------------------------------------------------------------------

    def rotate_key(self) -> str:
        key = tokens.new_key()
        self.store.set_meta("signing_key", key)
        self._key = key
        self._claims_cache = {}
        return key

    def set_faults(self, faults: FaultConfig) -> None:
        self.faults.configure(faults)
        self.engine.set_faults(faults)

    def _problem(self, ctx: Ctx, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        status = int(body["status"])
        return Response(jsonio.dumps(body), status_code=status, headers=headers,
                        media_type=problems.media_type(ctx.method, ctx.route, status))

    def _bad_param(self, ctx: Ctx, name: str, reason: str) -> Response:
        return self._problem(ctx, problems.validation_error([FieldError(name, reason)], "requestParameter",
                                                            ctx.traceparent))

    def _authorize(self, request: Request, ctx: Ctx, action: str) -> tokens.Claims | Response:
        ua = request.headers.get("user-agent")
        if ua is None:
            return self._bad_param(ctx, "/headers/user-agent", "must have required property 'user-agent'.")
        if not _USER_AGENT.match(ua):
            return self._bad_param(ctx, "/headers/user-agent", f'must match pattern "{_USER_AGENT_PATTERN}".')
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        claims = self._verify(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            return self._problem(ctx, problems.unauthorized(ctx.traceparent),
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        ctx.client_id, ctx.intermediary_id = claims.client_id, claims.intermediary_id
        if not claims.allows(action):
            return self._problem(ctx, problems.forbidden(ctx.traceparent))
        return claims

    def _verify(self, token: str) -> tokens.Claims | None:
        now = time.time()
        claims = self._claims_cache.get(token)
        if claims is None:
            claims = tokens.verify(self._key, token, now=now)
            if claims is None:
                return None
            if len(self._claims_cache) > 10_000:
                self._claims_cache.clear()
            self._claims_cache[token] = claims
        return claims if claims.expires_at > now else None

    async def _json_body(self, request: Request, ctx: Ctx) -> Any:
        raw = await request.body()
        if not raw.strip():
            return self._problem(ctx, problems.no_body(ctx.traceparent))
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != JSON and not media.endswith("+json"):
            return self._problem(ctx, problems.validation_error(
                [FieldError("/headers/content-type", f"unsupported media type: {media or '(none)'}; "
                                                     "send application/json.")],
                "contentType", ctx.traceparent))
        try:
            return jsonio.loads(raw)
        except jsonio.JSONDecodeError:
            return self._problem(ctx, problems.parsing_error(ctx.traceparent))

    async def _classified_body(self, request: Request, ctx: Ctx) -> dict[str, Any] | Response:
        body = await self._json_body(request, ctx)
        if isinstance(body, Response):
            return body
        errors = classified_validator().errors(body)
        if errors:
            return self._problem(ctx, problems.validation_error(errors, "body", ctx.traceparent))
        body = _without_receiver_fields(body)
        if _colliding_contacts(body):
            return self._problem(ctx, problems.colliding_contacts(ctx.traceparent))
        return body

    def _owned(self, ctx: Ctx, claims: tokens.Claims, classified_id: str, *,
               include_deleted: bool = False, include_invisible: bool = False) -> Classified | Response:
        """The classified a request names, or the 404 it gets.

        Look-ups (``include_invisible=False``) do not find a classified during its visibility
        lag; writes by id do, since the id could only come from the POST's own 202.
        """
        ctx.classified_id = classified_id
        c = self.store.classified(classified_id)
        # Another intermediary's classified is "not found" too, with the same body (the spec's
        # ResourceAccessForbiddenError), so ids cannot be probed across agencies. So is one that
        # is not yet visible: the client cannot tell "not yet" from "never".
        if (c is None or c.intermediary_id != claims.intermediary_id or (c.deleted and not include_deleted)
                or (not include_invisible and not self.engine.visible(c))):
            return self._problem(ctx, problems.not_found(classified_id, ctx.traceparent))
        return c

    def _accepted(self, classified_id: str, revision: int | None) -> Response:
        """The 202 of a write: the spec's body, plus the revision it leads to as ETag (our extension)."""
        headers = None
        if revision is not None and self.config.processing.etag_on_write:
            headers = {"ETag": _etag(revision)}
        return Response(orjson.dumps({"classifiedId": classified_id,
                                      "links": [{"statuses": f"/classifieds/{classified_id}/statuses"}]}),
                        status_code=202, headers=headers, media_type=JSON)

    # --- API ---------------------------------------------------------------------------

    async def _serve_api(self, request: Request, ctx: Ctx, api_path: str) -> Response:
        route, params = _match_route(api_path)
        ctx.route = route
        if route is None:
            return self._problem(ctx, problems.not_found(api_path, ctx.traceparent))
        handler = self._api.get((ctx.method, route))
        if handler is None:
            allowed = ", ".join(m for (m, r) in self._api if r == route)
            return self._problem(ctx, problems.problem(405, f"{ctx.method} is not allowed on {route}.",
                                                       ctx.traceparent), {"Allow": allowed})
        try:
            return await handler(request, ctx, params)
        except ClientDisconnect:
            raise
        except Exception:  # a sandbox bug must still answer like the API does, and say so in the log
            log.exception("sandbox handler failed: %s %s", ctx.method, api_path)
            return self._problem(ctx, problems.server_error(500, ctx.traceparent))

    async def create_classified(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "create")
        if isinstance(claims, Response):
            return claims
        body = await self._classified_body(request, ctx)
        if isinstance(body, Response):
            return body
        duplicate_url = _duplicate_media_url(body)
        if duplicate_url is not None:
            return self._problem(ctx, _duplicated_media(duplicate_url, None, ctx.traceparent))
        oei = body["data"]["metaData"]["source"]["offererEstateId"]
        existing = self.store.live_by_offerer_estate_id(claims.intermediary_id, oei)
        if existing is not None:
            ctx.classified_id = existing.id
            return self._problem(ctx, problems.duplicated(oei, existing.id, ctx.traceparent))
        classified_id = self.engine.create(intermediary_id=claims.intermediary_id, client_id=claims.client_id,
                                           body=body)
        ctx.classified_id = classified_id
        await self.engine.process_due()
        return self._accepted(classified_id, 1)

    async def list_classifieds(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "read")
        if isinstance(claims, Response):
            return claims
        query = request.query_params
        oei = query.get("offererEstateId")
        if oei is not None and oei == "":
            return self._bad_param(ctx, "/query/offererEstateId", "must NOT have fewer than 1 characters.")
        page = _page(query, DEFAULT_PAGE)
        if isinstance(page, FieldError):
            return self._bad_param(ctx, page.name, page.reason)
        limit, after = page
        found = self.store.live_classifieds(claims.intermediary_id, offerer_estate_id=oei, after_seq=after,
                                            limit=limit + 1, visible_at=self.engine.clock())
        result: dict[str, Any] = {"items": [_representation(c) for c in found[:limit]]}
        if len(found) > limit:
            result["nextToken"] = _cursor(found[limit - 1].seq)
        return Response(jsonio.dumps(result), media_type=JSON)

    async def get_classified(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "read")
        if isinstance(claims, Response):
            return claims
        c = self._owned(ctx, claims, params["classifiedId"])
        if isinstance(c, Response):
            return c
        return Response(jsonio.dumps(_representation(c)), media_type=JSON, headers={"ETag": _etag(c.revision)})

    async def update_classified(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "update")
        if isinstance(claims, Response):
            return claims
        body = await self._classified_body(request, ctx)
        if isinstance(body, Response):
            return body
        c = self._owned(ctx, claims, params["classifiedId"], include_invisible=True)
        if isinstance(c, Response):
            return c
        # Without If-Match, the last writer wins (the spec makes the header optional).
        if_match = request.headers.get("if-match")
        if if_match is not None and not _etag_matches(if_match, c.revision):
            return self._problem(ctx, problems.precondition_failed(ctx.traceparent))
        duplicate_url = _duplicate_media_url(body)
        if duplicate_url is not None:
            return self._problem(ctx, _duplicated_media(duplicate_url, c.id, ctx.traceparent))
        oei = body["data"]["metaData"]["source"]["offererEstateId"]
        if oei != c.offerer_estate_id:
            other = self.store.live_by_offerer_estate_id(claims.intermediary_id, oei)
            if other is not None:
                return self._problem(ctx, problems.duplicated(oei, other.id, ctx.traceparent))
        revision = self.engine.update(c, body)
        if revision is None:
            ctx.note = "unchanged"
        await self.engine.process_due()
        return self._accepted(c.id, c.revision if revision is None else revision)

    async def delete_classified(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "delete")
        if isinstance(claims, Response):
            return claims
        c = self._owned(ctx, claims, params["classifiedId"], include_invisible=True)
        if isinstance(c, Response):
            return c
        self.engine.delete(c)
        await self.engine.process_due()
        # No ETag: it would name a revision that no GET can ever return (the classified is gone).
        return self._accepted(c.id, None)

    async def get_statuses(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "read")
        if isinstance(claims, Response):
            return claims
        query = request.query_params
        latest = query.get("filter")
        if latest is not None and latest != "latest":
            return self._bad_param(ctx, "/query/filter", "must be equal to one of the allowed values: latest.")
        wanted_statuses = _multi(query.getlist("status"))
        wanted_portals = _multi(query.getlist("portal"))
        for name, values, allowed in (("status", wanted_statuses, _STATUS_ENUM), ("portal", wanted_portals,
                                                                                   _PORTAL_ENUM)):
            for i, v in enumerate(values):
                if v not in allowed:
                    return self._bad_param(ctx, f"/query/{name}/{i}", "must be equal to one of the allowed values: "
                                           f"{', '.join(sorted(allowed))}.")
        page = _page(query, DEFAULT_PAGE)
        if isinstance(page, FieldError):
            return self._bad_param(ctx, page.name, page.reason)
        limit, after = page
        c = self._owned(ctx, claims, params["classifiedId"], include_deleted=True)
        if isinstance(c, Response):
            return c
        rows = [(seq, s) for seq, s in self.store.statuses(c.id)
                if (not wanted_statuses or s["status"] in wanted_statuses)
                and (not wanted_portals or any(p in wanted_portals for p in s["portals"]))]
        if latest == "latest" or query.get("current", "").lower() == "true":
            rows = rows[-1:]
        rows = [(seq, s) for seq, s in rows if seq > after]
        result: dict[str, Any] = {"items": [s for _, s in rows[:limit]]}
        if len(rows) > limit:
            result["nextToken"] = _cursor(rows[limit - 1][0])
        return Response(jsonio.dumps(result), media_type=JSON)

    async def put_webhook(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "read")
        if isinstance(claims, Response):
            return claims
        body = await self._json_body(request, ctx)
        if isinstance(body, Response):
            return body
        errors = webhook_validator().errors(body)
        if errors:
            return self._problem(ctx, problems.validation_error(errors, "body", ctx.traceparent))
        self.store.set_webhook(claims.intermediary_id, claims.client_id, body["url"], body.get("statuses"))
        return Response(orjson.dumps("success"), media_type=JSON)

    async def delete_webhook(self, request: Request, ctx: Ctx, params: dict[str, str]) -> Response:
        claims = self._authorize(request, ctx, "read")
        if isinstance(claims, Response):
            return claims
        if not self.store.delete_webhook(claims.intermediary_id):
            return self._problem(ctx, problems.not_found("webhook subscription", ctx.traceparent))
        return Response(orjson.dumps("success"), media_type=JSON)

# --- pure helpers ----------------------------------------------------------------------------


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def _match_route(api_path: str | None) -> tuple[str | None, dict[str, str]]:
    if api_path is None:
        return None, {}
    for pattern, route in _API_ROUTES:
        m = pattern.match(api_path)
        if m:
            return route, m.groupdict()
    return None, {}


def _etag(revision: int) -> str:
    return f'"{revision}"'


def _representation(c: Classified) -> dict[str, Any]:
    """A classified as GET returns it: the body, ``classifiedId``, and the receiver-set metaData."""
    body = dict(c.body)
    data = dict(body["data"])
    meta = dict(data["metaData"])
    meta.update(createDate=c.created_at, changeDate=c.updated_at, classifiedId=c.id)
    data["metaData"] = meta
    body["data"] = data
    body["classifiedId"] = c.id
    return body


def _without_receiver_fields(body: dict[str, Any]) -> dict[str, Any]:
    meta = body["data"]["metaData"]
    if not any(k in meta for k in _RECEIVER_SET):
        return body
    data = dict(body["data"])
    data["metaData"] = {k: v for k, v in meta.items() if k not in _RECEIVER_SET}
    return {**body, "data": data}


def _colliding_contacts(body: dict[str, Any]) -> bool:
    """``data.contact`` and the (deprecated) contact persons of ``specific.gsl`` sent together."""
    if not body["data"].get("contact"):
        return False
    gsl = (body.get("specific") or {}).get("gsl") or {}
    return bool(gsl.get("mainContactPerson") or gsl.get("additionalContactPerson"))


def _duplicate_media_url(body: dict[str, Any]) -> str | None:
    seen: set[str] = set()
    for item in body.get("media") or ():
        url = item.get("url")
        if url in seen:
            return str(url)
        seen.add(url)
    return None


def _duplicated_media(url: str, classified_id: str | None, instance: str) -> dict[str, Any]:
    detail = (f"This url: {url} is already sent on the media identified by mediaId : "
              f"{_media_id(classified_id or 'new', url)} for the classified identified by classifiedId: "
              f"{classified_id or '(new classified)'}. Media must have unique url.")
    return problems.problem(400, detail, instance, title="Duplicated media",
                            type_=problems.DOC + "Duplicated-Media-Error")


def _media_id(classified_id: str, url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{classified_id} {url}"))


def _etag_matches(header: str, revision: int) -> bool:
    if header.strip() == "*":
        return True
    wanted = _etag(revision)
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _multi(values: list[str]) -> list[str]:
    """Form-exploded arrays (``status=A&status=B``); comma-separated values are accepted too."""
    return [v for raw in values for v in raw.split(",") if v]


def _cursor(seq: int) -> str:
    return urlsafe_b64encode(f"after:{seq}".encode()).decode("ascii").rstrip("=")


def _page(query: Any, default: int) -> tuple[int, int] | FieldError:
    raw_limit = query.get("limit")
    limit = default
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            return FieldError("/query/limit", "must be integer.")
        # The spec declares no bounds and no 400 here: out-of-range limits are clamped.
        limit = min(max(limit, 1), MAX_PAGE)
    after = 0
    token = query.get("nextToken")
    if token is not None:
        try:
            text = urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            if not text.startswith("after:"):
                raise ValueError(token)
            after = int(text[len("after:"):])
        except (ValueError, UnicodeDecodeError):
            return FieldError("/query/nextToken", "must be a nextToken returned by a previous page.")
    return limit, after
