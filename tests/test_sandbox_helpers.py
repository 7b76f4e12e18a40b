"""Shared builders and fixtures for the sandbox's tests (no tests here)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl.sandbox import RunningSandbox, SandboxConfig, running_sandbox

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SPEC_PATH = REFERENCE / "aviv-classified-api-v4.json"
EXAMPLE: dict[str, Any] = json.loads((REFERENCE / "aviv-v4-example.json").read_text(encoding="utf-8"))
UA = "AgencyFeedEtl/1.0.0 python-httpx/0.28.1 linux/6.1"
# Building an SSL context costs ~0.1 s per httpx.Client; the sandbox is plain HTTP anyway.
TLS = httpx.create_ssl_context()
HTTP = httpx.Client(verify=TLS, timeout=10)


def no_lag(config: SandboxConfig | None = None) -> SandboxConfig:
    """``config`` (default: the default one) with new classifieds visible to look-ups at once.

    Most tests check what follows a write, not the visibility lag: test_sandbox_visibility does.
    """
    config = config or SandboxConfig()
    return config.model_copy(update={"processing": config.processing.model_copy(update={"visibility_delay_s": 0.0})})


def no_lag_sandbox(config: SandboxConfig | None = None, **kw: Any) -> AbstractContextManager[RunningSandbox]:
    """``running_sandbox`` without the visibility lag (see :func:`no_lag`)."""
    return running_sandbox(no_lag(config), **kw)


def example(oei: str | None = None, **changes: Any) -> dict[str, Any]:
    """The spec's example payload; with ``oei``, its own offererEstateId and media URLs."""
    body = copy.deepcopy(EXAMPLE)
    if oei is not None:
        body["data"]["metaData"]["source"]["offererEstateId"] = oei
        for i, m in enumerate(body["media"]):
            m["url"] = f"https://media.example-agency.fr/{oei}/{i}.jpg?timestamp=1"
    body.update(changes)
    return body


def get_token(sb: RunningSandbox, intermediary: str = "AG1", *, client_id: str = "demo",
              secret: str = "demo-secret", **extra: Any) -> httpx.Response:
    return HTTP.post(sb.token_url, json={"client_id": client_id, "client_secret": secret,
                                          "grant_type": "client_credentials", "audience": sb.audience,
                                          "intermediary_id": intermediary, **extra})


class Api:
    """A plain HTTP client of the sandbox's API: what a loader would send, nothing more."""

    def __init__(self, sb: RunningSandbox, intermediary: str = "AG1", **token_kw: Any) -> None:
        response = get_token(sb, intermediary, **token_kw)
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.http = httpx.Client(base_url=sb.base_url, timeout=10, verify=TLS,
                                 headers={"User-Agent": UA, "Authorization": f"Bearer {self.token}"})

    def post(self, body: Any, **kw: Any) -> httpx.Response:
        return self.http.post("/classifieds", json=body, **kw)

    def create(self, body: dict[str, Any]) -> str:
        response = self.post(body)
        assert response.status_code == 202, response.text
        return response.json()["classifiedId"]

    def get(self, classified_id: str, **kw: Any) -> httpx.Response:
        return self.http.get(f"/classifieds/{classified_id}", **kw)

    def list(self, **params: Any) -> httpx.Response:
        return self.http.get("/classifieds", params=params)

    def put(self, classified_id: str, body: Any, *, if_match: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"If-Match": if_match} if if_match is not None else {}
        return self.http.put(f"/classifieds/{classified_id}", json=body, headers=headers, **kw)

    def delete(self, classified_id: str) -> httpx.Response:
        return self.http.delete(f"/classifieds/{classified_id}")

    def statuses(self, classified_id: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/classifieds/{classified_id}/statuses", params=params)

    def status_names(self, classified_id: str) -> list[str]:
        response = self.statuses(classified_id)
        assert response.status_code == 200, response.text
        return [s["status"] for s in response.json()["items"]]

    def latest(self, classified_id: str) -> dict[str, Any]:
        return self.statuses(classified_id, filter="latest").json()["items"][0]

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    with no_lag_sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> RunningSandbox:
    """A default sandbox, emptied before each test (one server per module: starting one costs ~0.2 s)."""
    shared_sandbox.reset()
    shared_sandbox.clear_faults()
    return shared_sandbox


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.close()


class Receiver:
    """A webhook subscriber: records the callbacks, answers with the statuses it is told to."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = list(answers or [])
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                code = receiver.answers.pop(0) if receiver.answers else 201
                receiver.calls.append((self.path, body))
                receiver.event.set()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # serves media for the fetch_media tests
                code = 200 if self.path.startswith("/ok") else 404
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
