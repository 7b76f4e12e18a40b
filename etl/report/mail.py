"""E-mailing the reports: every message goes through an outbox folder.

A message is first written as an ``.eml`` file into the outbox (atomically);
then, when an SMTP server is configured, every message waiting there — tonight's
and any an earlier run could not send — is sent, and moved to ``outbox/sent/``
once the server accepted it. A failure to send is reported and leaves the
message where it is, for the next run (or ``classifieds-etl report send``).
Without a server the outbox is the delivery: another tool can pick the files up.

The SMTP password is read from the environment variable the configuration
names, at the moment of sending; it never reaches a log line, a report or an
exception message.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_binary_file, policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from etl.report.atomic import atomic_path
from etl.report.fmt import agency_slug
from etl.report.i18n import tr
from etl.report.story import AgencyStory, plain_text

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
SENT_DIR = "sent"


class SmtpConfig(Protocol):
    """What sending needs (``etl.agencies.SmtpSettings`` has these)."""

    host: str
    security: str
    username_env: str | None
    password_env: str | None
    ca_file: str | None
    timeout: float
    max_attempts: int
    backoff: float

    @property
    def effective_port(self) -> int: ...


class MailError(Exception):
    """A message could not be sent (the text names the cause, never a secret)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# ------------------------------------------------------------------------------ messages

def _base(subject: str, sender: str, recipients: Sequence[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    domain = sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else None
    msg["Message-ID"] = make_msgid(domain=domain or None)
    return msg


def _attach(msg: EmailMessage, attachments: Sequence[Path]) -> None:
    for path in attachments:
        msg.add_attachment(path.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=path.name)


def agency_message(story: AgencyStory, html: str, *, sender: str, recipients: Sequence[str],
                   attachments: Sequence[Path] = ()) -> EmailMessage:
    """One agency's report: plain text first, the HTML page as the alternative, its workbook attached."""
    msg = _base(story.subject, sender, recipients)
    text = plain_text(story)
    if attachments:
        text += "\n" + tr("mail_attachment", story.lang, name=", ".join(p.name for p in attachments)) + "\n"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    _attach(msg, attachments)
    msg["X-Classifieds-Agency"] = story.agency_id
    return msg


def run_message(subject: str, text: str, html: str, *, sender: str, recipients: Sequence[str],
                attachments: Sequence[Path] = ()) -> EmailMessage:
    msg = _base(subject, sender, recipients)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    _attach(msg, attachments)
    return msg


def should_send(story: AgencyStory, send: str) -> bool:
    """``always``, or ``when_needed``: listings to fix, or a failure the agency must act on."""
    return send == "always" or story.needs_agency


# ------------------------------------------------------------------------------ outbox

@dataclass(slots=True)
class Outbox:
    path: Path

    def put(self, msg: EmailMessage, name_hint: str) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        data = msg.as_bytes(policy=policy.SMTP)
        digest = hashlib.sha256(data).hexdigest()[:8]
        target = self.path / f"{time.strftime('%Y%m%d-%H%M%S')}-{agency_slug(name_hint)}-{digest}.eml"
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return target

    def pending(self) -> list[Path]:
        try:
            return sorted(p for p in self.path.iterdir() if p.suffix == ".eml" and p.is_file())
        except FileNotFoundError:
            return []

    def mark_sent(self, path: Path) -> Path:
        sent = self.path / SENT_DIR
        sent.mkdir(exist_ok=True)
        target = sent / path.name
        os.replace(path, target)
        return target


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as f:
        msg = message_from_binary_file(f, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


# ------------------------------------------------------------------------------ SMTP

def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else ssl.create_default_context()


def _credentials(cfg: SmtpConfig, environ: Mapping[str, str]) -> tuple[str, str] | None:
    if not cfg.username_env:
        return None
    missing = [n for n in (cfg.username_env, cfg.password_env) if n and not environ.get(n)]
    if missing:
        raise MailError(f"variable d'environnement absente ou vide : {', '.join(missing)}", permanent=True)
    return environ[cfg.username_env], environ.get(cfg.password_env or "", "")


def send_once(msg: EmailMessage, cfg: SmtpConfig, environ: Mapping[str, str]) -> None:
    """One attempt; raises MailError (``permanent`` when retrying cannot help)."""
    creds = _credentials(cfg, environ)
    host, port = cfg.host, cfg.effective_port
    try:
        if cfg.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=cfg.timeout, context=_tls_context(cfg))
        else:
            server = smtplib.SMTP(host, port, timeout=cfg.timeout)
        with server:
            server.ehlo()
            if cfg.security == "starttls":
                server.starttls(context=_tls_context(cfg))
                server.ehlo()
            if creds is not None:
                server.login(*creds)
            server.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"authentification SMTP refusée par {host}:{port} ({exc.smtp_code})", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"destinataires refusés par {host}:{port} : {', '.join(exc.recipients)}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{host}:{port} a répondu {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{host}:{port} : {exc}", permanent=True) from None
    except ssl.SSLError as exc:
        raise MailError(f"TLS impossible avec {host}:{port} : {exc.reason or exc.__class__.__name__}",
                        permanent=True) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise MailError(f"serveur SMTP {host}:{port} injoignable ({reason})") from None


def send_with_retries(msg: EmailMessage, cfg: SmtpConfig, environ: Mapping[str, str],
                      sleep: Callable[[float], None] = time.sleep) -> None:
    delay = cfg.backoff
    for attempt in range(1, cfg.max_attempts + 1):
        try:
            send_once(msg, cfg, environ)
            return
        except MailError as exc:
            if exc.permanent or attempt == cfg.max_attempts:
                raise
        sleep(delay)
        delay *= 2


@dataclass(slots=True)
class Delivery:
    queued: list[Path] = field(default_factory=list)     # written into the outbox tonight
    sent: list[Path] = field(default_factory=list)       # accepted by the server (now in outbox/sent/)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # still in the outbox, with the reason
    smtp: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"smtp": self.smtp, "queued": [p.name for p in self.queued], "sent": [p.name for p in self.sent],
                "failed": [{"file": p.name, "reason": why} for p, why in self.failed]}


def deliver(outbox: Outbox, cfg: SmtpConfig | None, *, environ: Mapping[str, str] | None = None,
            delivery: Delivery | None = None, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send every message waiting in the outbox. Never raises for a message that cannot go."""
    out = delivery or Delivery()
    out.smtp = cfg is not None
    if cfg is None:
        return out
    env = os.environ if environ is None else environ
    for path in outbox.pending():
        try:
            send_with_retries(read_message(path), cfg, env, sleep=sleep)
        except MailError as exc:
            out.failed.append((path, str(exc)))
            continue
        except (OSError, ValueError) as exc:  # an unreadable file stays for a human to look at
            out.failed.append((path, f"message illisible ({exc.__class__.__name__})"))
            continue
        out.sent.append(outbox.mark_sent(path))
    return out


# ------------------------------------------------------------------------------ a run's messages

def queue_run_messages(summary: object, paths: Mapping[str, Path], outbox: Outbox, *, sender: str,
                       operator_recipients: Sequence[str] = (), lang: str = "fr",
                       delivery: Delivery | None = None) -> Delivery:
    """Put tonight's messages into the outbox: one per agency that has recipients (and
    something for them, unless it asked for ``always``), and the run report for the operator."""
    from etl.report.i18n import fmt_night
    from etl.report.story import build_stories
    from etl.report.summary import ConvertSummary

    assert isinstance(summary, ConvertSummary)
    out = delivery or Delivery()
    stories = build_stories(summary)
    for story in stories:
        run = summary.runs.get(story.agency_id)
        if run is None or run.planned or not run.recipients or not should_send(story, run.send):
            continue
        html_path, xlsx_path = paths.get(f"html:{story.agency_id}"), paths.get(f"xlsx:{story.agency_id}")
        if html_path is None:
            continue
        msg = agency_message(story, html_path.read_text(encoding="utf-8"), sender=sender,
                             recipients=run.recipients, attachments=[xlsx_path] if xlsx_path else [])
        out.queued.append(outbox.put(msg, story.agency_id))
    if operator_recipients and "html" in paths:
        op_lang = "en" if lang == "en" else "fr"
        failed = sum(1 for s in stories if s.tone == "fail")
        subject = tr("subj_run", op_lang, n=failed, failed=failed, agencies=len(stories),
                     night=fmt_night(summary.started_at, op_lang))
        text = "\n".join([subject, ""] + [f"- {s.label} : {s.headline}" + (f" — {s.failure}" if s.failure else "")
                                          for s in stories]) + "\n"
        attachments = [paths["xlsx"]] if "xlsx" in paths else []
        msg = run_message(subject, text, paths["html"].read_text(encoding="utf-8"), sender=sender,
                          recipients=operator_recipients, attachments=attachments)
        out.queued.append(outbox.put(msg, "exploitation"))
    return out
