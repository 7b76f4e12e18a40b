"""Write the sample Poliris exports of sample_feeds/ (deterministic; committed with their output).

    uv run python sample_feeds/make_samples.py

- ``lumiere-immobilier.zip``: one agency, UTF-8, CRLF, 4.09 width, photos by URL, every
  transaction and property type, plus listings that must be rejected or are only partly eligible.
- ``maisons-quirks.zip``: what real agency software writes: cp1252, LF, 334 fields (4.12) with a
  trailing ``!#``, lower-case config names, mixed case, ``<br>``, ``0``/``00/00/0000`` for empty,
  no-break spaces, spaces around ``!#`` on one line, a stray line break inside a description, a
  missing closing quote, and one truly malformed line.
- ``groupe-sud.zip``: a grouped send, three agencies in one file.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

from etl.extract.poliris.writer import config_text, format_line, row_values
from etl.feedgen import PROFILES, listing

HERE = Path(__file__).resolve().parent
FIXED_TIME = (2026, 11, 1, 3, 0, 0)  # ZIP member timestamps: the files must not change on rebuild


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _lines(rows: list[dict[int, str]], width: int, **kw: bool) -> list[str]:
    return [format_line(row_values(r, width), **kw) for r in rows]


def lumiere() -> None:
    rng = random.Random(11)
    agency = "lumiere-immo"
    rows = [listing(rng, n + 1, agency, profile) for n, profile in enumerate(PROFILES)]
    n = len(rows)
    # Rejected: no price; unknown property type; no description; bad postal code.
    rows.append({**listing(rng, n + 1, agency, PROFILES[0]), 11: ""})
    rows.append({**listing(rng, n + 2, agency, PROFILES[0]), 4: "inconnu"})
    rows.append({**listing(rng, n + 3, agency, PROFILES[2]), 21: ""})
    rows.append({**listing(rng, n + 4, agency, PROFILES[2]), 5: "ABC"})
    # Partly eligible: asked for SL and BD, but too cheap and too short for Belles Demeures.
    rows.append({**listing(rng, n + 5, agency, PROFILES[0]), 82: "SL,BD", 11: "240000"})
    rows.append({**listing(rng, n + 6, agency, PROFILES[12]), 21: "Villa avec piscine, vue mer."})
    # Displayed reference only (no technical id): key falls back to field 2, with a warning.
    rows.append({**listing(rng, n + 7, agency, PROFILES[1]), 175: ""})
    data = ("\r\n".join(_lines(rows, 329)) + "\r\n").encode("utf-8")
    _zip(HERE / "lumiere-immobilier.zip", {
        "Annonces.csv": data,
        "Config.txt": config_text({"Version": "4.09", "Application": "LumiereSoft / 5.2", "Devise": "Euro"}).encode(),
        "Photos.cfg": b"Mode=URL\r\n",
    })


def quirks() -> None:
    rng = random.Random(12)
    agency = "maisons-oceane"
    rows = [listing(rng, n + 1, agency, PROFILES[n % len(PROFILES)]) for n in range(12)]
    rows[0].update({3: "VENTE", 4: "appartement", 21: "Très beau T3 lumineux au calme.<br>Cuisine équipée, "
                    "séjour de 25\u00a0m², deux chambres.<br>Cave et parking en sous-sol. Proche écoles et "
                    "commerces, idéal famille.", 22: "00/00/0000", 24: "0", 27: "0", 15: "0.0"})
    rows[1].update({3: "Location", 6: "Saint-Raphaël", 5: "83700", 11: "950.00", 23: "0"})
    rows[2].update({3: "vente de prestige", 4: "Maison/Villa", 11: "2950000.00", 328: "01/01/2000"})
    rows[3].update({175: rows[3][2]})  # technical id equal to the displayed reference (seen in real exports)
    lines = _lines(rows, 334, trailing_separator=True)
    # Spaces around the separator, as the 4.09 spec's own example writes it.
    lines[4] = format_line(row_values(rows[4], 334), trailing_separator=True, spaced=True)
    # A stray line break inside a description (a producer bug): the reader joins the two halves.
    lines[5] = lines[5].replace("Au cœur", "Au\ncœur", 1) if "Au cœur" in lines[5] else \
        lines[5].replace(". ", ".\n", 1)
    # A missing closing quote on a yes/no value (the spec's examples for fields 32 and 46).
    values = row_values({**rows[6], 32: "OUI"}, 334)
    lines[6] = format_line(values, trailing_separator=True).replace('"OUI"!#', '"OUI!#', 1)
    # A malformed line: cut in the middle (too few fields even with the next line).
    lines.insert(8, lines[8][: len(lines[8]) // 3])
    text = "\n".join(lines) + "\n"
    _zip(HERE / "maisons-quirks.zip", {
        "annonces.csv": text.encode("cp1252"),
        "config.txt": config_text({"Version": "4.12", "Application": "Hektor / 2026.3", "Devise": "Euro"},
                                  "\n").encode("cp1252"),
        "photos.cfg": b"Mode=URL\n",
    })


def grouped() -> None:
    rng = random.Random(13)
    agencies = ("sud-cannes", "sud-nice", "sud-antibes")
    rows = [listing(rng, n + 1, agencies[n % 3], PROFILES[(n * 5) % len(PROFILES)]) for n in range(30)]
    data = ("\r\n".join(_lines(rows, 329)) + "\r\n").encode("cp1252")
    _zip(HERE / "groupe-sud.zip", {
        "Annonces.csv": data,
        "Config.txt": config_text({"Version": "4.09", "Application": "ReseauSud / 1.0", "Devise": "Euro"}).encode(),
        "Photos.cfg": b"Mode=URL\r\n",
    })


if __name__ == "__main__":
    lumiere()
    quirks()
    grouped()
    for p in sorted(HERE.glob("*.zip")):
        with zipfile.ZipFile(p) as zf:
            print(p.name, [(i.filename, i.file_size) for i in zf.infolist()])
