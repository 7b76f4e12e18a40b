"""CSV feeds: detection from content, decoding, the header, column aliases, rows → records."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import ConfigError, SourceUnreadable
from etl.extract.container import open_container
from etl.extract.registry import detect, open_feed
from etl.records import RecordError, SourceRecord
from etl.sheetgen import csv_text, sheet_rows

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"
OPTIONS = {"key": "reference", "columns": {"reference": ["Référence", "Réf."], "price": ["Prix (€)", "Prix TTC"],
                                          "city": ["Ville"], "agency": ["Agence"]},
           "agency_column": "agency"}


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "stock.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, **options: object) -> list[SourceRecord | RecordError]:
    feed = open_feed(path, format="csv", options={**OPTIONS, **options})
    return list(feed.records())


def test_a_semicolon_csv_with_a_header_is_detected_as_csv(tmp_path):
    path = write(tmp_path, csv_text(sheet_rows(5)))
    assert detect(open_container(path)).name == "csv"


def test_poliris_sends_stay_poliris(tmp_path):
    assert detect(open_container(SAMPLES / "lumiere-immobilier.zip")).name == "poliris"
    short = write(tmp_path, '"AG1"!#"REF1"!#"vente"!#"Appartement"\n"AG1"!#"REF2"!#"vente"!#"Maison"\n')
    fmt = detect(open_container(short))
    assert fmt.name == "poliris"


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_each_common_separator_is_detected(tmp_path, delimiter):
    path = write(tmp_path, csv_text(sheet_rows(6), delimiter=delimiter))
    records = open_feed(path, format="csv", options={"columns": {"reference": ["Référence"]}}).records()
    assert [r.source_key for r in records] == [f"AGE-{n:06d}" for n in range(1, 7)]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_accents_survive_every_encoding_agencies_use(tmp_path, encoding):
    path = write(tmp_path, "Agence;Référence;Ville;Prix (€)\nAG;R1;Saint-Raphaël;1 250 000,50 €\n", encoding)
    [record] = read(path)
    assert isinstance(record, SourceRecord)
    assert record.get("city") == "Saint-Raphaël" and record.get("price") == "1 250 000,50 €"


def test_mojibake_is_repaired_and_said(tmp_path):
    path = write(tmp_path, "Agence;Référence;Ville\nAG;R1;Saint-RaphaÃ«l\n")
    [record] = read(path)
    assert record.get("city") == "Saint-Raphaël"
    assert [i.code for i in record.issues] == ["W_ENCODING_REPAIRED"]


def test_the_header_is_found_below_title_lines_and_the_titles_are_noted(tmp_path):
    path = write(tmp_path, "Stock Agence Dupont;;\nÉdité le 12/03/2025;;\n\nAgence;Réf.;Prix TTC\nAG;R1;100 000\nAG;R2;200 000\n")
    feed = open_feed(path, format="csv", options=OPTIONS)
    records = list(feed.records())
    assert [(r.location.line, r.source_key, r.get("price")) for r in records] == [(5, "R1", "100 000"), (6, "R2", "200 000")]
    assert any("en-tête trouvé ligne 4 ; lignes 1 à 2 au-dessus (titre) ignorée(s)" in i.message for i in feed.issues)


def test_headers_match_aliases_whatever_the_case_accents_spacing_and_punctuation(tmp_path):
    path = write(tmp_path, " AGENCE ;REF.;  prix   (€) ;VILLE\nAG;R1;5;Nice\n")
    feed = open_feed(path, format="csv", options=OPTIONS)
    [record] = list(feed.records())
    assert (record.source_key, record.get("price"), record.get("city")) == ("R1", "5", "Nice")
    assert feed.label("price") == "colonne prix (€)"


def test_a_quoted_cell_over_several_lines_is_one_record_located_at_its_first_line(tmp_path):
    path = write(tmp_path, 'Agence;Référence;Ville\r\nAG;R1;"Nice\r\nquartier du port"\r\nAG;R2;Cannes\r\n')
    first, second = read(path)
    assert first.get("city") == "Nice\nquartier du port" and first.location.line == 2
    assert second.location.line == 4


def test_an_agency_rename_a_fixed_agency_and_a_default_reach_the_records(tmp_path):
    path = write(tmp_path, "N° annonce;Montant;Ville\nR1;5;Nice\nR2;6;\n")
    records = read(path, rename={"reference": ["N° annonce"], "price": ["Montant"]}, agency_id="AG-42",
                   defaults={"city": "Paris"})
    assert [(r.agency_id, r.source_key, r.get("price"), r.get("city")) for r in records] == [
        ("AG-42", "R1", "5", "Nice"), ("AG-42", "R2", "6", "Paris")]


def test_every_row_is_accounted_for_missing_or_duplicate_references_and_agencies_are_errors(tmp_path):
    path = write(tmp_path, "Agence;Référence;Ville\nAG;R1;Nice\nAG;;Nice\nAG;R1;Cannes\n;R3;Nice\n;;;\nAG;R4;Pau\n")
    records = read(path)
    assert [(r.location.line, type(r).__name__) for r in records] == [
        (2, "SourceRecord"), (3, "RecordError"), (4, "RecordError"), (5, "RecordError"), (7, "SourceRecord")]
    codes = [r.issues[0].code for r in records if isinstance(r, RecordError)]
    assert codes == ["E_KEY_MISSING", "E_KEY_DUPLICATE", "E_AGENCY_MISSING"]
    assert "ligne 4" in records[2].issues[0].message and "ligne 2" in records[2].issues[0].message
    assert "Renseignez-la, ou demandez à l'exploitant" in records[3].issues[0].message


def test_an_unquoted_separator_inside_a_text_rejects_the_row_naming_its_line(tmp_path):
    path = write(tmp_path, "Agence;Référence;Ville\nAG;R1;Nice; quartier du port\nAG;R2;Pau\n")
    bad, good = read(path)
    assert isinstance(bad, RecordError) and bad.issues[0].code == "E_LINE_MALFORMED"
    assert "4 cellules au lieu de 3" in bad.issues[0].message
    assert bad.location.line == 2 and "quartier du port" in (bad.issues[0].value or "")
    assert good.source_key == "R2"


def test_a_quote_never_closed_is_reported_and_the_feed_marked_incomplete(tmp_path):
    rows = "".join(f"AG;R{n};Ville {n}\n" for n in range(3, 700))
    path = write(tmp_path, f'Agence;Référence;Ville\nAG;R1;Nice\nAG;R2;"Pau\n{rows}')
    feed = open_feed(path, format="csv", options=OPTIONS)
    records = list(feed.records())
    assert records[0].source_key == "R1"
    assert isinstance(records[1], RecordError) and records[1].issues[0].code == "E_LINE_MALFORMED"
    assert "n'est jamais fermée" in records[1].issues[0].message
    assert records[1].location.line == 3
    assert feed.facts.complete is False


def test_an_over_long_line_is_an_error_and_reading_goes_on(tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "wb") as f:
        f.write("Agence;Référence;Ville\nAG;R1;".encode())
        f.write(b"x" * (9 << 20))
        f.write(b"\nAG;R2;Pau\n")
    bad, good = read(path)
    assert isinstance(bad, RecordError) and bad.issues[0].code == "E_LINE_TOO_LONG" and bad.location.line == 2
    assert good.source_key == "R2"


def test_cells_starting_with_formula_signs_are_kept_as_text(tmp_path):
    path = write(tmp_path, "Agence;Référence;Ville\nAG;R1;=1+1\nAG;R2;@SUM(A1)\nAG;R3;-2\nAG;R4;+33\n")
    assert [r.get("city") for r in read(path)] == ["=1+1", "@SUM(A1)", "-2", "+33"]


def test_a_file_without_its_reference_column_is_refused_naming_the_header(tmp_path):
    path = write(tmp_path, "Agence;Ville\nAG;Nice\n")
    with pytest.raises(SourceUnreadable, match="référence « reference » introuvable.*Agence, Ville"):
        open_feed(path, format="csv", options=OPTIONS)


def test_bad_options_are_a_configuration_error(tmp_path):
    path = write(tmp_path, "Agence;Référence\nAG;R1\n")
    with pytest.raises(ConfigError, match="delimiter"):
        open_feed(path, format="csv", options={**OPTIONS, "delimiter": ";;"})
    with pytest.raises(ConfigError, match="colums"):
        open_feed(path, format="csv", options={**OPTIONS, "colums": {}})


def test_a_zipped_csv_is_read_from_its_archive(tmp_path):
    import zipfile
    path = tmp_path / "send.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("stock.csv", csv_text(sheet_rows(3)))
    assert detect(open_container(path)).name == "csv"
    feed = open_feed(path, format="csv", options={"columns": {"reference": ["Référence"]}})
    assert [r.location.file for r in feed.records()] == ["send.zip/stock.csv"] * 3


def test_a_column_nothing_reads_beside_an_absent_one_is_pointed_out(tmp_path):
    path = write(tmp_path, "Agence;Référence;Prix net vendeur;Ville\nAG;R1;5;Nice\n")
    feed = open_feed(path, format="csv", options=OPTIONS)
    [note] = [i for i in feed.issues if "lue(s) par aucune règle" in i.message]
    assert "Prix net vendeur" in note.message and "price" in note.message
    assert "signalez son nom à l'exploitant" in note.message  # the agency reads it: what it can do
    complete = write(tmp_path, "Agence;Référence;Prix;Ville\nAG;R1;5;Nice\n", name="complete.csv")
    assert not open_feed(complete, format="csv", options={**OPTIONS, "columns": {**OPTIONS["columns"], "photos": []}}).issues


def test_an_empty_file_is_refused_rather_than_read_as_no_listings(tmp_path):
    path = write(tmp_path, "\r\n\r\n")
    with pytest.raises(SourceUnreadable, match="fichier vide"):
        open_feed(path, format="csv", options=OPTIONS)
