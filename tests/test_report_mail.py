"""Reports e-mailed to a real SMTP server (aiosmtpd) started by each test: plain, STARTTLS and
implicit TLS, with and without AUTH; a refused connection leaves the message in the outbox and
the next run sends it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_load_helpers import TEST_ENV, sandbox, test_env  # noqa: F401  (fixtures)
from test_report_helpers import (
    SMTP_ENV, SMTP_PASSWORD, free_port, self_signed, smtp_server, smtp_settings, write_report_config,
)

from etl.cli import main
from etl.agencies import load_config
from etl.pipeline.run import RunOptions, run
from etl.log import RunLog

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"
AGENCY = "maisons-oceane"   # 13 lines in maisons-quirks.zip: one refused, three with warnings
RECIPIENT = "contact@oceane.example"


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {**TEST_ENV, **SMTP_ENV}.items():
        monkeypatch.setenv(k, v)


def _config(tmp_path: Path, sb, *, smtp: dict | None, send: str = "when_needed", language: str = "fr",
            operator: list[str] | None = None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    feed = tmp_path / "maisons-quirks.zip"
    shutil.copy(SAMPLES / "maisons-quirks.zip", feed)
    email = {"operator_recipients": operator or []}
    if smtp is not None:
        email["smtp"] = smtp
    return load_config(write_report_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                                           agencies={AGENCY: feed}, recipients={AGENCY: [RECIPIENT]},
                                           formats={AGENCY: "poliris"}, send=send,
                                           language={AGENCY: language}, email=email))


def _run(cfg, **kw):
    log = io.StringIO()
    res = run(cfg, options=RunOptions(**kw), log=RunLog("text", log))
    return res, log.getvalue()


def _check_agency_message(msg, *, lang: str = "fr") -> None:
    assert msg["To"] == RECIPIENT and "etl@example.test" in msg["From"]
    subject = msg["Subject"]
    if lang == "fr":
        assert subject.startswith("1 annonce à corriger, 12 en ligne — Agence Maisons-oceane, nuit du "), subject
    else:
        assert subject.startswith("1 listing to fix, 12 online — Agence Maisons-oceane, night of "), subject
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "MAI-000009" in text and "→" in text
    assert "<!DOCTYPE html>" in html and "MAI-000009" in html and 'class="headline todo"' in html
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == f"report-{AGENCY}.xlsx"
    wb = load_workbook(io.BytesIO(att.get_content()))
    assert wb.sheetnames[:3] == (["Synthèse", "À corriger", "Avertissements"] if lang == "fr"
                                 else ["Summary", "To fix", "Warnings"])


def test_plain_smtp_delivers_the_agency_report(tmp_path: Path, sandbox, mail_env) -> None:
    with smtp_server() as (sink, port):
        cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port), operator=["ops@example.test"])
        res, _ = _run(cfg)
    assert res.exit_code == 0
    by_to = {m["To"]: m for m in sink.messages()}
    assert set(by_to) == {RECIPIENT, "ops@example.test"}
    assert [e.rcpt_tos for e in sink.envelopes if RECIPIENT in e.rcpt_tos] == [[RECIPIENT]]
    _check_agency_message(by_to[RECIPIENT])
    op = by_to["ops@example.test"]
    assert "0 agence en échec sur 1" in op["Subject"]
    assert "Rapport d&#39;exploitation" in op.get_body(("html",)).get_content()
    # sent messages leave the outbox for outbox/sent
    assert not list((tmp_path / "outbox").glob("*.eml")) and len(list((tmp_path / "outbox" / "sent").glob("*.eml"))) == 2
    assert res.mail["sent"] and not res.mail["failed"]


def test_starttls_with_auth(tmp_path: Path, sandbox, mail_env) -> None:
    cert = self_signed(tmp_path)
    with smtp_server(security="starttls", auth=True, cert=cert) as (sink, port):
        cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port, security="starttls", auth=True, ca=cert[0]),
                      language="en")
        res, log = _run(cfg)
    assert res.exit_code == 0 and not res.mail["failed"], res.mail
    (msg,) = sink.messages()
    _check_agency_message(msg, lang="en")
    assert SMTP_PASSWORD not in log


def test_implicit_tls_with_auth(tmp_path: Path, sandbox, mail_env) -> None:
    cert = self_signed(tmp_path)
    with smtp_server(security="tls", auth=True, cert=cert) as (sink, port):
        cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port, security="tls", auth=True, ca=cert[0]))
        res, _ = _run(cfg)
    assert not res.mail["failed"], res.mail
    (msg,) = sink.messages()
    _check_agency_message(msg)


def test_starttls_without_auth_and_plain_with_auth(tmp_path: Path, sandbox, mail_env) -> None:
    cert = self_signed(tmp_path)
    with smtp_server(security="starttls", cert=cert) as (sink, port):
        cfg = _config(tmp_path / "a", sandbox, smtp=smtp_settings(port, security="starttls", ca=cert[0]))
        assert not _run(cfg)[0].mail["failed"]
    assert len(sink.messages()) == 1
    with smtp_server(auth=True) as (sink, port):
        cfg = _config(tmp_path / "b", sandbox, smtp=smtp_settings(port, auth=True))
        assert not _run(cfg)[0].mail["failed"]
    assert len(sink.messages()) == 1


def test_wrong_password_is_reported_without_the_secret_and_kept(tmp_path: Path, sandbox, mail_env,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_TEST_SMTP_PASSWORD", "not-the-password")
    with smtp_server(auth=True) as (sink, port):
        cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port, auth=True))
        res, log = _run(cfg)
    assert res.exit_code == 0 and sink.messages() == []
    (failed,) = res.mail["failed"]
    assert "authentification SMTP refusée" in failed["reason"]
    assert "not-the-password" not in log and "not-the-password" not in json.dumps(res.mail)
    assert (tmp_path / "outbox" / failed["file"]).is_file()


def test_refused_connection_keeps_the_message_and_the_next_run_sends_it(tmp_path: Path, sandbox,
                                                                        mail_env) -> None:
    port = free_port()  # nothing listens there yet
    cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port))
    res, log = _run(cfg)
    assert res.exit_code == 0, "a mail failure never fails the data work"
    (failed,) = res.mail["failed"]
    assert "injoignable" in failed["reason"] and failed["file"] in log
    waiting = tmp_path / "outbox" / failed["file"]
    assert waiting.is_file()
    load = json.loads((res.out_dir / "load.json").read_text())
    assert load["mail"]["failed"][0]["file"] == failed["file"]

    with smtp_server(port=port) as (sink, _):
        res2, _ = _run(cfg)  # the next night: tonight's message and yesterday's both go
    assert not res2.mail["failed"]
    assert len(sink.messages()) == 2 and not waiting.exists()
    assert (tmp_path / "outbox" / "sent" / failed["file"]).is_file()


def test_report_send_resends_the_outbox_by_hand(tmp_path: Path, sandbox, mail_env,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cfg = _config(tmp_path, sandbox, smtp=smtp_settings(port))
    res, _ = _run(cfg)
    assert len(res.mail["failed"]) == 1
    with smtp_server(port=port) as (sink, _):
        code = main(["report", "send", "--outbox", str(tmp_path / "outbox"), "--config", str(cfg.path)])
    assert code == 0 and len(sink.messages()) == 1
    assert "1 envoyé(s), 0 en attente" in capsys.readouterr().out


def test_without_smtp_the_messages_wait_in_the_outbox_as_eml(tmp_path: Path, sandbox, mail_env) -> None:
    cfg = _config(tmp_path, sandbox, smtp=None)
    res, _ = _run(cfg)
    (eml,) = list((tmp_path / "outbox").glob("*.eml"))
    from etl.report.mail import read_message
    _check_agency_message(read_message(eml))
    assert res.mail == {"smtp": False, "queued": [eml.name], "sent": [], "failed": []}


def test_only_when_needed_by_default_or_always(tmp_path: Path, sandbox, mail_env) -> None:
    cfg = _config(tmp_path / "a", sandbox, smtp=None)
    _run(cfg)  # night 1: one listing to fix → a message
    assert len(list((tmp_path / "a" / "outbox").glob("*.eml"))) == 1
    clean_feed = tmp_path / "clean.jsonl"
    from test_load_helpers import feed, write_payloads
    write_payloads(clean_feed, feed(AGENCY, 3))
    cfg = load_config(write_report_config(tmp_path / "b", base_url=sandbox.base_url, token_url=sandbox.token_url,
                                          agencies={AGENCY: clean_feed}, recipients={AGENCY: [RECIPIENT]}))
    _run(cfg)  # nothing to fix: no message
    assert not list((tmp_path / "b" / "outbox").glob("*.eml"))
    cfg = load_config(write_report_config(tmp_path / "c", base_url=sandbox.base_url, token_url=sandbox.token_url,
                                          agencies={AGENCY: clean_feed}, recipients={AGENCY: [RECIPIENT]},
                                          send="always"))
    _run(cfg)
    (eml,) = list((tmp_path / "c" / "outbox").glob("*.eml"))
    from etl.report.mail import read_message
    assert read_message(eml)["Subject"].startswith("3 annonces en ligne, rien à corriger — Agence Maisons-oceane")


def test_dry_run_sends_nothing(tmp_path: Path, sandbox, mail_env) -> None:
    cfg = _config(tmp_path, sandbox, smtp=None)
    res, _ = _run(cfg, dry_run=True)
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))
    assert (res.out_dir / f"report-{AGENCY}.html").is_file()
