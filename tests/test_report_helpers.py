"""Shared builders for the report tests (no tests here): a real SMTP server, a self-signed
certificate, and an agencies.yaml with report recipients and e-mail settings."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from test_load_helpers import write_config

SMTP_USER, SMTP_PASSWORD = "etl-mailer", "s3cret-Pa55word"
SMTP_ENV = {"ETL_TEST_SMTP_USER": SMTP_USER, "ETL_TEST_SMTP_PASSWORD": SMTP_PASSWORD}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(dir: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1, made by the openssl command for this test only."""
    cert, key = dir / "smtp-cert.pem", dir / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@dataclass
class Sink:
    """aiosmtpd handler keeping every message it accepts."""

    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[Any]:
        from email import message_from_bytes, policy
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() and \
        auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(*, security: str = "none", auth: bool = False, cert: tuple[Path, Path] | None = None,
                port: int | None = None) -> Iterator[tuple[Sink, int]]:
    """A real SMTP server on 127.0.0.1: plain, STARTTLS (required) or implicit TLS; AUTH optional."""
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = port or free_port()
    kw: dict[str, Any] = {}
    if security in ("starttls", "tls"):
        assert cert is not None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        if security == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        else:
            kw.update(ssl_context=ctx, server_hostname="localhost")
    if auth:
        kw.update(authenticator=_authenticator, auth_required=True, auth_require_tls=security == "starttls")  # implicit TLS: aiosmtpd cannot tell, the socket is TLS already
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def write_report_config(dir: Path, *, base_url: str, token_url: str, agencies: dict[str, Path],
                        recipients: dict[str, list[str]] | None = None, send: str = "when_needed",
                        language: dict[str, str] | None = None, email: dict[str, Any] | None = None,
                        reports_keep: int | None = None, formats: dict[str, str] | None = None, **kw: Any) -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    path = write_config(dir, base_url=base_url, token_url=token_url, agencies=agencies, **kw)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    for a in cfg["agencies"]:
        a["name"] = f"Agence {a['id'].capitalize()}"
        a["format"] = (formats or {}).get(a["id"], a["format"])
        a["reports"] = {"recipients": (recipients or {}).get(a["id"], []), "send": send,
                        "language": (language or {}).get(a["id"], "fr")}
    cfg["defaults"]["email"] = {"sender": "Publication <etl@example.test>", "outbox": str(dir / "outbox"),
                                **(email or {})}
    if reports_keep is not None:
        cfg["defaults"]["reports_keep"] = reports_keep
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def smtp_settings(port: int, *, security: str = "none", auth: bool = False, ca: Path | None = None,
                  **kw: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": security, "timeout": 5,
                         "max_attempts": 2, "backoff": 0.05, **kw}
    if auth:
        s.update(username_env="ETL_TEST_SMTP_USER", password_env="ETL_TEST_SMTP_PASSWORD")
    if ca is not None:
        s["ca_file"] = str(ca)
    return s
