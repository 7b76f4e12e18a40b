"""ETags and If-Match over a real socket: the spec's GET ETag, our ETag on write answers, 412 and last-writer-wins."""

from __future__ import annotations

import json

from jsonschema import Draft7Validator
from test_sandbox_helpers import SPEC_PATH, Api, api, example, no_lag, no_lag_sandbox, sandbox, shared_sandbox  # noqa: F401

from etl.sandbox import ProcessingConfig, SandboxConfig

SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
PRECONDITION_FAILED = Draft7Validator({"$ref": "#/components/schemas/PreconditionFailedError",
                                       "components": SPEC["components"]})


def repriced(oei: str, amount: int) -> dict:
    body = example(oei)
    body["data"]["prices"]["buy"]["price"]["amount"] = amount
    return body


def test_post_202_carries_the_etag_of_the_new_classified(api) -> None:
    response = api.post(example("ET-1"))
    assert response.status_code == 202 and response.headers["etag"] == '"1"'
    assert api.get(response.json()["classifiedId"]).headers["etag"] == '"1"'


def test_put_202_carries_the_revision_the_write_leads_to(api) -> None:
    cid = api.create(example("ET-2"))
    first = api.put(cid, repriced("ET-2", 1), if_match='"1"')
    assert first.status_code == 202 and first.headers["etag"] == '"2"'
    # The ETag of a write is good for the next conditional write, with no GET in between.
    second = api.put(cid, repriced("ET-2", 2), if_match=first.headers["etag"])
    assert second.status_code == 202 and second.headers["etag"] == '"3"'
    assert api.get(cid).headers["etag"] == '"3"'


def test_an_unchanged_put_carries_the_current_revision(api) -> None:
    cid = api.create(example("ET-3"))
    assert api.put(cid, repriced("ET-3", 5)).headers["etag"] == '"2"'
    assert api.put(cid, repriced("ET-3", 5)).headers["etag"] == '"2"'  # nothing changed: no new revision


def test_delete_202_and_the_list_items_carry_no_etag(api) -> None:
    cid = api.create(example("ET-4"))
    listed = api.list(offererEstateId="ET-4")
    assert listed.status_code == 200 and "etag" not in listed.headers  # the spec declares none there
    deleted = api.delete(cid)
    assert deleted.status_code == 202 and "etag" not in deleted.headers  # no revision left to GET


def test_etag_on_write_can_be_turned_off_for_a_strictly_per_spec_sandbox() -> None:
    strict = no_lag(SandboxConfig(processing=ProcessingConfig(etag_on_write=False)))
    with no_lag_sandbox(strict) as sb:
        api = Api(sb)
        created = api.post(example("ET-5"))
        assert created.status_code == 202 and "etag" not in created.headers
        cid = created.json()["classifiedId"]
        updated = api.put(cid, repriced("ET-5", 9))
        assert updated.status_code == 202 and "etag" not in updated.headers
        assert api.get(cid).headers["etag"] == '"2"'  # GET keeps the spec's ETag


def test_a_stale_if_match_is_412_with_the_spec_body_and_changes_nothing(sandbox, api) -> None:
    cid = api.create(example("ET-6"))
    assert api.put(cid, repriced("ET-6", 100), if_match='"1"').status_code == 202
    seq = sandbox.last_request_seq()
    stale = api.put(cid, repriced("ET-6", 200), if_match='"1"')
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/json+problem" and "etag" not in stale.headers
    body = stale.json()
    PRECONDITION_FAILED.validate(body)
    assert body["title"] == "Precondition Failed" and body["instance"] == stale.headers["traceparent"]
    assert body["detail"] == SPEC["components"]["schemas"]["PreconditionFailedError"]["example"]["detail"]
    got = api.get(cid)
    assert got.headers["etag"] == '"2"' and got.json()["data"]["prices"]["buy"]["price"]["amount"] == 100
    assert api.status_names(cid)[-1] == "UPDATED" and len(api.status_names(cid)) == 8  # no status for the 412
    assert [e["status"] for e in sandbox.request_log(since=seq, kind="api")][0] == 412


def test_a_put_without_if_match_is_last_writer_wins(api) -> None:
    cid = api.create(example("ET-7"))
    assert api.put(cid, repriced("ET-7", 1), if_match='"1"').status_code == 202
    blind = api.put(cid, repriced("ET-7", 2))  # based on revision 1, but unconditional
    assert blind.status_code == 202 and blind.headers["etag"] == '"3"'
    assert api.get(cid).json()["data"]["prices"]["buy"]["price"]["amount"] == 2


def test_if_match_accepts_weak_tags_lists_and_star(api) -> None:
    cid = api.create(example("ET-8"))
    assert api.put(cid, repriced("ET-8", 1), if_match='W/"1"').status_code == 202
    assert api.put(cid, repriced("ET-8", 2), if_match='"7", "2"').status_code == 202
    assert api.put(cid, repriced("ET-8", 3), if_match="*").status_code == 202
    assert api.put(cid, repriced("ET-8", 4), if_match='"3"').status_code == 412
