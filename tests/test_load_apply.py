"""The loader against the sandbox over real sockets: requests sent, guards, tokens, API answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_load_helpers import (  # noqa: F401  (fixtures)
    accepted, feed, running_sandbox, sandbox, store_url, test_env, write_config, write_payloads,
)

from etl.agencies import load_config
from etl.pipeline.run import RunOptions, run
from etl.load.state import StateStore


def _setup(tmp_path: Path, sb, outcomes, *, state_url: str | None = None, agency: str = "ag", **kw):
    feed_path = write_payloads(tmp_path / f"{agency}.jsonl", outcomes)
    cfg = load_config(write_config(tmp_path, base_url=sb.base_url, token_url=sb.token_url,
                                   agencies={agency: feed_path}, state_url=state_url, **kw))
    return cfg, feed_path


def _live_in_sandbox(sb) -> dict[str, dict]:
    items = sb.classifieds(with_body=True)
    assert len({c["offererEstateId"] for c in items}) == len(items), "duplicate classifieds"
    return {c["offererEstateId"]: c for c in items}


def assert_state_equals_sandbox(url: str, agency: str, sb, expected_keys: set[str]) -> None:
    from etl.model.canonical import content_hash as body_hash
    live = _live_in_sandbox(sb)
    with StateStore.open(url) as s:
        state = {k: v for k, v in s.listings(agency, with_body=True).items() if v.live}
    assert set(state) == expected_keys
    assert {v.offerer_estate_id for v in state.values()} == set(live)
    for v in state.values():
        c = live[v.offerer_estate_id]
        assert c["classifiedId"] == v.classified_id
        assert body_hash(c["body"]) == v.body_hash, f"{v.source_key}: sandbox body differs from state"


def test_unchanged_night_sends_zero_requests(tmp_path: Path, sandbox, store_url: str, test_env) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 30), state_url=store_url)
    first = run(cfg)
    assert first.exit_code == 0 and first.agencies[0].count("created") == 30
    seq = sandbox.last_seq()
    second = run(cfg)
    assert second.exit_code == 0 and second.agencies[0].counts()["unchanged"] == 30
    assert sandbox.requests(since=seq) == []  # not even a token request
    assert_state_equals_sandbox(store_url, "ag", sandbox, {f"K{i:05d}" for i in range(30)})


def test_second_night_sends_only_what_changed(tmp_path: Path, sandbox, store_url: str, test_env) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 20), state_url=store_url)
    assert run(cfg).exit_code == 0
    night2 = feed("ag", 18)  # K00018, K00019 gone
    night2[3] = accepted("ag", "K00003", price=1)
    night2[7] = accepted("ag", "K00007", price=2)
    night2.append(accepted("ag", "NEW1"))
    write_payloads(feed_path, night2)
    seq = sandbox.last_seq()
    res = run(cfg)
    a = res.agencies[0]
    assert res.exit_code == 0
    assert (a.count("created"), a.count("updated"), a.count("deleted"), a.counts()["unchanged"]) == (1, 2, 2, 16)
    methods = sorted(r["method"] for r in sandbox.requests(since=seq, kind="api"))
    assert methods == ["DELETE", "DELETE", "POST", "PUT", "PUT"]
    assert_state_equals_sandbox(store_url, "ag", sandbox, {o.key.source_key for o in night2})


@pytest.mark.parametrize("night2", ["empty", "truncated", "half"])
def test_mass_delete_guard_deletes_nothing(tmp_path: Path, sandbox, test_env, night2: str) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 20))
    assert run(cfg).exit_code == 0
    if night2 == "empty":
        feed_path.write_bytes(b"")
    elif night2 == "truncated":
        write_payloads(feed_path, feed("ag", 20, price=5), truncate=True)
    else:
        write_payloads(feed_path, feed("ag", 10))
    seq = sandbox.last_seq()
    res = run(cfg)
    assert res.exit_code == 3
    assert res.agencies[0].message
    assert sandbox.requests(since=seq) == []
    assert len(_live_in_sandbox(sandbox)) == 20
    load = json.loads((res.out_dir / "load.json").read_text())
    assert load["agencies"][0]["guard"]


def test_allow_mass_delete_applies_the_deletes(tmp_path: Path, sandbox, test_env) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 20))
    run(cfg)
    write_payloads(feed_path, feed("ag", 10))
    res = run(cfg, options=RunOptions(allow_mass_delete=True))
    assert res.exit_code == 0 and res.agencies[0].count("deleted") == 10
    assert len(_live_in_sandbox(sandbox)) == 10


def test_one_token_per_intermediary_across_runs_and_one_refresh_after_expiry(tmp_path: Path, sandbox,
                                                                             test_env) -> None:
    fa = write_payloads(tmp_path / "a.jsonl", feed("a", 10))
    fb = write_payloads(tmp_path / "b.jsonl", feed("b", 10))
    cfg = load_config(write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                                   agencies={"a": fa, "b": fb}, concurrency=8))
    assert run(cfg).exit_code == 0
    write_payloads(fa, feed("a", 10, price=7))
    write_payloads(fb, feed("b", 10, price=7))
    assert run(cfg).exit_code == 0  # a new client, tokens from the cache file
    assert sandbox.token_counts() == {"int-a": 1, "int-b": 1}
    token_calls = [r for r in sandbox.requests(kind="token")]
    assert len(token_calls) == 2
    sandbox.expire_tokens()
    write_payloads(fa, feed("a", 10, price=8))
    res = run(cfg, "a")
    assert res.exit_code == 0 and res.agencies[0].count("updated") == 10
    assert sandbox.token_counts() == {"int-a": 2, "int-b": 1}


def test_every_request_has_user_agent_and_traceparent(tmp_path: Path, sandbox, test_env) -> None:
    cfg, _ = _setup(tmp_path, sandbox, feed("ag", 3))
    res = run(cfg)
    reqs = sandbox.requests(kind="api")
    assert len(reqs) == 3 and all(r["status"] == 202 for r in reqs)
    # the sandbox echoes the client's traceparent; the journal keeps it
    with StateStore.open(cfg.state_url) as s:
        journaled = {e.traceparent for e in s.journal_entries("ag")}
    assert journaled == {r["traceparent"] for r in reqs}
    assert res.requests == 3


def test_duplicated_classified_is_adopted_not_duplicated(tmp_path: Path, sandbox, test_env) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 5))
    assert run(cfg).exit_code == 0
    before = {c["offererEstateId"]: c["classifiedId"] for c in sandbox.classifieds(with_body=True)}
    (tmp_path / "state.sqlite").unlink()  # the state is lost: every listing looks new
    for p in tmp_path.glob("state.sqlite-*"):
        p.unlink()
    write_payloads(feed_path, feed("ag", 5, price=3))
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("created") == 5
    after = {c["offererEstateId"]: c["classifiedId"] for c in sandbox.classifieds(with_body=True)}
    assert after == before
    assert all(c["body"]["data"]["prices"]["buy"]["price"]["amount"] == 3 for c in sandbox.classifieds(with_body=True))
    with StateStore.open(cfg.state_url) as s:
        assert {v.offerer_estate_id: v.classified_id for v in s.listings("ag").values()} == before


def test_stale_etag_gets_one_reread_and_the_update_goes_through(tmp_path: Path, sandbox, test_env) -> None:
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 1))
    run(cfg)
    with StateStore.open(cfg.state_url) as s:
        st = s.listings("ag")["K00000"]
        st.etag = '"999"'
        s.put_listing(st)
    sandbox.complete_pending()  # a night later: AVIV has long processed the create, the re-read finds it
    write_payloads(feed_path, feed("ag", 1, price=11))
    seq = sandbox.last_seq()
    res = run(cfg)
    assert res.exit_code == 0 and res.agencies[0].count("updated") == 1
    assert [(r["method"], r["status"]) for r in sandbox.requests(since=seq, kind="api")] == [
        ("PUT", 412), ("GET", 200), ("PUT", 202)]


def test_classified_gone_on_put_is_recreated_and_gone_on_delete_is_forgotten(tmp_path: Path, sandbox,
                                                                             test_env) -> None:
    import httpx
    cfg, feed_path = _setup(tmp_path, sandbox, feed("ag", 10))
    run(cfg)
    ids = {c["offererEstateId"]: c["classifiedId"] for c in sandbox.classifieds(with_body=True)}
    tok = httpx.post(sandbox.token_url, json={"client_id": "demo", "client_secret": "demo-secret",
                                              "grant_type": "client_credentials", "audience": sandbox.base_url,
                                              "intermediary_id": "int-ag"}).json()["access_token"]
    hdr = {"Authorization": f"Bearer {tok}", "User-Agent": "T/1 t/1 t/1"}
    for oeid in ("ag-K00001", "ag-K00009"):
        assert httpx.delete(f"{sandbox.base_url}/classifieds/{ids[oeid]}", headers=hdr).status_code == 202
    night2 = feed("ag", 9)
    night2[1] = accepted("ag", "K00001", price=5)
    write_payloads(feed_path, night2)
    res = run(cfg)
    a = res.agencies[0]
    assert res.exit_code == 0 and a.count("updated") == 1 and a.count("deleted") == 1
    live = _live_in_sandbox(sandbox)
    assert "ag-K00009" not in live and live["ag-K00001"]["classifiedId"] != ids["ag-K00001"]
    assert_state_equals_sandbox(cfg.state_url, "ag", sandbox, {f"K{i:05d}" for i in range(9)})


def test_permanent_failure_exits_1_with_the_answer_and_is_retried_next_run(tmp_path: Path, sandbox,
                                                                           test_env) -> None:
    bad = accepted("ag", "BAD")
    bad.body["data"]["notAField"] = 1  # the API's schema refuses it: 400
    cfg, feed_path = _setup(tmp_path, sandbox, [*feed("ag", 3), bad])
    res = run(cfg)
    assert res.exit_code == 1
    a = res.agencies[0]
    assert a.count("created") == 3 and len(a.failures) == 1
    f = a.failures[0]
    assert f.http_status == 400 and "notAField" in (f.detail or "") and f.traceparent
    post = [r for r in sandbox.requests(kind="api") if r["status"] == 400]
    assert post and post[0]["traceparent"] == f.traceparent
    load = json.loads((res.out_dir / "load.json").read_text())
    assert load["agencies"][0]["failures"][0]["traceparent"] == f.traceparent
    seq = sandbox.last_seq()
    assert run(cfg).exit_code == 1
    assert [r["method"] for r in sandbox.requests(since=seq, kind="api")] == ["POST"]


def _until_clean(cfg, most: int = 8) -> list[int]:
    """Run until a run ends clean: failures under faults are retried by the next run."""
    codes: list[int] = []
    while not codes or codes[-1] != 0:
        codes.append(run(cfg).exit_code)
        assert len(codes) <= most and set(codes) <= {0, 1}, codes
    return codes


def test_faults_converge_without_duplicates(tmp_path: Path, store_url: str, test_env) -> None:
    from etl.sandbox.config import SandboxConfig
    with running_sandbox(SandboxConfig()) as sb:
        sb.set_faults(seed=7, error_rate=0.2, throttle_rate=0.05, retry_after_s=0, drop_rate=0.05,
                      lost_response_rate=0.1,
                      script=[{"action": "delay", "delay_ms": 2000, "method": "POST"},
                              {"action": "delay", "delay_ms": 2000, "method": "PUT"}])
        outcomes = feed("ag", 40)
        cfg, feed_path = _setup(tmp_path, sb, outcomes, state_url=store_url, timeout=1.0, max_attempts=4,
                                backoff_base=0.02, backoff_max=0.2, concurrency=6)
        codes = _until_clean(cfg)
        night2 = feed("ag", 34)
        for i in range(0, 34, 3):
            night2[i] = accepted("ag", f"K{i:05d}", price=1000 + i)
        write_payloads(feed_path, night2)
        codes += _until_clean(cfg)
        sb.clear_faults()
        assert_state_equals_sandbox(store_url, "ag", sb, {o.key.source_key for o in night2})
        faults = [r["fault"] for r in sb.requests(kind="api") if r.get("fault")]
        assert {"error", "lost_response", "drop"} <= set(faults)


def test_status_command_records_the_latest_publication_status(tmp_path: Path, sandbox, test_env) -> None:
    import argparse
    import io

    from etl.pipeline.cli import cmd_status
    cfg, _ = _setup(tmp_path, sandbox, feed("ag", 4))
    assert run(cfg).exit_code == 0
    sandbox.complete_pending()  # status runs later than AVIV's processing lag
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(config=cfg.path, agency=None, state=None, log_format="json")
    assert cmd_status(args, out, err) == 0
    assert "4 annonces en ligne" in out.getvalue()
    with StateStore.open(cfg.state_url) as s:
        statuses = {v.publication_status for v in s.listings("ag").values()}
    assert statuses and None not in statuses


def test_json_log_lines_are_one_object_each(tmp_path: Path, sandbox, test_env) -> None:
    import io

    from etl.log import RunLog
    cfg, _ = _setup(tmp_path, sandbox, feed("ag", 2))
    stream = io.StringIO()
    run(cfg, log=RunLog("json", stream))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"ts", "level", "event"} <= set(rec) for rec in lines)
    assert any(rec["event"] == "planned" and rec["creates"] == 2 for rec in lines)
    assert "demo-secret" not in stream.getvalue()


def test_status_right_after_a_run_says_processing_not_error_within_avivs_lag(tmp_path: Path, test_env) -> None:
    import argparse
    import io

    from etl.pipeline.cli import cmd_status
    from etl.sandbox.config import ProcessingConfig, SandboxConfig
    with running_sandbox(SandboxConfig(processing=ProcessingConfig(visibility_delay_s=60))) as sb:
        cfg, _ = _setup(tmp_path, sb, feed("ag", 3), visibility_lag=120)
        assert run(cfg).exit_code == 0
        args = argparse.Namespace(config=cfg.path, agency=None, state=None, log_format="json")
        out, err = io.StringIO(), io.StringIO()
        assert cmd_status(args, out, err) == 0, out.getvalue()
        assert "en cours de traitement: 3" in out.getvalue()
        # past the lag we allow for, a classified AVIV cannot find is an error worth reporting
        cfg, _ = _setup(tmp_path, sb, feed("ag", 3), visibility_lag=0)
        out = io.StringIO()
        assert cmd_status(args, out, io.StringIO()) == 1
        assert "statut illisible" in out.getvalue()
