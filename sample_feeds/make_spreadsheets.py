"""Write the sample spreadsheet feeds of sample_feeds/ (deterministic; committed with their output).

    uv run python sample_feeds/make_spreadsheets.py

- ``agence-tableur.csv``: the template layout (docs/spreadsheet-template.md) as an agency's
  spreadsheet exports it: Windows-1252, ``;``, CRLF, two title lines above the header, French
  and English numbers, dates as 12/03/2025, 12/03/25, ISO or Excel serial days, OUI/Vrai/X/1,
  type spellings (« APPT », "appart"), photos separated by ``|``, ``;`` or spaces, multi-line
  descriptions, a text starting with ``=``, and listings that must be rejected (``REJECTED``).
- ``agence-tableur.xlsx``: the same listings in a workbook: typed cells (numbers, dates), a title
  row merged over the header, a formula with its cached value, a hidden row and an empty row.
- ``templates/modele-annonces.csv`` / ``.xlsx``: the empty template agencies fill.
"""

from __future__ import annotations

import random
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from etl.sheetgen import HEADERS, csv_text, sheet_row, write_xlsx

HERE = Path(__file__).resolve().parent
AGENCY = "agence-tableur"
TITLE = ("Export du stock — Agence Tableur", "Édité le 12/03/2025")
# Reference → the code that rejects it (each must appear in the report, with its line and column).
REJECTED = {
    "TAB-R01": "E_VALUE_INVALID",  # price "1,250": thousands or decimals? never guessed
    "TAB-R02": "E_PROPERTY_TYPE_MISSING",  # type left empty
    "TAB-R03": "E_VALUE_INVALID",  # postcode "750"
    "TAB-R04": "E_KEY_DUPLICATE",  # the reference of the first listing again
    "TAB-R05": "E_VALUE_INVALID",  # type « Péniche », in no table
    "TAB-R06": "E_DESCRIPTION_MISSING",
}


def rows() -> list[dict[str, Any]]:
    """The listings, cells as text (the CSV); ``typed`` turns some into numbers and dates (Excel)."""
    rng = random.Random(21)
    out = [sheet_row(rng, n, AGENCY) for n in range(24)]
    for n, row in enumerate(out):
        row["Référence"] = f"TAB-{n + 1:03d}"
    quirks = [
        {"Prix": "1 250 000,50 €", "Disponible le": "12/03/25", "Ascenseur": "Vrai", "Type de bien": "APPT"},
        {"Prix": "1.250.000,50", "Disponible le": "2026-03-12", "Ascenseur": "X", "Type de bien": "appart"},
        {"Prix": "1,250,000.50", "Disponible le": "46093", "Ascenseur": "1"},
        {"Prix": "495 000 €", "Titre": "=Belle affaire, à saisir"},
        {"Photos": "https://photos.example-agence.fr/t/1.jpg;https://photos.example-agence.fr/t/2.jpg"},
        {"Photos": "https://photos.example-agence.fr/t/3.jpg https://photos.example-agence.fr/t/4.jpg"},
        {"Surface habitable": "58,4", "Ville": "Saint-Raphaël", "Adresse": "12, avenue de l’Œuvre"},
    ]
    for row, quirk in zip((r for r in out if r["Transaction"] == "Vente" and r["Type de bien"] == "Appartement"),
                          quirks[:2], strict=False):
        row.update(quirk)
    sales = [r for r in out if r["Transaction"] == "Vente" and r["Type de bien"] != "Appartement"]
    for row, quirk in zip(sales, quirks[2:], strict=False):
        row.update(quirk)
    base = out[0]
    bad = [
        {"Référence": "TAB-R01", "Prix": "1,250"},
        {"Référence": "TAB-R02", "Type de bien": ""},
        {"Référence": "TAB-R03", "Code postal": "750"},
        {"Référence": "TAB-001"},  # TAB-R04: a duplicate of the first listing
        {"Référence": "TAB-R05", "Type de bien": "Péniche"},
        {"Référence": "TAB-R06", "Description": ""},
    ]
    out += [{**base, **b} for b in bad]
    return out


def typed(row: dict[str, Any]) -> dict[str, Any]:
    """What a workbook holds: numbers as numbers, dates as dates (text otherwise)."""
    out = dict(row)
    for header in ("Prix", "Charges", "Surface habitable", "Surface terrain", "Pièces", "Chambres", "Latitude", "Longitude"):
        value = out.get(header, "")
        if re.fullmatch(r"-?\d+(\.\d+)?", value or ""):
            out[header] = float(value) if "." in value else int(value)
    if m := re.fullmatch(r"(\d\d)/(\d\d)/(\d{4})", out.get("Disponible le") or ""):
        out["Disponible le"] = date(int(m[3]), int(m[2]), int(m[1]))
    return out


def _with_cached_formula(path: Path, cell: str, formula: str, cached: str) -> None:
    """openpyxl writes formulas without a cached result (Excel computes it on opening); real
    files carry one. Put it in, as Excel would have saved it."""
    with zipfile.ZipFile(path) as zf:
        members = {i: zf.read(i) for i in zf.infolist()}
    for info, data in members.items():
        if info.filename.startswith("xl/worksheets/sheet"):
            text = data.decode("utf-8")
            text = re.sub(rf'<c r="{cell}"[^>]*>.*?</c>', f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>', text, count=1)
            members[info] = text.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members.items():
            zf.writestr(info, data)


def write_workbook(path: Path, listing_rows: list[dict[str, Any]]) -> None:
    """The sample workbook: a merged title row, the header, a hidden row, an empty row, a formula."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Annonces"
    ws.append([TITLE[0]])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    ws.append(list(HEADERS))
    for n, row in enumerate(listing_rows):
        ws.append([typed(row).get(h) if row.get(h) != "" else None for h in HEADERS])
        if n == 3:
            ws.append([])  # an empty row in the middle of the stock
            ws.append([None, "TAB-HIDDEN", "Vente", "Maison", 1])  # a row the agency hid: not for sale
            ws.row_dimensions[ws.max_row].hidden = True
    for line in ws.iter_rows(min_row=3):
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text typed with a leading "=" is text (openpyxl would make it a formula)
    # A price computed by a formula (price + 0), as agencies compute fees: its cached value is read.
    price_col = HEADERS.index("Prix") + 1
    n, price = next((n, r["Prix"]) for n, r in enumerate(listing_rows) if r["Prix"].isdigit())
    formula_row = 3 + n + (2 if n > 3 else 0)
    ws.cell(formula_row, price_col, f"={price}+0")
    wb.save(path)
    from openpyxl.utils import get_column_letter
    _with_cached_formula(path, f"{get_column_letter(price_col)}{formula_row}", f"{price}+0", price)


def main() -> None:
    listing_rows = rows()
    (HERE / "agence-tableur.csv").write_bytes(csv_text(listing_rows, title=TITLE).encode("cp1252"))
    write_workbook(HERE / "agence-tableur.xlsx", listing_rows)
    templates = HERE / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "modele-annonces.csv").write_bytes(csv_text([]).encode("utf-8-sig"))
    write_xlsx(templates / "modele-annonces.xlsx", [])


if __name__ == "__main__":
    main()
