"""Poliris fidelity (issue 13): placeholders are not facts, commercial leases carry the right money,
nothing mappable is dropped. One test per defect class, on Poliris lines written by the project's
writer and converted end to end; each asserts the body sent and the report line (the issue)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.extract.poliris import COLUMNS, FORMAT
from etl.extract.poliris.fields import FIELDS
from etl.extract.poliris.writer import row_values, write_annonces
from etl.records import SourceLocation, SourceRecord
from etl.mapping import CompiledMapping, FeedContext, MappingError, load_mapping
from etl.mapping.spec import MappingSpec
from etl.yaml_config import parse_yaml_model
from etl.mapping.geo_fr import DEPARTMENTS, department, km_from_department
from etl.outcome import Outcome
from etl.pipeline import convert
from oracle import assert_spec_valid

DOCS = Path(__file__).resolve().parents[1] / "docs" / "mapping-decisions.md"
TEXT = "Bel appartement lumineux, proche des commerces et des transports. " * 4

SALE = {1: "ag", 2: "REF-1", 3: "vente", 4: "Appartement", 5: "75011", 6: "Paris", 11: "350000", 18: "3",
        20: "T3 Oberkampf", 21: TEXT, 175: "T-1", 302: "2"}
RENTAL = {**SALE, 3: "location", 11: "1085", 23: "95", 304: "2", 302: ""}
SHOP_SALE = {**SALE, 4: "boutique", 20: "Boutique", 21: "Boutique sur rue passante. " * 8}


def run(tmp_path: Path, *rows: dict, width: int = 334) -> list[Outcome]:
    """Write the rows as an Annonces.csv (cp1252, the spec's quoting) and convert it."""
    numbered = [{**row, 175: f"T-{n}", 2: f"REF-{n}"} for n, row in enumerate(rows, 1)]
    path = write_annonces(tmp_path / "Annonces.csv", numbered, width=width)
    outcomes = list(convert(path))
    for o in outcomes:
        if o.accepted:
            assert_spec_valid(o.body)
    return outcomes


def one(tmp_path: Path, row: dict) -> Outcome:
    (o,) = run(tmp_path, row)
    assert o.accepted, [(e.code, e.message) for e in o.errors]
    return o


def issue(o: Outcome, code: str):
    found = [i for i in o.issues if i.code == code]
    assert len(found) == 1, [(i.code, i.message) for i in o.issues]
    return found[0]


def data(o: Outcome) -> dict:
    return o.body["data"]


# 1. GPS placeholders ---------------------------------------------------------------------------

@pytest.mark.parametrize(("lat", "lon", "postcode", "code", "words"), [
    ("0.000000000", "0.000000000", "75011", "W_PLACEHOLDER_IGNORED", "valeur par défaut ignorée"),
    ("43.551300000", "0", "06400", "W_PLACEHOLDER_IGNORED", "valeur par défaut ignorée"),  # Riviera sent 550 km west
    ("48.8574", "2.3795", "83990", "W_GPS_INVALID", "du département 83"),  # Paris pin on a Saint-Tropez listing
    ("-21.1", "2.3795", "75011", "W_GPS_INVALID", "du département 75"),
])
def test_gps_placeholders_and_implausible_points_are_not_sent(tmp_path, lat, lon, postcode, code, words):
    o = one(tmp_path, {**SALE, 5: postcode, 298: lat, 299: lon})
    assert "geometry" not in data(o)["location"]
    warning = issue(o, code)
    assert words in warning.message and warning.value == f"{lat};{lon}" and not warning.is_error
    assert warning.source_field.startswith("champ 298")


def test_a_plausible_point_is_sent_even_overseas_and_at_the_edge_of_its_department(tmp_path):
    near, overseas = run(tmp_path, {**SALE, 5: "06400", 298: "43.5513", 299: "7.0128"},
                         {**SALE, 5: "97400", 6: "Saint-Denis", 298: "-20.8789", 299: "55.4481"})
    assert data(near)["location"]["geometry"]["coordinates"] == [7.0128, 43.5513]
    assert data(overseas)["location"]["geometry"]["coordinates"] == [55.4481, -20.8789]
    assert not near.warnings and not overseas.warnings


# 2. Cession de bail: fees follow the sale convention, charges are kept ------------------------

def test_a_lease_transfer_states_its_fees_as_a_sale_and_keeps_its_charges(tmp_path):
    o = one(tmp_path, {**SHOP_SALE, 3: "cession de bail", 11: "56000", 12: "2350", 15: "12", 302: "1",
                       303: "50000", 23: "180", 218: ""})
    prices = data(o)["prices"]
    assert prices["rent"]["countrySpecific"]["fr"]["leaseRight"] == {"amount": 56000}
    assert prices["rent"]["baseRent"] == {"amount": 2350} and prices["rent"]["operatingCosts"] == {"amount": 180}
    assert prices["priceNote"]["fr"] == ("Prix de cession honoraires inclus : 56\u202f000 €, dont 12 % TTC "
                                         "d'honoraires à la charge de l'acquéreur (50\u202f000 € hors honoraires).")
    assert "locataire" not in prices["priceNote"]["fr"]


# 3. Annual rent --------------------------------------------------------------------------------

def test_annual_rent_is_never_sent_as_base_rent_per_year_beside_a_monthly_rent(tmp_path):
    o = one(tmp_path, {**RENTAL, 4: "bureaux", 11: "2500", 23: "300", 202: "30000", 207: "OUI"})
    rent = data(o)["prices"]["rent"]
    assert "baseRentPerYear" not in rent
    assert rent["priceTimeUnit"] == "MONTH" and rent["baseRent"] == {"amount": 2200}


def test_a_rent_given_only_per_year_is_a_yearly_rent_without_its_charges(tmp_path):
    o = one(tmp_path, {**RENTAL, 4: "bureaux", 11: "", 23: "", 202: "36000", 203: "4800", 207: "OUI", 208: "OUI"})
    rent = data(o)["prices"]["rent"]
    assert rent["priceTimeUnit"] == "YEAR" and "baseRentPerYear" not in rent
    assert rent["baseRent"] == {"amount": 31200, "isVatIncluded": False}
    assert rent["totalRent"] == {"amount": 36000, "isVatIncluded": False}
    assert rent["operatingCosts"] == {"amount": 4800}


# 4. Placeholder DPE data and kitchens ----------------------------------------------------------

def test_dpe_software_defaults_are_dropped_and_counted(tmp_path):
    o = one(tmp_path, {**SALE, 176: "182", 177: "D", 178: "38", 179: "E", 324: "01/01/2000", 328: "01/01/2000"})
    cert = data(o)["energy"]["countrySpecific"]["fr"]["energyCertificate"]
    assert "releaseDate" not in cert and "dateOfConsumptionCostEstimation" not in cert
    assert cert["efficiencyClass"] == "D" and cert["certificateType"] == "DPE_V07_2021"
    found = [i for i in o.issues if i.code == "W_PLACEHOLDER_IGNORED"]
    assert {i.source_field.split(" (")[0] for i in found} == {"champ 324", "champ 328"}
    assert all("valeur par défaut ignorée" in i.message and i.value == "01/01/2000" for i in found)


def test_a_lone_ges_letter_or_dpe_version_is_not_a_certificate(tmp_path):
    parking, nothing = run(tmp_path, {**SALE, 4: "parking/box", 18: "", 11: "25000", 179: "E", 21: TEXT},
                           {**SALE, 325: "DPE_v07-2021"})
    assert "energy" not in data(parking) and "energy" not in data(nothing)
    assert issue(parking, "W_PLACEHOLDER_IGNORED").source_field.startswith("champ 179")
    assert issue(nothing, "W_PLACEHOLDER_IGNORED").source_field.startswith("champ 325")


def test_no_kitchen_is_a_default_on_a_parking_lot_and_a_fact_in_a_flat(tmp_path):
    parking, flat = run(tmp_path, {**SALE, 4: "parking/box", 18: "", 11: "25000", 34: "1"}, {**SALE, 34: "1"})
    assert "kitchen" not in data(parking).get("structure", {}).get("building", {})
    warning = issue(parking, "W_PLACEHOLDER_IGNORED")
    assert warning.source_field.startswith("champ 34") and "valeur par défaut ignorée" in warning.message
    assert data(flat)["structure"]["building"]["kitchen"] == {"kitchenEquipment": "NONE"}


# 5. Blank markers per field: the ground floor -------------------------------------------------

def test_floor_zero_is_the_ground_floor_but_a_default_on_a_plot(tmp_path):
    flat, plot = run(tmp_path, {**SALE, 24: "0"}, {**SALE, 4: "terrain", 18: "", 17: "800", 24: "0"})
    assert data(flat)["location"]["floorNumber"] == 0 and not flat.warnings
    assert "floorNumber" not in data(plot)["location"]
    assert issue(plot, "W_PLACEHOLDER_IGNORED").source_field.startswith("champ 24")


def test_other_fields_keep_zero_as_empty(tmp_path):
    o = one(tmp_path, {**SALE, 19: "0", 25: "0", 17: "0.00"})
    assert "numberOfBedRooms" not in data(o).get("structure", {}).get("rooms", {})
    assert "plotSpace" not in data(o).get("spaces", {}) and not o.warnings


# 6. Video links --------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "kind"), [
    ("https://www.youtube.com/watch?v=abc123", "VIDEO"), ("https://youtu.be/abc123", "VIDEO"),
    ("https://vimeo.com/123456", "VIDEO"), ("https://www.dailymotion.com/video/x7abc", "VIDEO"),
    ("https://my.matterport.com/show/?m=abc", "VIRTUAL_TOUR"),
])
def test_video_platform_links_are_videos_not_virtual_tours(tmp_path, url, kind):
    o = one(tmp_path, {**SALE, 85: "https://cdn.ag.fr/1.jpg", 104: url})
    assert o.body["media"][-1] == {"url": url, "mediaType": kind}


# 7. Fields AVIV has a home for -----------------------------------------------------------------

def test_transport_final_energy_vat_and_divisible_are_sent(tmp_path):
    flat, shop = run(tmp_path, {**SALE, 193: "Métro ligne 8", 194: "Faidherbe-Chaligny", 176: "182", 177: "D",
                                334: "101"},
                     {**SHOP_SALE, 3: "location", 11: "3000", 23: "", 14: "OUI", 213: "OUI", 218: "0"})
    assert data(flat)["texts"]["transportation"] == {"metro": {"fr": "Métro ligne 8 – Faidherbe-Chaligny"}}
    assert data(flat)["energy"]["countrySpecific"]["fr"]["energyCertificate"]["finalConsumption"] == 101
    assert data(shop)["prices"]["rent"]["baseRent"] == {"amount": 3000, "isVatIncluded": False}
    assert data(shop)["countrySpecific"]["fr"]["business"]["isDivisible"] is True


def test_seats_offices_rent_per_m2_guests_and_vat_free_prices_are_sent(tmp_path):
    shop, holiday, sale = run(tmp_path, {**SHOP_SALE, 3: "location", 11: "3000", 196: "40", 199: "3", 204: "180",
                                         218: "0"},
                              {**RENTAL, 3: "location vacances", 55: "6"},
                              {**SHOP_SALE, 245: "OUI", 82: "SL"})
    assert data(shop)["features"]["commercial"] == {"restaurantSeats": 40}
    assert data(shop)["structure"]["commercial"] == {"numberOfOfficeRooms": 3}
    assert data(shop)["prices"]["rent"]["pricePerSqUnitPerYear"] == {"amount": 180}
    assert data(holiday)["management"]["rent"]["maxPersons"] == 6
    assert data(sale)["prices"]["buy"]["price"] == {"amount": 350000, "isVatIncluded": False}


def test_a_final_energy_above_the_primary_one_is_not_that_fact(tmp_path):
    o = one(tmp_path, {**SALE, 176: "182", 177: "D", 334: "250"})
    assert "finalConsumption" not in data(o)["energy"]["countrySpecific"]["fr"]["energyCertificate"]
    assert "supérieure à la consommation d'énergie primaire" in issue(o, "W_VALUE_IGNORED").message


@pytest.mark.parametrize(("cc", "base", "total"), [("NON", 1000, 1100), ("OUI", 900, 1000), ("", 900, 1000)])
def test_rent_charges_are_subtracted_only_from_a_rent_stated_charges_included(tmp_path, cc, base, total):
    o = one(tmp_path, {**RENTAL, 11: "1000", 23: "100", 13: cc})
    rent = data(o)["prices"]["rent"]
    assert rent["baseRent"] == {"amount": base} and rent["totalRent"] == {"amount": total}
    assert rent["operatingCosts"] == {"amount": 100}


# 8. Advice names the field that applies to this listing ---------------------------------------

def test_lease_right_advice_names_field_218_on_a_commercial_sale_and_0_satisfies_it(tmp_path):
    missing, none = run(tmp_path, {**SHOP_SALE, 82: "SL"}, {**SHOP_SALE, 82: "SL", 218: "0"})
    assert missing.accepted and missing.portals == ["SL"]
    advice = issue(missing, "W_BUCOM_LEASE_RIGHT_MISSING")
    assert advice.portal == "BUCOM" and advice.source_field.startswith("champ 218")
    assert "champ 218" in advice.message and "champ 11" not in advice.message
    assert none.portals == ["SL", "BUCOM"] and not none.warnings
    assert data(none)["prices"]["rent"]["countrySpecific"]["fr"]["leaseRight"] == {"amount": 0}


def test_the_label_of_a_path_several_rules_write_is_the_rule_that_applies_to_this_listing():
    """Not the first rule writing the path: the first whose condition holds for this record, even
    when its field is empty (that is when the advice matters)."""
    yaml_text = ("mapping: x\nformat: poliris\nrules:\n"
                 "  - {to: data.lease, from: price, convert: amount,"
                 " when: {field: transaction_type, equals: cession de bail}}\n"
                 "  - {to: data.lease, from: leasehold_right_price, convert: amount}\n")
    compiled = CompiledMapping(parse_yaml_model(yaml_text, MappingSpec, source="x.yaml"), COLUMNS,
                               lambda name: f"label of {name}", blank_markers=FORMAT.blank_markers)
    choose = compiled.label_choosers["data.lease"]
    shop = row_values({3: "location"}, 334)
    cession = row_values({3: "cession de bail"}, 334)
    assert choose(shop, {}, {}) == "label of leasehold_right_price"
    assert choose(cession, {}, {}) == "label of price"


def test_lease_right_advice_names_field_218_on_a_commercial_rental_too(tmp_path):
    """The rent builder (field 11) fills data.prices.rent, but field 218's own rule applies here."""
    o = one(tmp_path, {**SHOP_SALE, 3: "location", 11: "2400", 82: "SL"})
    advice = issue(o, "W_BUCOM_LEASE_RIGHT_MISSING")
    assert advice.source_field.startswith("champ 218") and "champ 11" not in advice.message


def test_a_rental_without_rent_is_told_field_11_by_every_rule_even_where_a_cession_reads_field_12(tmp_path):
    """baseRent is written by the rent builder (field 11) and, for a cession de bail, by field 12:
    the portal's advice for an ordinary rental must not send the agency to field 12."""
    o = run(tmp_path, {**RENTAL, 11: "", 82: "SL"})[0]
    assert not o.accepted
    named = {i.code: i.source_field for i in o.issues if i.source_field}
    assert named["E_SL_PRICE_MISSING"].startswith("champ 11")
    assert "champ 12" not in issue(o, "E_SL_PRICE_MISSING").message


# 9. Warnings that were missing -----------------------------------------------------------------

def test_a_headline_written_as_a_blank_marker_is_no_headline_and_is_reported(tmp_path):
    o = one(tmp_path, {**SALE, 20: "0"})
    assert "headline" not in data(o).get("texts", {})
    assert issue(o, "W_HEADLINE_MISSING")


def test_buyer_paid_fees_without_any_figure_are_reported(tmp_path):
    o = one(tmp_path, {**SALE, 302: "1", 15: "0.0", 303: ""})
    warning = issue(o, "W_FEES_UNDISCLOSED")
    assert warning.source_field.startswith("champ 302") and "loi Alur" in warning.message


def test_an_empty_headline_is_reported(tmp_path):
    o = one(tmp_path, {**SALE, 20: ""})
    assert "headline" not in data(o)["texts"]
    assert issue(o, "W_HEADLINE_MISSING").source_field.startswith("champ 20")


@pytest.mark.parametrize(("version", "date", "said"), [("DPE_v01-2011", "15/03/2023", "DPE_v01-2011"),
                                                         ("DPE_v07-2021", "15/03/2019", "DPE_v07-2021")])
def test_a_dpe_version_contradicting_its_date_is_reported(tmp_path, version, date, said):
    o = one(tmp_path, {**SALE, 176: "182", 177: "D", 324: date, 325: version})
    warning = issue(o, "W_DPE_VERSION_DATE_MISMATCH")
    assert f"« {said} »" in warning.message and "1er juillet 2021" in warning.message
    assert data(o)["energy"]["countrySpecific"]["fr"]["energyCertificate"]["releaseDate"]


def test_a_non_standard_heating_code_names_the_software_and_the_code(tmp_path):
    o = one(tmp_path, {**SALE, 33: "13"})
    warning = issue(o, "W_HEATING_CODE_NONSTANDARD")
    assert "logiciel d'envoi" in warning.message and "« 13 »" in warning.message and warning.value == "13"
    assert "energy" not in data(o)


def test_html_entities_and_tags_are_removed_from_texts_with_a_warning(tmp_path):
    o = one(tmp_path, {**SALE, 20: "Appartement T3 &amp; jardin",
                       21: "Un <i>superbe</i> appartement<BR>Cuisine &eacute;quip&eacute;e, prix &lt; march&eacute;. " * 3})
    texts = data(o)["texts"]
    assert texts["headline"]["fr"] == "Appartement T3 & jardin"
    assert texts["description"]["fr"].startswith("Un superbe appartement\nCuisine équipée, prix < marché.")
    found = {i.source_field.split(" (")[0]: i for i in o.issues if i.code == "W_TEXT_HTML"}
    assert set(found) == {"champ 20", "champ 21"} and "<i>" in found["champ 21"].message


# The mapping feature itself, as another format would use it --------------------------------------

GENERIC = """
mapping: other
format: poliris
blank: ["-", "n/a"]
fields:
  rooms: {blank: [], placeholders: ["99"]}
  bedrooms: {placeholders: ["9"], placeholder_when: {field: property_type, equals: terrain}}
rules:
  - {to: data.rooms, from: rooms, convert: count}
  - {to: data.bedrooms, from: bedrooms, convert: count}
  - {to: data.toilets, from: toilets, convert: count}
"""


def _generic(values: dict):
    spec = parse_yaml_model(GENERIC, MappingSpec, source="other.yaml")
    record = SourceRecord("ag", "k", SourceLocation("x", 1, 1), row_values(values, 334), COLUMNS)
    return CompiledMapping(spec, COLUMNS, blank_markers=FORMAT.blank_markers).apply(record, FeedContext())


def test_blank_markers_and_placeholders_are_declared_per_field_by_any_mapping():
    m = _generic({18: "0", 19: "9", 31: "0", 4: "maison"})
    assert m.body["data"] == {"rooms": 0, "bedrooms": 9, "toilets": 0} and not m.issues  # "0" is no marker here
    m = _generic({18: "99", 19: "9", 31: "n/a", 4: "terrain"})
    assert m.body == {}
    assert [(i.code, i.source_field, i.value) for i in m.issues] == [
        ("W_PLACEHOLDER_IGNORED", "rooms", "99"), ("W_PLACEHOLDER_IGNORED", "bedrooms", "9")]


def test_a_builder_cannot_read_a_field_whose_zero_the_mapping_calls_a_value():
    spec = parse_yaml_model("mapping: x\nformat: poliris\nfields: {bathrooms: {blank: []}}\nrules:\n"
                            "  - {to: data.b, from: [bathrooms, shower_rooms], build: bathrooms}\n",
                            MappingSpec, source="x.yaml")
    with pytest.raises(MappingError, match="bathrooms"):
        CompiledMapping(spec, COLUMNS, blank_markers=FORMAT.blank_markers)


# The coverage table ----------------------------------------------------------------------------

def _table() -> dict[int, tuple[str, str, str]]:
    """docs/mapping-decisions.md « Field coverage »: rank → (name, status, where / why)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Field coverage", 1)[1]
    rows = {}
    for line in section.splitlines():
        if m := re.match(r"\|\s*(\d+)\s*\|\s*`?([a-z0-9_]+)`?\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|$", line):
            rank = int(m[1])
            assert rank not in rows, f"field {rank} listed twice"
            rows[rank] = (m[2], m[3], m[4])
    return rows


def _read_by_mapping() -> set[str]:
    spec = load_mapping("poliris")
    names: set[str] = set(spec.fields)

    def conditions(c) -> None:
        if c is None:
            return
        if c.field:
            names.add(c.field)
        for sub in (c.all or []) + (c.any or []) + ([c.not_] if c.not_ else []):
            conditions(sub)

    for rule in spec.rules:
        names.update(rule.sources)
        conditions(rule.when)
    names.add(spec.identity.marketing_key)
    # The listing key: {agency_id}-{source_key}, the source key being field 175.
    names.update({"agency_id", "technical_id"})
    return names


def test_the_coverage_table_lists_every_poliris_field_once_with_its_name():
    rows = _table()
    assert sorted(rows) == list(range(1, 335))
    by_rank = {rank: name for rank, (name, _fr) in enumerate(FIELDS, 1)}
    assert {rank: row[0] for rank, row in rows.items()} == by_rank
    assert {row[1] for row in rows.values()} <= {"mapped", "not sent", "no AVIV home"}
    assert all(row[2] for row in rows.values()), "every row says where the field goes, or why not"


def test_the_coverage_table_agrees_with_what_the_mapping_reads():
    rows = _table()
    mapped = {rows[rank][0] for rank in rows if rows[rank][1] == "mapped"}
    read = _read_by_mapping()
    assert read - mapped == set(), "read by the mapping but not marked mapped in docs/mapping-decisions.md"
    assert mapped - read == set(), "marked mapped in docs/mapping-decisions.md but not read by the mapping"


# The département table -------------------------------------------------------------------------

@pytest.mark.parametrize(("postcode", "lat", "lon"), [
    ("01000", 46.205, 5.226), ("06000", 43.703, 7.266), ("13001", 43.297, 5.381), ("20000", 41.919, 8.739),
    ("20200", 42.697, 9.450), ("29200", 48.390, -4.486), ("31000", 43.604, 1.444), ("33000", 44.838, -0.579),
    ("59000", 50.629, 3.057), ("64200", 43.483, -1.559), ("67000", 48.573, 7.752), ("75001", 48.862, 2.336),
    ("83000", 43.124, 5.928), ("97110", 16.241, -61.533), ("97300", 4.937, -52.326), ("97400", -20.882, 55.450),
    ("97600", -12.781, 45.228), ("98000", 43.738, 7.424),
])
def test_known_towns_fall_inside_their_departement(postcode, lat, lon):
    code = department(postcode)
    assert code in DEPARTMENTS and km_from_department(lat, lon, code) == 0


def test_a_mapping_wide_blank_marker_reaches_builders_too():
    spec = parse_yaml_model("mapping: x\nformat: poliris\nblank: ['0', '0.0', '0.00', '00/00/0000', '0000-00-00', '00/00/00', '-']\nrules:\n"
                            "  - {to: data.texts.headline.fr, from: title, build: text}\n",
                            MappingSpec, source="x.yaml")
    record = SourceRecord("ag", "k", SourceLocation("x", 1, 1), row_values({20: "-"}, 334), COLUMNS)
    assert CompiledMapping(spec, COLUMNS, blank_markers=FORMAT.blank_markers).apply(record, FeedContext()).body == {}
