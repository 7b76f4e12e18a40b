"""A local AVIV Classified API v4: for tests, demos and rehearsals before going live.

    from etl.sandbox import running_sandbox, SandboxConfig, FaultConfig

    with running_sandbox(SandboxConfig()) as sb:
        sb.base_url, sb.token_url        # point the loader here
        sb.request_log(kind="api")       # what it sent
        sb.token_requests("demo")        # how many tokens it asked for
        sb.set_faults(FaultConfig(error_rate=0.1, seed=7))

See docs/sandbox.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from etl.sandbox.config import (
    ClientConfig,
    Contract,
    FaultConfig,
    ProcessingConfig,
    SandboxConfig,
    SandboxConfigError,
    ScriptedFault,
    WebhookConfig,
    load_config,
)

if TYPE_CHECKING:
    from etl.sandbox.server import RunningSandbox, SandboxClient, running_sandbox, serve

_SERVER = ("RunningSandbox", "SandboxClient", "running_sandbox", "serve")


def __getattr__(name: str) -> Any:
    # The server side (uvicorn, the compiled spec) loads on first use, so that the CLI
    # can report a configuration error without paying for it.
    if name in _SERVER:
        from etl.sandbox import server

        return getattr(server, name)
    raise AttributeError(name)


__all__ = [
    "ClientConfig",
    "Contract",
    "FaultConfig",
    "ProcessingConfig",
    "RunningSandbox",
    "SandboxClient",
    "SandboxConfig",
    "SandboxConfigError",
    "ScriptedFault",
    "WebhookConfig",
    "load_config",
    "running_sandbox",
    "serve",
]
