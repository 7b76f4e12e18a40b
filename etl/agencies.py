"""``agencies.yaml``: the operator's configuration, validated with line-numbered errors.

Credentials are never written in the file: the file names the environment
variables that hold them, and they are read only when a run needs a token.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from etl.validate.settings import Portal, PortalRules
from etl.yaml_config import ConfigError, load_yaml_model, parse_yaml_model


PRODUCTION_BASE_URL = "https://api.aviv-group.com/caas/v4"
PRODUCTION_TOKEN_URL = "https://auth.api.aviv-group.com/oauth/token"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AGENCY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_env_name(v: str) -> str:
    if not _ENV_NAME.match(v):
        raise ValueError(f"« {v} » n'est pas un nom de variable d'environnement (lettres, chiffres, _)")
    return v


EnvName = Annotated[str, AfterValidator(_check_env_name)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiSettings(_Closed):
    """How to reach the AVIV Classified API and how hard to push it."""

    base_url: str = Field(PRODUCTION_BASE_URL, description="Base URL of the Classified API v4 (sandbox: …/sandbox/caas/v4).")
    token_url: str = Field(PRODUCTION_TOKEN_URL, description="OAuth2 token endpoint (client credentials, JSON body).")
    audience: str | None = Field(None, description="Token audience; defaults to base_url.")
    rate_limit: float = Field(10.0, gt=0, le=1000, description="Maximum requests per second: for the whole process under `run`; per credential, across every worker process, under `worker`.")
    concurrency: int = Field(8, ge=1, le=256, description="Maximum requests in flight at once.")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for one answer.")
    max_attempts: int = Field(6, ge=1, le=20, description="Tries per operation on 5xx / 429 / timeouts / dropped connections.")
    backoff_base: float = Field(0.5, ge=0, le=60, description="First retry delay in seconds; doubles each try, with full jitter.")
    backoff_max: float = Field(30.0, ge=0, le=600, description="Upper bound of one retry delay in seconds.")
    user_agent_product: str = Field("ClassifiedsEtl", pattern=r"^[^/\s]+$", description="First token of the User-Agent (your CRM name).")
    visibility_lag: float = Field(60.0, ge=0, le=3600, description="Seconds after a write during which a look-up may not see it yet (AVIV processes asynchronously); an unanswered write is only judged from a look-up made later than this.")

    @property
    def effective_audience(self) -> str:
        return self.audience or self.base_url


class MassDeleteGuard(_Closed):
    max_share: float = Field(0.30, ge=0, le=1, description="Largest share of an agency's live listings one run may delete.")
    min_count: int = Field(3, ge=1, description="Runs deleting fewer listings than this are never stopped by max_share.")


class Credentials(_Closed):
    """References to environment variables; the values never appear in the file."""

    client_id_env: EnvName = Field(description="Environment variable holding the OAuth2 client id.")
    client_secret_env: EnvName = Field(description="Environment variable holding the OAuth2 client secret.")
    intermediary_id: str | None = Field(None, description="The agency's AVIV intermediary id (not a secret).")
    intermediary_id_env: EnvName | None = Field(None, description="…or the environment variable holding it.")

    @model_validator(mode="after")
    def _one_intermediary(self) -> Credentials:
        if (self.intermediary_id is None) == (self.intermediary_id_env is None):
            raise ValueError("indiquer exactement un de intermediary_id ou intermediary_id_env")
        return self

    def resolve(self, environ: dict[str, str] | os._Environ[str] | None = None) -> ResolvedCredentials:
        env = os.environ if environ is None else environ
        missing = [n for n in (self.client_id_env, self.client_secret_env, self.intermediary_id_env)
                   if n is not None and not env.get(n)]
        if missing:
            raise ConfigError("\n".join(f"variable d'environnement absente ou vide : {n}" for n in missing))
        return ResolvedCredentials(env[self.client_id_env], env[self.client_secret_env], self.intermediary(env) or "")

    def intermediary(self, environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
        """The intermediary id alone (no secret needed); None when its variable is not set."""
        if self.intermediary_id is not None:
            return self.intermediary_id
        return (os.environ if environ is None else environ).get(self.intermediary_id_env or "") or None


@dataclass(frozen=True, slots=True)
class ResolvedCredentials:
    client_id: str
    client_secret: str
    intermediary_id: str

    def __repr__(self) -> str:  # the secret must not leak through a debug print or a traceback
        return f"ResolvedCredentials(client_id={self.client_id!r}, intermediary_id={self.intermediary_id!r}, client_secret=***)"


# Orders in which a portal's quota seats the eligible listings (etl/load/quotas.py implements them).
QuotaCriterion = Literal["online", "newest", "oldest", "price_high", "price_low"]
_QUOTA_PRIORITY_HELP = ("Who gets a portal's quota seats when more listings are eligible than the contract allows, "
                        "criteria in order (ties go to the next, then to feed order): online (already published "
                        "there), newest / oldest (mandate start date, then first publication), price_high, price_low.")


def _check_priority(v: list[str]) -> list[str]:
    if len(set(v)) != len(v):
        raise ValueError("critère de priorité en double")
    return v


Priority = Annotated[list[QuotaCriterion], AfterValidator(_check_priority)]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_emails(v: list[str]) -> list[str]:
    for addr in v:
        if not _EMAIL.match(addr):
            raise ValueError(f"adresse e-mail invalide : « {addr} »")
    return v


Emails = Annotated[list[str], AfterValidator(_check_emails)]


class Reports(_Closed):
    recipients: Emails = Field(default_factory=list, description="E-mail addresses that receive the agency's report.")
    language: Literal["fr", "en"] = Field("fr", description="Language of the agency's report and e-mail.")
    send: Literal["when_needed", "always"] = Field(
        "when_needed", description="when_needed: e-mail the agency only when something needs it (listings to fix, "
                                   "feed missing or refused); always: after every run.")


class SmtpSettings(_Closed):
    """The mail server. The password is named by an environment variable, never written here."""

    host: str = Field(description="SMTP server host name.")
    port: int | None = Field(None, ge=1, le=65535, description="Default 587 with starttls, 465 with tls, 25 with none.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls: plain connection upgraded by STARTTLS; tls: implicit TLS; none: no encryption.")
    username_env: EnvName | None = Field(None, description="Environment variable holding the SMTP user name (no AUTH when absent).")
    password_env: EnvName | None = Field(None, description="Environment variable holding the SMTP password.")
    ca_file: str | None = Field(None, description="CA bundle to verify the server's certificate (default: the system's).")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for the server at each step.")
    max_attempts: int = Field(3, ge=1, le=10, description="Tries per message on connection errors and 4xx answers.")
    backoff: float = Field(2.0, ge=0, le=300, description="Seconds before the second try; doubles at each further try.")

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class Email(_Closed):
    """How reports are e-mailed. Without ``smtp`` the messages are written as .eml files into ``outbox``."""

    sender: str = Field("classifieds-etl@localhost", description="From: address of the report e-mails.")
    operator_recipients: Emails = Field(default_factory=list, description="Who receives the operator's run report.")
    smtp: SmtpSettings | None = None
    outbox: str = Field("outbox", description="Folder of messages waiting to be sent (relative to this file); "
                                              "a message leaves it only once the server accepted it.")


class Thresholds(_Closed):
    mass_delete: MassDeleteGuard | None = None


class Defaults(_Closed):
    api: ApiSettings = ApiSettings()
    state: str | None = Field(None, description="State store URL: sqlite:///path or postgresql+psycopg://…; default state.sqlite beside this file.")
    reports_dir: str = Field("reports", description="Where run reports are written (relative to this file).")
    token_cache: str | None = Field(None, description="File (mode 0600) caching OAuth2 tokens between runs; default .tokens.json beside the state.")
    mass_delete: MassDeleteGuard = MassDeleteGuard()
    reports: Reports = Reports()
    email: Email = Email()
    reports_keep: int = Field(30, ge=1, description="Run folders (run-*, plan-*, status-*) kept in reports_dir, and as many queued nights (night-*); older ones are removed.")
    lock_stale_after: float = Field(900.0, gt=0, description="Seconds without heartbeat after which another host's lock is considered abandoned.")
    portal_rules: PortalRules | None = Field(None, description="Portal rules (Belles Demeures floors by zone and transaction…) for every agency.")
    quota_priority: Priority = Field(["online", "newest"], min_length=1, description=_QUOTA_PRIORITY_HELP)


class Agency(_Closed):
    id: str = Field(description="Stable agency identifier, as in the feed (Poliris field 1); part of every listing key.")
    name: str | None = None
    source: str = Field(description="Feed path, glob (newest match wins) or http(s) URL.")
    format: str = Field("auto", description="Source format: auto (detected from the content), a registered format (poliris, …) or payloads-jsonl (what convert wrote).")
    mapping: str | None = Field(None, description="Mapping file; default: the detected format's own.")
    source_options: dict[str, Any] = Field(default_factory=dict, description="Overrides of the mapping's source: block for this agency (a renamed column, a sheet name…).")
    full_snapshot: bool = Field(True, description="The feed lists every live listing: absent ones are deleted.")
    portals: list[Portal] = Field(description="Portals of the agency's contract.")
    quotas: dict[Portal, int] = Field(default_factory=dict, description="Per-portal quotas of the contract (listings at once); the planner publishes no more than these.")
    quota_priority: Priority | None = Field(None, min_length=1, description="Replaces defaults.quota_priority for this agency. " + _QUOTA_PRIORITY_HELP)

    @field_validator("quotas")
    @classmethod
    def _quotas_positive(cls, v: dict[str, int]) -> dict[str, int]:
        for portal, n in v.items():
            if n < 0:
                raise ValueError(f"quota négatif pour {portal}")
        return v
    credentials: Credentials
    reports: Reports | None = None
    thresholds: Thresholds = Thresholds()
    portal_rules: PortalRules | None = Field(None, description="Replaces defaults.portal_rules for this agency; contract_portals defaults to portals.")
    offerer_estate_id: str | None = Field(None, description="Template of offererEstateId over {agency_id} and {source_key}; stable for a listing's life.")
    photo_base_url: str | None = Field(None, description="Public URL under which the photos shipped in the feed's ZIP are served.")
    source_system: str | None = Field(None, description="metaData.source.sourceSystem, when AVIV registered a specific one.")
    enabled: bool = True

    @field_validator("offerer_estate_id")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                v.format(agency_id="a", source_key="k")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"modèle invalide « {v} » : seuls {{agency_id}} et {{source_key}} sont permis ({exc})") from None
            if "{source_key}" not in v:
                raise ValueError("le modèle doit contenir {source_key}, sinon toutes les annonces auraient le même identifiant")
        return v

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _AGENCY_ID.match(v):
            raise ValueError(f"identifiant d'agence invalide « {v} » (lettres, chiffres, . _ -, 64 max.)")
        return v

    @field_validator("portals")
    @classmethod
    def _portals_unique(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("au moins un portail est nécessaire")
        if len(set(v)) != len(v):
            raise ValueError("portail en double")
        return v


class QueueSettings(_Closed):
    """Workers on Procrastinate (``classifieds-etl worker``): needs a PostgreSQL state store."""

    name: str = Field("classifieds-etl", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Procrastinate queue the agencies' jobs go to (one per installation sharing a database).")
    stall_timeout: float = Field(60.0, ge=2, le=3600, description="Seconds without a worker heartbeat after which its job is given to another worker; heartbeats are sent six times as often.")
    concurrency: int = Field(1, ge=1, le=64, description="Agencies one worker process runs at once (worker --concurrency overrides it).")
    max_attempts: int = Field(5, ge=1, le=50, description="Runs of an agency's job when it keeps failing transiently (AVIV or the database unreachable, lock held by a manual run); guard refusals and bad feeds are never retried.")
    retry_wait: int = Field(30, ge=0, le=86400, description="Seconds before a transient failure is retried, plus exponential_wait ** (attempt + 1).")
    exponential_wait: int = Field(2, ge=0, le=10, description="Base of the exponential part of the retry backoff (0: none).")
    schedule: str | None = Field(None, description="Cron expression (server time) at which the workers enqueue the night for every enabled agency, e.g. \"0 2 * * *\"; without it, enqueue with `classifieds-etl schedule` from cron.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) not in (5, 6):
            raise ValueError(f"expression cron invalide « {v} » (5 champs : minute heure jour mois jour-de-semaine)")
        return v


class WebhookSettings(_Closed):
    """AVIV's status callbacks (``classifieds-etl webhook``).

    AVIV documents no signature for its callbacks, but it calls back the URL we subscribe: each
    intermediary's URL ends in a secret of its own (derived from ``secret_env``), so a caller who
    does not know it is turned away and one intermediary's URL cannot speak for another.
    """

    public_url: str = Field(description="Where AVIV reaches `webhook --listen` from the internet (your HTTPS reverse "
                                        "proxy), e.g. https://etl.example.com/aviv; each intermediary subscribes "
                                        "<public_url>/<its secret token>.",
                            pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    secret_env: EnvName = Field(description="Environment variable holding the secret the callback URLs are derived from "
                                        "(at least 16 characters; changing it means subscribing again).")
    allow_from: list[str] = Field(default_factory=list, description="If set, only these addresses or networks "
                                  "(CIDR) may call back, as seen by the listener (behind a proxy: the proxy's).")
    max_body: int = Field(65536, ge=1024, le=10 * 1024 * 1024, description="Largest callback body accepted, in bytes.")

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        import ipaddress
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"adresse ou réseau invalide : « {net} » (ex. 192.0.2.0/24)") from None
        return v

    def secret(self, environ: dict[str, str] | os._Environ[str] | None = None) -> str:
        value = (os.environ if environ is None else environ).get(self.secret_env, "")
        if len(value) < 16:
            raise ConfigError(f"la variable d'environnement {self.secret_env} (secret des webhooks) doit contenir "
                              "au moins 16 caractères")
        return value


class Config(_Closed):
    """The whole ``agencies.yaml``."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
    queue: QueueSettings = QueueSettings()
    webhook: WebhookSettings | None = None
    agencies: list[Agency]

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for a in self.agencies:
            if a.id in seen:
                raise ValueError(f"agence « {a.id} » déclarée deux fois")
            seen.add(a.id)
        return self


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated configuration with paths resolved against the file's directory."""

    config: Config
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def agency(self, agency_id: str) -> Agency:
        for a in self.config.agencies:
            if a.id == agency_id:
                return a
        known = ", ".join(a.id for a in self.config.agencies)
        raise ConfigError(f"{self.path}: agence inconnue « {agency_id} » (connues : {known})")

    def selected(self, agency_id: str | None) -> list[Agency]:
        if agency_id:
            return [self.agency(agency_id)]
        return [a for a in self.config.agencies if a.enabled]

    def resolve_path(self, value: str) -> Path:
        p = Path(os.path.expandvars(os.path.expanduser(value)))
        return p if p.is_absolute() else self.base_dir / p

    @property
    def state_url(self) -> str:
        url = self.config.defaults.state
        if not url:
            return f"sqlite:///{self.base_dir / 'state.sqlite'}"
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///"):]
            if rel and rel != ":memory:":
                return f"sqlite:///{self.resolve_path(rel)}"
        return os.path.expandvars(url)

    @property
    def reports_dir(self) -> Path:
        return self.resolve_path(self.config.defaults.reports_dir)

    @property
    def outbox(self) -> Path:
        return self.resolve_path(self.config.defaults.email.outbox)

    @property
    def token_cache(self) -> Path:
        if self.config.defaults.token_cache:
            return self.resolve_path(self.config.defaults.token_cache)
        return self.base_dir / ".tokens.json"

    def agencies_by_intermediary(self) -> dict[str, list[str]]:
        """Which agencies publish under each intermediary (what a status callback may touch)."""
        out: dict[str, list[str]] = {}
        for a in self.config.agencies:
            intermediary = a.credentials.intermediary()
            if intermediary:
                out.setdefault(intermediary, []).append(a.id)
        return out

    def mass_delete(self, agency: Agency) -> MassDeleteGuard:
        return agency.thresholds.mass_delete or self.config.defaults.mass_delete

    def quota_priority(self, agency: Agency) -> list[str]:
        return list(agency.quota_priority or self.config.defaults.quota_priority)

    def reports(self, agency: Agency) -> Reports:
        return agency.reports or self.config.defaults.reports

    def portal_rules(self, agency: Agency) -> PortalRules:
        rules = agency.portal_rules or self.config.defaults.portal_rules or PortalRules()
        if rules.contract_portals is None:
            rules = rules.model_copy(update={"contract_portals": list(agency.portals)})
        return rules


def parse_config(text: str, path: Path | str) -> Config:
    return parse_yaml_model(text, Config, source=str(path))


def load_config(path: str | Path) -> LoadedConfig:
    p = Path(path)
    return LoadedConfig(load_yaml_model(p, Config), p.resolve())


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "classifieds-etl agencies.yaml"
    return schema


if __name__ == "__main__":  # python -m etl.agencies > etc/agencies.schema.json
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
