"""Bearer tokens: HS256 JWTs signed with a key the sandbox keeps in its state.

Keeping the key in the state store means a token survives a restart of a
file-backed sandbox, as a real 24 h token survives a server deployment; rotating
it expires every token at once (the admin API's "expire tokens").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass

import orjson

INTERMEDIARY_CLAIM = "https://api.aviv-group.com/intermediary_id"
ISSUER = "https://auth.api.aviv-group.com/ (classifieds-etl sandbox)"

_SCOPE_FOR = {
    "read": "caas:classifieds:read",
    "create": "caas:classifieds:create",
    "update": "caas:classifieds:update",
    "delete": "caas:classifieds:delete",
}


@dataclass(frozen=True, slots=True)
class Claims:
    client_id: str
    intermediary_id: str
    scopes: frozenset[str]
    expires_at: int
    audience: str

    def allows(self, action: str) -> bool:
        """Scopes are hierarchical: ``caas:*`` ⊇ ``caas:classifieds:*`` ⊇ ``caas:classifieds:<action>``."""
        if "caas:*" in self.scopes or "caas:classifieds:*" in self.scopes:
            return True
        return _SCOPE_FOR[action] in self.scopes


def covers(granted: frozenset[str] | set[str] | list[str], scope: str) -> bool:
    """Whether scopes ``granted`` to a client include ``scope`` (asked for in a token request)."""
    if scope in granted or "caas:*" in granted:
        return True
    return scope.startswith("caas:classifieds:") and "caas:classifieds:*" in granted


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    return secrets.token_hex(32)


def issue(key: str, *, client_id: str, intermediary_id: str, scopes: list[str], audience: str,
          now: float, ttl_s: int) -> str:
    header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(orjson.dumps({
        "iss": ISSUER,
        "sub": f"{client_id}@clients",
        "azp": client_id,
        "aud": audience,
        "iat": int(now),
        # Rounded up: a token is never valid for less than its announced expires_in.
        "exp": math.ceil(now) + ttl_s,
        "scope": " ".join(scopes),
        "gty": "client-credentials",
        INTERMEDIARY_CLAIM: intermediary_id,
        "jti": uuid.uuid4().hex,
    }))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = _b64(hmac.new(key.encode("ascii"), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def verify(key: str, token: str, *, now: float) -> Claims | None:
    """The token's claims, or None when it is malformed, forged or expired."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        expected = hmac.new(key.encode("ascii"), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        payload = orjson.loads(_unb64(parts[1]))
        claims = Claims(
            client_id=str(payload["azp"]),
            intermediary_id=str(payload[INTERMEDIARY_CLAIM]),
            scopes=frozenset(str(payload.get("scope", "")).split()),
            expires_at=int(payload["exp"]),
            audience=str(payload.get("aud", "")),
        )
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, orjson.JSONDecodeError):
        return None
    return claims if claims.expires_at > now else None
