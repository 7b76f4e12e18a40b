"""Two simulated nights of the whole product against the embedded sandbox.

Night 1 publishes ``sample_feeds/``; night 2 runs on a changed copy — a few
prices changed, a few listings sold (absent), one listing broken by a bad edit
(kept online), one feed untouched — and shows that only the changes are sent.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import zipfile
from pathlib import Path
from typing import TextIO

import yaml

from etl.load.cli import print_table
from etl.load.config import load_config
from etl.log import RunLog
from etl.load.runner import RunOptions, RunResult, run

SAMPLE_FEEDS = Path(__file__).resolve().parents[2] / "sample_feeds"
SEP = '"!#"'
PRICE, TECHNICAL_ID, AGENCY = 11, 175, 1  # Poliris field numbers
DEMO_ENV = {"DEMO_AVIV_CLIENT_ID": "demo", "DEMO_AVIV_CLIENT_SECRET": "demo-secret"}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _csv_name(members: dict[str, bytes]) -> str:
    return next(n for n in members if n.lower().endswith(".csv"))


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def _field(line: str, n: int) -> str | None:
    parts = line.split(SEP)
    if len(parts) < n:
        return None
    return parts[n - 1].strip().strip('"')


def _set_field(line: str, n: int, value: str) -> str:
    parts = line.split(SEP)
    parts[n - 1] = value  # a middle field: its quotes are the separators'
    return SEP.join(parts)


def feed_agencies(path: Path) -> list[str]:
    members = _members(path)
    text, _ = _decode(members[_csv_name(members)])
    ids = {_field(line, AGENCY) for line in text.splitlines() if line.count(SEP) > 100}
    return sorted(i for i in ids if i)


def night_two(src: Path, dest: Path, live_keys: set[str], *, drop: int, reprice: int, break_one: bool) -> None:
    """Write ``dest``: ``src`` with some live listings dropped, repriced, and one made invalid."""
    members = _members(src)
    name = _csv_name(members)
    text, encoding = _decode(members[name])
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    live_idx = [i for i, line in enumerate(lines) if _field(line, TECHNICAL_ID) in live_keys]
    dropped = set(live_idx[:drop])
    for i in live_idx[drop:drop + reprice]:
        price = _field(lines[i], PRICE) or "0"
        try:
            lines[i] = _set_field(lines[i], PRICE, str(int(float(price.replace(",", "."))) + 5000))
        except ValueError:
            continue
    if break_one and len(live_idx) > drop + reprice:
        i = live_idx[drop + reprice]
        lines[i] = _set_field(lines[i], PRICE, "")  # a bad edit: the price was erased
    members[name] = newline.join(line for i, line in enumerate(lines) if i not in dropped).encode(encoding)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    dest.write_bytes(buf.getvalue())


def _config(work: Path, base_url: str, token_url: str, feeds: dict[str, list[str]], reports: Path) -> Path:
    agencies = []
    for feed_name, ids in feeds.items():
        for agency_id in ids:
            agencies.append({
                "id": agency_id, "source": f"feeds/{feed_name}", "format": "poliris",
                "portals": ["SL", "BD", "BUCOM", "SLN", "SLC"],
                "credentials": {"client_id_env": "DEMO_AVIV_CLIENT_ID", "client_secret_env": "DEMO_AVIV_CLIENT_SECRET",
                                "intermediary_id": f"demo-{agency_id}"},
            })
    cfg = {"version": 1,
           "defaults": {"api": {"base_url": base_url, "token_url": token_url, "rate_limit": 50, "concurrency": 8},
                        "state": "sqlite:///state.sqlite", "reports_dir": str(reports),
                        "token_cache": ".tokens.json"},
           "agencies": agencies}
    path = work / "agencies.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_demo(out_dir: Path, *, log_format: str = "text", out: TextIO | None = None,
             sample_feeds: Path = SAMPLE_FEEDS) -> int:
    """Night 1 (creates) then night 2 (updates, deletes, unchanged, one kept despite an error)."""
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
    for p in sources:
        shutil.copy2(p, work / "feeds" / p.name)
    os.environ.update(DEMO_ENV)
    log = RunLog(log_format)
    with running_sandbox() as sb:
        cfg = load_config(_config(work, sb.base_url, sb.token_url, feeds, out_dir))
        out.write(f"Sandbox AVIV : {sb.base_url}\n\n=== Nuit 1 : première publication ===\n")
        night1 = run(cfg, options=RunOptions(out_dir=out_dir / "night-1"), log=log)
        print_table(night1, out)
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


def _where(out: TextIO, *nights: RunResult) -> None:
    out.write("\nRapports :\n")
    for i, night in enumerate(nights, 1):
        if night.out_dir is None:
            continue
        html = night.reports.get("html")
        out.write(f"  nuit {i} : {html or night.out_dir}\n")
