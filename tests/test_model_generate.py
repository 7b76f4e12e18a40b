"""The generated types are current, come from the official spec, and read allOf strictly."""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

import pytest
from oracle import REFERENCE_DIR, spec

from etl.model import classified
from etl.model.generate import OUT_PATH, SPEC_PATH, SpecError, generate


def test_the_project_spec_is_the_official_one() -> None:
    official = REFERENCE_DIR / "aviv-classified-api-v4.json"
    if not official.is_file():
        pytest.skip("no shared reference folder beside the clone")
    assert json.loads(SPEC_PATH.read_text(encoding="utf-8")) == json.loads(
        official.read_text(encoding="utf-8")
    )


def test_classified_module_is_what_the_generator_writes() -> None:
    expected = generate(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    assert OUT_PATH.read_text(encoding="utf-8") == expected, "run: uv run python -m etl.model.generate"


def test_allof_traps_of_the_digest_are_recorded_as_unusable_keys() -> None:
    unusable = classified.UNUSABLE_KEYS
    fee_keys = {"amount", "feePercentage", "feeFor", "isFeeIncluded", "hasFee", "feeNote", "countrySpecific"}
    assert fee_keys <= unusable["data.prices.brokerageFee"]
    for path in (
        "data.prices.buy.operatingCosts",
        "data.prices.buy.rentalIncome",
        "data.prices.buy.rentalIncomeExpect",
    ):
        assert {"amount", "priceTimeUnit"} <= unusable[path]
    for path in (
        "data.prices.buy.price",
        "data.prices.rent.baseRent",
        "data.prices.rent.countrySpecific.fr.leaseRight",
    ):
        assert unusable[path] == {"priceInformation"}
    for path in ("data.prices.rent.operatingCosts", "data.prices.rent.heatingCosts"):
        assert "accounting" in unusable[path]
    assert {"parkingStyle", "isOperatingCostsIncluded"} <= unusable["data.prices.buy.parkingPrice"]
    assert "parkingStyle" in unusable["data.prices.rent.parkingRent"]


def test_what_allof_leaves_usable_is_typed() -> None:
    hints = typing.get_type_hints(classified.PricesBuy)
    assert hints["price"] is classified.PriceCommon  # PriceCommon ∩ PriceInformation
    assert hints["operatingCosts"] is classified.EmptyObject
    assert classified.EmptyObject.__annotations__ == {}
    assert set(classified.PriceCommon.__annotations__) == {
        "amount",
        "vatValue",
        "vatPercent",
        "isVatIncluded",
    }
    assert classified.PriceCommon.__pydantic_config__["extra"] == "forbid"
    assert classified.ContactInformation.__pydantic_config__["extra"] == "allow"


def _tiny_spec(body_schema: dict[str, Any]) -> dict[str, Any]:
    base = copy.deepcopy(spec())
    base["components"]["schemas"]["AvivClassified"] = body_schema
    return base


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}},
        {"type": "object", "properties": {"a": {"type": "string", "format": "hostname"}}},
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "^[A-Z]+$"}}},
        {"type": "object", "properties": {"a": {"type": "string", "minLength": 1}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"a": {"type": "string"}},
            "required": ["b"],
            "allOf": [{"type": "object", "properties": {"b": {"type": "string"}}}],
        },
    ],
    ids=[
        "patternProperties",
        "oneOf",
        "unknown format",
        "unknown pattern",
        "minLength",
        "schema extras",
        "unsatisfiable",
    ],
)
def test_generator_refuses_what_it_cannot_translate_faithfully(schema: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        generate(_tiny_spec(schema))
