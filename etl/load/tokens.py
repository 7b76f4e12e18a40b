"""OAuth2 client-credentials tokens: one per (client, intermediary, audience), reused for its lifetime.

AVIV checks that tokens are reused for their full 24 h, so a token outlives the
run: it is kept in a small file readable only by its owner (mode 0600), never
in the state store, logs or reports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from etl.agencies import ResolvedCredentials
from etl.errors import AuthError

# Renew a little before expiry so a long run never sends an expired token.
EXPIRY_MARGIN_S = 300.0


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    expires_at: float

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at})"

    def fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.expires_at - EXPIRY_MARGIN_S


def cache_key(token_url: str, audience: str, creds: ResolvedCredentials) -> str:
    return hashlib.sha256("\x00".join((token_url, audience, creds.client_id, creds.intermediary_id)).encode()).hexdigest()


class TokenFile:
    """Tokens persisted between runs. ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None):
        self.path = path
        self._tokens: dict[str, Token] | None = None

    def _load(self) -> dict[str, Token]:
        if self._tokens is None:
            self._tokens = {}
            if self.path is not None:
                try:
                    raw = json.loads(self.path.read_text(encoding="utf-8"))
                    self._tokens = {k: Token(v["access_token"], float(v["expires_at"])) for k, v in raw.items()}
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    self._tokens = {}
        return self._tokens

    def get(self, key: str) -> Token | None:
        tok = self._load().get(key)
        return tok if tok is not None and tok.fresh() else None

    def put(self, key: str, token: Token) -> None:
        tokens = self._load()
        tokens[key] = token
        now = time.time()
        for k in [k for k, t in tokens.items() if t.expires_at < now]:
            del tokens[k]
        self._save(tokens)

    def drop(self, key: str, token: Token) -> None:
        tokens = self._load()
        if tokens.get(key) == token:
            del tokens[key]
            self._save(tokens)

    def _save(self, tokens: dict[str, Token]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({k: {"access_token": t.access_token, "expires_at": t.expires_at} for k, t in tokens.items()})
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


Fetch = Callable[[ResolvedCredentials], Awaitable[Token]]


class TokenProvider:
    """Hands out the cached token of an intermediary; fetches at most once at a time per key."""

    def __init__(self, store: TokenFile, token_url: str, audience: str, fetch: Fetch):
        self.store = store
        self.token_url = token_url
        self.audience = audience
        self._fetch = fetch
        self._locks: dict[str, asyncio.Lock] = {}
        # A refusal holds for the rest of the run: the requests queued behind it stop at once
        # instead of each asking again (and sending once the token server gives in).
        self._refused: dict[str, AuthError] = {}
        self.requests = 0  # token requests made by this provider (for the run summary and tests)

    async def get(self, creds: ResolvedCredentials) -> Token:
        key = cache_key(self.token_url, self.audience, creds)
        tok = self.store.get(key)
        if tok is not None:
            return tok
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._refused:
                raise self._refused[key]
            tok = self.store.get(key)
            if tok is None:
                self.requests += 1
                try:
                    tok = await self._fetch(creds)
                except AuthError as exc:
                    self._refused[key] = exc
                    raise
                self.store.put(key, tok)
            return tok

    def invalidate(self, creds: ResolvedCredentials, token: Token) -> None:
        """Forget a token the API refused (only if no one replaced it meanwhile)."""
        self.store.drop(cache_key(self.token_url, self.audience, creds), token)
