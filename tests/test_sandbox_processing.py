"""What happens after the 202: status progression, portal eligibility, quotas, media, failures, persistence."""

from __future__ import annotations

import time
from pathlib import Path

from test_sandbox_helpers import (  # noqa: F401  (fixtures)
    Api,
    Receiver,
    api,
    example,
    get_token,
    no_lag_sandbox,
    receiver,
    sandbox,
    shared_sandbox,
)

from etl.sandbox import Contract, ProcessingConfig, SandboxConfig

FINAL = {"CREATED", "CREATED_WITH_MEDIA_ERROR", "CREATING_FAILED", "UPDATED", "UPDATED_WITH_MEDIA_ERROR",
         "UPDATING_FAILED", "DELETED", "DELETING_FAILED"}


def castle(oei: str) -> dict:
    """A castle in the Dordogne: Belles Demeures takes any price for it."""
    body = example(oei, portals=["SL", "BD"])
    body["data"]["estateType"] = "HOUSE"
    body["data"]["estateSubType"] = {"house": "CASTLE"}
    body["data"]["location"].update(postalcode="24200", city="Sarlat-la-Canéda")
    body["data"]["spaces"]["residential"]["livingSpace"] = 850.0
    return body


def test_with_a_delay_statuses_appear_over_time() -> None:
    with no_lag_sandbox(SandboxConfig(processing=ProcessingConfig(delay_s=1.6))) as sb:
        api = Api(sb)
        started = time.monotonic()
        cid = api.create(example("DL-1"))
        assert api.status_names(cid) == ["RECEIVING", "RECEIVED"]
        time.sleep(1.0)  # half-way (0.8 s) is past, the end (1.6 s) is not
        assert api.status_names(cid) == ["RECEIVING", "RECEIVED", "CREATING"]
        while api.latest(cid)["status"] != "CREATED":
            assert time.monotonic() - started < 5, "never CREATED"
            time.sleep(0.05)
        assert time.monotonic() - started >= 1.6
        dates = [s["statusDate"] for s in api.statuses(cid).json()["items"]]
        assert dates[0] == dates[1] < dates[2] < dates[3]  # each step dated when it happened


def test_pending_processing_can_be_completed_on_demand() -> None:
    with no_lag_sandbox(SandboxConfig(processing=ProcessingConfig(delay_s=60))) as sb:
        api = Api(sb)
        cid = api.create(example("DL-2"))
        assert api.latest(cid)["status"] == "RECEIVED" and sb.health()["pendingJobs"] == 1
        assert sb.complete_pending() == 2
        assert api.latest(cid)["status"] == "CREATED" and sb.health()["pendingJobs"] == 0


def test_portal_rules_decide_where_it_is_published(api) -> None:
    # The Paris studio is below the (assumed) Belles Demeures floor and is not a TRADING estate.
    cid = api.create(example("PR-1", portals=["SL", "BD", "BUCOM"]))
    latest = api.latest(cid)
    assert latest["status"] == "CREATED" and latest["portals"] == ["SL"]
    assert "BD: W_BD_PRICE_BELOW_FLOOR" in latest["subStatusDetails"]
    assert "BUCOM: W_BUCOM_NOT_TRADING" in latest["subStatusDetails"]
    cid = api.create(castle("PR-2"))
    assert api.latest(cid)["portals"] == ["SL", "BD"]


def test_no_eligible_portal_is_creating_failed_and_publishes_nothing(sandbox, api) -> None:
    body = example("NE-1")
    body["data"]["prices"] = {"currency": "EUR"}
    cid = api.create(body)
    latest = api.latest(cid)
    assert latest["status"] == "CREATING_FAILED" and "SL: E_SL_PRICE_MISSING" in latest["subStatusDetails"]
    assert sandbox.classified(cid)["publishedPortals"] == []


def test_an_empty_portal_list_is_creating_failed(api) -> None:
    cid = api.create(example("EP-1", portals=[]))
    latest = api.latest(cid)
    assert latest["status"] == "CREATING_FAILED" and "At least one portal" in latest["subStatusDetails"]


def test_a_portal_outside_the_contract_is_not_published() -> None:
    config = SandboxConfig(intermediaries={"AG-SL": Contract(portals=["SL"])})
    with no_lag_sandbox(config) as sb:
        cid = Api(sb, "AG-SL").create(castle("CT-1"))
        latest = Api(sb, "AG-SL").latest(cid)
        assert latest["portals"] == ["SL"] and "BD: W_PORTAL_NOT_IN_CONTRACT" in latest["subStatusDetails"]
        # Other intermediaries get the default contract: every portal.
        other = Api(sb, "AG-ALL")
        assert other.latest(other.create(castle("CT-1")))["portals"] == ["SL", "BD"]


def test_a_full_quota_keeps_new_classifieds_off_that_portal() -> None:
    config = SandboxConfig(intermediaries={"AG-Q": Contract(quotas={"BD": 1})})
    with no_lag_sandbox(config) as sb:
        api = Api(sb, "AG-Q")
        first = api.create(castle("Q-1"))
        second = api.create(castle("Q-2"))
        assert api.latest(first)["portals"] == ["SL", "BD"]
        latest = api.latest(second)
        assert latest["status"] == "CREATED" and latest["portals"] == ["SL"]
        assert "BD: QUOTA_REACHED" in latest["subStatusDetails"]
        # An update of the first keeps its BD slot; deleting it frees the slot for the second.
        changed = castle("Q-1")
        changed["data"]["prices"]["buy"]["price"]["amount"] = 1_200_000
        api.put(first, changed)
        assert api.latest(first)["portals"] == ["SL", "BD"]
        api.delete(first)
        api.put(second, castle("Q-2") | {"portals": ["BD", "SL"]})
        assert api.latest(second)["portals"] == ["SL", "BD"]


def test_unreachable_media_give_a_media_error_until_their_url_changes(sandbox, api) -> None:
    body = example("ME-1")
    broken = "https://photos.agence.invalid/ME-1/01.jpg?timestamp=1"
    body["media"][0]["url"] = broken
    cid = api.create(body)
    latest = api.latest(cid)
    assert latest["status"] == "CREATED_WITH_MEDIA_ERROR"
    media = {m["url"]: m["status"] for m in latest["mediaStatuses"]}
    assert media[broken] == "DOWNLOADING_FAILED" and set(media.values()) == {"DOWNLOADING_FAILED", "CREATED"}
    # Same URL again: not downloaded again, still failed.
    body["data"]["prices"]["buy"]["price"]["amount"] = 280000
    api.put(cid, body)
    assert api.latest(cid)["status"] == "UPDATED_WITH_MEDIA_ERROR"
    # A new URL (the fix the manage-medias page suggests): downloaded, fine.
    body["media"][0]["url"] = "https://media.example-agency.fr/ME-1/01.jpg?timestamp=2"
    api.put(cid, body)
    latest = api.latest(cid)
    assert latest["status"] == "UPDATED"
    assert [m["status"] for m in latest["mediaStatuses"]] == ["CREATED", "UPDATED"]


def test_media_patterns_are_configurable(api) -> None:
    config = SandboxConfig(processing=ProcessingConfig(unreachable_media=[r"/missing/"]))
    with no_lag_sandbox(config) as sb:
        client = Api(sb)
        body = example("MP-1")
        body["media"][1]["url"] = "https://media.example-agency.fr/missing/02.jpg"
        assert client.latest(client.create(body))["status"] == "CREATED_WITH_MEDIA_ERROR"


def test_media_can_be_fetched_for_real(receiver: Receiver) -> None:
    config = SandboxConfig(processing=ProcessingConfig(fetch_media=True, fetch_timeout_s=2))
    with no_lag_sandbox(config) as sb:
        api = Api(sb)
        body = example("MF-1")
        body["media"][0]["url"] = f"{receiver.url}/ok/01.jpg"
        body["media"][1]["url"] = f"{receiver.url}/gone/02.jpg"
        latest = api.latest(api.create(body))
        assert latest["status"] == "CREATED_WITH_MEDIA_ERROR"
        assert [m["status"] for m in latest["mediaStatuses"]] == ["CREATED", "DOWNLOADING_FAILED"]


def test_processing_failures_leave_the_previous_state_online() -> None:
    with no_lag_sandbox() as sb:
        api = Api(sb)
        cid = api.create(example("PF-1"))
        sb.set_faults(processing_failure_rate=1.0)
        failed = api.create(example("PF-2"))
        assert api.latest(failed)["status"] == "CREATING_FAILED"
        assert sb.classified(failed)["publishedPortals"] == []
        changed = example("PF-1")
        changed["portals"] = []
        api.put(cid, changed)
        assert api.latest(cid)["status"] == "UPDATING_FAILED"
        assert sb.classified(cid)["publishedPortals"] == ["SL"]
        api.delete(cid)
        assert api.latest(cid)["status"] == "DELETING_FAILED"
        assert api.get(cid).status_code == 200  # the deletion did not happen
        sb.clear_faults()
        api.delete(cid)
        assert api.latest(cid)["status"] == "DELETED"


def test_state_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    with no_lag_sandbox(state_path=state) as sb:
        api = Api(sb)
        cid = api.create(example("SV-1"))
        api.http.put("/webhooks", json={"url": "http://127.0.0.1:9/hooks", "statuses": ["DELETED"]})
        token = api.token
    with no_lag_sandbox(state_path=state) as sb:
        api = Api(sb)
        assert sb.token_requests("demo") == 2
        api.http.headers["Authorization"] = f"Bearer {token}"  # the token outlives the restart
        assert api.get(cid).json()["data"]["metaData"]["source"]["offererEstateId"] == "SV-1"
        assert api.post(example("SV-1")).json()["title"] == "Duplicated classified"
        assert api.status_names(cid)[-1] == "CREATED"
        assert sb.webhooks()["subscriptions"][0]["statuses"] == ["DELETED"]
        first = sb.request_log()[0]  # the log starts afresh with the new server
        assert first["seq"] == 1 and first["path"] == "/oauth/token"


def test_processing_scheduled_before_a_restart_completes_after_it(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    slow = SandboxConfig(processing=ProcessingConfig(delay_s=0.3))
    with no_lag_sandbox(slow, state_path=state) as sb:
        cid = Api(sb).create(example("SV-2"))
    time.sleep(0.35)
    with no_lag_sandbox(slow, state_path=state) as sb:
        assert Api(sb).latest(cid)["status"] == "CREATED"


def test_reset_forgets_classifieds_counters_and_the_log(sandbox, api) -> None:
    api.create(example("RS-1"))
    sandbox.reset()
    assert sandbox.classifieds(include_deleted=True) == []
    assert sandbox.request_log() == [] and sandbox.token_requests() == 0
    assert api.list().json()["items"] == []  # tokens stay valid
    assert get_token(sandbox).status_code == 200


def test_every_classified_reaches_a_final_status_under_load(sandbox, api) -> None:
    ids = [api.create(example(f"LD-{i}")) for i in range(40)]
    assert {api.latest(cid)["status"] for cid in ids} <= FINAL
    assert len(sandbox.classifieds()) == 40
