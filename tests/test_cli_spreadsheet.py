"""CSV and Excel feeds through ``classifieds-etl convert`` as a user runs it: every listing accounted
for, every accepted body valid against the official spec, every bad cell named by line and column."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
from oracle import assert_spec_valid

from etl.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_feeds"


def _samples_module():
    spec = importlib.util.spec_from_file_location("make_spreadsheets", SAMPLES / "make_spreadsheets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHEETS = _samples_module()
CASES = [("agence-tableur.csv", "generic-csv"), ("agence-tableur.xlsx", "generic-excel")]


def convert(tmp_path: Path, source: Path, mapping: str) -> tuple[dict[str, dict], list[dict[str, str]], dict]:
    out = tmp_path / "out"
    code = main(["convert", str(source), "--mapping", str(ROOT / "mappings" / f"{mapping}.yaml"), "--out", str(out),
                 "--log-format", "json"])
    assert code == 0
    payloads = {}
    for line in (out / "payloads.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        payloads[item["listing_key"]["source_key"]] = item["body"]
    with open(out / "rejections.csv", encoding="utf-8-sig", newline="") as f:
        rejections = list(csv.DictReader(f, delimiter=";"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return payloads, rejections, summary


@pytest.mark.parametrize(("name", "mapping"), CASES)
def test_every_listing_is_accounted_for_and_every_accepted_body_is_spec_valid(tmp_path, name, mapping):
    payloads, rejections, summary = convert(tmp_path, SAMPLES / name, mapping)
    rows = SHEETS.rows()
    refused = {(r["ligne"], r["clé source"]) for r in rejections if r["décision"] == "refusée"}
    assert len(payloads) + len(refused) == len(rows)  # the duplicate shares a key, not a line
    assert set(payloads) | {key for _, key in refused} == {r["Référence"] for r in rows}
    assert summary["totals"]["read"] == len(rows) and summary["totals"]["accepted"] == len(payloads)
    for body in payloads.values():
        assert_spec_valid(body)
    assert not set(SHEETS.REJECTED) - {"TAB-R04"} & set(payloads)


@pytest.mark.parametrize(("name", "mapping"), CASES)
def test_each_rejected_listing_names_its_line_column_and_value(tmp_path, name, mapping):
    _, rejections, _ = convert(tmp_path, SAMPLES / name, mapping)
    errors = [r for r in rejections if r["gravité"] == "erreur"]
    by_code = {(r["code"], r["champ source"], r["valeur"]) for r in errors}
    assert ("E_VALUE_INVALID", "colonne Prix", "1,250") in by_code
    assert ("E_VALUE_INVALID", "colonne Code postal", "750") in by_code
    assert ("E_VALUE_INVALID", "colonne Type de bien", "Péniche") in by_code
    assert ("E_KEY_DUPLICATE", "colonne Référence", "TAB-001") in by_code
    for r in errors:
        assert r["ligne"].isdigit() and int(r["ligne"]) > 2, r
        assert r["fichier"].startswith("agence-tableur")
    ambiguous = next(r for r in errors if r["valeur"] == "1,250")
    assert "ambigu" in ambiguous["message"]


@pytest.mark.parametrize(("name", "mapping"), CASES)
def test_french_numbers_dates_booleans_types_and_photo_lists_are_read_as_meant(tmp_path, name, mapping):
    payloads, _, _ = convert(tmp_path, SAMPLES / name, mapping)
    rows = {r["Référence"]: r for r in SHEETS.rows()}
    for ref, body in payloads.items():
        row, data = rows[ref], body["data"]
        price = data["prices"].get("buy", {}).get("price", {}).get("amount")
        if row["Prix"] == "1 250 000,50 €" or row["Prix"] in ("1.250.000,50", "1,250,000.50"):
            assert price == 1250000.5
        if row["Prix"] == "495 000 €":
            assert price == 495000
        if row["Type de bien"] in ("APPT", "appart"):
            assert data["estateType"] == "APARTMENT"
        if row["Ascenseur"] in ("Vrai", "X", "1"):
            assert data["structure"]["building"]["elevator"]["person"] == "YES"
        if row["Disponible le"] in ("12/03/25", "2026-03-12", "46093"):
            expected = "2025-03-12" if row["Disponible le"] == "12/03/25" else "2026-03-12"
            assert data["management"]["availableFrom"].startswith(expected)
        urls = [u for u in row["Photos"].replace("|", " ").replace(";", " ").split() if u]
        assert [m["url"] for m in body.get("media", [])] == urls
        if row["Titre"].startswith("="):
            assert data["texts"]["headline"]["fr"] == row["Titre"]


def test_an_unknown_column_layout_is_refused_with_exit_4_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("Nom;Prénom\nDupont;Jean\n", encoding="utf-8")
    code = main(["convert", str(path), "--mapping", str(ROOT / "mappings" / "generic-csv.yaml"), "--out", str(tmp_path / "o")])
    assert code == 4
    assert "introuvable" in capsys.readouterr().err


def test_an_agencys_source_options_rename_a_column_fix_the_agency_and_default_the_portals(tmp_path):
    from etl.pipeline import convert as convert_source
    from etl.sheetgen import HEADERS, csv_text, sheet_rows

    rows = [{**r, "Prix net vendeur": r["Prix"]} for r in sheet_rows(4) if r["Transaction"] == "Vente"]
    headers = [("Prix net vendeur" if h == "Prix" else h) for h in HEADERS if h != "Agence"]
    path = tmp_path / "stock.csv"
    path.write_text(csv_text(rows, headers=headers), encoding="utf-8")
    options = {"rename": {"price": ["Prix net vendeur"]}, "agency_id": "AG-42", "defaults": {"publications": "SL,BD"}}
    outcomes = list(convert_source(path, mapping=ROOT / "mappings" / "generic-csv.yaml", source_options=options))
    assert outcomes and all(o.key.agency_id == "AG-42" for o in outcomes)
    assert all(o.requested_portals == ["SL", "BD"] for o in outcomes)
    accepted = [o for o in outcomes if o.accepted]
    assert accepted and all(o.body["data"]["prices"]["buy"]["price"]["amount"] > 0 for o in accepted)


@pytest.mark.parametrize(("name", "fmt"), [("agence-tableur.csv", "csv"), ("agence-tableur.xlsx", "excel")])
def test_without_a_mapping_the_detected_formats_own_mapping_reads_the_file(tmp_path, name, fmt):
    out = tmp_path / "out"
    assert main(["convert", str(SAMPLES / name), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["sources"][0]["format"] == fmt
    assert summary["totals"]["read"] == len(SHEETS.rows()) and summary["totals"]["accepted"] > 0
