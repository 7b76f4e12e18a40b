"""Fault injection (replayable under a seed) and the request log that tests and the demo read."""

from __future__ import annotations

import time

import httpx
import pytest
from test_sandbox_helpers import HTTP, Api, api, example, get_token, no_lag_sandbox, sandbox, shared_sandbox  # noqa: F401

from etl.sandbox import FaultConfig, SandboxConfig, ScriptedFault


def statuses_of(api: Api, n: int) -> list[int]:
    return [api.list(limit=1).status_code for _ in range(n)]


def test_server_errors_follow_the_seed(sandbox, api) -> None:
    sandbox.set_faults(seed=42, error_rate=0.3)
    first = statuses_of(api, 60)
    sandbox.set_faults(seed=42, error_rate=0.3)  # same seed: the same requests fail
    assert statuses_of(api, 60) == first
    failures = [s for s in first if s != 200]
    assert 8 <= len(failures) <= 30 and set(failures) <= {500, 502, 503}
    sandbox.set_faults(seed=43, error_rate=0.3)
    assert statuses_of(api, 60) != first


def test_a_server_error_is_a_problem_carrying_the_traceparent(sandbox, api) -> None:
    sandbox.set_faults(error_rate=1.0, error_statuses=[503])
    response = api.post(example("F-1"))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json+problem"
    assert response.json()["instance"] == response.headers["traceparent"]
    sandbox.clear_faults()
    assert api.list(offererEstateId="F-1").json()["items"] == []  # refused before processing


def test_throttling_answers_429_with_retry_after(sandbox, api) -> None:
    sandbox.set_faults(throttle_rate=1.0, retry_after_s=7)
    response = api.list()
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["status"] == 429


def test_latency_is_added_to_api_calls(sandbox, api) -> None:
    sandbox.set_faults(latency_ms=150)
    started = time.perf_counter()
    api.list()
    assert time.perf_counter() - started >= 0.15
    assert sandbox.request_log(kind="api")[-1]["duration_ms"] >= 150


def test_a_dropped_connection_gets_no_answer_and_nothing_is_processed(sandbox, api) -> None:
    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post(example("DR-1"))
    sandbox.clear_faults()
    assert api.list(offererEstateId="DR-1").json()["items"] == []
    entry = next(e for e in sandbox.request_log(kind="api") if e["method"] == "POST")
    assert entry["status"] is None and entry["fault"] == "drop"


def test_a_lost_response_was_processed_so_a_retry_is_a_duplicate(sandbox, api) -> None:
    sandbox.set_faults(lost_response_rate=1.0, methods=["POST"])
    with pytest.raises(httpx.TransportError):
        api.post(example("LR-1"))
    sandbox.clear_faults()
    retry = api.post(example("LR-1"))
    assert retry.status_code == 400 and retry.json()["title"] == "Duplicated classified"
    lost = next(e for e in sandbox.request_log(kind="api") if e["fault"] == "lost_response")
    assert lost["status"] is None and lost["processed_status"] == 202
    assert lost["classified_id"] in retry.json()["detail"]


def test_the_rate_limit_refuses_what_exceeds_it() -> None:
    # A slow rate, so that even a slow machine sends the calls faster than tokens come back.
    with no_lag_sandbox(SandboxConfig(faults=FaultConfig(rate_limit_per_s=2, rate_limit_burst=3))) as sb:
        api = Api(sb)
        started = time.monotonic()
        answers = [api.list() for _ in range(10)]
        elapsed = time.monotonic() - started
        codes = [r.status_code for r in answers]
        assert codes[:3] == [200] * 3 and 429 in codes[3:]
        limited = next(r for r in answers if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        time.sleep(0.55)  # one token back at 2/s
        assert api.list().status_code == 200
        assert {e["fault"] for e in sb.request_log(kind="api") if e["status"] == 429} == {"rate_limit"}
        assert codes.count(200) <= 3 + 2 * elapsed  # never more than the burst plus the rate


def test_a_scripted_fault_hits_the_next_matching_request_once(sandbox, api) -> None:
    sandbox.set_faults(script=[ScriptedFault(action="error", status=502, method="POST"),
                               ScriptedFault(action="throttle", retry_after_s=0, path_regex=r"/statuses$")])
    assert api.list().status_code == 200  # not a POST: the first entry waits
    assert api.post(example("SF-1")).status_code == 502
    cid = api.create(example("SF-1"))
    assert api.statuses(cid).status_code == 429
    assert api.statuses(cid).status_code == 200
    assert sandbox.faults().script == []


def test_random_faults_can_target_some_methods_only(sandbox, api) -> None:
    sandbox.set_faults(error_rate=1.0, methods=["PUT", "DELETE"])
    cid = api.create(example("MT-1"))
    assert api.get(cid).status_code == 200
    assert api.put(cid, example("MT-1")).status_code >= 500
    assert api.delete(cid).status_code >= 500


def test_faults_spare_the_token_endpoint_unless_asked(sandbox) -> None:
    sandbox.set_faults(error_rate=1.0)
    assert get_token(sandbox).status_code == 200
    sandbox.set_faults(error_rate=1.0, include_token_endpoint=True)
    assert get_token(sandbox).status_code >= 500


def test_the_admin_api_is_neither_faulted_nor_logged(sandbox) -> None:
    sandbox.set_faults(error_rate=1.0, drop_rate=1.0)
    assert sandbox.health()["status"] == "ok"
    assert sandbox.request_log() == []


def test_fault_configuration_is_validated(sandbox) -> None:
    response = HTTP.put(sandbox.root_url + "/_sandbox/faults", json={"error_rate": 2})
    assert response.status_code == 400 and "error_rate" in response.json()["error"]


def test_the_request_log_records_each_call(sandbox, api) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    cid = api.create(example("RL-1"))
    api.http.get(f"/classifieds/{cid}", headers={"traceparent": traceparent})
    api.list(offererEstateId="RL-1")
    log = sandbox.request_log()
    assert [(e["kind"], e["method"], e["path"], e["status"]) for e in log] == [
        ("token", "POST", "/oauth/token", 200),
        ("api", "POST", "/caas/v4/classifieds", 202),
        ("api", "GET", f"/caas/v4/classifieds/{cid}", 200),
        ("api", "GET", "/caas/v4/classifieds", 200),
    ]
    assert log[2]["traceparent"] == traceparent and log[2]["classified_id"] == cid
    assert log[3]["query"] == "offererEstateId=RL-1"
    assert all(e["client_id"] == "demo" and e["intermediary_id"] == "AG1" for e in log)
    assert log[0]["t"] <= log[1]["t"] <= log[3]["t"] and log[1]["time"].endswith("Z")
    assert [e["seq"] for e in sandbox.request_log(since=log[1]["seq"])] == [log[2]["seq"], log[3]["seq"]]
    assert len(sandbox.request_log(path_prefix="/caas/v4/classifieds/")) == 1


def test_an_idle_period_leaves_the_log_untouched(sandbox, api) -> None:
    api.create(example("ID-1"))
    seq = sandbox.last_request_seq()
    time.sleep(0.1)
    assert sandbox.request_log(since=seq) == []


def test_a_request_whose_client_gave_up_during_the_latency_is_still_processed(sandbox, api) -> None:
    sandbox.set_faults(script=[ScriptedFault(action="delay", delay_ms=400, method="POST")])
    with pytest.raises(httpx.ReadTimeout):
        api.post(example("TO-1"), timeout=0.1)
    deadline = time.monotonic() + 5
    while not sandbox.classifieds() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c["offererEstateId"] for c in sandbox.classifieds()] == ["TO-1"]
    assert api.post(example("TO-1")).json()["title"] == "Duplicated classified"


# --- 412s, and the faults of updates and deletes ----------------------------------------


def repriced(oei: str, amount: int) -> dict:
    body = example(oei)
    body["data"]["prices"]["buy"]["price"]["amount"] = amount
    return body


def test_random_412s_hit_conditional_puts_only_and_change_nothing(sandbox, api) -> None:
    cid = api.create(example("PC-1"))
    sandbox.set_faults(precondition_failed_rate=1.0)
    refused = api.put(cid, repriced("PC-1", 1), if_match='"1"')  # the right revision, refused all the same
    assert refused.status_code == 412 and refused.json()["title"] == "Precondition Failed"
    assert refused.headers["content-type"] == "application/json+problem"
    assert refused.json()["instance"] == refused.headers["traceparent"]
    assert api.get(cid).headers["etag"] == '"1"' and api.status_names(cid)[-1] == "CREATED"
    assert api.put(cid, repriced("PC-1", 2)).status_code == 202  # no If-Match: no 412
    assert api.delete(api.create(example("PC-2"))).status_code == 202
    faulted = [e for e in sandbox.request_log(kind="api") if e["fault"] == "precondition_failed"]
    assert [(e["method"], e["status"]) for e in faulted] == [("PUT", 412)]


def test_random_412s_follow_the_seed(sandbox, api) -> None:
    cid = api.create(example("PC-3"))

    def fates() -> list[int]:
        return [api.put(cid, example("PC-3"), if_match="*").status_code for _ in range(40)]

    sandbox.set_faults(seed=5, precondition_failed_rate=0.4)
    first = fates()
    sandbox.set_faults(seed=5, precondition_failed_rate=0.4)
    assert fates() == first and 6 <= first.count(412) <= 28 and set(first) == {202, 412}


def test_a_scripted_412_waits_for_a_conditional_put(sandbox, api) -> None:
    cid = api.create(example("PC-4"))
    sandbox.set_faults(script=[ScriptedFault(action="precondition_failed")])
    assert api.get(cid).status_code == 200
    assert api.put(cid, repriced("PC-4", 1)).status_code == 202  # unconditional: not for it
    assert api.put(cid, repriced("PC-4", 2), if_match='"2"').status_code == 412
    assert api.put(cid, repriced("PC-4", 2), if_match='"2"').status_code == 202  # consumed once
    assert sandbox.faults().script == []


def test_each_request_draws_the_same_values_whatever_the_412_rate(sandbox, api) -> None:
    # A rate that never fires for GETs must not shift the fates of the requests that follow.
    sandbox.set_faults(seed=11, error_rate=0.3)
    plain = statuses_of(api, 40)
    sandbox.set_faults(seed=11, error_rate=0.3, precondition_failed_rate=0.9)
    assert statuses_of(api, 40) == plain


def test_a_put_whose_response_is_lost_was_applied(sandbox, api) -> None:
    cid = api.create(example("LP-1"))
    sandbox.set_faults(lost_response_rate=1.0, methods=["PUT"])
    with pytest.raises(httpx.TransportError):
        api.put(cid, repriced("LP-1", 424242), if_match='"1"')
    sandbox.clear_faults()
    got = api.get(cid)
    assert got.headers["etag"] == '"2"' and got.json()["data"]["prices"]["buy"]["price"]["amount"] == 424242
    lost = next(e for e in sandbox.request_log(kind="api") if e["fault"] == "lost_response")
    assert lost["method"] == "PUT" and lost["status"] is None and lost["processed_status"] == 202
    # The retry of the same conditional PUT meets its own attempt: 412.
    assert api.put(cid, repriced("LP-1", 424242), if_match='"1"').status_code == 412


def test_a_delete_whose_response_is_lost_was_applied(sandbox, api) -> None:
    cid = api.create(example("LD-1"))
    sandbox.set_faults(lost_response_rate=1.0, methods=["DELETE"])
    with pytest.raises(httpx.TransportError):
        api.delete(cid)
    sandbox.clear_faults()
    assert api.get(cid).status_code == 404
    assert api.delete(cid).status_code == 404  # a retry learns nothing more
    assert api.status_names(cid)[-1] == "DELETED"


def test_a_dropped_put_or_delete_changed_nothing(sandbox, api) -> None:
    cid = api.create(example("DP-1"))
    sandbox.set_faults(drop_rate=1.0, methods=["PUT", "DELETE"])
    with pytest.raises(httpx.TransportError):
        api.put(cid, repriced("DP-1", 7), if_match='"1"')
    with pytest.raises(httpx.TransportError):
        api.delete(cid)
    sandbox.clear_faults()
    got = api.get(cid)
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    assert got.json()["data"]["prices"]["buy"]["price"]["amount"] == example()["data"]["prices"]["buy"]["price"][
        "amount"]
    assert [e["fault"] for e in sandbox.request_log(kind="api") if e["method"] in ("PUT", "DELETE")] == ["drop"] * 2
