"""``classifieds-etl sandbox``: serve the AVIV-compatible sandbox API."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import ValidationError

from etl.sandbox.config import SandboxConfig, SandboxConfigError, load_config

# flag → (section, field) of SandboxConfig it overrides
_OVERRIDES: dict[str, tuple[str, str]] = {
    "delay": ("processing", "delay_s"),
    "visibility_delay": ("processing", "visibility_delay_s"),
    "seed": ("faults", "seed"),
    "error_rate": ("faults", "error_rate"),
    "throttle_rate": ("faults", "throttle_rate"),
    "retry_after": ("faults", "retry_after_s"),
    "latency_ms": ("faults", "latency_ms"),
    "latency_jitter_ms": ("faults", "latency_jitter_ms"),
    "drop_rate": ("faults", "drop_rate"),
    "lost_response_rate": ("faults", "lost_response_rate"),
    "precondition_failed_rate": ("faults", "precondition_failed_rate"),
    "rate_limit": ("faults", "rate_limit_per_s"),
    "processing_failure_rate": ("faults", "processing_failure_rate"),
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="serve the AVIV-compatible sandbox API",
        description="Serve a local stand-in for the AVIV Classified API v4 (API under /caas/v4, token at "
                    "/oauth/token, administration under /_sandbox). Without --config, the client "
                    "demo / demo-secret is accepted for any intermediary. See docs/sandbox.md.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    p.add_argument("--state", metavar="FILE", help="SQLite file holding the state across restarts "
                                                   "(default: in memory)")
    p.add_argument("--config", metavar="FILE", help="sandbox configuration, YAML or JSON (clients, "
                                                    "contracts, processing, faults)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    g = p.add_argument_group("processing and faults (override the configuration file)")
    g.add_argument("--delay", type=float, metavar="S", help="seconds from RECEIVED to CREATED/UPDATED/DELETED")
    g.add_argument("--visibility-delay", type=float, metavar="S",
                   help="seconds after a POST's 202 during which look-ups do not find the new classified")
    g.add_argument("--seed", type=int, help="seed of the fault generator (same seed, same faults)")
    g.add_argument("--error-rate", type=float, metavar="P", help="share of API calls answered 5xx")
    g.add_argument("--throttle-rate", type=float, metavar="P", help="share of API calls answered 429")
    g.add_argument("--retry-after", type=int, metavar="S", help="Retry-After of those 429s")
    g.add_argument("--latency-ms", type=float, metavar="MS", help="latency added to every API call")
    g.add_argument("--latency-jitter-ms", type=float, metavar="MS", help="random extra latency, up to MS")
    g.add_argument("--drop-rate", type=float, metavar="P", help="share of API calls whose connection is "
                                                                "dropped before processing")
    g.add_argument("--lost-response-rate", type=float, metavar="P",
                   help="share of API calls processed but whose answer is lost (connection dropped)")
    g.add_argument("--precondition-failed-rate", type=float, metavar="P",
                   help="share of PUTs carrying If-Match answered 412, unprocessed")
    g.add_argument("--rate-limit", type=float, metavar="N", help="API calls per second; beyond, 429")
    g.add_argument("--processing-failure-rate", type=float, metavar="P",
                   help="share of accepted calls ending in *_FAILED")
    p.set_defaults(func=run)
    return p


def build_config(args: argparse.Namespace) -> SandboxConfig:
    config = load_config(args.config) if args.config else SandboxConfig()
    data = config.model_dump()
    # model_dump() masks nothing but SecretStr stays an object: keep the clients as they are.
    data["clients"] = config.clients
    for flag, (section, name) in _OVERRIDES.items():
        value = getattr(args, flag, None)
        if value is not None:
            data[section][name] = value
    try:
        return SandboxConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SandboxConfigError(f"invalid sandbox option: {problems}") from None


def run(args: argparse.Namespace) -> int:
    from etl.sandbox.server import serve  # uvicorn is only needed when serving

    try:
        config = build_config(args)
    except SandboxConfigError as exc:
        print(f"classifieds-etl sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        serve(config, host=args.host, port=args.port, state_path=args.state, log_level=args.log_level)
    except OSError as exc:
        print(f"classifieds-etl sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
