"""The visibility lag over a real socket: a POSTed classified is not found by look-ups for a while, as on AVIV."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sandbox_helpers import Api, example

from etl.sandbox import ProcessingConfig, RunningSandbox, SandboxConfig, running_sandbox

LAG_S = 0.6


@pytest.fixture(scope="module")
def lagging() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(processing=ProcessingConfig(visibility_delay_s=LAG_S))) as sb:
        yield sb


@pytest.fixture
def sb(lagging: RunningSandbox) -> RunningSandbox:
    lagging.reset()
    lagging.clear_faults()
    return lagging


@pytest.fixture
def api(sb: RunningSandbox) -> Iterator[Api]:
    client = Api(sb)
    yield client
    client.close()


def wait_visible(api: Api, cid: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while api.get(cid).status_code != 200:
        assert time.monotonic() < deadline, "never became visible"
        time.sleep(0.05)


def test_the_default_sandbox_lags_about_a_second() -> None:
    assert SandboxConfig().processing.visibility_delay_s == 1.0


def test_during_the_lag_every_look_up_misses_the_new_classified(api) -> None:
    cid = api.create(example("VL-1"))
    missing = api.get(cid)
    unknown = api.get("00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    # The same body as an id that never existed, but for the id itself: "not yet" looks like "never".
    assert missing.json()["detail"] == unknown.json()["detail"].replace("00000000-0000-4000-8000-000000000000", cid)
    assert missing.headers["content-type"] == unknown.headers["content-type"]
    assert api.list(offererEstateId="VL-1").json()["items"] == []
    assert api.list().json()["items"] == []
    assert api.statuses(cid).status_code == 404


def test_after_the_lag_the_classified_is_found_everywhere(api) -> None:
    started = time.monotonic()
    cid = api.create(example("VL-2"))
    wait_visible(api, cid)
    assert time.monotonic() - started >= LAG_S * 0.9
    assert [c["classifiedId"] for c in api.list(offererEstateId="VL-2").json()["items"]] == [cid]
    assert [c["classifiedId"] for c in api.list().json()["items"]] == [cid]
    assert api.status_names(cid)[-1] == "CREATED"


def test_older_classifieds_stay_visible_while_a_new_one_lags(sb, api) -> None:
    old = api.create(example("VL-3"))
    sb.complete_pending()
    new = api.create(example("VL-4"))
    assert [c["classifiedId"] for c in api.list().json()["items"]] == [old]
    assert api.get(old).status_code == 200 and api.get(new).status_code == 404


def test_a_repeated_post_during_the_lag_is_a_duplicate(api) -> None:
    cid = api.create(example("VL-5"))
    again = api.post(example("VL-5"))  # AVIV checks uniqueness when it receives the classified
    assert again.status_code == 400 and again.json()["title"] == "Duplicated classified"
    assert cid in again.json()["detail"]


def test_writes_by_id_are_accepted_during_the_lag(sb, api) -> None:
    updated = api.create(example("VL-6"))
    changed = example("VL-6")
    changed["data"]["prices"]["buy"]["price"]["amount"] = 123456
    assert api.put(updated, changed, if_match='"1"').status_code == 202
    deleted = api.create(example("VL-7"))
    assert api.delete(deleted).status_code == 202
    sb.complete_pending()
    got = api.get(updated)
    assert got.headers["etag"] == '"2"' and got.json()["data"]["prices"]["buy"]["price"]["amount"] == 123456
    assert api.get(deleted).status_code == 404 and api.status_names(deleted)[-1] == "DELETED"


def test_the_admin_api_shows_everything_with_a_visible_flag(sb, api) -> None:
    cid = api.create(example("VL-8"))
    [item] = sb.classifieds()
    assert item["classifiedId"] == cid and item["visible"] is False
    assert sb.classified(cid)["visible"] is False
    sb.complete_pending()  # ends every lag, as it ends every processing delay
    assert sb.classifieds()[0]["visible"] is True
    assert api.get(cid).status_code == 200


def test_no_lag_when_the_delay_is_zero() -> None:
    with running_sandbox(SandboxConfig(processing=ProcessingConfig(visibility_delay_s=0))) as sb:
        api = Api(sb)
        cid = api.create(example("VL-9"))
        assert api.get(cid).status_code == 200
        assert sb.classifieds()[0]["visible"] is True


def test_the_lag_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    slow = SandboxConfig(processing=ProcessingConfig(visibility_delay_s=60))
    with running_sandbox(slow, state_path=state) as sb:
        cid = Api(sb).create(example("VL-10"))
    with running_sandbox(slow, state_path=state) as sb:
        api = Api(sb)
        assert api.get(cid).status_code == 404
        sb.complete_pending()
        assert api.get(cid).status_code == 200
