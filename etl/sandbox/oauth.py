"""``POST /oauth/token``: OAuth2 client credentials, answered the way AVIV's Auth0 tenant does.

JSON body ``{client_id, client_secret, grant_type, audience, intermediary_id}`` (a
form-encoded body is accepted too); errors are Auth0's ``{error, error_description}``.
Every token issued is counted per client and intermediary, so a test can prove a
client reuses its token.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from etl.sandbox import tokens
from etl.sandbox.config import SandboxConfig
from etl.sandbox.store import Store

JSON = "application/json"


async def token_endpoint(request: Request, config: SandboxConfig, store: Store,
                         key: str) -> tuple[Response, str | None, str | None]:
    """The answer, and the client and intermediary it concerns (for the request log)."""
    if request.method != "POST":
        return _error(405, "invalid_request", "Use POST."), None, None
    data = await _parameters(request)
    if not isinstance(data, dict):
        return _error(400, "invalid_request", "The request body must be a JSON object."), None, None
    if data.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "Only client_credentials is supported."), None, None
    for name in ("client_id", "client_secret", "audience", "intermediary_id"):
        if not isinstance(data.get(name), str) or not data[name]:
            return _error(400, "invalid_request", f"Missing required parameter: {name}."), None, None
    client_id, secret = data["client_id"], data["client_secret"]
    audience, intermediary_id = data["audience"], data["intermediary_id"]
    client = config.client(client_id)
    if client is None or not secrets.compare_digest(client.client_secret.get_secret_value().encode(),
                                                    secret.encode()):
        return _error(401, "access_denied", "Unauthorized"), None, None
    if not _audience_ok(config, audience):
        return _error(403, "access_denied", f"Service not enabled within domain: {audience}"), client_id, None
    if not client.allows(intermediary_id):
        return (_error(403, "access_denied", f"Client {client_id} may not act for intermediary {intermediary_id}."),
                client_id, None)
    granted = list(client.scopes)
    if isinstance(data.get("scope"), str) and data["scope"].strip():
        # The spec: "The access token issued will only contain the requested scopes."
        granted = [s for s in data["scope"].split() if tokens.covers(client.scopes, s)]
    token = tokens.issue(key, client_id=client_id, intermediary_id=intermediary_id, scopes=granted,
                         audience=audience, now=time.time(), ttl_s=config.token_ttl_s)
    store.count_token_request(client_id, intermediary_id)
    response = Response(orjson.dumps({"access_token": token, "expires_in": config.token_ttl_s,
                                      "token_type": "Bearer", "scope": " ".join(granted)}),
                        media_type=JSON, headers={"Cache-Control": "no-store"})
    return response, client_id, intermediary_id


async def _parameters(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media == "application/x-www-form-urlencoded":
            form = await request.form()
            return {k: v for k, v in form.items() if isinstance(v, str)}
        return orjson.loads(await request.body())
    except (orjson.JSONDecodeError, AssertionError, ValueError):
        return None


def _audience_ok(config: SandboxConfig, audience: str) -> bool:
    if config.audiences is not None:
        return audience in config.audiences
    return urlsplit(audience).path.rstrip("/").endswith("/caas/v4")


def _error(status: int, error: str, description: str) -> Response:
    return Response(orjson.dumps({"error": error, "error_description": description}), status_code=status,
                    media_type=JSON)
