"""The spec's example payload is accepted; each variant breaking one rule is refused at the right pointer.

The oracle is the official spec itself (``../shared/reference``), evaluated by the
pure-Python ``jsonschema``: for every variant, the pointers the sandbox names are
the places where the spec's schema fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator, FormatChecker
from test_sandbox_helpers import EXAMPLE, SPEC_PATH, api, example, sandbox, shared_sandbox  # noqa: F401

SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
FORMATS = FormatChecker()


@FORMATS.checks("url")
def _absolute_http_url(value: object) -> bool:
    # "url" is not a JSON-Schema format; the digest (§7) reads it as an absolute http(s) URL.
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is None or (parts.scheme in ("http", "https") and bool(parts.netloc))


ORACLE = Draft7Validator({"$ref": "#/components/schemas/AvivClassified", "components": SPEC["components"]},
                         format_checker=FORMATS)


def _set(path: str, value: Any) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def apply(body: dict) -> None:
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return apply


def _drop(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def apply(body: dict) -> None:
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]
    return apply


def _rename(path: str, new: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def apply(body: dict) -> None:
        node: Any = body
        for key in parents:
            node = node[key]
        node[new] = node.pop(last)
    return apply


# (id, change, {pointer: reason}) — each variant breaks exactly one rule of the schema.
VARIANTS: list[tuple[str, Callable[[dict], None], dict[str, str]]] = [
    ("classifiedId at the root", _set("classifiedId", "5c597a63-6932-4b0c-a2a0-2fd935be1751"),
     {"/classifiedId": "must NOT have additional properties: classifiedId."}),
    ("data missing", _drop("data"), {"/data": "must have required property 'data'."}),
    ("portals missing", _drop("portals"), {"/portals": "must have required property 'portals'."}),
    ("v3 portal LI", _set("portals", ["LI"]),
     {"/portals/0": "must be equal to one of the allowed values: SL, BUCOM, BD, SLC, SLN."}),
    ("portal twice", _set("portals", ["SL", "SL"]), {"/portals": "must NOT have duplicate items."}),
    ("postalCode casing", _rename("data.location.postalcode", "postalCode"),
     {"/data/location/postalCode": "must NOT have additional properties: postalCode.",
      "/data/location/postalcode": "must have required property 'postalcode'."}),
    ("street missing", _drop("data.location.street"),
     {"/data/location/street": "must have required property 'street'."}),
    ("postal code too long", _set("data.location.postalcode", "7" * 33),
     {"/data/location/postalcode": "must NOT have more than 32 characters."}),
    ("floor number out of range", _set("data.location.floorNumber", 1000),
     {"/data/location/floorNumber": "must be <= 999."}),
    ("estateType unknown", _set("data.estateType", "FLAT"),
     {"/data/estateType": "must be equal to one of the allowed values: HOUSE, APARTMENT, PLOT, OFFICE, TRADING, "
                          "GASTRONOMY_HOTEL, STORAGE_PRODUCTION, AGRICULTURE_FORESTRY, PARKING, SENIOR, PROJECT, "
                          "MISCELLANEOUS."}),
    ("estateSubType as a string", _set("data.estateSubType", "STUDIO"), {"/data/estateSubType": "must be object."}),
    ("apartment sub-type unknown", _set("data.estateSubType.apartment", "FLAT"),
     {"/data/estateSubType/apartment": "must be equal to one of the allowed values: MULTI_STOREY, FLATSHARING_ROOM, "
                                       "LOFT, PENTHOUSE, STUDIO, TERRACE, UNFINISHED_ATTIC_SPACE."}),
    ("price as a French string", _set("data.prices.buy.price.amount", "289 000"),
     {"/data/prices/buy/price/amount": "must be number."}),
    ("negative price", _set("data.prices.buy.price.amount", -1), {"/data/prices/buy/price/amount": "must be >= 0."}),
    ("priceInformation next to amount (allOf trap)", _set("data.prices.buy.price.priceInformation", "PRICE_ON_DEMAND"),
     {"/data/prices/buy/price/priceInformation": "must NOT have additional properties: priceInformation."}),
    ("brokerage fee amount (allOf trap)", _set("data.prices.brokerageFee", {"amount": 12500}),
     {"/data/prices/brokerageFee/amount": "must NOT have additional properties: amount."}),
    ("half a bedroom", _set("data.structure.rooms.numberOfBedRooms", 1.5),
     {"/data/structure/rooms/numberOfBedRooms": "must be integer."}),
    ("spaces without unit", _drop("data.spaces.spaceMeasureUnit"),
     {"/data/spaces/spaceMeasureUnit": "must have required property 'spaceMeasureUnit'."}),
    ("French date for a date", _set("data.energy.countrySpecific.fr.energyCertificate.releaseDate", "12/06/2025"),
     {"/data/energy/countrySpecific/fr/energyCertificate/releaseDate": 'must match format "date".'}),
    ("date for a date-time", _set("data.management.availableFrom", "2025-10-01"),
     {"/data/management/availableFrom": 'must match format "date-time".'}),
    ("energy class H", _set("data.energy.countrySpecific.fr.energyCertificate.efficiencyClass", "H"),
     {"/data/energy/countrySpecific/fr/energyCertificate/efficiencyClass":
      "must be equal to one of the allowed values: A, B, C, D, E, F, G."}),
    ("language key in capitals", _rename("data.texts.description.fr", "FR"),
     {"/data/texts/description/FR": "must NOT have additional properties: FR."}),
    ("description as plain text", _set("data.texts.description", "Studio lumineux"),
     {"/data/texts/description": "must be object."}),
    ("offererEstateId missing", _drop("data.metaData.source.offererEstateId"),
     {"/data/metaData/source/offererEstateId": "must have required property 'offererEstateId'."}),
    ("offererEstateId too long", _set("data.metaData.source.offererEstateId", "x" * 513),
     {"/data/metaData/source/offererEstateId": "must NOT have more than 512 characters."}),
    ("homepage not a URL", _set("data.contact", {"userHomepage": "www.agence.fr"}),
     {"/data/contact/userHomepage": 'must match format "url".'}),
    ("v3 displayOrder on a media", _set("media.0.displayOrder", 1),
     {"/media/0/displayOrder": "must NOT have additional properties: displayOrder."}),
    ("media without mediaType", _drop("media.0.mediaType"),
     {"/media/0/mediaType": "must have required property 'mediaType'."}),
    ("mediaType unknown", _set("media.0.mediaType", "PHOTO"),
     {"/media/0/mediaType": "must be equal to one of the allowed values: PICTURE, VIRTUAL_TOUR, PANORAMA, VIDEO."}),
    ("relative media URL", _set("media.0.url", "/biens/01.jpg"), {"/media/0/url": 'must match format "url".'}),
    ("blank media title", _set("media.1.title", "   "), {"/media/1/title": 'must match pattern "(?!(^\\s+$))^.+$".'}),
]


def test_the_example_payload_is_accepted_and_published_on_sl(api) -> None:
    assert ORACLE.is_valid(EXAMPLE)
    response = api.post(copy.deepcopy(EXAMPLE))
    assert response.status_code == 202, response.text
    latest = api.latest(response.json()["classifiedId"])
    assert latest["status"] == "CREATED" and latest["portals"] == ["SL"]


@pytest.mark.parametrize("change, expected", [(v[1], v[2]) for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_a_variant_breaking_one_rule_is_refused_with_its_pointer(api, change, expected: dict[str, str]) -> None:
    body = example("VARIANT-1")
    change(body)
    oracle_paths = {"/" + "/".join(str(p) for p in e.absolute_path) for e in ORACLE.iter_errors(body)}
    assert oracle_paths, "the variant must break the official schema"

    response = api.post(body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errorSource"] == "body"
    got = {e["name"]: e["reason"] for e in problem["errors"]}
    assert got == expected
    # Each pointer is where the spec fails, or the missing/extra member of the object that fails.
    for name in got:
        parent = name.rsplit("/", 1)[0] or "/"
        assert name in oracle_paths or parent in oracle_paths
    assert api.list(offererEstateId="VARIANT-1").json()["items"] == []
