"""URL feeds in the nightly run: an unchanged feed costs one conditional GET and nothing else; a
changed configuration or an unclean last run downloads again; a failed download deletes nothing."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_load_helpers import running_sandbox, sandbox, test_env, write_config  # noqa: F401

from etl.cli import main
from etl.extract.poliris.writer import annonces_bytes, row_values
from etl.feedgen import listings


class FeedServer:
    """Serves one feed at /feed.csv with an ETag; logs each request's conditional header."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.seen: list[tuple[int, str | None]] = []  # (status answered, If-None-Match received)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                etag = '"' + hashlib.sha256(server.body).hexdigest()[:16] + '"'
                asked = self.headers.get("If-None-Match")
                status = server.status if server.status != 200 else (304 if asked == etag else 200)
                server.seen.append((status, asked))
                self.send_response(status)
                if status == 200:
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)
                else:
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.csv"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    try:
        yield server
    finally:
        server.httpd.shutdown()


def _feed(price_bump: int = 0) -> bytes:
    rows = [row_values(r, 329) for r in listings(12, agencies=("ag",), seed=5)]
    for r in rows:
        r[10] = str(150_000 + price_bump)
    return annonces_bytes(rows)


def _config(tmp_path: Path, sb: Any, url: str, **agency: Any) -> Path:
    return write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies={"ag": Path("x")},
                        agency_extra={"source": url, "format": "auto", **agency})


def _run(cfg: Path, out: Path) -> int:
    return main(["run", "--config", str(cfg), "--out", str(out), "--log-format", "json"])


def test_an_unchanged_url_feed_costs_one_conditional_get_and_no_request(
        tmp_path: Path, sandbox: Any, test_env: None, feed_server: FeedServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.body = _feed()
    cfg = _config(tmp_path, sandbox, feed_server.url)
    assert _run(cfg, tmp_path / "n1") == 0
    live = len(sandbox.classifieds())
    assert live > 0 and feed_server.seen == [(200, None)]
    assert list((tmp_path / ".work").iterdir()) == []  # the download is gone once read

    seq = sandbox.last_seq()
    assert _run(cfg, tmp_path / "n2") == 0
    assert feed_server.seen[-1][0] == 304 and feed_server.seen[-1][1] is not None
    assert list((tmp_path / ".work").iterdir()) == []
    assert sandbox.requests(since=seq) == []  # not even a token
    assert "feed_unchanged" in capsys.readouterr().err
    assert len(sandbox.classifieds()) == live

    # the feed changes on the server: downloaded again, and only the changes are sent
    feed_server.body = _feed(price_bump=1000)
    assert _run(cfg, tmp_path / "n3") == 0
    assert feed_server.seen[-1][0] == 200
    methods = {c["method"] for c in sandbox.requests(since=seq, kind="api")}
    assert methods == {"PUT"}


def test_a_changed_configuration_downloads_the_feed_again(tmp_path: Path, sandbox: Any, test_env: None,
                                                          feed_server: FeedServer) -> None:
    feed_server.body = _feed()
    assert _run(_config(tmp_path, sandbox, feed_server.url), tmp_path / "n1") == 0
    assert _run(_config(tmp_path, sandbox, feed_server.url), tmp_path / "n2") == 0
    assert feed_server.seen[-1][0] == 304  # the same settings: a conditional GET
    cfg = _config(tmp_path, sandbox, feed_server.url, portals=["SL"])  # a setting conversion reads
    assert _run(cfg, tmp_path / "n3") == 0
    assert feed_server.seen[-1] == (200, None)  # unconditional: the settings that convert it changed


def test_an_unclean_last_run_downloads_the_feed_again(tmp_path: Path, sandbox: Any, test_env: None,
                                                      feed_server: FeedServer) -> None:
    feed_server.body = _feed()
    cfg = _config(tmp_path, sandbox, feed_server.url)
    assert _run(cfg, tmp_path / "n1") == 0
    # the feed changes; its download's run fails on every update: not a clean run
    feed_server.body = _feed(price_bump=1000)
    sandbox.set_faults(error_rate=1.0, error_statuses=[503], methods=["PUT"])
    assert _run(cfg, tmp_path / "n2") == 1
    assert feed_server.seen[-1][0] == 200
    sandbox.clear_faults()
    # the feed is the one n2 downloaded, but n2 ended unclean: no conditional GET, neither with
    # n2's validators (a 304 would skip the failed updates) nor n1's
    assert _run(cfg, tmp_path / "n3") == 0
    assert feed_server.seen[-1] == (200, None)
    load = json.loads((tmp_path / "n3" / "load.json").read_text(encoding="utf-8"))
    assert load["agencies"][0]["counts"]["updated"] == len(sandbox.classifieds())  # the failed updates land


def test_a_failed_download_is_exit_4_and_deletes_nothing(tmp_path: Path, sandbox: Any, test_env: None,
                                                         feed_server: FeedServer) -> None:
    feed_server.body = _feed()
    cfg = _config(tmp_path, sandbox, feed_server.url)
    assert _run(cfg, tmp_path / "n1") == 0
    live = len(sandbox.classifieds())
    feed_server.status = 401
    seq = sandbox.last_seq()
    assert _run(cfg, tmp_path / "n2") == 4
    assert sandbox.requests(since=seq, kind="api") == []
    assert len(sandbox.classifieds()) == live
    load = json.loads((tmp_path / "n2" / "load.json").read_text(encoding="utf-8"))
    assert load["agencies"][0]["exit_code"] == 4 and "127.0.0.1" in load["agencies"][0]["message"]
    # told to the agency as a feed not received (its words held no « introuvable »), not as an unreadable one
    summary = json.loads((tmp_path / "n2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["agencies"]["ag"]["run"]["status"] == "source_missing"
    # the failed night changed nothing: the next one may still ask whether the feed changed since n1
    feed_server.status = 200
    assert _run(cfg, tmp_path / "n3") == 0
    assert feed_server.seen[-1][0] == 304
