"""Feeds from URLs against a real local HTTP server: conditional GET, errors, drops, size limits, secrets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from etl.errors import SourceUnreadable
from etl.extract.fetch import fetch, safe_url

BODY = b"<?xml version='1.0'?><trovit>" + b"<ad><id>1</id></ad>" * 2000 + b"</trovit>"
ETAG = '"v1"'
MODIFIED = "Mon, 30 Nov 2026 03:00:00 GMT"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: dict[str, int] = {}
    seen_headers: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?")[0]
        Handler.hits[path] = Handler.hits.get(path, 0) + 1
        Handler.seen_headers.append(dict(self.headers))
        if path == "/feed.xml":
            if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == MODIFIED:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.end_headers()
                return
            self._send(BODY, {"ETag": ETAG, "Last-Modified": MODIFIED, "Content-Type": "application/xml"})
        elif path == "/missing":
            self._send(b"not here", status=404)
        elif path == "/drop":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:1000])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-download
            self.close_connection = True
        elif path == "/flaky":
            if Handler.hits[path] == 1:
                self._send(b"busy", status=503)
            else:
                self._send(BODY)
        elif path == "/huge-announced":
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 20))
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.close_connection = True
        elif path == "/huge-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            try:
                for _ in range(64):  # 4 MB, no length announced
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif path == "/slow":
            time.sleep(1.5)
            self._send(BODY)
        else:
            self._send(b"?", status=500)

    def _send(self, body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test): nothing to answer


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.hits = {}
    Handler.seen_headers = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def no_sleep(_: float) -> None:
    pass


def test_a_feed_is_downloaded_to_a_file_with_the_validators_to_remember(server, tmp_path):
    result = fetch(f"{server}/feed.xml", tmp_path, sleep=no_sleep)
    assert not result.not_modified and result.path == tmp_path / "feed.xml"
    assert result.path.read_bytes() == BODY and result.size == len(BODY)
    assert result.validators == {"etag": ETAG, "last_modified": MODIFIED}
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]  # no temporary file left


def test_an_unchanged_feed_answers_304_and_nothing_is_downloaded(server, tmp_path):
    result = fetch(f"{server}/feed.xml", tmp_path, validators={"etag": ETAG, "last_modified": MODIFIED}, sleep=no_sleep)
    assert result.not_modified and result.path is None and result.status == 304
    assert result.validators["etag"] == ETAG
    sent = Handler.seen_headers[-1]
    assert sent["If-None-Match"] == ETAG and sent["If-Modified-Since"] == MODIFIED
    assert not list(tmp_path.iterdir())


def test_a_404_is_refused_as_unreadable_and_not_retried(server, tmp_path):
    with pytest.raises(SourceUnreadable, match=r"HTTP 404 \(flux introuvable\).*rien n'est retiré"):
        fetch(f"{server}/missing", tmp_path, sleep=no_sleep)
    assert Handler.hits["/missing"] == 1


def test_a_connection_dropped_mid_download_is_retried_then_refused_leaving_no_file(server, tmp_path):
    pauses: list[float] = []
    with pytest.raises(SourceUnreadable, match="connexion coupée pendant le transfert"):
        fetch(f"{server}/drop", tmp_path, retries=2, backoff=0.5, sleep=pauses.append)
    assert Handler.hits["/drop"] == 3 and pauses == [0.5, 1.0]  # exponential backoff
    assert not list(tmp_path.iterdir())


def test_a_transient_error_is_retried_and_the_feed_then_downloaded(server, tmp_path):
    result = fetch(f"{server}/flaky", tmp_path, sleep=no_sleep)
    assert result.path is not None and result.path.read_bytes() == BODY and Handler.hits["/flaky"] == 2


def test_an_oversize_body_is_refused_whether_announced_or_streamed(server, tmp_path):
    with pytest.raises(SourceUnreadable, match="annonce 10,0 Mo, au-delà de la limite de 1,0 Mo"):
        fetch(f"{server}/huge-announced", tmp_path, max_bytes=1 << 20, sleep=no_sleep)
    with pytest.raises(SourceUnreadable, match="plus de 1,0 Mo reçus"):
        fetch(f"{server}/huge-chunked", tmp_path, max_bytes=1 << 20, sleep=no_sleep)
    assert not list(tmp_path.iterdir())


def test_a_timeout_is_retried_then_refused(server, tmp_path):
    with pytest.raises(SourceUnreadable, match="délai dépassé"):
        fetch(f"{server}/slow", tmp_path, timeout=0.3, retries=1, sleep=no_sleep)
    assert Handler.hits["/slow"] == 2


def test_messages_never_show_the_credentials_of_the_url(server, tmp_path):
    host = server.removeprefix("http://")
    url = f"http://agence:s3cr3t-pass@{host}/missing?token=abc123&key=zz"
    with pytest.raises(SourceUnreadable) as caught:
        fetch(url, tmp_path, sleep=no_sleep)
    message = str(caught.value)
    assert "s3cr3t" not in message and "abc123" not in message and "agence:" not in message
    assert f"http://{host}/missing?…" in message
    assert safe_url("https://u:p@feeds.example.fr:8443/x.xml#frag") == "https://feeds.example.fr:8443/x.xml"


def test_only_http_urls_are_fetched(tmp_path):
    with pytest.raises(SourceUnreadable, match="seules les adresses http"):
        fetch("file:///etc/passwd", tmp_path)
