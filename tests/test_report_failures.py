"""Each way a night can fail gives the agency a report whose headline names the failure — never a
green box — and the operator's summary.json carries it; plus the output folder rules."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
from pathlib import Path

import pytest
from test_load_helpers import accepted, feed, sandbox, test_env, write_payloads  # noqa: F401  (fixtures)
from test_report_helpers import write_report_config

from etl.agencies import load_config
from etl.pipeline.run import RunOptions, run
from etl.log import RunLog


def _cfg(tmp_path: Path, sb, feeds: dict[str, Path], **kw):
    return load_config(write_report_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url, agencies=feeds,
                                           **kw))


def _run(cfg, **kw):
    return run(cfg, options=RunOptions(**kw), log=RunLog("text", io.StringIO()))


def _page(res, agency: str = "ag") -> str:
    return res.reports[f"html:{agency}"].read_text(encoding="utf-8")


def _headline(html: str) -> str:
    m = re.search(r'<section class="headline (\w+)"[^>]*>(.*?)</section>', html, re.S)
    assert m, "no headline"
    return m.group(1) + " " + " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())


def _summary(res) -> dict:
    return json.loads(res.reports["summary"].read_text(encoding="utf-8"))


def test_missing_feed(tmp_path: Path, sandbox, test_env) -> None:
    other = write_payloads(tmp_path / "other-feed.jsonl", feed("other", 2))
    cfg = _cfg(tmp_path, sandbox, {"ag": tmp_path / "absent.jsonl", "other": other},
               recipients={"ag": ["ag@example.test"], "other": ["other@example.test"]})
    res = _run(cfg)
    assert res.exit_code == 4
    # only the agency that must act gets a message (no SMTP here: it waits in the outbox)
    from etl.report.mail import read_message
    (eml,) = list((tmp_path / "outbox").glob("*.eml"))
    assert read_message(eml)["Subject"].startswith("ÉCHEC : fichier non reçu — Agence Ag, nuit du ")
    head = _headline(_page(res))
    assert head.startswith("fail ") and "n'a pas été reçu" in head and "éditeur de logiciel" in head
    assert "other-feed.jsonl" not in _page(res), "another agency's file shown as received"
    assert "Fichier attendu : absent.jsonl" in _page(res) and "Fichier reçu" not in _page(res)
    assert str(tmp_path) not in _page(res)
    run_json = _summary(res)["agencies"]["ag"]["run"]
    assert run_json["status"] == "source_missing" and run_json["exit_code"] == 4
    assert _headline(_page(res, "other")).startswith("ok ")


def test_empty_feed_guard(tmp_path: Path, sandbox, test_env) -> None:
    path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 5))
    cfg = _cfg(tmp_path, sandbox, {"ag": path})
    assert _run(cfg).exit_code == 0
    path.write_bytes(b"")
    res = _run(cfg)
    assert res.exit_code == 3
    head = _headline(_page(res))
    assert head.startswith("fail ") and "est vide alors que 5 annonces sont en ligne" in head
    assert _summary(res)["agencies"]["ag"]["run"]["status"] == "feed_empty"
    assert "flux vide" in _summary(res)["agencies"]["ag"]["run"]["guard"]


def test_mass_delete_guard(tmp_path: Path, sandbox, test_env) -> None:
    path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 10))
    cfg = _cfg(tmp_path, sandbox, {"ag": path})
    _run(cfg)
    write_payloads(path, feed("ag", 3))
    res = _run(cfg)
    assert res.exit_code == 3
    html = _page(res)
    head = _headline(html)
    assert head.startswith("fail ") and "retirerait 7 de vos 10 annonces en ligne" in head
    assert "mis en ligne" not in head and "acceptée" not in head
    assert _summary(res)["agencies"]["ag"]["run"]["status"] == "mass_delete"


def test_truncated_feed_guard(tmp_path: Path, sandbox, test_env) -> None:
    path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 4))
    cfg = _cfg(tmp_path, sandbox, {"ag": path})
    _run(cfg)
    write_payloads(path, feed("ag", 4), truncate=True)
    res = _run(cfg)
    assert res.exit_code == 3
    assert "incomplet" in _headline(_page(res))


def test_missing_credentials(tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_TEST_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("ETL_TEST_CLIENT_ID", "demo")
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 2))})
    res = _run(cfg)
    assert res.exit_code == 2
    head = _headline(_page(res))
    assert head.startswith("fail ") and "accès au portail ne sont pas configurés" in head
    assert _summary(res)["agencies"]["ag"]["run"]["status"] == "credentials"


def test_bad_credentials(tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_TEST_CLIENT_ID", "demo")
    monkeypatch.setenv("ETL_TEST_CLIENT_SECRET", "wrong-secret-value")
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 2))})
    res = _run(cfg)
    assert res.exit_code == 1
    html = _page(res)
    head = _headline(html)
    assert head.startswith("fail ") and "a refusé les accès de votre agence" in head
    assert "wrong-secret-value" not in html and "wrong-secret-value" not in res.reports["summary"].read_text()
    assert _summary(res)["agencies"]["ag"]["run"]["status"] == "auth"


def test_api_failures(tmp_path: Path, sandbox, test_env) -> None:
    bad = accepted("ag", "BAD")
    bad.body["data"]["notAField"] = 1  # the API's schema refuses it: 400
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", [*feed("ag", 3), bad])})
    res = _run(cfg)
    assert res.exit_code == 1
    html = _page(res)
    head = _headline(html)
    assert head.startswith("fail ") and "1 envoi au portail a échoué ; il sera refait automatiquement" in head
    assert "3 nouvelles mises en ligne" in head
    assert "Envois en échec" in html and "REF-BAD" in html
    failures = _summary(res)["agencies"]["ag"]["run"]["failures"]
    assert failures[0]["http_status"] == 400 and failures[0]["traceparent"]
    run_page = res.reports["html"].read_text(encoding="utf-8")
    assert failures[0]["traceparent"] in run_page and "HTTP 400" in run_page


def test_a_clean_night_is_green_and_lists_its_changes(tmp_path: Path, sandbox, test_env) -> None:
    path = write_payloads(tmp_path / "ag.jsonl", feed("ag", 3))
    cfg = _cfg(tmp_path, sandbox, {"ag": path})
    _run(cfg)
    write_payloads(path, [*feed("ag", 2, price=1), accepted("ag", "NEW")])
    res = _run(cfg)
    assert res.exit_code == 0
    html = _page(res)
    head = _headline(html)
    assert head.startswith("ok ") and "1 nouvelle mise en ligne, 2 modifiées, 1 retirée" in head
    assert "3 annonces en ligne" in head
    changes = html.split("Les changements de la nuit")[1]
    assert "Mises en ligne (1)" in changes and "REF-NEW" in changes and "Modifiées (2)" in changes
    assert "Retirées (1)" in changes


def test_english_when_configured(tmp_path: Path, sandbox, test_env) -> None:
    cfg = _cfg(tmp_path, sandbox, {"ag": tmp_path / "absent.jsonl"}, language={"ag": "en"})
    res = _run(cfg)
    html = _page(res)
    assert '<html lang="en">' in html and "Your listings file was not received" in _headline(html)
    assert "Fichier" not in html


def test_dry_run_writes_the_reports_of_what_it_would_do(tmp_path: Path, sandbox, test_env) -> None:
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 2))})
    res = _run(cfg, dry_run=True)
    assert res.out_dir is not None and res.out_dir.name.startswith("plan-")
    html = _page(res)
    assert "Simulation" in html and "2 à mettre en ligne" in _headline(html)
    assert "Ce que la prochaine exécution changerait" in html
    assert sandbox.requests(kind="api") == []


def test_unwritable_out_is_exit_2_with_a_message(tmp_path: Path, sandbox, test_env) -> None:
    from etl.cli import build_parser
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 2))})
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = build_parser().parse_args(["run", "--config", str(cfg.path), "--out", str(blocker / "reports")])
    out, errs = io.StringIO(), io.StringIO()
    code = args.func(args, out, errs)
    err = errs.getvalue()
    assert code == 2 and "dossier de sortie inutilisable" in err and "Traceback" not in err
    assert sandbox.requests(kind="api") == [], "nothing is sent when the reports cannot be written"


def test_out_is_created_and_a_reused_one_loses_the_previous_runs_files(tmp_path: Path, sandbox, test_env) -> None:
    feeds = {a: write_payloads(tmp_path / f"{a}.jsonl", feed(a, 2)) for a in ("ag", "other")}
    cfg = _cfg(tmp_path, sandbox, feeds)
    out = tmp_path / "new" / "reports"
    res = _run(cfg, out_dir=out)
    assert (out / "report-other.html").is_file()
    res = run(cfg, "ag", RunOptions(out_dir=out), RunLog("text", io.StringIO()))
    assert not (out / "report-other.html").exists() and not (out / "report-other.xlsx").exists()
    assert (out / "report-ag.html").is_file() and (out / "load.json").is_file()
    assert set(_summary(res)["agencies"]) == {"ag"}


def test_old_run_folders_are_pruned(tmp_path: Path, sandbox, test_env) -> None:
    cfg = _cfg(tmp_path, sandbox, {"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 1))}, reports_keep=2)
    for day in ("20250101", "20250102", "20250103"):
        (cfg.reports_dir / f"run-{day}-020000-1").mkdir(parents=True)
    keep = cfg.reports_dir / "not-a-run"
    keep.mkdir()
    res = _run(cfg)
    left = sorted(p.name for p in cfg.reports_dir.iterdir())
    assert left == sorted(["not-a-run", "run-20250103-020000-1", res.out_dir.name])


def test_old_queued_nights_are_pruned_but_never_the_one_being_written(tmp_path: Path) -> None:
    from etl.report.outdir import prune_nights
    nights = [f"night-2025010{d}T010000Z" for d in range(1, 6)]
    for name in [*nights, "run-20250101-020000-1", "night-notes"]:
        (tmp_path / name / "ag").mkdir(parents=True)
    gone = prune_nights(tmp_path, 2, current=nights[0])  # a late retry of the oldest night still writes there
    assert sorted(p.name for p in gone) == nights[1:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([nights[0], *nights[3:], "run-20250101-020000-1",
                                                                 "night-notes"])


def test_portal_side_outcome_in_the_status_and_next_run_reports(tmp_path: Path, sandbox, test_env) -> None:
    import argparse

    from etl.pipeline.cli import cmd_status
    broken = accepted("ag", "PHOTO")
    for i, m in enumerate(broken.body["media"]):
        m["url"] = f"https://photos.invalid/maison-{i}.jpg"
    from etl.model.canonical import payload_and_hash
    broken.payload, broken.body_hash = payload_and_hash(broken.body)
    path = write_payloads(tmp_path / "ag.jsonl", [*feed("ag", 2), broken])
    cfg = _cfg(tmp_path, sandbox, {"ag": path})
    assert _run(cfg).exit_code == 0
    sandbox.complete_pending()
    out = tmp_path / "status-report"
    args = argparse.Namespace(config=cfg.path, agency=None, state=None, log_format="text", out=out)
    assert cmd_status(args, io.StringIO(), io.StringIO()) == 0
    html = (out / "report-ag.html").read_text(encoding="utf-8")
    assert "Côté portails" in html and "REF-PHOTO" in html and "une photo n&#39;a pas pu être téléchargée" in html
    assert _headline(html).startswith("todo ") and "1 annonce signalée par les portails" in _headline(html)
    # the next night's report still says it, from the state store
    html = _page(_run(cfg))
    assert "REF-PHOTO" in html.split("Côté portails")[1]
