"""Realistic spreadsheet listings in the template layout (docs/spreadsheet-template.md), for
samples, tests and benchmarks: the listings of ``feedgen`` as an agency would type them in a
spreadsheet, and writers for CSV and Excel files (deterministic)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from etl.feedgen import PROFILES, listing

# The template's columns, in order: header as agencies see it → Poliris rank feedgen fills (None: none).
TEMPLATE: Final[tuple[tuple[str, int | None], ...]] = (
    ("Agence", 1), ("Référence", 2), ("Transaction", 3), ("Type de bien", 4), ("Prix", 11), ("Charges", 23),
    ("Code postal", 5), ("Ville", 6), ("Adresse", 8), ("Surface habitable", 16), ("Surface terrain", 17),
    ("Pièces", 18), ("Chambres", 19), ("Salles de bain", 29), ("Étage", 24), ("Ascenseur", 41),
    ("Meublé", None), ("Année de construction", 27), ("DPE (kWh/m²/an)", 176), ("Classe énergie", 177),
    ("GES (kg CO2/m²/an)", 178), ("Classe GES", 179), ("Date DPE", 324), ("Coût énergie min", 326),
    ("Coût énergie max", 327), ("Année de référence des coûts", 328), ("Titre", 20), ("Description", 21),
    ("Disponible le", None), ("Latitude", 298), ("Longitude", 299), ("Contact", None), ("Téléphone", None),
    ("E-mail", None), ("Portails", 82), ("Photos", None),
)
HEADERS: Final = tuple(h for h, _ in TEMPLATE)

_TYPES: Final = {"appartement": "Appartement", "maison/villa": "Maison", "terrain": "Terrain",
                 "parking/box": "Parking", "bureaux": "Bureaux", "local": "Local commercial",
                 "loft/atelier/surface": "Loft", "immeuble": "Immeuble"}
_TRANSACTIONS: Final = {"vente": "Vente", "location": "Location"}
# The feedgen profiles a plain agency spreadsheet holds (no prestige, life annuity, catalogue…).
SHEET_PROFILES: Final = tuple(p for p in PROFILES if p.transaction.lower() in _TRANSACTIONS
                              and p.property_type.lower() in _TYPES and not p.subtype)


def sheet_row(rng: random.Random, n: int, agency: str) -> dict[str, str]:
    """One listing as a template row (header → cell text), valid for ``mappings/generic-*.yaml``."""
    profile = SHEET_PROFILES[n % len(SHEET_PROFILES)]
    row = listing(rng, n + 1, agency, profile)
    out = {header: row.get(rank, "") if rank else "" for header, rank in TEMPLATE}
    out["Transaction"] = _TRANSACTIONS[profile.transaction.lower()]
    out["Type de bien"] = _TYPES[profile.property_type.lower()]
    out["Description"] = out["Description"].replace("<BR>", "\n")
    photos = [row[r] for r in (*range(85, 94), *range(164, 175)) if row.get(r)]
    out["Photos"] = " | ".join(photos)
    out["Portails"] = ""
    if out["Transaction"] == "Location":
        out["Meublé"] = rng.choice(("OUI", "NON", ""))
        out["Disponible le"] = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2026"
    out["Contact"] = rng.choice(("Julie Martin", "Paul Bernard", ""))
    out["Téléphone"] = "01 42 00 00 00" if out["Contact"] else ""
    out["E-mail"] = f"contact@{agency}.fr" if out["Contact"] else ""
    return out


def sheet_rows(count: int, *, agencies: Sequence[str] = ("agence-tableur",), seed: int = 7) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for n in range(count):
        yield sheet_row(rng, n, agencies[n % len(agencies)])


def csv_text(rows: Iterable[dict[str, Any]], *, headers: Sequence[str] = HEADERS, delimiter: str = ";",
             title: Sequence[str] = ()) -> str:
    """The rows as CSV text (title lines first, as spreadsheets exported by hand often have)."""
    buf = io.StringIO()
    for line in title:
        buf.write(line + "\r\n")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buf.getvalue()


def write_xlsx(path: Path, rows: Iterable[dict[str, Any]], *, headers: Sequence[str] = HEADERS,
               title: Sequence[str] = (), sheet: str = "Annonces") -> None:
    """The rows as an .xlsx sheet, streamed (openpyxl write-only): 20,000 rows in bounded memory.
    Cell values are written as given: a number, a date or a formula string stays one."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for line in title:
        ws.append([line])
    ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h) if row.get(h) != "" else None for h in headers])
    wb.save(path)
