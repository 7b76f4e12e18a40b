"""Token cache file and request pacing (the parts of the client that need no server)."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

from etl.load.client import RateLimiter, traceparent, user_agent
from etl.agencies import ResolvedCredentials
from etl.load.tokens import Token, TokenFile, TokenProvider

CREDS = ResolvedCredentials("demo", "demo-secret", "agency-1")


def test_token_file_is_private_and_survives_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    TokenFile(path).put("k", Token("abc", time.time() + 86400))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenFile(path).get("k") == Token("abc", TokenFile(path).get("k").expires_at)


def test_token_near_expiry_is_not_reused(tmp_path: Path) -> None:
    f = TokenFile(tmp_path / "t.json")
    f.put("k", Token("abc", time.time() + 60))
    assert f.get("k") is None


def test_concurrent_callers_share_one_token_request() -> None:
    calls = 0

    async def fetch(creds: ResolvedCredentials) -> Token:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return Token(f"t-{creds.intermediary_id}", time.time() + 86400)

    async def main() -> list[Token]:
        p = TokenProvider(TokenFile(None), "u", "a", fetch)
        return await asyncio.gather(*(p.get(CREDS) for _ in range(20)),
                                    p.get(ResolvedCredentials("demo", "demo-secret", "agency-2")))

    toks = asyncio.run(main())
    assert calls == 2 and {t.access_token for t in toks} == {"t-agency-1", "t-agency-2"}


def test_token_repr_hides_the_secret() -> None:
    assert "abc" not in repr(Token("abc", 1.0))


def test_rate_limiter_never_exceeds_its_rate() -> None:
    async def main() -> list[float]:
        lim = RateLimiter(100)
        stamps: list[float] = []

        async def one() -> None:
            await lim.acquire()
            stamps.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(60)))
        return stamps

    stamps = sorted(asyncio.run(main()))
    elapsed = stamps[-1] - stamps[0]
    # 59 intervals of 10 ms: never faster; the upper bound only catches a limiter that stalls
    # (a loaded CI machine may wake late, so it is generous).
    assert 0.58 <= elapsed < 3.0
    # no 100 ms window holds more than 10 starts (+1 for a late wake-up caught up)
    assert max(sum(1 for t in stamps if s <= t < s + 0.1) for s in stamps) <= 11


def test_user_agent_has_the_three_token_form_the_api_requires() -> None:
    import re
    pattern = r"^[^\/\s]+\/[^\/\s]+\s{1}[^\/\s]+\/[^\/\s]+\s{1}[^\/\s]+\/[^\/\s]+$"
    assert re.match(pattern, user_agent())
    assert re.match(pattern, user_agent("My CRM/x"))


def test_traceparent_is_w3c_shaped_and_keeps_the_trace_id() -> None:
    import re
    tp = traceparent("a" * 32)
    assert re.match(r"^00-a{32}-[0-9a-f]{16}-01$", tp)
