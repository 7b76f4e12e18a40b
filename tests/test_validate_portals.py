"""Portal rules of the use-case page (and our documented assumptions), over bodies derived
from the reference AVIV example: a 28.4 m² studio in Paris 11e for sale at 289 000 €."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.issues import Severity
from etl.validate import BdZone, PortalRules, Verdict, evaluate
from etl.validate.portals import FAMILY

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
DELETE = object()
RULES = PortalRules()


@cache
def _example() -> dict[str, Any]:
    return json.loads((REFERENCE / "aviv-v4-example.json").read_text(encoding="utf-8"))


def body(**changes: Any) -> dict[str, Any]:
    """The example with changes at dotted paths (``__`` for ``.``); ``DELETE`` removes a key."""
    b = copy.deepcopy(_example())
    for dotted, value in changes.items():
        put(b, dotted.replace("__", "."), value)
    return b


def put(b: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node = b
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return b


def luxury(**changes: Any) -> dict[str, Any]:
    """Priced above every default Belles Demeures floor; otherwise the example."""
    return body(data__prices__buy__price__amount=1_450_000, **changes)


def rental(amount: Any, unit: str | None = None, **changes: Any) -> dict[str, Any]:
    b = body(**{"data__distributionType": "RENT", **changes})
    b["data"]["prices"] = {"currency": "EUR", "rent": {"baseRent": {"amount": amount}}}
    if unit:
        b["data"]["prices"]["rent"]["priceTimeUnit"] = unit
    return b


def shop(lease_right: Any = 45_000, **changes: Any) -> dict[str, Any]:
    """A shop to let with a lease-transfer price: everything BUCOM asks for."""
    b = rental(2_400, **{"data__estateType": "TRADING", "data__estateSubType": {"trading": "STORE"}, **changes})
    if lease_right is not DELETE:
        b["data"]["prices"]["rent"]["countrySpecific"] = {"fr": {"leaseRight": {"amount": lease_right}}}
    return b


def programme(**changes: Any) -> dict[str, Any]:
    """A new-build programme sold from a starting price: SeLoger Neuf material."""
    b = body(data__estateType="PROJECT", data__estateSubType={"project": "MULTI_FAMILY_HOUSE"},
             data__management__projectStatus="COMMERCIAL_LAUNCH", **changes)
    b["data"]["prices"]["buy"] = {"minBuy": {"amount": 249_000}}
    return b


def house_and_land(**changes: Any) -> dict[str, Any]:
    """A house to build on its plot, priced house + land: SeLoger Construire material."""
    b = body(data__estateType="HOUSE", data__estateSubType={"house": "SINGLE_FAMILY_HOUSE"},
             data__conditions={"buildState": "PROJECTED"}, **changes)
    b["data"]["prices"]["buy"] = {"housePrice": {"amount": 210_000}, "plotPrice": {"amount": 85_000}}
    return b


def codes(v: Verdict) -> list[str]:
    return [i.code for i in v.issues]


def only(v: Verdict, code: str):
    found = [i for i in v.issues if i.code == code]
    assert len(found) == 1, codes(v)
    return found[0]


# -- the reference body ---------------------------------------------------------------

def test_reference_example_is_published_on_seloger_without_remark():
    v = evaluate(body(), ["SL"], RULES)
    assert (v.accepted, v.portals, v.issues, v.requested) == (True, ["SL"], [], ["SL"])


def test_luxury_variant_is_published_on_seloger_and_belles_demeures():
    v = evaluate(luxury(), ["SL", "BD"], RULES)
    assert (v.accepted, v.portals, v.issues) == (True, ["SL", "BD"], [])


# -- requested, defaults, contract -----------------------------------------------------

def test_no_portal_requested_and_no_default_is_rejected():
    v = evaluate(body(), [], PortalRules(default_portals=[]))
    assert not v.accepted and v.portals == []
    assert codes(v) == ["E_NO_PORTAL"]
    assert only(v, "E_NO_PORTAL").severity is Severity.ERROR


def test_agency_defaults_apply_when_the_listing_requests_no_portal():
    v = evaluate(luxury(), [], PortalRules(default_portals=["SL", "BD"]))
    assert v.portals == ["SL", "BD"] and v.requested == ["SL", "BD"]


def test_requested_portals_take_precedence_over_defaults():
    v = evaluate(luxury(), ["BD"], PortalRules(default_portals=["SL"]))
    assert v.portals == ["BD"] and v.requested == ["BD"]


def test_portal_outside_contract_is_dropped_with_a_warning_and_the_rest_published():
    v = evaluate(luxury(), ["SL", "BD"], PortalRules(contract_portals=["SL"]))
    assert v.accepted and v.portals == ["SL"]
    issue = only(v, "W_PORTAL_NOT_IN_CONTRACT")
    assert (issue.portal, issue.severity, issue.value) == ("BD", Severity.WARNING, "BD")
    assert "Belles Demeures" in issue.message and "contrat" in issue.message


def test_only_portals_outside_contract_rejects_the_listing():
    v = evaluate(luxury(), ["BD"], PortalRules(contract_portals=["SL"]))
    assert not v.accepted and v.portals == []
    assert codes(v) == ["E_PORTAL_NOT_IN_CONTRACT", "E_NO_ELIGIBLE_PORTAL"]


def test_contract_none_means_all_five_portals():
    v = evaluate(luxury(), ["SL", "BD"], PortalRules(contract_portals=None))
    assert v.portals == ["SL", "BD"]


def test_published_portals_are_requested_intersect_contract_intersect_eligible():
    rules = PortalRules(contract_portals=["SL", "BD", "BUCOM"])
    v = evaluate(body(), ["SL", "BD", "BUCOM", "SLN"], rules)  # BD: price below floor; BUCOM: not a shop
    assert v.portals == ["SL"]
    assert sorted((i.code, i.portal) for i in v.issues) == [
        ("W_BD_PRICE_BELOW_FLOOR", "BD"), ("W_BUCOM_LEASE_RIGHT_MISSING", "BUCOM"),
        ("W_BUCOM_NOT_TRADING", "BUCOM"), ("W_PORTAL_NOT_IN_CONTRACT", "SLN")]


def test_unknown_portal_is_dropped_with_a_warning():
    v = evaluate(body(), ["SL", "LI"], RULES)
    assert v.portals == ["SL"]
    issue = only(v, "W_PORTAL_UNKNOWN")
    assert (issue.portal, issue.value) == ("LI", "LI") and "« LI »" in issue.message


def test_requested_portals_are_normalised_and_deduplicated():
    v = evaluate(luxury(), [" bd", "SL", "BD", ""], RULES)
    assert v.requested == ["BD", "SL"]


def test_published_portals_follow_the_spec_order_not_the_request_order():
    v = evaluate(luxury(), ["BD", "SL"], RULES)
    assert v.portals == ["SL", "BD"]


# -- partial and no eligibility ----------------------------------------------------------

def test_partial_eligibility_publishes_on_the_rest_with_one_warning_per_reason():
    v = evaluate(body(), ["SL", "BD", "BUCOM"], RULES)
    assert v.accepted and v.portals == ["SL"]
    assert v.issues and all(i.severity is Severity.WARNING and i.code.startswith("W_") for i in v.issues)
    assert {i.portal for i in v.issues} == {"BD", "BUCOM"}
    assert v.errors == [] and v.warnings == v.issues


def test_no_eligible_portal_rejects_with_each_reason_as_an_error_then_a_summary():
    v = evaluate(body(), ["BD", "BUCOM"], RULES)
    assert not v.accepted and v.portals == []
    assert all(i.severity is Severity.ERROR for i in v.issues)
    assert codes(v) == ["E_BD_PRICE_BELOW_FLOOR", "E_BUCOM_NOT_TRADING", "E_BUCOM_LEASE_RIGHT_MISSING",
                        "E_NO_ELIGIBLE_PORTAL"]
    summary = v.issues[-1]
    assert summary.portal is None and summary.value == "BD, BUCOM"
    assert "BD, BUCOM" in summary.message


# -- base rules: required on every portal ------------------------------------------------

def test_missing_estate_type_rejects_even_when_the_portal_rules_pass():
    v = evaluate(body(data__estateType=DELETE), ["SL"], RULES)
    assert not v.accepted and v.portals == []
    assert codes(v) == ["E_ESTATE_TYPE_MISSING"]
    assert only(v, "E_ESTATE_TYPE_MISSING").aviv_path == "data.estateType"


_SUBTYPES = {
    "APARTMENT": "LOFT", "HOUSE": "VILLA", "PLOT": "LIVING", "OFFICE": "OFFICE_SPACE", "TRADING": "STORE",
    "GASTRONOMY_HOTEL": "HOTEL", "STORAGE_PRODUCTION": "WAREHOUSE_HALL", "AGRICULTURE_FORESTRY": "WINERY",
    "PARKING": "GARAGE", "SENIOR": "ASSISTED_LIVING", "PROJECT": "HOUSE_PARK",
}


@pytest.mark.parametrize(("estate_type", "family"), sorted(FAMILY.items()))
def test_each_estate_type_takes_its_own_subtype_family(estate_type, family):
    ok = body(data__estateType=estate_type, data__estateSubType={family: _SUBTYPES[estate_type]})
    assert evaluate(ok, ["SL"], RULES).accepted
    other = "house" if family != "house" else "apartment"
    wrong = body(data__estateType=estate_type, data__estateSubType={other: "X"})
    v = evaluate(wrong, ["SL"], RULES)
    assert not v.accepted and codes(v) == ["E_ESTATE_SUBTYPE_MISMATCH"]
    assert only(v, "E_ESTATE_SUBTYPE_MISMATCH").aviv_path == f"data.estateSubType.{family}"


def test_family_map_covers_every_estate_type_but_miscellaneous():
    assert set(FAMILY) == set(_SUBTYPES)
    assert "MISCELLANEOUS" not in FAMILY


@pytest.mark.parametrize("subtype", [DELETE, {}, {"apartment": ""}, {"apartment": "  "}])
def test_missing_or_blank_subtype_is_rejected(subtype):
    v = evaluate(body(data__estateSubType=subtype), ["SL"], RULES)
    assert codes(v) == ["E_ESTATE_SUBTYPE_MISSING"] and not v.accepted


def test_two_subtype_families_are_a_mismatch():
    v = evaluate(body(data__estateSubType={"apartment": "LOFT", "house": "VILLA"}), ["SL"], RULES)
    assert codes(v) == ["E_ESTATE_SUBTYPE_MISMATCH"]


def test_miscellaneous_has_no_subtype():
    assert evaluate(body(data__estateType="MISCELLANEOUS", data__estateSubType=DELETE), ["SL"], RULES).accepted
    v = evaluate(body(data__estateType="MISCELLANEOUS"), ["SL"], RULES)  # keeps apartment: STUDIO
    assert codes(v) == ["E_ESTATE_SUBTYPE_MISMATCH"]


def test_unknown_estate_type_is_rejected():
    v = evaluate(body(data__estateType="CASTLE"), ["SL"], RULES)
    assert codes(v) == ["E_ESTATE_TYPE_UNKNOWN"] and only(v, "E_ESTATE_TYPE_UNKNOWN").value == "CASTLE"


def test_missing_distribution_type_is_rejected_without_guessing_a_price_rule():
    v = evaluate(body(data__distributionType=DELETE), ["SL", "BD"], RULES)
    assert codes(v) == ["E_DISTRIBUTION_TYPE_MISSING"]
    assert not v.accepted


def test_unknown_distribution_type_is_rejected():
    v = evaluate(body(data__distributionType="LEASE"), ["SL"], RULES)
    assert codes(v) == ["E_DISTRIBUTION_TYPE_UNKNOWN"]


def test_empty_address_parts_are_rejected_although_the_schema_allows_them():
    v = evaluate(body(data__location__postalcode="", data__location__city="  ", data__location__country=DELETE),
                 ["SL"], RULES)
    assert codes(v) == ["E_POSTALCODE_MISSING", "E_CITY_MISSING", "E_COUNTRY_MISSING"]
    assert [i.aviv_path for i in v.issues] == ["data.location.postalcode", "data.location.city",
                                                "data.location.country"]


@pytest.mark.parametrize("field", ["sourceSystem", "sourceSystemVersion", "offererMarketingKey", "offererEstateId"])
def test_each_metadata_source_field_is_required(field):
    v = evaluate(body(**{f"data__metaData__source__{field}": " "}), ["SL"], RULES)
    issue = only(v, "E_METADATA_SOURCE_MISSING")
    assert issue.aviv_path == f"data.metaData.source.{field}" and not v.accepted


def test_base_errors_and_portal_reasons_are_reported_together():
    v = evaluate(body(data__location__city=""), ["SL", "BD"], RULES)
    assert not v.accepted and v.portals == []
    assert codes(v) == ["E_CITY_MISSING", "W_BD_PRICE_BELOW_FLOOR"]


# -- SeLoger: resale, rental, auctions -------------------------------------------------

@pytest.mark.parametrize(("price", "seen"), [(DELETE, None), (0, "0"), ("289 000", "289 000"), (True, "True")])
def test_seloger_resale_needs_a_positive_sale_price(price, seen):
    b = body(data__prices__buy__price__amount=price)
    v = evaluate(b, ["SL"], RULES)
    assert codes(v) == ["E_SL_PRICE_MISSING", "E_NO_ELIGIBLE_PORTAL"]
    issue = only(v, "E_SL_PRICE_MISSING")
    assert (issue.portal, issue.aviv_path, issue.value) == ("SL", "data.prices.buy.price.amount", seen)
    assert "prix de vente" in issue.message


def test_seloger_rental_needs_a_positive_base_rent():
    assert evaluate(rental(950), ["SL"], RULES).portals == ["SL"]
    v = evaluate(rental(None), ["SL"], RULES)
    issue = only(v, "E_SL_PRICE_MISSING")
    assert issue.aviv_path == "data.prices.rent.baseRent.amount" and "loyer" in issue.message


def test_rental_with_only_a_sale_price_is_not_priced():
    b = body(data__distributionType="RENT")  # keeps buy.price, no baseRent
    assert codes(evaluate(b, ["SL"], RULES))[0] == "E_SL_PRICE_MISSING"


def test_compulsory_auction_is_priced_by_its_starting_bid():
    b = body(data__distributionType="COMPULSORY_AUCTION")
    b["data"]["prices"] = {"compulsoryAuction": {"marketValue": {"amount": 300_000},
                                                 "minimumBid": {"amount": 120_000}}}
    assert evaluate(b, ["SL"], RULES).portals == ["SL"]
    del b["data"]["prices"]["compulsoryAuction"]["minimumBid"]
    issue = only(evaluate(b, ["SL"], RULES), "E_SL_PRICE_MISSING")
    assert issue.aviv_path == "data.prices.compulsoryAuction.minimumBid.amount"


def test_compulsory_auction_falls_back_to_the_sale_price():
    assert evaluate(body(data__distributionType="COMPULSORY_AUCTION"), ["SL"], RULES).accepted


def test_buy_auction_is_priced_by_its_minimum_price_or_the_sale_price():
    b = body(data__distributionType="BUY_AUCTION")
    b["data"]["prices"] = {"buyAuction": {"minPrice": {"amount": 200_000}}}
    assert evaluate(b, ["SL"], RULES).accepted
    b["data"]["prices"] = {}
    issue = only(evaluate(b, ["SL"], RULES), "E_SL_PRICE_MISSING")
    assert issue.aviv_path == "data.prices.buyAuction.minPrice.amount"


# -- Belles Demeures ------------------------------------------------------------------

@pytest.mark.parametrize(("postalcode", "floor"), [
    ("75011", 1_000_000), ("92200", 800_000), ("93100", 800_000), ("94300", 800_000),
    ("06400", 800_000), ("83990", 800_000), ("73120", 800_000), ("74400", 800_000),
    ("33000", 500_000), ("69006", 500_000), ("20000", 500_000), ("97200", 500_000),
])
def test_belles_demeures_sale_floor_depends_on_the_zone(postalcode, floor):
    at = body(data__location__postalcode=postalcode, data__prices__buy__price__amount=floor)
    assert evaluate(at, ["BD"], RULES).portals == ["BD"]
    below = body(data__location__postalcode=postalcode, data__prices__buy__price__amount=floor - 1)
    v = evaluate(below, ["SL", "BD"], RULES)
    assert v.portals == ["SL"]
    issue = only(v, "W_BD_PRICE_BELOW_FLOOR")
    assert (issue.portal, issue.aviv_path, issue.value) == ("BD", "data.prices.buy.price.amount", str(floor - 1))
    assert f"{floor:,}".replace(",", "\u00a0") + " €" in issue.message


@pytest.mark.parametrize(("postalcode", "floor"), [("75008", 3_000), ("92200", 2_500), ("06000", 2_500),
                                                   ("35000", 1_500)])
def test_belles_demeures_rent_floor_is_monthly_and_by_zone(postalcode, floor):
    assert evaluate(rental(floor, data__location__postalcode=postalcode), ["BD"], RULES).accepted
    v = evaluate(rental(floor - 1, data__location__postalcode=postalcode), ["BD"], RULES)
    assert codes(v) == ["E_BD_PRICE_BELOW_FLOOR", "E_NO_ELIGIBLE_PORTAL"]
    assert only(v, "E_BD_PRICE_BELOW_FLOOR").aviv_path == "data.prices.rent.baseRent.amount"


def test_yearly_rent_is_compared_per_month():
    assert evaluate(rental(36_000, unit="YEAR"), ["BD"], RULES).accepted  # 3 000 €/month in Paris
    v = evaluate(rental(35_988, unit="YEAR"), ["BD"], RULES)
    assert "2\u00a0999 € par mois" in only(v, "E_BD_PRICE_BELOW_FLOOR").message


@pytest.mark.parametrize("subtype", ["CASTLE", "MANOR_HOUSE", "MANSION"])
def test_castles_manors_and_mansions_are_accepted_at_any_price(subtype):
    b = body(data__estateType="HOUSE", data__estateSubType={"house": subtype},
             data__location__postalcode="24200", data__prices__buy__price__amount=180_000)
    assert evaluate(b, ["BD"], RULES).portals == ["BD"]


def test_an_ordinary_house_at_the_same_price_is_below_the_floor():
    b = body(data__estateType="HOUSE", data__estateSubType={"house": "VILLA"},
             data__location__postalcode="24200", data__prices__buy__price__amount=180_000)
    assert "E_BD_PRICE_BELOW_FLOOR" in codes(evaluate(b, ["BD"], RULES))


def test_even_a_castle_needs_a_price():
    b = body(data__estateType="HOUSE", data__estateSubType={"house": "CASTLE"},
             data__prices__buy__price=DELETE)
    assert only(evaluate(b, ["BD"], RULES), "E_BD_PRICE_MISSING").portal == "BD"


def test_compulsory_auction_is_compared_with_its_market_value_not_its_starting_bid():
    b = body(data__distributionType="COMPULSORY_AUCTION")
    b["data"]["prices"] = {"compulsoryAuction": {"marketValue": {"amount": 1_200_000},
                                                 "minimumBid": {"amount": 400_000}}}
    assert evaluate(b, ["SL", "BD"], RULES).portals == ["SL", "BD"]


def test_property_abroad_uses_the_floor_for_elsewhere():
    b = body(data__location__country="MCO", data__location__postalcode="75000",  # not Paris
             data__prices__buy__price__amount=600_000)
    assert evaluate(b, ["BD"], RULES).accepted


def test_longest_postal_code_prefix_wins():
    rules = PortalRules(bd_zones=[BdZone(name="Hauts-de-Seine", areas=["92"], buy=800_000, rent=2_500),
                                  BdZone(name="Neuilly-sur-Seine", areas=["92200"], buy=1_500_000, rent=4_000)])
    neuilly = body(data__location__postalcode="92200", data__prices__buy__price__amount=1_000_000)
    issue = only(evaluate(neuilly, ["BD"], rules), "E_BD_PRICE_BELOW_FLOOR")
    assert "Neuilly-sur-Seine" in issue.message
    boulogne = body(data__location__postalcode="92100", data__prices__buy__price__amount=1_000_000)
    assert evaluate(boulogne, ["BD"], rules).accepted


def test_corsican_departement_codes_map_to_their_postal_codes():
    rules = PortalRules(bd_zones=[BdZone(name="Corse-du-Sud", areas=["2A"], buy=900_000, rent=2_500)])
    ajaccio = body(data__location__postalcode="20000", data__prices__buy__price__amount=700_000)
    bastia = body(data__location__postalcode="20200", data__prices__buy__price__amount=700_000)
    assert not evaluate(ajaccio, ["BD"], rules).accepted
    assert evaluate(bastia, ["BD"], rules).accepted


@pytest.mark.parametrize("media", [[], DELETE, [{"url": "https://x.example/v.mp4", "mediaType": "VIDEO"}]])
def test_belles_demeures_needs_at_least_one_picture(media):
    v = evaluate(luxury(media=media), ["SL", "BD"], RULES)
    assert v.portals == ["SL"]
    issue = only(v, "W_BD_NO_PICTURE")
    assert issue.portal == "BD" and "photo" in issue.message


@pytest.mark.parametrize(("path", "value", "eligible"), [
    ("data.spaces.residential.livingSpace", 19.9, False),
    ("data.spaces.residential.livingSpace", 20, True),
    ("data.spaces.overallSpace", 15, False),
    ("data.spaces.usableFloorSpace", 12.5, False),
    ("data.spaces.residential.balconySpace", 4, True),  # a room or outdoor surface, not the property's
    ("data.spaces.plotSpace", 10, True),
])
def test_belles_demeures_surface_when_given_is_at_least_20_m2(path, value, eligible):
    v = evaluate(put(luxury(), path, value), ["SL", "BD"], RULES)
    assert (v.portals == ["SL", "BD"]) is eligible
    if not eligible:
        issue = only(v, "W_BD_SURFACE_SMALL")
        assert (issue.aviv_path, issue.value) == (path, str(value))


def test_belles_demeures_accepts_a_listing_without_surfaces():
    assert evaluate(luxury(data__spaces=DELETE), ["BD"], RULES).accepted


def test_surfaces_in_other_units_are_converted_to_square_metres():
    b = luxury(data__spaces={"spaceMeasureUnit": "SQUARE_FOOT", "residential": {"livingSpace": 200}})
    assert "E_BD_SURFACE_SMALL" in codes(evaluate(b, ["BD"], RULES))  # 18.6 m²
    b["data"]["spaces"]["residential"]["livingSpace"] = 2_000  # 185.8 m²
    assert evaluate(b, ["BD"], RULES).accepted


def _text(visible: int) -> str:
    words = ("Magnifique appartement familial avec vue dégagée sur la Seine " * 10).split()
    text = " ".join(words)
    return text[:visible]


@pytest.mark.parametrize(("visible", "eligible"), [(159, False), (160, True), (400, True)])
def test_belles_demeures_description_needs_160_characters(visible, eligible):
    text = _text(visible)
    assert len(text) == visible and not text.endswith(" ")
    v = evaluate(luxury(data__texts__description__fr=text), ["SL", "BD"], RULES)
    assert (v.portals == ["SL", "BD"]) is eligible
    if not eligible:
        issue = only(v, "W_BD_DESCRIPTION_SHORT")
        assert issue.aviv_path == "data.texts.description.fr" and issue.value == text
        assert issue.message == ("Belles Demeures exige une description d'au moins 160 caractères (ici 159) : "
                                 "complétez le descriptif.")


def test_description_whitespace_runs_count_as_one_character_and_edges_not_at_all():
    text = "\n  " + _text(150).replace(" ", "\r\n\r\n", 3) + "   \u00a0\n"
    v = evaluate(luxury(data__texts__description__fr=text), ["BD"], RULES)
    assert "(ici 150)" in only(v, "E_BD_DESCRIPTION_SHORT").message


def test_padding_a_long_description_with_blank_lines_does_not_reach_160():
    text = _text(100) + "\n" * 500 + _text(50)
    assert len(text) > 600
    v = evaluate(luxury(data__texts__description__fr=text), ["BD"], RULES)
    assert "(ici 151)" in only(v, "E_BD_DESCRIPTION_SHORT").message


def test_html_tags_do_not_count_in_the_description():
    text = "<p><strong>" + _text(120) + "</strong></p><br/>" * 3
    v = evaluate(luxury(data__texts__description__fr=text), ["BD"], RULES)
    assert "E_BD_DESCRIPTION_SHORT" in codes(v)


def test_description_in_another_language_does_not_count():
    b = luxury()
    b["data"]["texts"]["description"] = {"en": _text(400)}
    issue = only(evaluate(b, ["BD"], RULES), "E_BD_DESCRIPTION_SHORT")
    assert issue.value is None and "(ici 0)" in issue.message


@pytest.mark.parametrize("estate_type", ["PARKING", "OFFICE", "TRADING", "STORAGE_PRODUCTION"])
def test_belles_demeures_refuses_non_residential_types(estate_type):
    family = FAMILY[estate_type]
    b = luxury(data__estateType=estate_type, data__estateSubType={family: _SUBTYPES[estate_type]})
    v = evaluate(b, ["SL", "BD"], RULES)
    assert v.portals == ["SL"] and only(v, "W_BD_ESTATE_TYPE_EXCLUDED").value == estate_type


def test_every_belles_demeures_reason_is_reported_at_once():
    b = body(media=[], data__texts__description__fr="Joli studio.",
             data__spaces__residential__livingSpace=12)
    v = evaluate(b, ["SL", "BD"], RULES)
    assert sorted(codes(v)) == ["W_BD_DESCRIPTION_SHORT", "W_BD_NO_PICTURE", "W_BD_PRICE_BELOW_FLOOR",
                                "W_BD_SURFACE_SMALL"]


# -- SeLoger Bureaux & Commerces --------------------------------------------------------

def test_shop_with_rent_and_lease_right_goes_on_bucom():
    assert evaluate(shop(), ["SL", "BUCOM"], RULES).portals == ["SL", "BUCOM"]


def test_bucom_refuses_other_estate_types():
    v = evaluate(body(), ["SL", "BUCOM"], RULES)
    issue = only(v, "W_BUCOM_NOT_TRADING")
    assert (issue.portal, issue.aviv_path, issue.value) == ("BUCOM", "data.estateType", "APARTMENT")


def test_bucom_needs_the_lease_right_by_default():
    v = evaluate(shop(lease_right=DELETE), ["BUCOM"], RULES)
    issue = only(v, "E_BUCOM_LEASE_RIGHT_MISSING")
    assert issue.aviv_path == "data.prices.rent.countrySpecific.fr.leaseRight.amount"
    assert "prix de la cession" in issue.message


def test_a_zero_lease_right_says_there_is_none_to_transfer():
    assert evaluate(shop(lease_right=0), ["BUCOM"], RULES).accepted


def test_lease_right_only_for_rentals_when_configured():
    rules = PortalRules(bucom_lease_right="rent")
    sale = shop(lease_right=DELETE, data__distributionType="BUY")
    sale["data"]["prices"]["buy"] = {"price": {"amount": 350_000}}
    assert evaluate(sale, ["BUCOM"], rules).accepted
    assert not evaluate(shop(lease_right=DELETE), ["BUCOM"], rules).accepted
    assert evaluate(shop(lease_right=DELETE), ["BUCOM"], PortalRules(bucom_lease_right="never")).accepted


def test_bucom_applies_the_seloger_price_rules():
    b = shop()
    del b["data"]["prices"]["rent"]["baseRent"]
    issue = only(evaluate(b, ["BUCOM"], RULES), "E_BUCOM_PRICE_MISSING")
    assert issue.aviv_path == "data.prices.rent.baseRent.amount"


def test_bucom_estate_types_are_configurable():
    office = shop(data__estateType="OFFICE", data__estateSubType={"office": "OFFICE_SPACE"})
    assert not evaluate(office, ["BUCOM"], RULES).accepted
    assert evaluate(office, ["BUCOM"], PortalRules(bucom_estate_types=["TRADING", "OFFICE"])).accepted


# -- SeLoger Neuf (assumptions) --------------------------------------------------------

def test_new_build_programme_priced_from_goes_on_seloger_neuf():
    assert evaluate(programme(), ["SLN"], RULES).portals == ["SLN"]


def test_resale_apartment_is_not_new_build():
    v = evaluate(body(), ["SL", "SLN"], RULES)
    assert v.portals == ["SL"] and only(v, "W_SLN_NOT_NEW_BUILD").portal == "SLN"


@pytest.mark.parametrize("evidence", [
    {"data__conditions__ageState": "NEW"},
    {"data__conditions__buildState": "PROJECTED"},
    {"data__conditions__buildState": "FIRST_TIME_USE"},
    {"data__management__projectStatus": "UNDER_CONSTRUCTION"},
    {"data__buildingProperty__program": {"salesOffice": {"city": "Lyon"}}},
    {"data__prices__buy__minBuy__amount": 250_000},
])
def test_new_build_lot_of_a_programme_goes_on_seloger_neuf(evidence):
    assert evaluate(body(**evidence), ["SLN"], RULES).accepted


def test_seloger_neuf_refuses_other_estate_types():
    b = body(data__estateType="PLOT", data__estateSubType={"plot": "LIVING"})
    assert only(evaluate(b, ["SLN"], RULES), "E_SLN_ESTATE_TYPE").value == "PLOT"


def test_seloger_neuf_needs_a_price_or_a_starting_price():
    b = programme()
    b["data"]["prices"]["buy"] = {}
    issue = only(evaluate(b, ["SLN"], RULES), "E_SLN_PRICE_MISSING")
    assert issue.aviv_path == "data.prices.buy.price.amount"


def test_seloger_neuf_rental_with_a_starting_rent():
    b = programme(data__distributionType="RENT")
    b["data"]["prices"] = {"rent": {"minRent": {"amount": 780}}}
    assert evaluate(b, ["SLN"], RULES).accepted


def test_seloger_neuf_does_not_take_auctions():
    b = programme(data__distributionType="COMPULSORY_AUCTION")
    assert "E_SLN_DISTRIBUTION_TYPE" in codes(evaluate(b, ["SLN"], RULES))


# -- SeLoger Construire (assumptions) --------------------------------------------------

def test_house_and_land_package_goes_on_seloger_construire():
    assert evaluate(house_and_land(), ["SLC"], RULES).portals == ["SLC"]


def test_catalogue_model_priced_from_with_surface_range_goes_on_seloger_construire():
    b = body(data__estateType="HOUSE", data__estateSubType={"house": "SINGLE_FAMILY_HOUSE"},
             data__spaces={"spaceMeasureUnit": "SQUARE_METER", "spaceMin": 85, "spaceMax": 120})
    b["data"]["prices"]["buy"] = {"minBuy": {"amount": 159_000}}
    assert evaluate(b, ["SLC"], RULES).accepted


def test_existing_house_is_not_for_seloger_construire():
    b = body(data__estateType="HOUSE", data__estateSubType={"house": "VILLA"})
    v = evaluate(b, ["SL", "SLC"], RULES)
    assert v.portals == ["SL"] and only(v, "W_SLC_NOT_NEW_BUILD").portal == "SLC"


def test_seloger_construire_refuses_apartments():
    assert only(evaluate(body(), ["SLC"], RULES), "E_SLC_ESTATE_TYPE").value == "APARTMENT"


def test_building_land_goes_on_seloger_construire_but_not_farmland():
    land = body(data__estateType="PLOT", data__estateSubType={"plot": "LIVING"})
    assert evaluate(land, ["SLC"], RULES).accepted
    farm = body(data__estateType="PLOT", data__estateSubType={"plot": "AGRICULTURE_FORESTRY"})
    assert only(evaluate(farm, ["SLC"], RULES), "E_SLC_PLOT_NOT_BUILDING_LAND").value == "AGRICULTURE_FORESTRY"


def test_seloger_construire_is_sales_only():
    b = house_and_land(data__distributionType="RENT")
    assert "E_SLC_DISTRIBUTION_TYPE" in codes(evaluate(b, ["SLC"], RULES))


def test_seloger_construire_needs_a_price():
    b = house_and_land()
    b["data"]["prices"]["buy"] = {}
    assert "E_SLC_PRICE_MISSING" in codes(evaluate(b, ["SLC"], RULES))


# -- messages ----------------------------------------------------------------------------

def test_source_field_labels_are_named_in_messages_and_issues():
    labels = {"data.texts.description.fr": "champ 21 (Texte annonce)"}
    v = evaluate(luxury(data__texts__description__fr="Trop court."), ["BD"], RULES, source_fields=labels)
    issue = only(v, "E_BD_DESCRIPTION_SHORT")
    assert issue.source_field == "champ 21 (Texte annonce)"
    assert issue.message.endswith("complétez le descriptif (champ 21 (Texte annonce)).")


def test_every_message_is_a_french_sentence_with_a_stable_code():
    cases = [
        evaluate(body(), ["SL", "BD", "BUCOM", "SLN", "SLC", "XX"], PortalRules(contract_portals=["SL", "BD",
                                                                                                  "BUCOM", "SLN"])),
        evaluate(body(data={}, media=[]), ["SL", "BD", "BUCOM", "SLN", "SLC"], RULES),
        evaluate({}, [], PortalRules(default_portals=[])),
    ]
    for v in cases:
        for issue in v.issues:
            assert issue.code[:2] in ("E_", "W_") and issue.code.upper() == issue.code
            assert issue.message.endswith(".") and len(issue.message) > 30
            assert (issue.code[0] == "E") is (issue.severity is Severity.ERROR)
            assert issue.aviv_path


# -- robustness ---------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**7) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_PATHS = [
    "data", "data.estateType", "data.estateSubType", "data.distributionType", "data.location",
    "data.location.postalcode", "data.location.country", "data.prices", "data.prices.buy",
    "data.prices.buy.price", "data.prices.buy.price.amount", "data.prices.rent", "data.prices.rent.priceTimeUnit",
    "data.spaces", "data.spaces.spaceMeasureUnit", "data.spaces.residential", "data.texts",
    "data.texts.description", "data.metaData", "data.metaData.source", "media", "data.conditions",
    "data.buildingProperty", "data.management",
]


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(_PATHS), _json), max_size=4),
       requested=st.lists(st.sampled_from(["SL", "BD", "BUCOM", "SLN", "SLC", "sl", "LI", ""]), max_size=5),
       contract=st.none() | st.lists(st.sampled_from(["SL", "BD", "BUCOM", "SLN", "SLC"]), unique=True))
def test_any_body_gets_a_consistent_verdict_and_never_an_exception(changes, requested, contract):
    b = luxury()
    for path, value in changes:
        node = b
        *parents, last = path.split(".")
        for key in parents:
            nxt = node.get(key) if isinstance(node, dict) else None
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            node[last] = value
    rules = PortalRules(contract_portals=contract, default_portals=[] if contract is not None else ["SL"])
    v = evaluate(b, requested, rules)
    assert v.accepted == bool(v.portals)
    assert v.accepted == (not v.errors)
    assert set(v.portals) <= set(v.requested) & set(contract if contract is not None else v.requested)
    assert all(i.portal for i in v.warnings)
