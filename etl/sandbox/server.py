"""Running the sandbox: as the ``classifieds-etl sandbox`` server, or in process for tests and the demo.

``running_sandbox()`` serves it on a free port from a background thread and
yields a :class:`RunningSandbox`; :class:`SandboxClient` is the same admin
interface for a sandbox running in another process (``classifieds-etl sandbox``),
so a test can drive either the same way::

    with running_sandbox(SandboxConfig(...)) as sb:
        client = AvivClient(base_url=sb.base_url, token_url=sb.token_url, ...)
        ...
        assert sb.token_requests("demo") == 1
        assert [e for e in sb.request_log(kind="api")] == []
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from etl.sandbox.app import SandboxApp
from etl.sandbox.config import FaultConfig, SandboxConfig
from etl.sandbox.store import Store


@cache
def _tls() -> ssl.SSLContext:
    # One context for every handle: building one costs ~0.1 s, a lot for a test fixture.
    return httpx.create_ssl_context()


class SandboxClient:
    """The admin API (``/_sandbox``) of a sandbox reachable at ``root_url`` (e.g. ``http://127.0.0.1:8765``)."""

    def __init__(self, root_url: str, *, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/")
        self._http = httpx.Client(base_url=self.root_url + "/_sandbox", timeout=timeout, verify=_tls())

    @property
    def base_url(self) -> str:
        """What the loader uses instead of ``https://api.aviv-group.com/caas/v4``."""
        return self.root_url + "/caas/v4"

    @property
    def token_url(self) -> str:
        """What the loader uses instead of ``https://auth.api.aviv-group.com/oauth/token``."""
        return self.root_url + "/oauth/token"

    @property
    def audience(self) -> str:
        return self.base_url

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = self._http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def request_log(self, *, since: int = 0, path_prefix: str | None = None,
                    kind: str | None = None) -> list[dict[str, Any]]:
        """Requests served, oldest first: method, path, query, status, time, arrived (epoch seconds, as the
        handler started), duration_ms, traceparent,
        client_id, intermediary_id, classified_id, fault, note, kind ("api" | "token" | "other")."""
        params: dict[str, Any] = {"since": since}
        if path_prefix is not None:
            params["path_prefix"] = path_prefix
        if kind is not None:
            params["kind"] = kind
        return self._json("GET", "/requests", params=params)["items"]

    def api_calls(self, *, since: int = 0) -> list[dict[str, Any]]:
        return self.request_log(since=since, kind="api")

    def last_request_seq(self) -> int:
        return int(self._json("GET", "/requests", params={"limit": 0})["lastSeq"])

    # Short names used by the loader's tests.
    def requests(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        return self.request_log(since=since, kind=kind)

    def last_seq(self) -> int:
        return self.last_request_seq()

    def clear_request_log(self) -> None:
        self._json("DELETE", "/requests")

    def token_requests(self, client_id: str | None = None, intermediary_id: str | None = None) -> int:
        """Tokens issued, for a client (and intermediary) or in all."""
        return sum(row["count"] for row in self._json("GET", "/tokens")["counts"]
                   if (client_id is None or row["clientId"] == client_id)
                   and (intermediary_id is None or row["intermediaryId"] == intermediary_id))

    def token_counts(self) -> dict[str, int]:
        """Tokens issued per intermediary id."""
        counts: dict[str, int] = {}
        for row in self._json("GET", "/tokens")["counts"]:
            counts[row["intermediaryId"]] = counts.get(row["intermediaryId"], 0) + row["count"]
        return counts

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (the next API call gets a 401)."""
        self._json("POST", "/tokens/expire")

    def faults(self) -> FaultConfig:
        return FaultConfig.model_validate(self._json("GET", "/faults"))

    def set_faults(self, faults: FaultConfig | None = None, **fields: Any) -> FaultConfig:
        """Replace the fault configuration (the generator restarts from its seed)."""
        faults = faults if faults is not None else FaultConfig(**fields)
        return FaultConfig.model_validate(self._json("PUT", "/faults", content=faults.model_dump_json(),
                                                     headers={"Content-Type": "application/json"}))

    def clear_faults(self) -> None:
        self._json("DELETE", "/faults")

    def classifieds(self, *, intermediary_id: str | None = None, include_deleted: bool = False,
                    with_body: bool = False) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"include_deleted": int(include_deleted), "with_body": int(with_body)}
        if intermediary_id is not None:
            params["intermediary_id"] = intermediary_id
        return self._json("GET", "/classifieds", params=params)["items"]

    def classified(self, classified_id: str) -> dict[str, Any]:
        """Everything the sandbox knows of one classified, statuses included."""
        return self._json("GET", f"/classifieds/{classified_id}")

    def complete_pending(self) -> int:
        """Run every pending processing step now, whatever the configured delay, and end every
        visibility lag; returns the number of steps run."""
        return int(self._json("POST", "/process")["processed"])

    def webhooks(self) -> dict[str, Any]:
        return self._json("GET", "/webhooks")

    def reset(self) -> None:
        """Forget classifieds, statuses, subscriptions, counters and the request log."""
        self._json("POST", "/reset")

    def close(self) -> None:
        self._http.close()


class RunningSandbox(SandboxClient):
    """A sandbox served from this process; ``app`` gives direct access to its state."""

    def __init__(self, root_url: str, app: SandboxApp) -> None:
        super().__init__(root_url)
        self.app = app


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only disables Nagle on accepted sockets whose proto
    # says TCP, and with proto 0 every response body waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def build_server(app: SandboxApp, *, log_level: str = "warning") -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on",
                                           timeout_keep_alive=30))
    app.drop_connection = _dropper(server)
    return server


def _dropper(server: uvicorn.Server) -> Any:
    async def drop(scope: dict[str, Any]) -> bool:
        client = tuple(scope.get("client") or ())
        for protocol in list(server.server_state.connections):
            if tuple(getattr(protocol, "client", None) or ()) == client:
                protocol.transport.abort()  # type: ignore[union-attr]
                await asyncio.sleep(0)  # let the protocol see the loss before the app returns
                return True
        return False

    return drop


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def running_sandbox(config: SandboxConfig | None = None, *, state_path: str | Path | None = None,
                    host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningSandbox]:
    """Serve a sandbox on ``host:port`` (a free port by default) for the duration of the block."""
    store = Store(state_path)
    app = SandboxApp(config or SandboxConfig(), store)
    sock = bind_socket(host, port)
    server = build_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="aviv-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    handle = RunningSandbox(_url(host, sock.getsockname()[1]), app)
    try:
        yield handle
    finally:
        handle.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


def serve(config: SandboxConfig, *, host: str = "127.0.0.1", port: int = 8765,
          state_path: str | Path | None = None, log_level: str = "info") -> None:
    """Serve until interrupted (the ``classifieds-etl sandbox`` command)."""
    store = Store(state_path)
    app = SandboxApp(config, store)
    sock = bind_socket(host, port)
    root = _url(host, sock.getsockname()[1])
    where = f"état : {state_path}" if state_path else "état en mémoire"
    print(f"Sandbox AVIV v4 à l'écoute : API {root}/caas/v4 · jeton {root}/oauth/token · "
          f"administration {root}/_sandbox ({where})", flush=True)
    try:
        build_server(app, log_level=log_level).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
    sys.stdout.flush()
