"""check_body against the spec oracle: the example passes both, and each one-rule break
fails both, at the same path, with the expected E_SCHEMA_* code and a French message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from oracle import assert_spec_valid, error_paths, example_body

from etl.issues import Severity
from etl.model.check import aviv_path, check_body, pointer_to_path

Body = dict[str, Any]


def test_reference_example_is_accepted_by_the_model_and_the_oracle() -> None:
    body = example_body()
    assert_spec_valid(body)
    assert check_body(body) == []


def test_check_body_leaves_the_body_untouched() -> None:
    body = example_body()
    body["data"]["structure"]["rooms"]["numberOfBedRooms"] = 2.0  # a whole float is an integer
    before = repr(body)
    assert check_body(body) == []
    assert repr(body) == before


def _set(path: str, value: Any) -> Callable[[Body], None]:
    *parents, last = path.split(".")

    def mutate(body: Body) -> None:
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[Body], None]:
    *parents, last = path.split(".")

    def mutate(body: Body) -> None:
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


# (id, mutation, path where both must reject, code, words the message must contain)
BROKEN: list[tuple[str, Callable[[Body], None], str, str, tuple[str, ...]]] = [
    (
        "classifiedId at the root",
        _set("classifiedId", "0b6f6b0e-6c1e-4c59-9b59-1b1c7e8a9a11"),
        "classifiedId",
        "E_SCHEMA_EXTRA",
        ("classifiedId", "racine"),
    ),
    (
        "v3 displayOrder in media",
        _set("media.0.displayOrder", 1),
        "media[0].displayOrder",
        "E_SCHEMA_EXTRA",
        ("displayOrder", "ordre"),
    ),
    (
        "FR as a language key",
        _set("data.texts.description", {"FR": "Studio lumineux"}),
        "data.texts.description.FR",
        "E_SCHEMA_EXTRA",
        ("« FR »", "ISO 639-1", "« fr »"),
    ),
    (
        "1.5 bedrooms",
        _set("data.structure.rooms.numberOfBedRooms", 1.5),
        "data.structure.rooms.numberOfBedRooms",
        "E_SCHEMA_TYPE",
        ("nombre de chambres", "entier", "1.5"),
    ),
    (
        "availableFrom as a date",
        _set("data.management.availableFrom", "2025-09-01"),
        "data.management.availableFrom",
        "E_SCHEMA_FORMAT",
        ("date de disponibilité", "fuseau", "2025-09-01"),
    ),
    (
        "availableFrom without a time zone",
        _set("data.management.availableFrom", "2025-09-01T10:00:00"),
        "data.management.availableFrom",
        "E_SCHEMA_FORMAT",
        ("fuseau",),
    ),
    (
        "mandate end date as a date-time",
        _set("data.countrySpecific.fr.agentMandate.endDate", "2026-08-31T00:00:00Z"),
        "data.countrySpecific.fr.agentMandate.endDate",
        "E_SCHEMA_FORMAT",
        ("AAAA-MM-JJ",),
    ),
    (
        "31 June",
        _set("data.countrySpecific.fr.agentMandate.startDate", "2025-06-31"),
        "data.countrySpecific.fr.agentMandate.startDate",
        "E_SCHEMA_FORMAT",
        ("2025-06-31",),
    ),
    (
        "postal code of 33 characters",
        _set("data.location.postalcode", "7" * 33),
        "data.location.postalcode",
        "E_SCHEMA_TOO_LONG",
        ("Le code postal", "dépasse 32 caractères", "33 reçus"),
    ),
    (
        "portal LI (v3 only)",
        _set("portals", ["SL", "LI"]),
        "portals[1]",
        "E_SCHEMA_ENUM",
        ("« LI »", "SL, BUCOM, BD, SLC, SLN"),
    ),
    (
        "duplicate portal",
        _set("portals", ["SL", "BD", "SL"]),
        "portals",
        "E_SCHEMA_UNIQUE",
        ("doublons", "SL"),
    ),
    (
        "six portals",
        _set("portals", ["SL", "BD", "BUCOM", "SLC", "SLN", "SL"]),
        "portals",
        "E_SCHEMA_TOO_MANY",
        ("au plus 5",),
    ),
    (
        "brokerageFee with an amount",
        _set("data.prices.brokerageFee", {"amount": 12500}),
        "data.prices.brokerageFee.amount",
        "E_SCHEMA_EXTRA",
        ("allOf", "priceNote"),
    ),
    (
        "priceInformation in a price",
        _set("data.prices.buy.price.priceInformation", "PRICE_ON_DEMAND"),
        "data.prices.buy.price.priceInformation",
        "E_SCHEMA_EXTRA",
        ("allOf",),
    ),
    (
        "accounting in rent operating costs",
        _set("data.prices.rent", {"operatingCosts": {"amount": 80, "accounting": "FIXED"}}),
        "data.prices.rent.operatingCosts.accounting",
        "E_SCHEMA_EXTRA",
        ("allOf",),
    ),
    (
        "blank media title",
        _set("media.1.title", "   "),
        "media[1].title",
        "E_SCHEMA_PATTERN",
        ("titre du média", "vide"),
    ),
    (
        "empty media title",
        _set("media.1.title", ""),
        "media[1].title",
        "E_SCHEMA_PATTERN",
        ("titre du média",),
    ),
    (
        "relative media URL",
        _set("media.0.url", "/biens/VA-2025-0142/01.jpg"),
        "media[0].url",
        "E_SCHEMA_FORMAT",
        ("URL absolue", "/biens/VA-2025-0142/01.jpg"),
    ),
    (
        "ftp media URL",
        _set("media.0.url", "ftp://media.example-agency.fr/01.jpg"),
        "media[0].url",
        "E_SCHEMA_FORMAT",
        ("URL",),
    ),
    (
        "media URL with a space",
        _set("media.0.url", "https://media.example-agency.fr/biens/01 bis.jpg"),
        "media[0].url",
        "E_SCHEMA_FORMAT",
        ("sans espace",),
    ),
    (
        "estateSubType as a string",
        _set("data.estateSubType", "STUDIO"),
        "data.estateSubType",
        "E_SCHEMA_TYPE",
        ("sous-type", '{"apartment": "STUDIO"}'),
    ),
    (
        "sub-type of the wrong family value",
        _set("data.estateSubType", {"apartment": "VILLA"}),
        "data.estateSubType.apartment",
        "E_SCHEMA_ENUM",
        ("« VILLA »",),
    ),
    (
        "price as a French number string",
        _set("data.prices.buy.price.amount", "289 000"),
        "data.prices.buy.price.amount",
        "E_SCHEMA_TYPE",
        ("prix de vente", "nombre", "289 000"),
    ),
    (
        "negative price",
        _set("data.prices.buy.price.amount", -1),
        "data.prices.buy.price.amount",
        "E_SCHEMA_MINIMUM",
        ("supérieur ou égal à 0",),
    ),
    (
        "floor 1000",
        _set("data.location.floorNumber", 1000),
        "data.location.floorNumber",
        "E_SCHEMA_MAXIMUM",
        ("L'étage", "999"),
    ),
    (
        "boolean as a number",
        _set("data.spaces.residential.livingSpace", True),
        "data.spaces.residential.livingSpace",
        "E_SCHEMA_TYPE",
        ("nombre", "booléen"),
    ),
    (
        "null optional value",
        _set("data.location.floorNumber", None),
        "data.location.floorNumber",
        "E_SCHEMA_TYPE",
        ("entier", "null"),
    ),
    (
        "missing city",
        _delete("data.location.city"),
        "data.location.city",
        "E_SCHEMA_REQUIRED",
        ("La ville", "obligatoire"),
    ),
    (
        "missing offererEstateId",
        _delete("data.metaData.source.offererEstateId"),
        "data.metaData.source.offererEstateId",
        "E_SCHEMA_REQUIRED",
        ("offererEstateId",),
    ),
    (
        "spaces without a unit",
        _delete("data.spaces.spaceMeasureUnit"),
        "data.spaces.spaceMeasureUnit",
        "E_SCHEMA_REQUIRED",
        ("unité de surface",),
    ),
    (
        "postalCode with a capital C",
        _set("data.location.postalCode", "75011"),
        "data.location.postalCode",
        "E_SCHEMA_EXTRA",
        ("« postalcode »",),
    ),
    (
        "unknown media tag",
        _set("media.0.tags", ["COVER_PICTURE", "SALON"]),
        "media[0].tags[1]",
        "E_SCHEMA_ENUM",
        ("« SALON »",),
    ),
    (
        "GeoJSON point with nested coordinates",
        _set("data.location.geometry", {"type": "Point", "coordinates": [[2.3, 48.8]]}),
        "data.location.geometry",
        "E_SCHEMA_ANY_OF",
        ("GeoJSON",),
    ),
    (
        "media as an object",
        _set("media", {"url": "https://a.fr/1.jpg", "mediaType": "PICTURE"}),
        "media",
        "E_SCHEMA_TYPE",
        ("liste",),
    ),
    ("portals as a tuple", _set("portals", ("SL",)), "portals", "E_SCHEMA_TYPE", ("liste",)),
]


@pytest.mark.parametrize(
    ("mutate", "path", "code", "words"),
    [pytest.param(m, p, c, w, id=i) for i, m, p, c, w in BROKEN],
)
def test_one_broken_rule_is_rejected_by_oracle_and_model_at_the_same_path(
    mutate: Callable[[Body], None], path: str, code: str, words: tuple[str, ...]
) -> None:
    body = example_body()
    mutate(body)

    assert path in error_paths(body)
    issues = check_body(body)
    at_path = [i for i in issues if i.aviv_path == path]
    assert [i.code for i in at_path] == [code], issues
    issue = at_path[0]
    assert issue.severity is Severity.ERROR
    assert path in issue.message
    for word in words:
        assert word in issue.message, issue.message
    # Every issue the model raises is one the spec raises too.
    assert {i.aviv_path for i in issues} <= error_paths(body)


def test_each_violation_of_a_body_gets_its_own_issue() -> None:
    body = example_body()
    body["data"]["location"]["postalcode"] = "7" * 40
    body["data"]["location"]["city"] = "P" * 129
    body["media"][1]["title"] = " "
    issues = check_body(body)
    assert {i.aviv_path: i.code for i in issues} == {
        "data.location.postalcode": "E_SCHEMA_TOO_LONG",
        "data.location.city": "E_SCHEMA_TOO_LONG",
        "media[1].title": "E_SCHEMA_PATTERN",
    }
    assert error_paths(body) == {i.aviv_path for i in issues}


def test_a_whole_float_is_an_integer_as_in_draft_7() -> None:
    body = example_body()
    body["data"]["structure"]["rooms"]["numberOfBedRooms"] = 1.0
    assert_spec_valid(body)
    assert check_body(body) == []


def test_empty_brokerage_fee_is_the_only_one_the_spec_accepts() -> None:
    body = example_body()
    body["data"]["prices"]["brokerageFee"] = {}
    assert_spec_valid(body)
    assert check_body(body) == []
    for key, value in [("feePercentage", 4.52), ("feeFor", "BUYER_OR_TENANT"), ("isFeeIncluded", True)]:
        body["data"]["prices"]["brokerageFee"] = {key: value}
        assert error_paths(body) == {f"data.prices.brokerageFee.{key}"}
        assert [i.aviv_path for i in check_body(body)] == [f"data.prices.brokerageFee.{key}"]


def test_open_objects_take_unknown_keys_like_the_spec() -> None:
    body = example_body()
    body["data"]["links"] = {"externalLinks": [{"url": "https://agence.example.fr/bien/142"}], "custom": 1}
    body["specific"] = {"gsl": {"mandateCoOwner1": {"name": "M. Martin", "nickname": "Jo"}}}
    assert_spec_valid(body)
    assert check_body(body) == []


def test_values_in_messages_are_shortened() -> None:
    body = example_body()
    body["data"]["location"]["street"] = "R" * 600
    (issue,) = check_body(body)
    assert issue.code == "E_SCHEMA_TOO_LONG"
    assert "dépasse 512 caractères (600 reçus)" in issue.message
    assert issue.value is not None and len(issue.value) <= 80


def test_locations_are_dotted_with_bracketed_indices() -> None:
    assert aviv_path(("media", 3, "tags", 0)) == "media[3].tags[0]"
    assert aviv_path(("data", "texts", "headline", "FR", "[key]")) == "data.texts.headline.FR"
    assert pointer_to_path("/data/location/postalcode") == "data.location.postalcode"
    assert pointer_to_path("/media/0/url") == "media[0].url"
    assert pointer_to_path("/a~1b/c~0d") == "a/b.c~d"
    assert pointer_to_path("") == ""


@pytest.mark.parametrize("body", [None, [], "SL", {"portals": {"SL"}, "data": {}}])
def test_check_body_reports_rather_than_raises_on_any_input(body: Any) -> None:
    issues = check_body(body)
    assert issues and all(i.code.startswith("E_SCHEMA_") for i in issues)
    assert all("Traceback" not in i.message for i in issues)
