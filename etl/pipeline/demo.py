"""Two simulated nights of the whole product against the embedded sandbox.

Night 1 publishes ``sample_feeds/``; night 2 runs on a changed copy — a few
prices changed, a few listings sold (absent), one listing broken by a bad edit
(kept online), one feed untouched — and shows that only the changes are sent.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from etl.agencies import load_config
from etl.extract.poliris import COLUMNS, FIELD_COUNT, read_poliris
from etl.extract.poliris.reader import VERSION_WIDTHS
from etl.extract.poliris.writer import write_zip
from etl.pipeline.cli import print_table
from etl.records import SourceRecord
from etl.log import RunLog
from etl.pipeline.run import RunOptions, RunResult, run
from etl.pipeline.webhook_cli import listening_in_background, subscribe

SAMPLE_FEEDS = Path(__file__).resolve().parents[2] / "sample_feeds"
PRICE = COLUMNS["price"]
OTHER_FORMATS = {"kyero-riviera.xml": "riviera-kyero", "agence-tableur.xlsx": "agence-tableur"}  # sample → its agency
DEMO_ENV = {"DEMO_AVIV_CLIENT_ID": "demo", "DEMO_AVIV_CLIENT_SECRET": "demo-secret",
            "DEMO_WEBHOOK_SECRET": "demo-webhook-secret-0123456789"}


def feed_agencies(path: Path) -> list[str]:
    return sorted({r.agency_id for r in read_poliris(path).records() if r.agency_id})


def night_two(src: Path, dest: Path, live_keys: set[str], *, drop: int, reprice: int, break_one: bool) -> None:
    """Write ``dest``: ``src`` with some live listings dropped, repriced, and one made invalid.

    The send is read with the Poliris reader and written back with its writer, so the second
    night's feed is a well-formed export whatever the first one's layout."""
    feed = read_poliris(src)
    rows: list[list[str]] = []
    live_seen = 0
    for record in feed.records():
        if not isinstance(record, SourceRecord):
            continue  # a line the reader rejected: gone from the corrected export
        values = list(record.values)
        if record.source_key in live_keys:
            live_seen += 1
            if live_seen <= drop:
                continue  # sold: absent from tonight's export
            if live_seen <= drop + reprice and values[PRICE]:
                values[PRICE] = str(int(float(values[PRICE].replace(",", "."))) + 5000)
            elif break_one and live_seen == drop + reprice + 1:
                values[PRICE] = ""  # a bad edit: the price was erased
        rows.append(values)
    encoding = "utf-8" if feed.facts.encoding == "utf-8" else "cp1252"
    width = VERSION_WIDTHS.get(feed.config_version or "", FIELD_COUNT)  # the reader pads rows to 334
    rows = [r[:width] if not any(r[width:]) else r for r in rows]
    write_zip(dest, rows, config=dict(feed.config), photos_mode=feed.photos_mode, encoding=encoding, width=width,
              photos={n: feed.read_photo(n) for n in feed.photo_files})


def _config(work: Path, base_url: str, token_url: str, feeds: dict[str, list[str]], reports: Path, *,
            webhook_port: int = 9) -> Path:
    agencies = []
    for feed_name, ids in feeds.items():
        for agency_id in ids:
            agencies.append({
                "id": agency_id, "source": f"feeds/{feed_name}",
                "portals": ["SL", "BD", "BUCOM", "SLN", "SLC"],
                "credentials": {"client_id_env": "DEMO_AVIV_CLIENT_ID", "client_secret_env": "DEMO_AVIV_CLIENT_SECRET",
                                "intermediary_id": f"demo-{agency_id}"},
            })
    cfg = {"version": 1,
           "defaults": {"api": {"base_url": base_url, "token_url": token_url, "rate_limit": 50, "concurrency": 8},
                        "state": "sqlite:///state.sqlite", "reports_dir": str(reports),
                        "token_cache": ".tokens.json"},
           # the port is the listener's, known once it listens
           "webhook": {"public_url": f"http://127.0.0.1:{webhook_port}/aviv", "secret_env": "DEMO_WEBHOOK_SECRET"},
           "agencies": agencies}
    path = work / "agencies.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_demo(out_dir: Path, *, log_format: str = "text", out: TextIO | None = None,
             sample_feeds: Path = SAMPLE_FEEDS) -> int:
    """Night 1 (creates) then night 2 (updates, deletes, unchanged, one kept despite an error).
    The Poliris sends change on night 2 (the last one excepted); the other formats' feeds do not."""
    from etl.sandbox.server import running_sandbox
    from etl.load.state import StateStore

    out = out or sys.stdout
    out_dir = out_dir.resolve()
    work = out_dir / "demo-work"
    if work.exists():
        shutil.rmtree(work)
    (work / "feeds").mkdir(parents=True)
    sources = sorted(sample_feeds.glob("*.zip"))
    feeds = {p.name: feed_agencies(p) for p in sources}
    # Agencies whose feed is not Poliris: the format is detected from the content, as at night.
    feeds.update({name: [agency] for name, agency in OTHER_FORMATS.items() if (sample_feeds / name).exists()})
    for name in feeds:
        shutil.copy2(sample_feeds / name, work / "feeds" / name)
    os.environ.update(DEMO_ENV)
    log = RunLog(log_format)
    with running_sandbox() as sb, \
            listening_in_background(load_config(_config(work, sb.base_url, sb.token_url, feeds, out_dir)),
                                    RunLog(log_format, io.StringIO())) as port:
        cfg = load_config(_config(work, sb.base_url, sb.token_url, feeds, out_dir, webhook_port=port))
        out.write(f"Sandbox AVIV : {sb.base_url}\n")
        subscribed = io.StringIO()
        asyncio.run(subscribe(cfg, cancel=False, out=subscribed))
        out.write(f"Webhook : les statuts des portails arrivent sur {cfg.config.webhook.public_url if cfg.config.webhook else ''}/… "
                  f"({subscribed.getvalue().count('abonné')} intermédiaires abonnés)\n")
        out.write("\n=== Nuit 1 : première publication ===\n")
        night1 = run(cfg, options=RunOptions(out_dir=out_dir / "night-1"), log=log)
        print_table(night1, out)
        _await_callbacks(sb)
        with StateStore.open(cfg.state_url) as store:
            live = {a: {k for k, s in store.listings(a).items() if s.live} for ids in feeds.values() for a in ids}
        # the second night: the first feed keeps all its changes, the last one is untouched
        for n, p in enumerate(sources):
            if n == len(sources) - 1 and len(sources) > 1:
                continue
            keys = set().union(*(live[a] for a in feeds[p.name]))
            night_two(p, work / "feeds" / p.name, keys, drop=1, reprice=2, break_one=(n == 0))
        seq = sb.last_seq()
        out.write("\n=== Nuit 2 : flux modifiés (prix, ventes, une annonce cassée, un flux inchangé) ===\n")
        night2 = run(cfg, options=RunOptions(out_dir=out_dir / "night-2"), log=log)
        print_table(night2, out)
        calls = sb.requests(since=seq, kind="api")
        methods: dict[str, int] = {}
        for c in calls:
            methods[c["method"]] = methods.get(c["method"], 0) + 1
        out.write(f"\nNuit 2 : {len(calls)} appels API ({', '.join(f'{m} {n}' for m, n in sorted(methods.items()))}) "
                  f"pour {sum(a.counts().get('read', 0) for a in night2.agencies)} annonces lues ; "
                  f"jetons demandés en tout : {sum(sb.token_counts().values())}\n")
    _where(out, night1, night2)
    return max(night1.exit_code, night2.exit_code)


def _await_callbacks(sb: Any, timeout: float = 30.0) -> None:
    """Until the sandbox has called back every status of night 1 (its processing is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(d["state"] != "pending" for d in sb.webhooks()["deliveries"]):
            return
        time.sleep(0.1)


def _where(out: TextIO, *nights: RunResult) -> None:
    out.write("\nRapports :\n")
    for i, night in enumerate(nights, 1):
        if night.out_dir is None:
            continue
        html = night.reports.get("html")
        out.write(f"  nuit {i} : {html or night.out_dir}\n")
