"""Sandbox configuration: who may call it, what each agency's contract allows, how it misbehaves.

Everything has a default, so ``SandboxConfig()`` is a working sandbox: the client
``demo`` / ``demo-secret`` is accepted for any intermediary id with every scope,
processing is instantaneous and no fault is injected.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

PORTALS: tuple[str, ...] = ("SL", "BUCOM", "BD", "SLC", "SLN")
Portal = Literal["SL", "BUCOM", "BD", "SLC", "SLN"]
ALL_SCOPES: tuple[str, ...] = (
    "caas:*",
    "caas:classifieds:*",
    "caas:classifieds:read",
    "caas:classifieds:create",
    "caas:classifieds:update",
    "caas:classifieds:delete",
)
# RFC 2606 reserves ".invalid": such a host can never resolve, whatever the network.
DEFAULT_UNREACHABLE_MEDIA = (r"^https?://[^/?#]*\.invalid(?:[:/?#]|$)",)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contract(_Closed):
    """What an intermediary (agency) bought: the portals it may publish on and how many listings each."""

    portals: list[Portal] = Field(default_factory=lambda: list(PORTALS))
    quotas: dict[Portal, int] = Field(default_factory=dict)

    @field_validator("quotas")
    @classmethod
    def _non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        for portal, n in v.items():
            if n < 0:
                raise ValueError(f"quota for {portal} must be >= 0")
        return v


class ClientConfig(_Closed):
    client_id: str
    client_secret: SecretStr
    scopes: list[str] = Field(default_factory=lambda: ["caas:*"])
    # "*" accepts any intermediary id; otherwise only those listed.
    intermediaries: list[str] | Literal["*"] = "*"

    def allows(self, intermediary_id: str) -> bool:
        return self.intermediaries == "*" or intermediary_id in self.intermediaries


class ProcessingConfig(_Closed):
    """The asynchronous part: RECEIVED → CREATING → CREATED takes ``delay_s`` seconds in all."""

    delay_s: float = Field(0.0, ge=0)
    # For this long after a POST's 202, look-ups (GET by id, the list, ?offererEstateId=, the
    # statuses) do not find the new classified: AVIV stores it asynchronously, so a client that
    # looks for what it has just created may not find it yet. Writes by id and the duplicate check
    # see it at once. 0: visible as soon as the 202 is sent.
    visibility_delay_s: float = Field(1.0, ge=0)
    # The 202 of POST and PUT carries ``ETag: "<revision>"`` (the revision after the write). The
    # spec declares ETag on GET only; False gives a sandbox that sends exactly what the spec says.
    etag_on_write: bool = True
    # Media whose URL matches one of these regexes fail with DOWNLOADING_FAILED.
    unreachable_media: list[str] = Field(default_factory=lambda: list(DEFAULT_UNREACHABLE_MEDIA))
    # Also GET every new media URL for real (for demos with a local media server).
    fetch_media: bool = False
    fetch_timeout_s: float = Field(5.0, gt=0)

    @field_validator("unreachable_media")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for pattern in v:
            re.compile(pattern)
        return v


class ScriptedFault(_Closed):
    """One fault applied to the next API request that matches (consumed once)."""

    # precondition_failed only matches a PUT carrying If-Match (the only request AVIV can answer 412).
    action: Literal["error", "throttle", "drop", "lost_response", "delay", "precondition_failed"]
    status: int = Field(503, ge=400, le=599)
    retry_after_s: int = Field(1, ge=0)
    delay_ms: float = Field(0, ge=0)
    method: str | None = None
    path_regex: str | None = None

    def matches(self, method: str, path: str, *, conditional: bool = False) -> bool:
        if self.action == "precondition_failed" and not conditional:
            return False
        if self.method and self.method.upper() != method:
            return False
        return not self.path_regex or re.search(self.path_regex, path) is not None


class FaultConfig(_Closed):
    """Misbehaviour, drawn from a seeded generator so a run can be replayed exactly.

    Rates are shares of API requests (0..1). ``drop_rate`` closes the connection
    before the request is processed; ``lost_response_rate`` processes it, then
    closes the connection instead of answering (the client cannot know it
    succeeded: the case that creates duplicates in careless clients).
    ``precondition_failed_rate`` applies to conditional PUTs only (If-Match).
    """

    seed: int = 0
    error_rate: float = Field(0.0, ge=0, le=1)
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503])
    throttle_rate: float = Field(0.0, ge=0, le=1)
    retry_after_s: int = Field(1, ge=0)
    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    drop_rate: float = Field(0.0, ge=0, le=1)
    lost_response_rate: float = Field(0.0, ge=0, le=1)
    # Share of PUTs carrying If-Match answered 412 Precondition Failed before any processing, as
    # when another writer got there first: nothing changes, and a re-read may show the same revision.
    precondition_failed_rate: float = Field(0.0, ge=0, le=1)
    # Requests per second over all API calls; beyond it, 429 with Retry-After.
    rate_limit_per_s: float | None = Field(None, gt=0)
    rate_limit_burst: int | None = Field(None, ge=1)
    # Share of accepted calls whose asynchronous processing fails (*_FAILED status).
    processing_failure_rate: float = Field(0.0, ge=0, le=1)
    # Only these methods are subject to random faults (None: all).
    methods: list[str] | None = None
    # Faults apply to /oauth/token too when set.
    include_token_endpoint: bool = False
    script: list[ScriptedFault] = Field(default_factory=list)

    @field_validator("error_statuses")
    @classmethod
    def _server_errors(cls, v: list[int]) -> list[int]:
        if not v or any(not 500 <= s <= 599 for s in v):
            raise ValueError("error_statuses must be a non-empty list of 5xx codes")
        return v


class WebhookConfig(_Closed):
    max_attempts: int = Field(5, ge=1)
    backoff_s: float = Field(0.5, ge=0)
    timeout_s: float = Field(5.0, gt=0)


def _demo_client() -> list[ClientConfig]:
    return [ClientConfig(client_id="demo", client_secret=SecretStr("demo-secret"), scopes=["caas:*"])]


class SandboxConfig(_Closed):
    clients: list[ClientConfig] = Field(default_factory=_demo_client)
    # Per-intermediary contracts; an intermediary not listed gets ``default_contract``.
    intermediaries: dict[str, Contract] = Field(default_factory=dict)
    default_contract: Contract = Field(default_factory=Contract)
    token_ttl_s: int = Field(86400, ge=1)
    # None accepts any audience whose path ends in /caas/v4 (production, AVIV sandbox, this server).
    audiences: list[str] | None = None
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    # Passed to etl.validate.settings.PortalRules (BD thresholds and the like).
    portal_rules: dict[str, Any] = Field(default_factory=dict)
    request_log_size: int = Field(100_000, ge=1)

    def client(self, client_id: str) -> ClientConfig | None:
        for c in self.clients:
            if c.client_id == client_id:
                return c
        return None

    def contract(self, intermediary_id: str) -> Contract:
        return self.intermediaries.get(intermediary_id, self.default_contract)

    def public_dict(self) -> dict[str, Any]:
        """The configuration as JSON, secrets masked (it is served by the admin API)."""
        return json.loads(self.model_dump_json())


class SandboxConfigError(Exception):
    """The configuration file cannot be used; the message says where and why."""


def load_config(path: str | Path) -> SandboxConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SandboxConfigError(f"{p}: cannot read the sandbox configuration ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text) if p.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        kind = "YAML" if p.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise SandboxConfigError(f"{p}: not valid {kind}: {exc}") from None
    try:
        return SandboxConfig.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"{p}: invalid sandbox configuration"]
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(root)"
            lines.append(f"  {where}: {err['msg']}")
        raise SandboxConfigError("\n".join(lines)) from None
