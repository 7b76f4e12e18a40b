"""Kyero, Ubiflow and Trovit feeds with real feeds' quirks, converted through the CLI.

Every record is accounted for (accepted + rejected = read), every accepted body is valid
against the official AVIV spec (the oracle), and each quirk lands where it should.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from etl.cli import main
from etl.pipeline import AgencyOptions, convert
from etl.validate.settings import PortalRules
from tests.oracle import assert_spec_valid

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"
FEEDS = {
    "kyero": (SAMPLES / "kyero-riviera.xml", 18, {"KQ-16", "KQ-18"}),
    "ubiflow": (SAMPLES / "ubiflow-agence.xml", 17, {"UQ-17"}),
    "trovit": (SAMPLES / "trovit-annonces.xml", 17, {"", "TQ-15"}),  # no id; TQ-15's duplicate
}


def run_cli(tmp_path: Path, feed: Path, mapping: str) -> tuple[dict, list[dict], list[dict]]:
    out = tmp_path / "out"
    assert main(["convert", str(feed), "--mapping", f"mappings/{mapping}.yaml", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    payloads = [json.loads(line) for line in (out / "payloads.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(out / "rejections.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    return summary, payloads, rows


def by_key(payloads: list[dict]) -> dict[str, dict]:
    return {p["listing_key"]["source_key"]: p["body"] for p in payloads}


@pytest.fixture(autouse=True)
def _in_project(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("dialect", sorted(FEEDS))
def test_every_record_is_accounted_for_and_every_accepted_body_is_spec_valid(tmp_path, dialect):
    feed, count, rejected = FEEDS[dialect]
    summary, payloads, rows = run_cli(tmp_path, feed, dialect)
    totals = summary["totals"]
    assert totals["read"] == count
    assert totals["accepted"] == len(payloads) == count - len(rejected)
    assert totals["accepted"] + totals["rejected"] == totals["read"]
    assert {r["clé source"] for r in rows if r["gravité"] == "erreur"} == rejected
    for body in by_key(payloads).values():
        assert_spec_valid(body)
    assert summary["sources"][0]["complete"] is True


def test_dialects_are_detected_from_content_not_from_the_file_name(tmp_path):
    disguised = tmp_path / "Annonces.csv"
    disguised.write_bytes((SAMPLES / "trovit-annonces.xml").read_bytes())
    out = tmp_path / "o"
    assert main(["convert", str(disguised), "--out", str(out)]) == 0  # no --mapping: the content says Trovit
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["totals"]["accepted"] == 15


def test_kyero_quirks_repaired_photos_ordered_languages_and_weekly_rent(tmp_path):
    _, payloads, rows = run_cli(tmp_path, SAMPLES / "kyero-riviera.xml", "kyero")
    bodies = by_key(payloads)
    villa = bodies["KQ-13"]
    texts = villa["data"]["texts"]["description"]
    assert texts["de"] == "Villa mit Grundstück und Meerblick." and texts["en"].startswith("Contemporary")
    assert "<p>" not in texts["fr"] and "Visite virtuelle sur demande !" in texts["fr"]
    # Ordered by @id, titles in French, raw spaces percent-encoded.
    assert [(m["url"].rsplit("/", 1)[1], m.get("title")) for m in villa["media"]] == [
        ("facade%20sud.jpg", "Façade"), ("salon%20principal.jpg", "Séjour")]
    assert "geometry" not in villa["data"]["location"]  # empty latitude: no point, a warning
    assert "energy" not in villa["data"]  # A/A is the software's default, not a rating
    assert villa["data"]["metaData"]["source"]["offererMarketingKey"] == "RIV-13"  # stray spaces trimmed
    codes = {(r["clé source"], r["code"]) for r in rows}
    assert {("KQ-13", "W_ENCODING_REPAIRED"), ("KQ-13", "W_GPS_INVALID"), ("KQ-13", "W_PLACEHOLDER_IGNORED")} <= codes
    weekly = bodies["KQ-14"]
    assert weekly["data"]["prices"]["rent"] == {"baseRent": {"amount": 2400}, "priceTimeUnit": "WEEK"}
    assert weekly["data"]["management"]["isForHolidayRental"] is True
    assert len(weekly["media"]) == 1 and weekly["media"][0]["url"].endswith("/terrasse.jpg")  # one image, not letters
    assert bodies["KQ-15"]["data"]["prices"]["buy"]["price"]["amount"] == 1_250_000  # dotted thousands
    bare = bodies["KQ-17"]["data"]
    assert "media" not in bodies["KQ-17"] and "spaces" not in bare and bare["texts"] == {"features": {"en": "Lift"}}
    assert ("KQ-18", "E_VALUE_INVALID") in codes


def test_kyero_listing_abroad_is_refused_by_seloger_and_published_on_belles_demeures():
    both = PortalRules(default_portals=["SL", "BD"])
    outcomes = {o.key.source_key: o for o in convert(SAMPLES / "kyero-riviera.xml", mapping="kyero",
                                                      options_for=lambda _a: AgencyOptions(portal_rules=both))}
    spain = outcomes["KQ-16"]
    assert spain.accepted and spain.portals == ["BD"]
    assert spain.body["data"]["location"]["country"] == "ESP"
    sl = next(i for i in spain.issues if i.portal == "SL")
    assert sl.code == "W_PORTAL_NOT_FOR_THIS_LISTING" and "hors de France (pays ESP)" in sl.message
    assert_spec_valid(spain.body)
    # A French one of the same feed goes to both.
    assert outcomes["KQ-13"].portals == ["SL", "BD"]


def test_kyero_listing_abroad_with_seloger_only_is_rejected_with_the_reason(tmp_path):
    _, payloads, rows = run_cli(tmp_path, SAMPLES / "kyero-riviera.xml", "kyero")
    assert "KQ-16" not in by_key(payloads)
    reason = next(r for r in rows if r["clé source"] == "KQ-16" and r["code"] == "E_PORTAL_NOT_FOR_THIS_LISTING")
    assert "Belles Demeures" in reason["message"] and reason["champ source"].startswith("élément <country>")


def test_ubiflow_quirks_markup_french_numbers_photo_order_and_lease_transfer(tmp_path):
    _, payloads, rows = run_cli(tmp_path, SAMPLES / "ubiflow-agence.xml", "ubiflow")
    bodies = by_key(payloads)
    house = bodies["UQ-13"]["data"]
    assert house["texts"]["description"]["fr"] == "Maison de village rénovée.\nTrois chambres, jardin clos.\nCoup de cœur & calme."
    assert house["prices"]["buy"]["price"]["amount"] == 350000.5 and house["spaces"]["residential"]["livingSpace"] == 96.5
    assert house["estateType"] == "HOUSE"  # code_type outside <bien>, refined code 1210
    assert house["prices"]["priceNote"]["fr"] == "Honoraires à la charge de l'acquéreur."  # ISO-8859-1 read as declared
    assert [m["title"] for m in bodies["UQ-14"]["media"]] == ["Séjour", "Cuisine", "Chambre"]
    assert len(bodies["UQ-13"]["media"]) == 1
    lease = bodies["UQ-15"]
    assert lease["portals"] == ["SL", "BUCOM"]
    assert lease["data"]["prices"]["rent"]["countrySpecific"]["fr"]["leaseRight"]["amount"] == 85000
    seasonal = bodies["UQ-16"]["data"]
    assert seasonal["management"]["isForHolidayRental"] is True and seasonal["estateSubType"] == {"apartment": "STUDIO"}
    bad = [r for r in rows if r["clé source"] == "UQ-17" and r["gravité"] == "erreur"]
    assert bad[0]["code"] == "E_VALUE_INVALID" and bad[0]["champ source"] == "élément <bien/code_postal>"
    assert "/flux/client/annonce[17]" in bad[0]["fichier"]


def test_trovit_quirks_cdata_html_weekly_rent_and_invalid_ids(tmp_path):
    _, payloads, rows = run_cli(tmp_path, SAMPLES / "trovit-annonces.xml", "trovit")
    bodies = by_key(payloads)
    house = bodies["TQ-13"]["data"]
    assert house["texts"]["headline"]["fr"] == "Maison avec jardin"
    assert house["texts"]["description"]["fr"] == "Belle maison familiale.\n4 chambres\nJardin 600 m²"
    assert house["spaces"]["residential"]["livingSpace"] == 132.5
    chalet = bodies["TQ-14"]["data"]
    assert chalet["prices"]["rent"]["priceTimeUnit"] == "WEEK" and chalet["spaces"]["spaceMeasureUnit"] == "SQUARE_FOOT"
    missing = next(r for r in rows if r["code"] == "E_KEY_MISSING")
    assert "/trovit/ad[16]" in missing["message"] and "élément <id>" in missing["message"]
    dup = next(r for r in rows if r["code"] == "E_KEY_DUPLICATE")
    assert dup["clé source"] == "TQ-15" and "/trovit/ad[17]" in dup["message"]
    assert bodies["TQ-15"]["data"]["estateType"] == "PLOT"  # the first of the two keeps its listing


def test_the_samples_are_what_the_script_writes(tmp_path):
    from sample_feeds.make_xml_samples import SAMPLES as SPECS, render
    for name, (dialect, encoding, quirks) in SPECS.items():
        assert (SAMPLES / name).read_bytes() == render(dialect, encoding, quirks), name
