"""Convert end to end: real files through extract → map → check → portal rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.extract.poliris.writer import write_annonces, write_zip
from etl.feedgen import PROFILES, listing, listings
from etl.pipeline import convert
from etl.records import FeedFacts
from oracle import assert_spec_valid

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"


def test_the_reference_poliris_example_converts_to_spec_valid_bodies():
    outcomes = list(convert(REFERENCE / "poliris-example"))
    assert [o.reference for o in outcomes] == ["VA-2031", "LO-3307", "BD-0457", "CB-0088", "MOD-OCEANE4"]
    assert all(o.accepted for o in outcomes), [(o.reference, o.errors) for o in outcomes if not o.accepted]
    for o in outcomes:
        assert_spec_valid(o.body)
        assert o.body["data"]["metaData"]["source"]["offererMarketingKey"] == o.reference
    by_ref = {o.reference: o for o in outcomes}
    assert by_ref["BD-0457"].portals == ["SL", "BD"]
    assert "BUCOM" in by_ref["CB-0088"].portals
    assert by_ref["MOD-OCEANE4"].portals == ["SLC"]  # catalogue house: SeLoger Construire only
    # cp1252 decoded: accents intact.
    assert "Métro Bastille" == by_ref["VA-2031"].body["data"]["location"]["locationNote"]["fr"]


def test_every_sample_feed_record_is_accounted_for():
    for sample in sorted(SAMPLES.glob("*.zip")):
        stats = FeedFacts(source=str(sample))
        outcomes = list(convert(sample, stats=stats))
        assert len(outcomes) == stats.records > 0
        for o in outcomes:
            if o.accepted:
                assert_spec_valid(o.body)
                assert o.portals
            else:
                assert o.errors, f"{sample.name} line {o.location.line}: rejected without a reason"
                assert all(e.message for e in o.errors)


def test_real_agency_software_export_listings_with_price_place_type_and_text_are_accepted(tmp_path):
    """cp1252, LF, 334 fields, trailing !#, mixed case — like the Hektor export of feed-quirks.md."""
    rows = list(listings(len(PROFILES) * 2, agencies=("ag-a", "ag-b"), seed=5))
    for i, row in enumerate(rows):
        row[3] = row[3].upper() if i % 3 == 0 else row[3].capitalize() if i % 3 == 1 else row[3]
    path = write_annonces(tmp_path / "Annonces.csv", rows, encoding="cp1252", newline="\n", width=334,
                          trailing_separator=True)
    outcomes = list(convert(path))
    assert len(outcomes) == len(rows)
    rejected = [(o.reference, [(e.code, e.message) for e in o.errors]) for o in outcomes if not o.accepted]
    assert rejected == []
    for o in outcomes:
        assert_spec_valid(o.body)


def test_a_listing_is_published_where_eligible_and_warned_about_the_rest(tmp_path):
    import random
    row = {**listing(random.Random(1), 1, "ag", PROFILES[0]), 82: "SL,BD", 11: "240000", 5: "69003"}
    path = write_annonces(tmp_path / "Annonces.csv", [row])
    (o,) = convert(path)
    assert o.accepted and o.portals == ["SL"]
    dropped = [w for w in o.warnings if w.portal == "BD"]
    assert dropped and all(w.message for w in dropped)


def test_a_listing_eligible_nowhere_is_rejected_with_reasons_naming_the_field(tmp_path):
    import random
    row = {**listing(random.Random(2), 1, "ag", PROFILES[0]), 11: ""}
    path = write_annonces(tmp_path / "Annonces.csv", [row])
    (o,) = convert(path)
    assert not o.accepted and o.body is None
    price = next(e for e in o.errors if e.code == "E_PRICE_MISSING")
    assert price.source_field and "champ 11" in price.source_field


def test_convert_keeps_one_agency_of_a_grouped_send(tmp_path):
    stats = FeedFacts(source="g")
    outcomes = list(convert(SAMPLES / "groupe-sud.zip", only_agency="sud-nice", stats=stats))
    assert outcomes and {o.agency_id for o in outcomes} == {"sud-nice"}
    assert stats.other_agencies > 0


def test_a_truncated_upload_marks_the_feed_incomplete(tmp_path):
    rows = list(listings(20, seed=3))
    path = write_annonces(tmp_path / "Annonces.csv", rows, encoding="utf-8")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    stats = FeedFacts(source=str(path))
    outcomes = list(convert(path, stats=stats))
    assert stats.complete is False and stats.problems
    assert not outcomes[-1].accepted  # the cut record is reported, not silently dropped
