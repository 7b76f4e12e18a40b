"""Excel feeds: detection from content, typed cells, hidden and merged cells, sheets, hostile files."""

from __future__ import annotations

import time
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from etl.errors import SourceUnreadable
from etl.extract.container import open_container
from etl.extract.registry import detect, open_feed
from etl.extract.spreadsheet.reader import cell_text
from etl.records import RecordError, SourceRecord

OPTIONS = {"key": "reference", "agency_id": "AG",
           "columns": {"reference": ["Référence"], "price": ["Prix"], "date": ["Disponible le"], "city": ["Ville"],
                       "lift": ["Ascenseur"], "photo_2": ["Photos 2"]}}


def workbook(path: Path, rows: list[list[object]], *, build=None, sheet: str = "Annonces") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if build:
        build(wb, ws)
    wb.save(path)
    return path


def read(path: Path, **options: object) -> list[SourceRecord | RecordError]:
    return list(open_feed(path, format="excel", options={**OPTIONS, **options}).records())


def test_a_workbook_is_recognised_from_its_content_whatever_its_name(tmp_path):
    path = workbook(tmp_path / "stock.csv", [["Référence", "Prix"], ["R1", 5]])
    fmt = detect(open_container(path))
    assert fmt.name == "excel"
    assert fmt.detect(open_container(path)).dialect == "classeur Excel"


def test_typed_cells_reach_the_mapping_as_unambiguous_text():
    assert cell_text(350000.0) == "350000"
    assert cell_text(58.4) == "58.4"
    assert cell_text(1.125) == "1.1250"  # "1.125" would be refused as ambiguous
    assert cell_text(datetime(2025, 3, 12)) == "2025-03-12"
    assert cell_text(date(2025, 3, 12)) == "2025-03-12"
    assert cell_text(True) == "OUI" and cell_text(False) == "NON"
    assert cell_text(" Nice\r\nport ") == "Nice\nport"


def test_numbers_dates_and_booleans_are_read_from_typed_cells(tmp_path):
    path = workbook(tmp_path / "s.xlsx", [["Référence", "Prix", "Disponible le", "Ascenseur"],
                                          ["R1", 1250000.5, datetime(2025, 3, 12), True], [1234, 350000, None, False]])
    first, second = read(path)
    assert (first.get("price"), first.get("date"), first.get("lift")) == ("1250000.5", "2025-03-12", "OUI")
    assert (second.source_key, second.get("price"), second.get("lift")) == ("1234", "350000", "NON")
    assert (first.location.line, second.location.line) == (2, 3)


def test_a_formula_gives_its_cached_value_and_text_starting_with_equals_is_data(tmp_path):
    def text_cell(wb, ws):
        ws["C2"].data_type = "s"
    path = workbook(tmp_path / "s.xlsx", [["Référence", "Prix", "Ville"], ["R1", "=1+1", "=HYPERLINK(\"x\")"]], build=text_cell)
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = sheet.replace("<f>1+1</f><v></v>", "<f>1+1</f><v>2</v>").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    [record] = read(path)
    assert record.get("price") == "2" and record.get("city") == '=HYPERLINK("x")'


def test_hidden_rows_and_columns_and_empty_rows_are_skipped_with_a_note(tmp_path):
    def hide(wb, ws):
        ws.row_dimensions[3].hidden = True
        ws.column_dimensions["C"].hidden = True
    path = workbook(tmp_path / "s.xlsx", [["Référence", "Prix", "Ville"], ["R1", 1, "Nice"], ["R2", 2, "Pau"], [],
                                          ["R3", 3, "Dax"]], build=hide)
    feed = open_feed(path, format="excel", options=OPTIONS)
    records = list(feed.records())
    assert [(r.location.line, r.source_key, r.get("city")) for r in records] == [(2, "R1", ""), (5, "R3", "")]
    notes = " ".join(i.message for i in feed.issues)
    assert "1 ligne(s) masquée(s) ignorée(s) (lignes 3)" in notes and "colonne(s) masquée(s) ignorée(s) : C" in notes


def test_a_title_merged_above_the_header_and_a_merged_header_are_handled(tmp_path):
    def merge(wb, ws):
        ws.merge_cells("A1:D1")
        ws.merge_cells("C2:D2")
    path = workbook(tmp_path / "s.xlsx", [["Stock de l'agence"], ["Référence", "Prix", "Photos", None],
                                          ["R1", 5, "https://a.example/1.jpg", "https://a.example/2.jpg"]], build=merge)
    feed = open_feed(path, format="excel", options=OPTIONS)
    [record] = list(feed.records())
    assert record.location.line == 3 and record.get("price") == "5"
    assert record.get("Photos") == "https://a.example/1.jpg" and record.get("photo_2") == "https://a.example/2.jpg"
    assert any("en-tête trouvé ligne 2" in i.message for i in feed.issues)


def test_a_sheet_is_chosen_by_name_or_number_and_an_unknown_one_is_named(tmp_path):
    def second(wb, ws):
        other = wb.create_sheet("Locations")
        other.append(["Référence", "Prix"])
        other.append(["L1", 900])
    path = workbook(tmp_path / "s.xlsx", [["Référence", "Prix"], ["V1", 5]], build=second, sheet="Ventes")
    assert [r.source_key for r in read(path)] == ["V1"]
    assert [r.source_key for r in read(path, sheet="locations")] == ["L1"]
    assert [r.source_key for r in read(path, sheet=2)] == ["L1"]
    with pytest.raises(SourceUnreadable, match="feuille « Archives » introuvable.*Ventes, Locations"):
        read(path, sheet="Archives")


def test_a_workbook_inside_a_zip_send_is_read(tmp_path):
    inner = workbook(tmp_path / "s.xlsx", [["Référence", "Prix"], ["R1", 5]])
    send = tmp_path / "send.zip"
    with zipfile.ZipFile(send, "w") as zf:
        zf.write(inner, "export/stock.xlsx")
        zf.writestr("lisezmoi.txt", "bonjour")
    assert detect(open_container(send)).name == "excel"
    [record] = read(send)
    assert record.location.file == "send.zip/export/stock.xlsx [Annonces]"


def _raw_xlsx(path: Path, sheet_xml: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def test_a_sheet_of_a_million_rows_is_refused_quickly_before_its_cells_are_loaded(tmp_path):
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n) for n in range(1, 1_048_577))
    path = _raw_xlsx(tmp_path / "big.xlsx", b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     b"<sheetData>" + rows + b"</sheetData></worksheet>")
    started = time.monotonic()
    with pytest.raises(SourceUnreadable, match="plus de 250.000 lignes"):
        open_feed(path, format="excel", options=OPTIONS)
    assert time.monotonic() - started < 30


def test_an_xlsx_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = _raw_xlsx(tmp_path / "bomb.xlsx", b'<worksheet><sheetData>' + b" " * (200 << 20) + b"</sheetData></worksheet>")
    with pytest.raises(SourceUnreadable, match="zip bomb"):
        open_feed(path, format="excel", options=OPTIONS)


def test_a_damaged_workbook_is_a_clear_error(tmp_path):
    path = _raw_xlsx(tmp_path / "bad.xlsx", b"<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>99</v></c></row>")
    with pytest.raises(SourceUnreadable, match="bad.xlsx"):
        read(path)


def _ods(path: Path, rows: list[list[str]]) -> Path:
    """A minimal OpenDocument spreadsheet, as LibreOffice lays one out (mimetype first, stored)."""
    cells = "".join("<table:table-row>" + "".join(
        f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>' for c in row)
        + "</table:table-row>" for row in rows)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="Stock">{cells}</table:table>'
               "</office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def test_an_opendocument_spreadsheet_is_recognised_and_read(tmp_path):
    path = _ods(tmp_path / "stock.ods", [["Référence", "Prix", "Ville"], ["R1", "5", "Nice"]])
    assert detect(open_container(path)).name == "excel"
    [record] = read(path)
    assert (record.source_key, record.get("price"), record.get("city")) == ("R1", "5", "Nice")
    assert record.location.file == "stock.ods [Stock]"
