"""Contract tests: every endpoint of the sandbox and every error it answers, over a real socket."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from test_sandbox_helpers import (  # noqa: F401  (fixtures)
    EXAMPLE,
    HTTP,
    SPEC_PATH,
    TLS,
    UA,
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

from etl.sandbox import ClientConfig, SandboxConfig, WebhookConfig

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
DOC = "https://caas-api-documentation.kugawana.eu/doc/staging/seloger/ingest-v4/index.html#section/Errors/"


def spec_validator(component: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"#/components/schemas/{component}", "components": SPEC["components"]})


def assert_problem(response: httpx.Response, status: int, *, media: str = "application/json+problem") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(media)
    body = response.json()
    spec_validator("ErrorResponse").validate(body)
    assert body["status"] == status
    assert body["instance"] == response.headers["traceparent"]
    return body


def wait_until(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


# --- token endpoint -----------------------------------------------------------------


def test_token_is_a_bearer_jwt_valid_24_hours_for_the_intermediary(sandbox) -> None:
    response = get_token(sandbox, "AG75011")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    header, payload, _ = body["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "HS256"
    assert 86400 <= claims["exp"] - claims["iat"] <= 86401
    assert "AG75011" in claims.values() and claims["scope"] == "caas:*"


def test_unknown_client_or_wrong_secret_gets_401(sandbox) -> None:
    assert get_token(sandbox, client_id="nobody").status_code == 401
    wrong = get_token(sandbox, secret="guess")
    assert wrong.status_code == 401 and wrong.json()["error"] == "access_denied"
    assert "guess" not in wrong.text


@pytest.mark.parametrize("change, status, error", [
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"intermediary_id": ""}, 400, "invalid_request"),
    ({"audience": "https://example.com/other-api"}, 403, "access_denied"),
])
def test_malformed_token_requests_are_refused(sandbox, change: dict, status: int, error: str) -> None:
    response = get_token(sandbox, **change)
    assert response.status_code == status and response.json()["error"] == error


def test_token_request_must_be_a_json_object(sandbox) -> None:
    response = HTTP.post(sandbox.token_url, content=b"not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_token_requests_are_counted_per_client_and_intermediary() -> None:
    config = SandboxConfig(clients=[ClientConfig(client_id="crm-a", client_secret="a-secret"),
                                    ClientConfig(client_id="crm-b", client_secret="b-secret")])
    with no_lag_sandbox(config) as sb:
        for intermediary in ("AG1", "AG1", "AG2"):
            assert get_token(sb, intermediary, client_id="crm-a", secret="a-secret").status_code == 200
        assert get_token(sb, "AG1", client_id="crm-b", secret="b-secret").status_code == 200
        assert get_token(sb, "AG1", client_id="crm-b", secret="wrong").status_code == 401
        assert get_token(sb, "AG1").status_code == 401  # no demo client once clients are configured
        assert sb.token_requests("crm-a") == 3
        assert sb.token_requests("crm-a", "AG1") == 2
        assert sb.token_requests("crm-b") == 1
        assert sb.token_counts() == {"AG1": 3, "AG2": 1}


def test_client_limited_to_its_intermediaries_gets_403_for_others() -> None:
    config = SandboxConfig(clients=[ClientConfig(client_id="crm", client_secret="s", intermediaries=["AG1"])])
    with no_lag_sandbox(config) as sb:
        assert get_token(sb, "AG1", client_id="crm", secret="s").status_code == 200
        assert get_token(sb, "AG2", client_id="crm", secret="s").status_code == 403


def test_requested_scope_narrows_the_token(sandbox) -> None:
    reader = Api(sandbox, scope="caas:classifieds:read")
    assert reader.list().status_code == 200
    assert_problem(reader.post(example("S-1")), 403)
    assert reader.post(example("S-1")).json()["title"] == "Forbidden"


def test_scopes_are_enforced_per_operation() -> None:
    config = SandboxConfig(clients=[ClientConfig(client_id="ro", client_secret="s",
                                                 scopes=["caas:classifieds:read"]),
                                    ClientConfig(client_id="rw", client_secret="s",
                                                 scopes=["caas:classifieds:create", "caas:classifieds:read"])])
    with no_lag_sandbox(config) as sb:
        rw, ro = Api(sb, client_id="rw", secret="s"), Api(sb, client_id="ro", secret="s")
        cid = rw.create(example("SC-1"))
        assert_problem(rw.put(cid, example("SC-1")), 403)
        assert_problem(rw.delete(cid), 403)
        assert_problem(ro.post(example("SC-2")), 403)
        assert ro.get(cid).status_code == 200


# --- authentication, User-Agent, traceparent on API calls ----------------------------------


def test_missing_invalid_or_expired_bearer_token_is_401_json(sandbox, api) -> None:
    url = f"{sandbox.base_url}/classifieds"
    for headers in ({"User-Agent": UA}, {"User-Agent": UA, "Authorization": "Bearer not.a.jwt"},
                    {"User-Agent": UA, "Authorization": f"Basic {api.token}"}):
        body = assert_problem(HTTP.get(url, headers=headers), 401, media="application/json")
        assert body["title"] == "Unauthorized"
    assert api.list().status_code == 200
    sandbox.expire_tokens()
    assert_problem(api.list(), 401, media="application/json")


def test_token_expires_after_its_lifetime() -> None:
    with no_lag_sandbox(SandboxConfig(token_ttl_s=1)) as sb:
        client = Api(sb)
        assert client.list().status_code == 200
        payload = client.token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        time.sleep(max(exp - time.time(), 0) + 0.05)
        assert_problem(client.list(), 401, media="application/json")


@pytest.mark.parametrize("user_agent, reason", [
    (None, "must have required property 'user-agent'."),
    ("YourApp/1.0", 'must match pattern "'),
    ("MyApp/1.0 httpx/0.28", 'must match pattern "'),
    ("My App/1.0 httpx/0.28 linux/6.1", 'must match pattern "'),
])
def test_user_agent_must_be_three_name_version_tokens(sandbox, api, user_agent: str | None, reason: str) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    request = httpx.Request("GET", f"{sandbox.base_url}/classifieds", headers=headers)
    if user_agent is not None:  # an httpx.Request sent as is carries no default User-Agent
        request.headers["User-Agent"] = user_agent
    with httpx.Client(verify=TLS) as client:
        body = assert_problem(client.send(request), 400)
    assert body["errorSource"] == "requestParameter"
    assert body["errors"][0]["name"] == "/headers/user-agent"
    assert body["errors"][0]["reason"].startswith(reason)


def test_traceparent_is_echoed_or_generated_and_repeated_in_errors(api) -> None:
    mine = "00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01"
    assert api.list(headers=None).headers["traceparent"] != mine
    assert api.http.get("/classifieds", headers={"traceparent": mine}).headers["traceparent"] == mine
    generated = api.http.get("/classifieds", headers={"traceparent": "garbage"}).headers["traceparent"]
    assert TRACEPARENT.match(generated)
    error = api.http.get("/classifieds/nope", headers={"traceparent": mine})
    assert error.headers["traceparent"] == mine and error.json()["instance"] == mine


# --- classifieds ----------------------------------------------------------------------------


def test_post_answers_202_with_the_id_and_its_statuses_link(api) -> None:
    response = api.post(example("P-1"))
    assert response.status_code == 202
    cid = response.json()["classifiedId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", cid)
    assert response.json()["links"] == [{"statuses": f"/classifieds/{cid}/statuses"}]
    assert response.headers["content-type"] == "application/json"


def test_get_returns_the_body_with_classified_id_receiver_metadata_and_etag(api) -> None:
    body = example("G-1")
    cid = api.create(body)
    response = api.get(cid)
    assert response.status_code == 200 and response.headers["etag"] == '"1"'
    got = response.json()
    assert got["classifiedId"] == cid
    meta = got["data"]["metaData"]
    assert meta["classifiedId"] == cid and meta["createDate"] == meta["changeDate"]
    assert meta["source"] == body["data"]["metaData"]["source"]
    stripped = {k: v for k, v in got.items() if k != "classifiedId"}
    stripped["data"]["metaData"] = {"source": meta["source"]}
    assert stripped == body


def test_list_filters_by_offerer_estate_id_and_only_shows_live_classifieds(api) -> None:
    ids = {f"L-{i}": api.create(example(f"L-{i}")) for i in range(3)}
    api.delete(ids["L-2"])
    found = api.list(offererEstateId="L-1").json()
    assert [c["classifiedId"] for c in found["items"]] == [ids["L-1"]] and "nextToken" not in found
    assert api.list(offererEstateId="L-2").json()["items"] == []
    assert {c["classifiedId"] for c in api.list().json()["items"]} == {ids["L-0"], ids["L-1"]}


def test_list_pages_with_limit_and_next_token(api) -> None:
    ids = [api.create(example(f"PG-{i}")) for i in range(5)]
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if token:
            params["nextToken"] = token
        page = api.list(**params).json()
        pages += 1
        assert len(page["items"]) <= 2
        seen += [c["classifiedId"] for c in page["items"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == ids and pages == 3


def test_list_refuses_a_forged_next_token(api) -> None:
    body = assert_problem(api.list(nextToken="forged"), 400)
    assert body["errorSource"] == "requestParameter" and body["errors"][0]["name"] == "/query/nextToken"


def test_put_replaces_the_whole_classified_and_bumps_the_revision(api) -> None:
    cid = api.create(example("U-1"))
    replacement = example("U-1")
    del replacement["media"]  # full replacement: omitted media are removed
    replacement["data"]["prices"]["buy"]["price"]["amount"] = 275000
    assert api.put(cid, replacement, if_match='"1"').status_code == 202
    got = api.get(cid)
    assert got.headers["etag"] == '"2"'
    assert "media" not in got.json() and got.json()["data"]["prices"]["buy"]["price"]["amount"] == 275000
    assert api.latest(cid)["status"] == "UPDATED" and api.latest(cid)["revision"] == 2


def test_put_with_a_stale_if_match_is_412_and_changes_nothing(api) -> None:
    cid = api.create(example("E-1"))
    changed = example("E-1")
    changed["data"]["prices"]["buy"]["price"]["amount"] = 1
    assert api.put(cid, changed, if_match='"1"').status_code == 202
    body = assert_problem(api.put(cid, example("E-1"), if_match='"1"'), 412)
    assert body["title"] == "Precondition Failed"
    assert api.get(cid).json()["data"]["prices"]["buy"]["price"]["amount"] == 1
    assert api.put(cid, example("E-1"), if_match='W/"2"').status_code == 202


def test_put_of_the_same_body_is_accepted_but_changes_nothing(sandbox, api) -> None:
    cid = api.create(example("N-1"))
    seq = sandbox.last_request_seq()
    assert api.put(cid, example("N-1")).status_code == 202
    assert api.get(cid).headers["etag"] == '"1"'
    assert [s["status"] for s in api.statuses(cid).json()["items"]][-1] == "CREATED"
    assert sandbox.request_log(since=seq, kind="api")[0]["note"] == "unchanged"


def test_put_of_a_get_response_is_refused_because_of_the_root_classified_id(api) -> None:
    cid = api.create(example("R-1"))
    body = assert_problem(api.put(cid, api.get(cid).json()), 400)
    assert {"name": "/classifiedId", "reason": "must NOT have additional properties: classifiedId."} in body["errors"]


def test_receiver_set_metadata_sent_back_is_ignored(api) -> None:
    cid = api.create(example("RS-1"))
    again = api.get(cid).json()
    del again["classifiedId"]
    assert api.put(cid, again).status_code == 202
    assert api.get(cid).headers["etag"] == '"1"'  # nothing changed


def test_delete_answers_202_then_the_classified_is_gone_but_its_statuses_remain(api) -> None:
    cid = api.create(example("D-1"))
    response = api.delete(cid)
    assert response.status_code == 202 and response.json()["classifiedId"] == cid
    assert_problem(api.get(cid), 404)
    assert_problem(api.delete(cid), 404)
    assert api.status_names(cid)[-3:] == ["RECEIVED", "DELETING", "DELETED"]
    assert api.latest(cid)["revision"] == 2


def test_second_post_of_an_offerer_estate_id_is_a_duplicated_classified(api) -> None:
    cid = api.create(example("DUP-1"))
    body = assert_problem(api.post(example("DUP-1")), 400)
    assert body["title"] == "Duplicated classified"
    assert body["type"] == DOC + "Duplicated-Classifieds-Error"
    assert re.search(r"classifiedId: ([0-9a-f-]{36})", body["detail"]).group(1) == cid
    assert "DUP-1" in body["detail"]
    assert len(api.list(offererEstateId="DUP-1").json()["items"]) == 1


def test_an_offerer_estate_id_may_be_reused_after_deletion(api) -> None:
    first = api.create(example("RE-1"))
    api.delete(first)
    second = api.create(example("RE-1"))
    assert second != first


def test_offerer_estate_ids_are_per_intermediary(sandbox, api) -> None:
    other = Api(sandbox, "AG2")
    assert api.create(example("X-1")) != other.create(example("X-1"))


def test_put_taking_the_offerer_estate_id_of_another_classified_is_duplicated(api) -> None:
    api.create(example("T-1"))
    cid = api.create(example("T-2"))
    body = assert_problem(api.put(cid, example("T-1")), 400)
    assert body["title"] == "Duplicated classified"


def test_another_intermediarys_classified_is_not_found(sandbox, api) -> None:
    cid = api.create(example("O-1"))
    other = Api(sandbox, "AG2")
    unknown = "00000000-0000-4000-8000-000000000000"
    for response in (other.get(cid), other.put(cid, example("O-1")), other.delete(cid), other.statuses(cid)):
        body = assert_problem(response, 404)
        assert body["title"] == "Not found" and cid in body["detail"]
    assert assert_problem(other.get(unknown), 404)["title"] == "Not found"
    assert api.get(cid).status_code == 200
    assert other.list().json()["items"] == []


def test_data_contact_and_gsl_contact_persons_together_collide(api) -> None:
    body = example("C-1")
    body["data"]["contact"] = {"mainContactPersonId": "contact-42"}
    body["specific"] = {"gsl": {"mainContactPerson": {"name": "Jeanne Martin"}}}
    problem = assert_problem(api.post(body), 400)
    assert problem["type"] == DOC + "Colliding-Contacts-Information-Error"
    assert problem["errorSource"] == "body"
    assert [e["name"] for e in problem["errors"]] == ["data.contact.*", "specific.gsl.contact.*"]
    del body["data"]["contact"]
    assert api.post(body).status_code == 202


def test_the_same_media_url_twice_is_a_duplicated_media(api) -> None:
    body = example("M-1")
    body["media"][1]["url"] = body["media"][0]["url"]
    problem = assert_problem(api.post(body), 400)
    assert problem["title"] == "Duplicated media" and body["media"][0]["url"] in problem["detail"]


def test_schema_violations_are_a_validation_error_with_json_pointers(api) -> None:
    body = example("V-1")
    body["data"]["location"]["postalCode"] = body["data"]["location"].pop("postalcode")
    problem = assert_problem(api.post(body), 400)
    assert problem["type"] == DOC + "Validation-Error" and problem["title"] == "Bad request"
    assert problem["errorSource"] == "body"
    assert {"name": "/data/location/postalCode",
            "reason": "must NOT have additional properties: postalCode."} in problem["errors"]
    assert {"name": "/data/location/postalcode",
            "reason": "must have required property 'postalcode'."} in problem["errors"]
    spec_validator("ValidationErrorResponse").validate(problem)


def test_unparseable_empty_and_non_json_bodies(api) -> None:
    parsing = assert_problem(api.http.post("/classifieds", content=b'{"portals": [',
                                           headers={"Content-Type": "application/json"}), 400)
    assert parsing["detail"] == "Validator could not parse body"
    empty = assert_problem(api.http.post("/classifieds", content=b"",
                                         headers={"Content-Type": "application/json"}), 400)
    assert empty["detail"] == "Body is not defined"
    xml = assert_problem(api.http.post("/classifieds", content=b"<classified/>",
                                       headers={"Content-Type": "application/xml"}), 400)
    assert xml["errorSource"] == "contentType"
    not_object = assert_problem(api.post([EXAMPLE]), 400)
    assert not_object["errors"] == [{"name": "", "reason": "must be object."}]


def test_unknown_paths_are_404_and_wrong_methods_405(api) -> None:
    assert_problem(api.http.get("/listings"), 404)
    response = api.http.patch("/classifieds/x", json={})
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, PUT, DELETE"


def test_the_api_answers_under_the_aviv_sandbox_prefix_too(sandbox, api) -> None:
    url = sandbox.root_url + "/sandbox/caas/v4/classifieds"
    assert HTTP.get(url, headers=dict(api.http.headers)).status_code == 200


# --- statuses -------------------------------------------------------------------------------


def test_statuses_go_from_receiving_to_created_and_match_the_spec(api) -> None:
    cid = api.create(example("ST-1"))
    items = api.statuses(cid).json()["items"]
    assert [s["status"] for s in items] == ["RECEIVING", "RECEIVED", "CREATING", "CREATED"]
    assert [s.get("subStatus") for s in items] == ["RECEIVING_POST", "RECEIVED_POST", None, None]
    internal = spec_validator("ClassifiedStatusInternal")
    for s in items:
        internal.validate(s)
        assert s["classifiedId"] == cid and s["customerId"] == "AG1" and s["revision"] == 1
    assert items[-1]["portals"] == ["SL"]
    assert {m["status"] for m in items[-1]["mediaStatuses"]} == {"CREATED"}


def test_statuses_filters_and_paging(api) -> None:
    cid = api.create(example("SF-1"))
    changed = example("SF-1")
    changed["data"]["prices"]["buy"]["price"]["amount"] = 280000
    api.put(cid, changed)
    latest = api.statuses(cid, filter="latest").json()["items"]
    assert [(s["status"], s["revision"]) for s in latest] == [("UPDATED", 2)]
    only = api.statuses(cid, status=["CREATED", "UPDATED"]).json()["items"]
    assert [s["status"] for s in only] == ["CREATED", "UPDATED"]
    assert api.statuses(cid, portal="BD").json()["items"] == []
    seen, token = [], None
    while True:
        page = api.statuses(cid, limit=3, **({"nextToken": token} if token else {})).json()
        seen += [s["status"] for s in page["items"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == api.status_names(cid) and len(seen) == 8


@pytest.mark.parametrize("params, name", [
    ({"filter": "oldest"}, "/query/filter"),
    ({"status": "DONE"}, "/query/status/0"),
    ({"portal": "LI"}, "/query/portal/0"),
])
def test_statuses_refuse_unknown_filters(api, params: dict, name: str) -> None:
    cid = api.create(example("SB-1"))
    problem = assert_problem(api.statuses(cid, **params), 400)
    assert problem["errorSource"] == "requestParameter" and problem["errors"][0]["name"] == name


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_posts_every_status_to_the_subscriber(api, receiver: Receiver) -> None:
    response = api.http.put("/webhooks", json={"url": receiver.url + "/hooks"})
    assert response.status_code == 200 and response.json() == "success"
    cid = api.create(example("W-1"))
    calls = wait_until(lambda: len(receiver.calls) >= 4 and receiver.calls)
    assert {path for path, _ in calls} == {f"/hooks/classifieds/{cid}/statuses"}
    assert [body["status"] for _, body in calls] == ["RECEIVING", "RECEIVED", "CREATING", "CREATED"]
    validator = spec_validator("ClassifiedStatus")
    for _, body in calls:
        validator.validate(body)
        assert "classifiedId" not in body  # the id is in the path only, as the spec says


def test_refused_callbacks_are_retried_until_201() -> None:
    flaky = Receiver(answers=[500, 503])
    try:
        with no_lag_sandbox(SandboxConfig(webhooks=WebhookConfig(backoff_s=0.05))) as sb:
            api = Api(sb)
            api.http.put("/webhooks", json={"url": flaky.url, "statuses": ["CREATED"]})
            api.create(example("W-2"))
            delivery = wait_until(lambda: [d for d in sb.webhooks()["deliveries"] if d["state"] == "delivered"])
            assert delivery[0]["attempts"] == 3 and delivery[0]["status"] == "CREATED"
            assert [body["status"] for _, body in flaky.calls] == ["CREATED"] * 3
    finally:
        flaky.close()


def test_callbacks_are_abandoned_after_max_attempts() -> None:
    down = Receiver(answers=[500] * 10)
    try:
        with no_lag_sandbox(SandboxConfig(webhooks=WebhookConfig(backoff_s=0.01, max_attempts=3))) as sb:
            api = Api(sb)
            api.http.put("/webhooks", json={"url": down.url, "statuses": ["CREATED"]})
            api.create(example("W-6"))
            failed = wait_until(lambda: [d for d in sb.webhooks()["deliveries"] if d["state"] == "failed"])
            assert failed[0]["attempts"] == 3 and failed[0]["lastStatus"] == 500
            time.sleep(0.1)
            assert len(down.calls) == 3
    finally:
        down.close()


def test_webhook_statuses_select_what_is_sent_media_errors_included(api, receiver: Receiver) -> None:
    api.http.put("/webhooks", json={"url": receiver.url, "statuses": ["CREATED"]})
    body = example("W-3")
    body["media"][0]["url"] = "https://images.agency.invalid/broken.jpg"
    api.create(body)
    api.create(example("W-4"))
    wait_until(lambda: len(receiver.calls) >= 2)
    time.sleep(0.2)
    assert sorted(b["status"] for _, b in receiver.calls) == ["CREATED", "CREATED_WITH_MEDIA_ERROR"]


def test_deleting_the_webhook_stops_callbacks(sandbox, api, receiver: Receiver) -> None:
    api.http.put("/webhooks", json={"url": receiver.url})
    assert api.http.delete("/webhooks").json() == "success"
    api.create(example("W-5"))
    time.sleep(0.2)
    assert receiver.calls == [] and sandbox.webhooks()["subscriptions"] == []
    assert_problem(api.http.delete("/webhooks"), 404)


def test_webhook_subscription_is_validated(api) -> None:
    problem = assert_problem(api.http.put("/webhooks", json={"url": "not a url"}), 400)
    assert problem["errors"] == [{"name": "/url", "reason": 'must match format "url".'}]
    problem = assert_problem(api.http.put("/webhooks", json={"statuses": ["CREATED"]}), 400)
    assert problem["errors"] == [{"name": "/url", "reason": "must have required property 'url'."}]
