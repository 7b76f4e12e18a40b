"""The Poliris mapping (mappings/poliris.yaml) on hand-made records: one behaviour per test."""

import pytest

from etl.extract.poliris import COLUMNS, FORMAT
from etl.extract.poliris.writer import row_values
from etl.records import SourceLocation, SourceRecord
from etl.mapping import CompiledMapping, FeedContext, load_mapping
from etl.mapping.spec import MappingSpec
from etl.errors import ConfigError
from etl.yaml_config import parse_yaml_model

BASE = {1: "ag1", 2: "REF-1", 3: "vente", 4: "Appartement", 5: "75011", 6: "Paris", 11: "350000",
        18: "3", 20: "T3", 21: "Bel appartement " * 12, 175: "T-1"}


@pytest.fixture(scope="module")
def mapping() -> CompiledMapping:
    return CompiledMapping(load_mapping("poliris"), COLUMNS, FORMAT.label, blank_markers=FORMAT.blank_markers)


def apply(mapping, changes=None, feed=None):
    row = {**BASE, **(changes or {})}
    values = row_values(row, 334)
    record = SourceRecord("ag1", "T-1", SourceLocation("Annonces.csv", 1, 1), values, COLUMNS)
    return mapping.apply(record, feed or FeedContext(agency_id="ag1"))


def codes(mapped):
    return [i.code for i in mapped.issues]


def test_an_ordinary_sale_maps_type_place_price_and_text(mapping):
    m = apply(mapping)
    data = m.body["data"]
    assert data["estateType"] == "APARTMENT" and data["estateSubType"] == {"apartment": "MULTI_STOREY"}
    assert data["distributionType"] == "BUY"
    assert data["location"]["postalcode"] == "75011" and data["location"]["country"] == "FRA"
    assert data["prices"]["buy"]["price"]["amount"] == 350000
    assert data["texts"]["description"]["fr"].startswith("Bel appartement")
    assert m.issues == []


def test_a_one_room_flat_is_a_studio_and_does_not_leak_into_the_next_listing(mapping):
    assert apply(mapping, {18: "1"}).body["data"]["estateSubType"] == {"apartment": "STUDIO"}
    # The table row is shared: the studio rule must have written into a private copy.
    assert apply(mapping, {18: "3"}).body["data"]["estateSubType"] == {"apartment": "MULTI_STOREY"}


def test_transaction_and_property_types_match_case_and_accents_insensitively(mapping):
    m = apply(mapping, {3: "Vente de Prestige", 4: "CHATEAU"})
    assert m.body["data"]["estateSubType"] == {"house": "CASTLE"}
    # Field 82 is empty: the type implies BD; the agency's defaults are added by the pipeline.
    assert m.outputs["portals"] == ["BD"] and not m.outputs["portals_explicit"]
    named = apply(mapping, {3: "Vente de Prestige", 4: "CHATEAU", 82: "SL"})
    assert named.outputs["portals"] == ["SL"]  # the agency said SL only: BD is not forced on it


def test_sub_type_refines_the_property_type(mapping):
    m = apply(mapping, {4: "maison/villa", 181: "Maison provençale"})
    assert m.body["data"]["estateSubType"] == {"house": "PROVENCAL_FARMHOUSE"}


def test_missing_price_rejects_with_the_field_named(mapping):
    m = apply(mapping, {11: ""})
    issue = next(i for i in m.issues if i.code == "E_PRICE_MISSING")
    assert issue.is_error and issue.aviv_path == "data.prices.buy.price.amount"
    assert "champ 11" in issue.message


def test_unknown_optional_value_is_dropped_with_a_warning_not_silently(mapping):
    m = apply(mapping, {19: "deux"})
    issue = next(i for i in m.issues if i.source_field and "champ 19" in i.source_field)
    assert issue.code == "W_VALUE_IGNORED" and issue.value == "deux" and not issue.is_error
    assert "numberOfBedRooms" not in m.body["data"].get("structure", {}).get("rooms", {})


def test_rent_splits_charges_out_of_the_rent_charges_included(mapping):
    m = apply(mapping, {3: "location", 11: "1085", 23: "95", 161: "1980"})
    rent = m.body["data"]["prices"]["rent"]
    assert rent["baseRent"] == {"amount": 990} and rent["totalRent"] == {"amount": 1085}
    assert rent["operatingCosts"] == {"amount": 95} and rent["priceTimeUnit"] == "MONTH"
    assert "1\u202f980 €" in rent["depositNote"]["fr"]


def test_lease_transfer_carries_the_lease_right_and_the_premises_rent(mapping):
    m = apply(mapping, {3: "cession de bail", 4: "boutique", 11: "97200", 12: "2350"})
    rent = m.body["data"]["prices"]["rent"]
    assert rent["countrySpecific"]["fr"]["leaseRight"] == {"amount": 97200}
    assert rent["baseRent"] == {"amount": 2350}
    assert "BUCOM" in m.outputs["portals"]


def test_heating_flags_decompose_into_method_emitter_and_energy(mapping):
    m = apply(mapping, {33: "4736"})  # collectif + gaz + radiateur
    assert m.body["data"]["energy"]["energyType"] == {
        "heatForm": {"radiator": True}, "energySource": {"gas": True}, "heatMethod": "CENTRAL"}
    bad = apply(mapping, {33: "12288"})  # collectif + individuel: not in the Poliris table
    assert "W_HEATING_CODE_NONSTANDARD" in codes(bad) and "energy" not in bad.body["data"]


def test_photos_follow_rank_order_across_the_gaps_with_their_captions(mapping):
    m = apply(mapping, {85: "https://x.fr/1.jpg", 86: "", 87: "https://x.fr/3.jpg", 94: "Séjour", 96: "Cuisine",
                        164: "https://x.fr/10.jpg", 274: "Plan", 264: "https://x.fr/21 b.jpg", 285: "Jardin",
                        104: "https://visite.fr/v"})
    media = m.body["media"]
    assert [x["url"] for x in media] == ["https://x.fr/1.jpg", "https://x.fr/3.jpg", "https://x.fr/10.jpg",
                                         "https://x.fr/21%20b.jpg", "https://visite.fr/v"]
    assert [x.get("title") for x in media[:4]] == ["Séjour", "Cuisine", "Plan", "Jardin"]
    assert media[0]["category"] == "LIVING_ROOM" and media[2]["category"] == "FLOOR_PLAN"
    assert media[-1]["mediaType"] == "VIRTUAL_TOUR"


def test_zip_photos_need_a_public_base_url_and_get_a_content_version(mapping):
    m = apply(mapping, {85: "230.jpg"})
    assert "media" not in m.body and "W_PHOTO_NOT_URL" in codes(m)
    feed = FeedContext(agency_id="ag1", photo_base_url="https://cdn.ag1.fr/p", photo_versions={"230.jpg": "0badcafe"})
    m = apply(mapping, {85: "230.jpg"}, feed)
    assert m.body["media"][0]["url"] == "https://cdn.ag1.fr/p/230.jpg?v=0badcafe"


def test_gps_is_longitude_first_and_a_swapped_pair_is_repaired(mapping):
    assert apply(mapping, {298: "48.85563", 299: "2.37312"}).body["data"]["location"]["geometry"] == {
        "type": "Point", "coordinates": [2.37312, 48.85563]}
    m = apply(mapping, {298: "2.37312", 299: "48.85563"})
    assert m.body["data"]["location"]["geometry"]["coordinates"] == [2.37312, 48.85563]
    assert "W_GPS_SWAPPED" in codes(m)


def test_fees_are_written_as_the_alur_sentence(mapping):
    m = apply(mapping, {11: "624000", 15: "4.5", 302: "1", 303: "597000", 307: "https://ag.fr/bareme"})
    note = m.body["data"]["prices"]["priceNote"]["fr"]
    assert "624\u202f000 €" in note and "4,5 % TTC" in note and "acquéreur" in note and "597\u202f000 €" in note
    assert "https://ag.fr/bareme" in note


def test_dpe_blank_and_letters(mapping):
    m = apply(mapping, {176: "182", 177: "D", 178: "38", 179: "E", 324: "14/02/2025", 325: "DPE_v07-2021",
                        326: "1200", 327: "1700", 328: "2021"})
    cert = m.body["data"]["energy"]["countrySpecific"]["fr"]["energyCertificate"]
    assert cert == {"certificateType": "DPE_V07_2021", "efficiencyClass": "D", "GHGEmissionClass": "E",
                    "overallEnergyNeed": 182, "GHGEmission": 38, "releaseDate": "2025-02-14",
                    "energyConsumptionCostMin": 1200, "energyConsumptionCostMax": 1700,
                    "dateOfConsumptionCostEstimation": "2021-01-01"}
    assert apply(mapping, {177: "VI", 179: "VI"}).body["data"]["energy"]["countrySpecific"]["fr"][
        "energyCertificate"] == {"certificateType": "EMPTY"}


def test_a_mapping_config_error_names_file_and_line():
    text = "mapping: x\nformat: poliris\nrules:\n  - to: data.a\n    from: price\n    convert: amount\n    bogus: 1\n"
    with pytest.raises(ConfigError, match=r"x.yaml:7: rules.0.bogus"):
        parse_yaml_model(text, MappingSpec, source="x.yaml")


def test_a_rule_naming_an_unknown_source_field_fails_at_compile_time():
    spec = parse_yaml_model("mapping: x\nformat: poliris\nrules:\n  - {to: data.a, from: nope, convert: amount}\n",
                            MappingSpec, source="x.yaml")
    from etl.mapping import MappingError
    with pytest.raises(MappingError, match="nope"):
        CompiledMapping(spec, COLUMNS, blank_markers=FORMAT.blank_markers)


def test_a_catalogue_house_goes_to_seloger_construire_only(mapping):
    m = apply(mapping, {3: "produit catalogue", 4: "modèle de maison", 82: "SL"})
    assert m.outputs["portals"] == ["SLC"] and m.outputs["portals_explicit"]
    assert "W_PORTAL_NOT_FOR_THIS_LISTING" in codes(m)


def test_a_value_repeated_across_records_converts_the_same_and_an_invalid_one_is_reported_every_time():
    # Converter results are memoised per rule: a hit must write the same value, and a value
    # that fails must fail on every record that carries it, not only the first.
    fresh = CompiledMapping(load_mapping("poliris"), COLUMNS, FORMAT.label, blank_markers=FORMAT.blank_markers)
    for _ in range(3):
        ok = apply(fresh, {19: "2", 11: "350000"})
        assert ok.body["data"]["structure"]["rooms"]["numberOfBedRooms"] == 2
        assert ok.body["data"]["prices"]["buy"]["price"]["amount"] == 350000
        bad = apply(fresh, {19: "deux"})
        assert [i.value for i in bad.issues if i.code == "W_VALUE_IGNORED"] == ["deux"]
        assert "numberOfBedRooms" not in bad.body["data"].get("structure", {}).get("rooms", {})
