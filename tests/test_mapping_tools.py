"""``mapping suggest`` on a spreadsheet it has never seen, and ``mapping check``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

from etl.cli import main
from etl.sheetgen import csv_text, sheet_rows, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
# The template's headers as another agency's software names them (none is a declared spelling).
RENAMED = {"Référence": "Réf. bien", "Transaction": "Type d'opération", "Type de bien": "Catégorie du bien",
           "Prix": "Prix/Loyer (€)", "Code postal": "CP du bien", "Ville": "Commune du bien",
           "Surface habitable": "Surf. hab. (m²)", "Pièces": "Nombre pièces", "Chambres": "Nb ch.",
           "Description": "Texte annonce", "Titre": "Titre annonce", "Photos": "Liens images",
           "Latitude": "GPS lat", "Longitude": "GPS lng", "E-mail": "Mail négociateur", "Disponible le": "Date dispo",
           "Charges": "Prov. charges/mois"}
EXPECTED = {"Réf. bien": "reference", "Type d'opération": "transaction_type", "Catégorie du bien": "property_type",
            "Prix/Loyer (€)": "price", "CP du bien": "postal_code", "Commune du bien": "city",
            "Surf. hab. (m²)": "living_area", "Nombre pièces": "rooms", "Nb ch.": "bedrooms",
            "Texte annonce": "description", "Titre annonce": "title", "Liens images": "photos", "GPS lat": "latitude",
            "GPS lng": "longitude", "Mail négociateur": "contact_email", "Date dispo": "available_from",
            "Prov. charges/mois": "charges"}
LISTINGS = 60


def unseen_workbook(path: Path) -> list[dict[str, str]]:
    rows = list(sheet_rows(LISTINGS, seed=99))
    renamed = [{**{RENAMED[k]: v for k, v in r.items() if k in RENAMED}, "Honoraires (%)": "4,5", "Notes internes": "RAS"}
               for r in rows]
    headers = [*RENAMED.values(), "Honoraires (%)", "Notes internes"]
    random.Random(3).shuffle(headers)
    write_xlsx(path, renamed, headers=headers, title=["Mon stock au 12/03/2025"])
    return rows


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def payloads(out: Path) -> dict[str, dict]:
    lines = (out / "payloads.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(x)["listing_key"]["source_key"]: json.loads(x)["body"] for x in lines}


def test_suggest_matches_renamed_shuffled_columns_by_name_and_content(tmp_path, capsys):
    source = tmp_path / "stock-inconnu.xlsx"
    unseen_workbook(source)
    code, draft_text, _ = run(capsys, "mapping", "suggest", str(source))
    assert code == 0
    draft = yaml.safe_load(draft_text)
    matched = {aliases[0]: name for name, aliases in draft["source"]["columns"].items() if aliases}
    assert matched == EXPECTED
    assert draft["format"] == "excel" and draft["extends"] == "generic-csv"
    assert "# Colonnes non reconnues" in draft_text and "« Honoraires (%) » (ex. : 4,5)" in draft_text


def test_an_unedited_suggested_mapping_converts_most_listings_as_the_template_would(tmp_path, capsys):
    source = tmp_path / "stock-inconnu.xlsx"
    rows = unseen_workbook(source)
    _, draft_text, _ = run(capsys, "mapping", "suggest", str(source))
    draft = tmp_path / "inconnu.yaml"
    draft.write_text(draft_text, encoding="utf-8")
    assert read_as_the_template(capsys, tmp_path, source, draft, rows) >= 0.8 * LISTINGS


def read_as_the_template(capsys, tmp_path: Path, source: Path, mapping: Path, rows: list[dict[str, str]]) -> int:
    """How many listings ``mapping`` reads from ``source`` as the template mapping reads the same
    rows laid out as the template (the reference)."""
    code, _, _ = run(capsys, "convert", str(source), "--mapping", str(mapping), "--agency", "AG", "--out", str(tmp_path / "a"))
    assert code == 0
    template = tmp_path / "modele.csv"
    template.write_text(csv_text(rows), encoding="utf-8")
    run(capsys, "convert", str(template), "--mapping", str(ROOT / "mappings" / "generic-csv.yaml"), "--out", str(tmp_path / "b"))
    ours, reference = payloads(tmp_path / "a"), payloads(tmp_path / "b")

    def essentials(body: dict) -> tuple:
        d = body["data"]
        return (d["distributionType"], d["estateType"], d["prices"], d["location"]["postalcode"], d["location"]["city"],
                d.get("spaces"), d["texts"]["description"], body.get("media"))
    return sum(1 for key, body in ours.items() if key in reference and essentials(body) == essentials(reference[key]))


def test_suggest_prefills_value_tables_with_the_values_it_saw(tmp_path, capsys):
    rows = list(sheet_rows(8))
    for row, kind in zip(rows, ["Appartement T3", "Maison individuelle", "Péniche", "Appartement T3"], strict=False):
        row["Type de bien"] = kind
    source = tmp_path / "stock.csv"
    source.write_text(csv_text(rows), encoding="utf-8")
    code, draft_text, _ = run(capsys, "mapping", "suggest", str(source))
    assert code == 0
    draft = yaml.safe_load(draft_text)
    assert draft["format"] == "csv"
    assert draft["tables"]["property"]["Appartement T3"]["type"] == "APARTMENT"
    assert draft["tables"]["property"]["Maison individuelle"]["type"] == "HOUSE"
    assert "Péniche" not in draft["tables"]["property"] and "« Péniche »" in draft_text


def test_check_prints_coverage_per_aviv_field_and_the_problems(tmp_path, capsys):
    code, out, _ = run(capsys, "mapping", "check", str(ROOT / "mappings" / "generic-csv.yaml"),
                       str(ROOT / "sample_feeds" / "agence-tableur.csv"), "--rows", "30")
    assert code == 0
    assert "30 annonce(s) converties : 24 acceptée(s), 6 refusée(s)." in out
    line = next(x for x in out.splitlines() if x.startswith("data.location.postalcode"))
    assert "24/24" in line
    assert "E_VALUE_INVALID colonne Prix : 1" in out


def test_suggest_and_check_refuse_what_they_cannot_read_with_a_clear_message(tmp_path, capsys):
    code, _, err = run(capsys, "mapping", "suggest", str(tmp_path / "absent.xlsx"))
    assert code == 4 and "absent.xlsx" in err
    poliris = ROOT / "sample_feeds" / "lumiere-immobilier.zip"
    code, _, err = run(capsys, "mapping", "suggest", str(poliris))
    assert code == 2 and "poliris.yaml" in err


# An XML feed nobody mapped: the same listings under element names of another software.
XML_PATHS = {"Référence": "@ref", "Transaction": "operation", "Type de bien": "categorie", "Prix": "prix",
             "Code postal": "lieu/cp", "Ville": "lieu/commune", "Surface habitable": "surface_habitable",
             "Pièces": "nb_pieces", "Chambres": "nb_chambres", "Description": "texte", "Titre": "titre",
             "Latitude": "gps/@lat", "Longitude": "gps/@lng", "E-mail": "contact/mail", "Photos": "images/image"}
XML_EXPECTED = {"@ref": "reference", "operation": "transaction_type", "categorie": "property_type", "prix": "price",
                "lieu/cp": "postal_code", "lieu/commune": "city", "surface_habitable": "living_area",
                "nb_pieces": "rooms", "nb_chambres": "bedrooms", "texte": "description", "titre": "title",
                "gps/@lat": "latitude", "gps/@lng": "longitude", "contact/mail": "contact_email",
                "images/image": "photos", "charges": "charges", "surface_terrain": "land_area"}


def unseen_xml(path: Path) -> list[dict[str, str]]:
    from xml.sax.saxutils import escape, quoteattr

    rows = list(sheet_rows(LISTINGS, seed=99))
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<export logiciel="ImmoSoft 4"><agence nom="Test">']
    for r in rows:
        photos = "".join(f"<image>{escape(u.strip())}</image>" for u in r["Photos"].split("|") if u.strip())
        out.append(
            f"<annonce ref={quoteattr(r['Référence'])}><operation>{r['Transaction']}</operation>"
            f"<categorie>{r['Type de bien']}</categorie><prix>{r['Prix']}</prix>"
            f"<lieu><cp>{r['Code postal']}</cp><commune>{escape(r['Ville'])}</commune></lieu>"
            f"<surface_habitable>{r['Surface habitable']}</surface_habitable><nb_pieces>{r['Pièces']}</nb_pieces>"
            f"<charges>{r['Charges']}</charges><surface_terrain>{r['Surface terrain']}</surface_terrain>"
            f"<nb_chambres>{r['Chambres']}</nb_chambres><titre>{escape(r['Titre'])}</titre>"
            f"<texte>{escape(r['Description'])}</texte><gps lat={quoteattr(r['Latitude'])} lng={quoteattr(r['Longitude'])}/>"
            f"<contact><mail>{r['E-mail']}</mail></contact><images>{photos}</images><notes>RAS</notes></annonce>")
    out.append("</agence></export>\n")
    path.write_text("\n".join(out), encoding="utf-8")
    return rows


def test_suggest_drafts_an_xpath_mapping_for_an_unknown_xml_feed_that_converts_most_listings(tmp_path, capsys):
    source = tmp_path / "export-immosoft.xml"
    rows = unseen_xml(source)
    code, draft_text, _ = run(capsys, "mapping", "suggest", str(source))
    assert code == 0
    draft = yaml.safe_load(draft_text)
    assert draft["format"] == "xml" and draft["source"]["record"] == "annonce"
    fields = draft["source"]["fields"]
    matched = {(f["path"] if isinstance(f, dict) else f): name for name, f in fields.items() if f}
    assert matched == XML_EXPECTED
    assert fields["photos"] == {"path": "images/image", "join": " | "}  # repeated in a record
    assert "<notes> (ex. : RAS)" in draft_text
    mapping = tmp_path / "immosoft.yaml"
    mapping.write_text(draft_text, encoding="utf-8")
    assert read_as_the_template(capsys, tmp_path, source, mapping, rows) >= 0.8 * LISTINGS
