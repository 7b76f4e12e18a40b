"""How many POSTs of the spec's example payload the sandbox absorbs per second.

    python -m etl.sandbox.bench [--seconds 5] [--connections 16] [--state FILE] [--example FILE]

Starts ``python -m etl.sandbox`` in its own process (one event loop: one core),
then drives it from this process over keep-alive connections with pre-built raw
HTTP/1.1 requests, so that the client costs little next to the server. Each POST
carries its own offererEstateId, so every one creates a classified (validation,
duplicate check, storage, and the whole RECEIVING → CREATED processing).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from etl.sandbox.schema import load_spec

UA = "SandboxBench/1.0 asyncio/3 linux/6"


def _example() -> dict[str, Any]:
    """A valid body: the spec's example if the caller gives it, else a minimal SL resale."""
    return {
        "portals": ["SL"],
        "data": {
            "estateType": "APARTMENT", "estateSubType": {"apartment": "STUDIO"}, "distributionType": "BUY",
            "location": {"postalcode": "75011", "city": "Paris", "street": "Rue Oberkampf", "houseNumber": "112",
                         "country": "FRA"},
            "prices": {"currency": "EUR", "buy": {"price": {"amount": 289000}}},
            "metaData": {"source": {"sourceSystem": "bench", "sourceSystemVersion": "1",
                                    "offererMarketingKey": "B", "offererEstateId": "B"}},
        },
        "media": [{"url": "https://media.example.fr/b/01.jpg", "mediaType": "PICTURE"}],
    }


def _requests(host: str, token: str, body: dict[str, Any], n: int, run: str) -> list[bytes]:
    out = []
    for i in range(n):
        b = copy.deepcopy(body)
        b["data"]["metaData"]["source"]["offererEstateId"] = f"bench-{run}-{i}"
        for j, m in enumerate(b.get("media", [])):
            m["url"] = f"https://media.example.fr/bench/{run}/{i}/{j}.jpg"
        payload = json.dumps(b, ensure_ascii=False).encode()
        out.append(b"POST /caas/v4/classifieds HTTP/1.1\r\nHost: " + host.encode()
                   + b"\r\nUser-Agent: " + UA.encode() + b"\r\nAuthorization: Bearer " + token.encode()
                   + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(payload)).encode()
                   + b"\r\n\r\n" + payload)
    return out


async def _drive(host: str, port: int, requests: list[bytes], connections: int, seconds: float) -> tuple[int, int]:
    queue = iter(requests)
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                request = next(queue, None)
                if request is None:
                    return
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 202"):
                    done += 1
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.sandbox.bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--state", help="SQLite state file (default: in memory)")
    parser.add_argument("--example", help="JSON payload to post (e.g. the spec's aviv-v4-example.json)")
    args = parser.parse_args(argv)
    load_spec()  # fail early if the embedded spec is missing
    body = json.loads(Path(args.example).read_text(encoding="utf-8")) if args.example else _example()

    command = [sys.executable, "-m", "etl.sandbox", "--port", "0", "--log-level", "warning"]
    if args.state:
        command += ["--state", args.state]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        root = line.split("API ", 1)[1].split("/caas/v4", 1)[0]
        host, port = root.removeprefix("http://").rsplit(":", 1)
        for _ in range(200):
            try:
                httpx.get(root + "/_sandbox/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        token = httpx.post(root + "/oauth/token", json={
            "client_id": "demo", "client_secret": "demo-secret", "grant_type": "client_credentials",
            "audience": root + "/caas/v4", "intermediary_id": "BENCH"}).json()["access_token"]
        # Enough distinct payloads for any realistic rate; building them is not timed.
        requests = _requests(f"{host}:{port}", token, body, int(args.seconds * 6000), "w")
        asyncio.run(_drive(host, int(port), requests[:200], 4, 2.0))  # warm-up
        requests = requests[200:]
        started = time.perf_counter()
        done, errors = asyncio.run(_drive(host, int(port), requests, args.connections, args.seconds))
        elapsed = time.perf_counter() - started
        stored = len(httpx.get(root + "/_sandbox/classifieds").json()["items"])
        print(json.dumps({"posts_per_s": round(done / elapsed, 1), "accepted": done, "errors": errors,
                          "seconds": round(elapsed, 2), "connections": args.connections,
                          "state": args.state or "memory", "classifieds_stored": stored,
                          "payload_bytes": len(requests[0])}))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
