"""Canonical JSON and the content hash that decides whether a listing needs a PUT."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import example_body

from etl.model.canonical import VOLATILE_PATHS, canonical_json, content_hash, payload_and_hash, without_volatile


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]  # arrays keep their order: it means something
    return value


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": [2, 1], "c": "é"}}) == '{"a":{"c":"é","d":[2,1]},"b":1}'.encode()
    )


def test_hash_ignores_key_order_and_whitespace() -> None:
    body = example_body()
    reference = content_hash(body)
    for seed in range(5):
        reordered = _shuffled(body, random.Random(seed))
        reparsed = json.loads(json.dumps(reordered, indent=seed + 1, ensure_ascii=bool(seed % 2)))
        assert content_hash(reparsed) == reference


def test_whole_floats_hash_like_integers() -> None:
    body = example_body()
    floats = copy.deepcopy(body)
    floats["data"]["prices"]["buy"]["price"]["amount"] = 289000.0
    floats["data"]["location"]["geometry"]["coordinates"] = [2.3795, 48.8654]
    floats["data"]["structure"]["rooms"]["numberOfRooms"] = 1.0
    assert content_hash(floats) == content_hash(body)
    assert canonical_json({"a": [1.0, -0.0, 1e16, 2.5]}) == b'{"a":[1,0,10000000000000000,2.5]}'


def test_text_that_looks_like_a_whole_float_is_left_as_written() -> None:
    # ".0," inside a string only sends the body through the float walk; the text is untouched.
    body = {"t": "version 2.0, 3.0] ou 4.0}", "n": [2.05, 10.01]}
    assert canonical_json(body) == '{"n":[2.05,10.01],"t":"version 2.0, 3.0] ou 4.0}"}'.encode()


def test_payload_is_the_canonical_json_and_its_hash_the_content_hash() -> None:
    body = example_body()
    body["data"]["prices"]["buy"]["price"]["amount"] = 289000.0
    payload, digest = payload_and_hash(body)
    assert payload == canonical_json(body) and digest == content_hash(body)
    assert json.loads(payload)["data"]["prices"]["buy"]["price"]["amount"] == 289000


def test_payload_of_a_body_read_back_keeps_its_receiver_fields_but_not_in_the_hash() -> None:
    body = example_body()
    read_back = copy.deepcopy(body)
    read_back["classifiedId"] = "0b6f6b0e-6c1e-4c59-9b59-1b1c7e8a9a11"
    payload, digest = payload_and_hash(read_back)
    assert json.loads(payload)["classifiedId"] == read_back["classifiedId"]
    assert digest == content_hash(body)


def test_receiver_set_fields_do_not_change_the_hash() -> None:
    body = example_body()
    read_back = copy.deepcopy(body)
    read_back["classifiedId"] = "0b6f6b0e-6c1e-4c59-9b59-1b1c7e8a9a11"
    read_back["data"]["metaData"].update(
        createDate="2025-09-02T10:15:00Z",
        changeDate="2025-09-03T08:00:00Z",
        classifiedId="0b6f6b0e-6c1e-4c59-9b59-1b1c7e8a9a11",
        portalWebKey="ABC123",
        nbMedias=2,
    )
    assert content_hash(read_back) == content_hash(body)
    assert {p[-1] for p in VOLATILE_PATHS} >= {
        "classifiedId",
        "createDate",
        "changeDate",
        "portalWebKey",
        "nbMedias",
    }


def test_stripping_volatile_fields_copies_instead_of_mutating() -> None:
    body = example_body()
    body["data"]["metaData"]["nbMedias"] = 2
    stripped = without_volatile(body)
    assert "nbMedias" not in stripped["data"]["metaData"]
    assert body["data"]["metaData"]["nbMedias"] == 2
    assert stripped["data"]["location"] is body["data"]["location"]  # untouched branches are shared
    clean = example_body()
    assert without_volatile(clean) is clean


def test_every_change_a_portal_would_see_changes_the_hash() -> None:
    body = example_body()
    reference = content_hash(body)
    changes = [
        ("data", "prices", "buy", "price", "amount", 289001),
        ("data", "texts", "description", "fr", body["data"]["texts"]["description"]["fr"] + " "),
        ("data", "metaData", "source", "offererMarketingKey", "VA-2025-0143"),
        ("portals", ["SL", "BD"]),
        ("data", "spaces", "residential", "livingSpace", 28.41),
    ]
    for *path, new in changes:
        changed = copy.deepcopy(body)
        node: Any = changed
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = new
        assert content_hash(changed) != reference, path
    reordered_media = copy.deepcopy(body)
    reordered_media["media"].reverse()  # the display order changed
    assert content_hash(reordered_media) != reference
    new_picture = copy.deepcopy(body)
    new_picture["media"][0]["url"] = new_picture["media"][0]["url"].replace("10:15:00", "10:16:00")
    assert content_hash(new_picture) != reference


def test_hash_is_sha256_hex() -> None:
    digest = content_hash(example_body())
    assert len(digest) == 64 and int(digest, 16) >= 0


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


def _whole_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_as_int(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), JSON, max_size=4))
def test_canonical_json_reads_back_as_the_same_value(body: dict[str, Any]) -> None:
    raw = canonical_json(body)
    parsed = json.loads(raw)
    assert parsed == _whole_as_int(body)
    assert not _has_small_whole_float(parsed)  # 289000.0 was written 289000
    assert canonical_json(parsed) == raw


def _has_small_whole_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer() and abs(value) < 2**63
    if isinstance(value, dict):
        return any(_has_small_whole_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_small_whole_float(v) for v in value)
    return False
