"""``classifieds-etl webhook``: subscribe to AVIV's status callbacks and receive them.

``--subscribe`` / ``--unsubscribe`` manage each intermediary's subscription (``PUT|DELETE /webhooks``)
to ``<webhook.public_url>/<its token>``; ``--listen HOST:PORT`` serves the receiver
(``etl/load/webhook.py``). The receiver only keeps callbacks: on a PostgreSQL state store the
folding into listings is a queued job for the workers (``worker``); on SQLite, where there are no
workers, the listener folds them itself in the background. Either way a run folds what is left
before writing its reports, so the agency's next report has every status received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from etl.agencies import LoadedConfig, ResolvedCredentials, WebhookSettings
from etl.errors import EXIT_FAILED, EXIT_OK, AuthError, ConfigError
from etl.load.statuses import SUBSCRIBED, fold_status_events, webhook_token
from etl.log import RunLog
from etl.pipeline.cli import load_or_report, usage_exit


def add_parsers(subparsers: Any) -> None:
    w = subparsers.add_parser("webhook", help="AVIV status callbacks: --subscribe, --unsubscribe or --listen HOST:PORT")
    w.add_argument("--config", required=True, type=Path, help="agencies.yaml (its webhook: block)")
    what = w.add_mutually_exclusive_group(required=True)
    what.add_argument("--listen", metavar="HOST:PORT", help="receive the callbacks here (port 0: any free port)")
    what.add_argument("--subscribe", action="store_true",
                      help="ask AVIV to call back <webhook.public_url>/<token> for every intermediary")
    what.add_argument("--unsubscribe", action="store_true", help="cancel every intermediary's subscription")
    w.add_argument("--state", help="state store URL (overrides the configuration)")
    w.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr")
    w.set_defaults(func=cmd_webhook)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ConfigError(f"--listen « {value} » : attendu HÔTE:PORT, par ex. 127.0.0.1:8088 ou [::]:8088")
    return host.strip("[]"), int(port)


def _settings(cfg: LoadedConfig) -> WebhookSettings:
    if cfg.config.webhook is None:
        raise ConfigError(f"{cfg.path}: pas de bloc « webhook: » (public_url, secret_env) : voir docs/scale.md")
    return cfg.config.webhook


def tokens(agencies_of: Mapping[str, Any], settings: WebhookSettings) -> dict[str, str]:
    """Each intermediary's token → its id."""
    secret = settings.secret()
    found = {webhook_token(secret, i): i for i in agencies_of}
    if not found:
        raise ConfigError("aucune agence n'a d'intermediary_id connu : rien à recevoir")
    return found


def callback_base(settings: WebhookSettings, secret: str, intermediary_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/{webhook_token(secret, intermediary_id)}"


class Coalesced:
    """Calls ``action`` in the background for the calls that come in the meantime, at most once per
    ``every`` seconds and always once after the last (a callback kept must never wait for a fold
    nobody asked for). A failure is logged; the callbacks stay kept, for the next fold."""

    def __init__(self, action: Callable[[], Awaitable[object]], log: RunLog, every: float = 0.2) -> None:
        self.action, self.log, self.every = action, log, every
        self._task: asyncio.Task[None] | None = None
        self._again = False

    async def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            self._again = False
            try:
                await self.action()
            except Exception as exc:  # noqa: BLE001 — the next call, or the next run's reports, fold them
                self.log.event("fold_deferred", f"traitement des statuts reçus reporté : {type(exc).__name__}",
                               level="warning")
            await asyncio.sleep(self.every)
            if not self._again:
                return

    async def wait(self) -> None:
        if self._task is not None:
            await self._task


def fold_here(store: Any, agencies_of: Mapping[str, list[str]], log: RunLog) -> Callable[[], Awaitable[None]]:
    """The fold, in this process (SQLite: no workers)."""
    async def fold() -> None:
        res = await asyncio.to_thread(fold_status_events, store, agencies_of)
        if res.applied or res.outdated:
            log.event("statuses_folded", f"statuts appliqués : {res.applied} (dépassés : {res.outdated}, en "
                      f"attente de leur annonce : {res.unmatched})", applied=res.applied,
                      outdated=res.outdated, unmatched=res.unmatched)
    return fold


async def listen(cfg: LoadedConfig, host: str, port: int, state_url: str | None, log: RunLog, *,
                 started: Callable[[Any, int], None] | None = None) -> int:
    """Serve until stopped (SIGINT / SIGTERM, or ``server.should_exit``); ``started(server, port)``
    once listening."""
    import uvicorn

    from etl.load.state import StateStore
    from etl.load.webhook import CallbackReceiver

    settings = _settings(cfg)
    agencies_of = cfg.agencies_by_intermediary()  # read once: the tokens and the fold agree on it
    known = tokens(agencies_of, settings)
    url = state_url or cfg.state_url
    store = StateStore.open(url)
    stack = contextlib.AsyncExitStack()
    try:
        if store.dialect == "postgresql":
            from etl.pipeline.queue import defer_fold, make_app

            app = make_app(cfg, url)
            await stack.enter_async_context(app.open_async())

            # one waiting job serves every callback kept meanwhile: no need to ask for each
            on_stored = Coalesced(lambda: defer_fold(app), log, every=0.2)
            where = f"par les workers (file {cfg.config.queue.name})"
        else:
            on_stored = Coalesced(fold_here(store, agencies_of, log), log, every=0.0)
            where = "par ce processus"
        receiver = CallbackReceiver(store, known, allow_from=settings.allow_from, max_body=settings.max_body,
                                    on_stored=on_stored, log=log.event)
        # no access log: the path of a callback carries its intermediary's secret token
        server = uvicorn.Server(uvicorn.Config(receiver, host=host, port=port, access_log=False, log_level="warning",
                                               lifespan="off", timeout_graceful_shutdown=10))
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():
            await serving
            raise ConfigError(f"impossible d'écouter sur {host}:{port}")
        bound = server.servers[0].sockets[0].getsockname()[1]
        log.event("webhook_listening", f"webhook : écoute sur {host}:{bound} pour {len(known)} intermédiaire(s) ; "
                  f"statuts appliqués {where}", host=host, port=bound, intermediaries=len(known))
        if started is not None:
            started(server, bound)
        await on_stored()  # what an earlier listener kept but did not get to fold
        await serving
        await on_stored.wait()
        log.event("webhook_stopped", "webhook arrêté", callbacks=receiver.counts)
        return EXIT_OK
    finally:
        await stack.aclose()
        store.close()


@contextlib.contextmanager
def listening_in_background(cfg: LoadedConfig, log: RunLog, *, host: str = "127.0.0.1",
                            port: int = 0) -> Iterator[int]:
    """``listen`` in a thread (the demo); yields the port."""
    ready = threading.Event()
    handle: dict[str, Any] = {}
    failure: list[BaseException] = []

    def on_start(server: Any, bound: int) -> None:
        handle.update(server=server, port=bound)
        ready.set()

    def serve() -> None:
        try:
            asyncio.run(listen(cfg, host, port, None, log, started=on_start))
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=serve, name="webhook-listener", daemon=True)
    thread.start()
    ready.wait(30)
    if failure or "port" not in handle:
        raise ConfigError(f"le récepteur de webhooks n'a pas démarré : {failure[0] if failure else 'délai dépassé'}")
    try:
        yield handle["port"]
    finally:
        handle["server"].should_exit = True
        thread.join(30)


async def subscribe(cfg: LoadedConfig, *, cancel: bool, out: TextIO) -> int:
    from etl.load.client import AvivClient
    from etl.load.tokens import TokenFile

    settings = _settings(cfg)
    secret = "" if cancel else settings.secret()
    seen: dict[tuple[str, str], ResolvedCredentials] = {}
    for agency in cfg.selected(None):
        creds = agency.credentials.resolve()
        seen.setdefault((creds.client_id, creds.intermediary_id), creds)
    code = EXIT_OK
    async with AvivClient(cfg.config.defaults.api, TokenFile(cfg.token_cache)) as api:
        for (_, intermediary), creds in seen.items():
            if cancel:
                res = await api.request(creds, "DELETE", "/webhooks")
                if res.ok or res.status == 404:
                    out.write(f"{intermediary} : " + ("désabonné\n" if res.ok else "aucun abonnement\n"))
                    continue
            else:
                body = {"url": callback_base(settings, secret, intermediary), "statuses": SUBSCRIBED}
                res = await api.request(creds, "PUT", "/webhooks", json=body)
                if res.ok:
                    # the URL's last segment is a secret: shown masked
                    out.write(f"{intermediary} : abonné, rappels vers {settings.public_url.rstrip('/')}/…\n")
                    continue
            out.write(f"{intermediary} : refusé — {res.summary()}\n")
            code = EXIT_FAILED
    return code


def cmd_webhook(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    log = RunLog(args.log_format, err)
    cfg = load_or_report(args.config, log, err)
    if cfg is None:
        return usage_exit(log, err, None)
    try:
        if args.listen:
            host, port = parse_listen(args.listen)
            return asyncio.run(listen(cfg, host, port, args.state, log))
        return asyncio.run(subscribe(cfg, cancel=args.unsubscribe, out=out))
    except AuthError as exc:
        err.write(f"authentification impossible : {exc}\n")
        return EXIT_FAILED
    except ConfigError as exc:
        return usage_exit(log, err, exc)
