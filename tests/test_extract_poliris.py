"""The Poliris extractor on the reference example and on every quirk real exports show."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.extract.poliris import COLUMNS, FIELD_COUNT, PolirisFeed, read_poliris
from etl.extract.poliris.line import normalise
from etl.extract.poliris.writer import annonces_bytes, clean_value, format_line, row_values, write_annonces, write_zip
from etl.records import ExtractResult, RecordError, SourceRecord
from etl.errors import SourceUnreadable

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
EXAMPLE = REFERENCE / "poliris-example"


# --- helpers ----------------------------------------------------------------------------


def listing(n: int, **fields: str) -> dict[int, str]:
    """A plausible 4.09 listing; ``f175="X"`` style keywords override fields by rank."""
    row = {
        1: "agence-a", 2: f"REF-{n}", 3: "vente", 4: "Appartement", 5: "06210", 6: "Mandelieu-la-Napoule",
        11: str(200000 + n), 15: "4.5", 16: "58.4", 18: "3", 20: f"Appartement n°{n} vue mer",
        21: f"Séjour lumineux de 24 m², cuisine équipée.\nCave et parking. Référence {n}.",
        32: "OUI", 46: "NON", 85: f"https://cdn.example.fr/{n}/1.jpg", 175: f"TECH-{n}", 259: "10", 301: "4.09",
        329: "12.5",
    }
    row.update({int(k[1:]): v for k, v in fields.items()})
    return row


def parse_bytes(tmp_path: Path, data: bytes, *, name: str = "Annonces.csv",
                agency_id: str | None = None) -> tuple[PolirisFeed, list[ExtractResult]]:
    path = tmp_path / name
    path.write_bytes(data)
    feed = read_poliris(path, agency_id=agency_id)
    return feed, list(feed.records())


def records_only(results: list[ExtractResult]) -> list[SourceRecord]:
    assert all(isinstance(r, SourceRecord) for r in results), [r.issues for r in results if isinstance(r, RecordError)]
    return results  # type: ignore[return-value]


def codes(result: ExtractResult) -> list[str]:
    return [i.code for i in result.issues]


def expected(value: str) -> str:
    """What the extractor gives back for a value the writer wrote."""
    return normalise(clean_value(value))


def assert_listing(rec: SourceRecord, n: int, **fields: str) -> None:
    want = listing(n, **fields)
    for rank, value in want.items():
        assert rec.get(str(rank)) == expected(value), f"field {rank} of listing {n}"


# --- the reference example ------------------------------------------------------------------


def test_reference_example_gives_five_listings_with_keys_and_agencies() -> None:
    feed = read_poliris(EXAMPLE)
    results = records_only(list(feed.records()))
    assert [(r.agency_id, r.source_key) for r in results] == [
        ("lumiereimmo", "LUM-000123"),
        ("lumiereimmo", "LUM-000124"),
        ("lumiereimmo", "LUM-000125"),
        ("lumiereimmo", "LUM-000126"),
        ("maisonsoceane", "OCE-MOD-0004"),
    ]
    assert [r.location.line for r in results] == [1, 2, 3, 4, 5]
    assert all(r.format_version == "4.09" and not r.issues for r in results)
    assert feed.encoding == "cp1252"  # "Métro", "pièces" are cp1252 bytes
    assert feed.config["version"] == "4.09" and feed.config["APPLICATION"] == "MonLogiciel / 2.3.1"
    assert feed.photos_mode == "URL"
    assert feed.facts.complete and feed.facts.records == 5 and feed.facts.errors == 0


def test_reference_example_values_by_name_and_rank() -> None:
    first = next(iter(read_poliris(EXAMPLE / "Annonces.csv").records()))
    assert isinstance(first, SourceRecord)
    assert first.get("listing_reference") == first.get("2") == "VA-2031"
    assert first.get("price") == "624000"
    assert first.get("neighbourhood_or_nearby") == "Métro Bastille"
    assert first.get("title") == "Appartement 3 pièces Bastille"
    assert "(loi Carrez).\nEntrée" in first.get("description")  # <BR> became a line break
    assert first.get("photo_1") == "https://photos.lumiere-immobilier.fr/VA-2031/1.jpg?v=20260312"
    assert len(first.values) == FIELD_COUNT  # 329 read, padded to 334
    assert first.get("field_334") == first.get("334") == ""


def test_reference_example_matches_a_plain_split_of_the_file() -> None:
    raw = (EXAMPLE / "Annonces.csv").read_bytes().decode("cp1252").split("\r\n")
    oracle = [line[1:-1].split('"!#"') for line in raw if line]
    results = records_only(list(read_poliris(EXAMPLE).records()))
    for rec, values in zip(results, oracle, strict=True):
        assert rec.values[: len(values)] == [v.replace("<BR>", "\n") for v in values]


def test_columns_name_and_rank_resolve_to_the_same_position() -> None:
    assert COLUMNS["agency_id"] == COLUMNS["1"] == 0
    assert COLUMNS["technical_id"] == COLUMNS["175"] == 174
    assert COLUMNS["photo_1"] == COLUMNS["85"] == 84
    assert COLUMNS["format_version"] == COLUMNS["301"] == 300
    assert COLUMNS["field_330"] == COLUMNS["330"] == 329
    assert COLUMNS["field_334"] == COLUMNS["334"] == 333
    assert len(COLUMNS) == 2 * FIELD_COUNT


# --- format quirks: every one round-trips ---------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("trailing", [False, True])
@pytest.mark.parametrize("spaced", [False, True])
def test_encodings_line_endings_trailing_and_spaced_separators(
        tmp_path: Path, encoding: str, newline: str, trailing: bool, spaced: bool) -> None:
    rows = [listing(n) for n in range(1, 4)]
    data = annonces_bytes(rows, encoding=encoding, newline=newline, trailing_separator=trailing, spaced=spaced)
    feed, results = parse_bytes(tmp_path, data)
    recs = records_only(results)
    assert [r.source_key for r in recs] == ["TECH-1", "TECH-2", "TECH-3"]
    for n, rec in enumerate(recs, start=1):
        assert_listing(rec, n)
        assert not rec.issues
    assert feed.encoding == encoding


@pytest.mark.parametrize("width", [255, 294, 297, 299, 300, 306, 307, 323, 329, 334])
def test_every_revision_width_is_read_and_padded(tmp_path: Path, width: int) -> None:
    rows = [row_values(listing(n), width)[:width] for n in range(1, 3)]
    _, results = parse_bytes(tmp_path, annonces_bytes(rows, width=width))
    recs = records_only(results)
    assert all(len(r.values) == FIELD_COUNT and not r.issues for r in recs)
    assert recs[1].get("title") == "Appartement n°2 vue mer"
    assert recs[1].get("technical_id") == "TECH-2"
    assert recs[1].get("format_version") == ("4.09" if width > 300 else "")


def test_extra_columns_beyond_334_are_kept(tmp_path: Path) -> None:
    row = [*row_values(listing(1, f330="a", f334="e"), 334), "x335", "x336"]
    _, results = parse_bytes(tmp_path, annonces_bytes([row, listing(2)], width=334))
    first, second = records_only(results)
    assert first.values[329] == "a" and first.get("field_334") == "e"
    assert first.values[334:] == ["x335", "x336"]
    assert second.get("title") == "Appartement n°2 vue mer"


def test_format_version_falls_back_to_config(tmp_path: Path) -> None:
    zip_path = write_zip(tmp_path / "send.zip", [listing(1, f301="")], config={"VERSION": " 4.09 "})
    (rec,) = records_only(list(read_poliris(zip_path).records()))
    assert rec.format_version == "4.09"


def test_br_tags_and_no_break_spaces_are_normalised(tmp_path: Path) -> None:
    desc = "Un<BR>deux<br>trois<Br />quatre<br/>cinq\xa0six"
    line = format_line(row_values(listing(1, f21=desc), 329))
    _, results = parse_bytes(tmp_path, line.encode("utf-8"))
    (rec,) = records_only(results)
    assert rec.get("description") == "Un\ndeux\ntrois\nquatre\ncinq six"


def test_value_containing_separator_text_is_not_split(tmp_path: Path) -> None:
    data = annonces_bytes([listing(1, f20="Affaire !# à saisir", f21="!#"), listing(2)])
    _, results = parse_bytes(tmp_path, data)
    first, second = records_only(results)
    assert first.get("title") == "Affaire !# à saisir" and first.get("description") == "!#"
    assert first.get("technical_id") == "TECH-1" and second.get("technical_id") == "TECH-2"


def test_missing_closing_quotes_and_unquoted_value_do_not_shift_columns(tmp_path: Path) -> None:
    # As in the spec's own examples: '"OUI' (field 32), '"NON' (field 46), unquoted 10 (field 259).
    line = format_line(row_values(listing(1), 329))
    for quoted, damaged in (('"!#"OUI"!#"', '"!#"OUI!#"'), ('"!#"NON"!#"', '"!#"NON!#"'), ('"!#"10"!#"', '"!#10!#"')):
        line = line.replace(quoted, damaged, 1)
    assert line.count('"') == 2 * 329 - 4
    neighbours = [format_line(row_values(listing(n), 329)) for n in (0, 2)]
    data = "\r\n".join([neighbours[0], line, neighbours[1]]).encode("cp1252")
    _, results = parse_bytes(tmp_path, data)
    before, rec, after = records_only(results)
    assert_listing(rec, 1)
    assert codes(rec) == ["W_LINE_QUOTES"]
    assert "32, 46" in rec.issues[0].message
    assert_listing(before, 0)
    assert_listing(after, 2)


def test_missing_opening_quote_on_first_and_closing_on_last_value(tmp_path: Path) -> None:
    line = format_line(row_values(listing(1), 329))[1:-1]  # 'agence-a"!#…!#"12.5'
    _, results = parse_bytes(tmp_path, (line + "\n" + format_line(row_values(listing(2), 329))).encode())
    rec, nxt = records_only(results)
    assert_listing(rec, 1)
    assert codes(rec) == ["W_LINE_QUOTES"]
    assert_listing(nxt, 2)


def test_fully_unquoted_file(tmp_path: Path) -> None:
    rows = [row_values(listing(n, f21="Texte simple"), 329) for n in (1, 2)]
    data = "\n".join("!#".join(r) for r in rows).encode()
    _, results = parse_bytes(tmp_path, data)
    recs = records_only(results)
    assert [r.get("technical_id") for r in recs] == ["TECH-1", "TECH-2"]
    assert recs[0].get("price") == "200001" and recs[1].get("terrace_area_m2") == "12.5"


def test_empty_lines_are_ignored_but_counted(tmp_path: Path) -> None:
    a, b = (format_line(row_values(listing(n), 329)) for n in (1, 2))
    feed, results = parse_bytes(tmp_path, f"\r\n\r\n{a}\r\n   \r\n\r\n{b}\r\n\r\n".encode())
    recs = records_only(results)
    assert [(r.source_key, r.location.line, r.location.record) for r in recs] == [("TECH-1", 3, 1), ("TECH-2", 6, 2)]
    assert feed.facts.lines == 7


def test_stray_line_breaks_inside_a_description_are_joined(tmp_path: Path) -> None:
    rows = [format_line(row_values(listing(n), 329)) for n in range(1, 4)]
    broken = rows[1].replace("Séjour lumineux", "Séjour\nlumi\r\neux", 1)
    data = "\r\n".join([rows[0], broken, rows[2]]).encode("cp1252")
    _, results = parse_bytes(tmp_path, data)
    first, joined, last = records_only(results)
    assert joined.get("description").startswith("Séjour\nlumi\neux de 24 m²")
    assert joined.get("technical_id") == "TECH-2" and joined.get("terrace_area_m2") == "12.5"
    assert joined.location.line == 2
    assert codes(joined) == ["W_LINE_JOINED"]
    assert "lignes 2 à 4" in joined.issues[0].message
    assert (last.location.line, last.get("technical_id")) == (5, "TECH-3")
    assert_listing(first, 1)


def test_stray_break_in_a_late_text_field_is_joined(tmp_path: Path) -> None:
    rows = [format_line(row_values(listing(n, f280="Vue\nmer"), 334)) for n in range(1, 4)]
    data = "\n".join(r.replace("<BR>", "\n") if i == 1 else r for i, r in enumerate(rows)).encode()
    _, results = parse_bytes(tmp_path, data)
    recs = records_only(results)
    assert [r.get("technical_id") for r in recs] == ["TECH-1", "TECH-2", "TECH-3"]
    assert recs[1].get("280") == "Vue\nmer" and codes(recs[1]) == ["W_LINE_JOINED"]


def test_short_garbage_line_is_an_error_and_does_not_swallow_the_next_record(tmp_path: Path) -> None:
    rows = [format_line(row_values(listing(n), 329)) for n in range(1, 4)]
    data = "\n".join([rows[0], '"agence-a"!#"REF-X"!#"vente', rows[1], rows[2]]).encode()
    _, results = parse_bytes(tmp_path, data)
    assert [type(r).__name__ for r in results] == ["SourceRecord", "RecordError", "SourceRecord", "SourceRecord"]
    err = results[1]
    assert isinstance(err, RecordError)
    assert err.location.line == 2 and err.location.record == 2
    assert err.agency_id == "agence-a"
    assert codes(err) == ["E_LINE_MALFORMED"]
    assert "ligne 2" in err.issues[0].message and "3 champ(s)" in err.issues[0].message
    assert err.raw and err.raw.startswith('"agence-a"')
    assert [r.get("technical_id") for r in results if isinstance(r, SourceRecord)] == ["TECH-1", "TECH-2", "TECH-3"]
    assert [r.location.line for r in results] == [1, 2, 3, 4]


def test_line_that_cannot_be_completed_by_joining_is_an_error(tmp_path: Path) -> None:
    rows = [format_line(row_values(listing(n), 329)) for n in range(1, 3)]
    head = '"agence-a"!#"REF-9"!#"vente"!#"Appartement'
    tail = 'suite"!#"x"!#"y'
    data = "\n".join([rows[0], head, tail, rows[1]]).encode()
    _, results = parse_bytes(tmp_path, data)
    assert [type(r).__name__ for r in results] == ["SourceRecord", "RecordError", "SourceRecord"]
    assert results[1].location.line == 2 and "lignes 2 à 3" in results[1].issues[0].message
    assert results[2].get("technical_id") == "TECH-2"  # type: ignore[union-attr]


def test_malformed_line_still_names_its_listing_when_it_can(tmp_path: Path) -> None:
    # A line cut after field 200 (the export crashed mid-line?): too few fields, key still readable.
    cut = '"' + '"!#"'.join(row_values(listing(1), 329)[:200])
    rows = [format_line(row_values(listing(0), 329)), cut, format_line(row_values(listing(2), 329))]
    _, results = parse_bytes(tmp_path, "\n".join(rows).encode())
    assert isinstance(results[0], SourceRecord)
    err = results[1]
    assert isinstance(err, RecordError) and codes(err) == ["E_LINE_MALFORMED"]
    assert (err.agency_id, err.source_key) == ("agence-a", "TECH-1")


def test_fragment_at_start_of_file_is_not_taken_for_a_record(tmp_path: Path) -> None:
    # The first half of a broken record is missing: what remains starts mid-value.
    row = format_line(row_values(listing(1), 329))
    fragment = row[row.index("lumineux"):]
    _, results = parse_bytes(tmp_path, (fragment + "\n" + format_line(row_values(listing(2), 329))).encode())
    assert isinstance(results[0], RecordError) and codes(results[0]) == ["E_LINE_MALFORMED"]
    assert isinstance(results[1], SourceRecord) and results[1].source_key == "TECH-2"


def test_truncated_last_line_is_an_error_and_the_feed_is_marked_incomplete(tmp_path: Path) -> None:
    rows = [format_line(row_values(listing(n), 329)) for n in range(1, 4)]
    data = ("\r\n".join(rows[:2]) + "\r\n" + rows[2][:400]).encode("cp1252")
    feed, results = parse_bytes(tmp_path, data)
    assert [type(r).__name__ for r in results] == ["SourceRecord", "SourceRecord", "RecordError"]
    assert results[2].location.line == 3
    assert (results[2].agency_id, results[2].source_key) == ("agence-a", None)  # cut before field 175
    assert feed.facts.complete is False
    assert "tronqué" in feed.facts.problems[0]


def test_missing_final_newline_alone_is_not_truncation(tmp_path: Path) -> None:
    data = annonces_bytes([listing(1), listing(2)], final_newline=False)
    feed, results = parse_bytes(tmp_path, data)
    assert len(records_only(results)) == 2
    assert feed.facts.complete is True


def test_over_long_line_is_an_error_naming_its_line(tmp_path: Path) -> None:
    import etl.extract.lines as lines_module

    a, b = (format_line(row_values(listing(n), 329)) for n in (1, 2))
    monster = '"' + "x" * (lines_module.MAX_LINE_BYTES + 10) + '"'
    _, results = parse_bytes(tmp_path, "\n".join([a, monster, b]).encode())
    assert [type(r).__name__ for r in results] == ["SourceRecord", "RecordError", "SourceRecord"]
    assert codes(results[1]) == ["E_LINE_TOO_LONG"] and results[1].location.line == 2


def test_unknown_row_width_is_read_with_a_warning(tmp_path: Path) -> None:
    row = row_values(listing(1), 329)
    del row[100]  # one field missing in the middle: the following ones are shifted
    broken = format_line(row_values(listing(2), 329)).replace("Séjour lumineux", "Séjour\nlumineux")
    lines = [format_line(row_values(listing(0), 329)), format_line(row), broken]
    _, results = parse_bytes(tmp_path, "\n".join(lines).encode())
    before, rec, after = records_only(results)  # 328 did not become the width: the break is mended
    # (field 175 moved to position 174, where field 176 — empty — was: the key fell back too)
    assert codes(rec) == ["W_LINE_WIDTH", "W_KEY_FALLBACK_REFERENCE"] and "328 champs" in rec.issues[0].message
    assert not before.issues and codes(after) == ["W_LINE_JOINED"]


# --- encodings --------------------------------------------------------------------------------


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    feed, results = parse_bytes(tmp_path, annonces_bytes([listing(1)], encoding="utf-8", bom=True))
    (rec,) = records_only(results)
    assert rec.get("agency_id") == "agence-a" and rec.get("title") == "Appartement n°1 vue mer"
    assert feed.encoding == "utf-8"


def test_cp1252_byte_late_in_the_file_is_decoded_correctly(tmp_path: Path) -> None:
    # 2,000 pure-ASCII lines, then one with "Saint-Raphaël" in cp1252: no sample-based guess.
    ascii_rows = [listing(n, f6="Nice", f20="Studio", f21="Studio refait") for n in range(2000)]
    late = listing(5000, f6="Saint-Raphaël", f21="l’œuvre à 3 500 €")
    feed, results = parse_bytes(tmp_path, annonces_bytes([*ascii_rows, late], encoding="cp1252"))
    recs = records_only(results)
    assert recs[-1].get("city") == "Saint-Raphaël" and recs[-1].get("description") == "l’œuvre à 3 500 €"
    assert feed.encoding == "cp1252"


def test_mixed_encodings_are_decoded_line_by_line_and_reported(tmp_path: Path) -> None:
    a, b, c = (format_line(row_values(listing(n), 329)) for n in (1, 2, 3))
    data = a.encode("utf-8") + b"\n" + b.encode("cp1252") + b"\n" + c.encode("utf-8") + b"\n"
    feed, results = parse_bytes(tmp_path, data)
    recs = records_only(results)
    for n, rec in enumerate(recs, start=1):
        assert_listing(rec, n)
    assert codes(recs[0]) == [] and codes(recs[1]) == ["W_ENCODING_MIXED"] and codes(recs[2]) == []
    assert feed.encoding == "mixed"


def test_mojibake_is_repaired_and_reported(tmp_path: Path) -> None:
    damaged = "Appartement n°1 vue mer".encode("utf-8").decode("cp1252")  # 'n\u00c2\u00b01'
    _, results = parse_bytes(tmp_path, annonces_bytes([listing(1, f20=damaged)], encoding="utf-8"))
    (rec,) = records_only(results)
    assert rec.get("title") == "Appartement n°1 vue mer"
    assert codes(rec) == ["W_ENCODING_REPAIRED"]


def test_undefined_cp1252_byte_is_replaced_and_reported(tmp_path: Path) -> None:
    data = annonces_bytes([listing(1, f20="Studio XYZ")]).replace(b"XYZ", b"X\x9dZ")
    _, results = parse_bytes(tmp_path, data)
    (rec,) = records_only(results)
    assert rec.get("title") == "Studio X\ufffdZ"
    assert codes(rec) == ["W_ENCODING_UNDEFINED_BYTE"] and "0x9D" in rec.issues[0].message


def test_utf16_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    from etl.errors import SourceUnreadable

    path = tmp_path / "Annonces.csv"
    path.write_bytes(annonces_bytes([listing(1)], encoding="utf-16"))
    with pytest.raises(SourceUnreadable, match="UTF-16"):
        list(read_poliris(path).records())


# --- keys, agencies, duplicates ---------------------------------------------------------------------


def test_grouped_send_takes_each_agency_from_field_1(tmp_path: Path) -> None:
    rows = [listing(1, f1="agence-a"), listing(2, f1="agence-b", f175="TECH-1"), listing(3, f1="agence-c")]
    _, results = parse_bytes(tmp_path, annonces_bytes(rows))
    recs = records_only(results)  # same technical id in two agencies is no duplicate
    assert [(r.agency_id, r.source_key) for r in recs] == [("agence-a", "TECH-1"), ("agence-b", "TECH-1"), ("agence-c", "TECH-3")]


def test_empty_technical_id_falls_back_to_reference_with_a_warning(tmp_path: Path) -> None:
    _, results = parse_bytes(tmp_path, annonces_bytes([listing(1, f175="  ")]))
    (rec,) = records_only(results)
    assert rec.source_key == "REF-1"
    assert codes(rec) == ["W_KEY_FALLBACK_REFERENCE"]
    assert rec.issues[0].source_field == "175" and "REF-1" in rec.issues[0].message


def test_no_key_at_all_is_an_error(tmp_path: Path) -> None:
    _, results = parse_bytes(tmp_path, annonces_bytes([listing(1, f175="", f2=""), listing(2)]))
    err, ok = results
    assert isinstance(err, RecordError) and codes(err) == ["E_KEY_MISSING"]
    assert err.agency_id == "agence-a" and err.location.line == 1
    assert isinstance(ok, SourceRecord) and ok.source_key == "TECH-2"


def test_agency_comes_from_the_argument_when_field_1_is_empty(tmp_path: Path) -> None:
    data = annonces_bytes([listing(1, f1=""), listing(2, f1="autre")])
    _, results = parse_bytes(tmp_path, data, agency_id="agence-conf")
    assert [r.agency_id for r in records_only(results)] == ["agence-conf", "autre"]


def test_no_agency_at_all_is_an_error(tmp_path: Path) -> None:
    _, results = parse_bytes(tmp_path, annonces_bytes([listing(1, f1="")]))
    (err,) = results
    assert isinstance(err, RecordError) and codes(err) == ["E_AGENCY_MISSING"]
    assert err.source_key == "TECH-1"


def test_duplicate_key_in_one_agency_rejects_the_second_and_names_the_first_line(tmp_path: Path) -> None:
    rows = [listing(1), listing(2), listing(3, f175="TECH-1"), listing(4)]
    _, results = parse_bytes(tmp_path, annonces_bytes(rows))
    assert [type(r).__name__ for r in results] == ["SourceRecord", "SourceRecord", "RecordError", "SourceRecord"]
    err = results[2]
    assert codes(err) == ["E_KEY_DUPLICATE"] and err.location.line == 3
    assert "ligne 1" in err.issues[0].message and "TECH-1" in err.issues[0].message
    assert results[3].source_key == "TECH-4"  # type: ignore[union-attr]


def test_records_can_be_read_twice(tmp_path: Path) -> None:
    path = write_annonces(tmp_path / "Annonces.csv", [listing(1), listing(2)])
    feed = read_poliris(path)
    first = [r.source_key for r in feed.records()]
    assert first == [r.source_key for r in feed.records()] == ["TECH-1", "TECH-2"]  # no false duplicates


# --- round trip (property) ----------------------------------------------------------------------------

_TEXT = st.lists(
    st.sampled_from([*"abcXYZ 019.,;:!#'\"<>/-_éèàçôœ€’«»°\xa0\n\r\t", "<BR>", "<br>", "!#", '"!#"', " !# "]),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.dictionaries(st.integers(min_value=3, max_value=329), _TEXT, max_size=12),
    encoding=st.sampled_from(["cp1252", "utf-8"]),
    newline=st.sampled_from(["\r\n", "\n"]),
    trailing=st.booleans(),
    spaced=st.booleans(),
)
def test_any_values_round_trip_through_writer_and_reader(
        tmp_path: Path, values: dict[int, str], encoding: str, newline: str, trailing: bool, spaced: bool) -> None:
    rows = [listing(1, **{f"f{k}": v for k, v in values.items()}), listing(2)]
    data = annonces_bytes(rows, encoding=encoding, newline=newline, trailing_separator=trailing, spaced=spaced)
    _, results = parse_bytes(tmp_path, data)
    first, second = records_only(results)
    for rank, value in values.items():
        assert first.get(str(rank)) == expected(value)
    assert first.source_key == expected(values.get(175, "TECH-1")).strip() or first.source_key == "REF-1"
    assert second.get("technical_id") == "TECH-2" and second.get("terrace_area_m2") == "12.5"


# --- streaming -------------------------------------------------------------------------------------------


def _write_many(path: Path, count: int, *, zipped: bool = False) -> Path:
    """``count`` listings of 334 fields, written fast (one formatted line, the key varied)."""
    line = format_line(row_values(listing(0), 334))
    if not zipped:
        with open(path, "w", encoding="utf-8", newline="") as f:
            for n in range(count):
                f.write(line.replace("TECH-0", f"TECH-{n}") + "\r\n")
        return path
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("Annonces.csv", "w") as member:
        for n in range(count):
            member.write((line.replace("TECH-0", f"TECH-{n}") + "\r\n").encode("utf-8"))
    return path


def _peak_while_reading(path: Path) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        seen = 0
        for rec in read_poliris(path).records():
            assert isinstance(rec, SourceRecord)
            seen += 1
        return seen, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("count", "zipped"), [(50_000, False), (20_000, True)])
def test_memory_stays_flat_in_the_file_size(tmp_path: Path, count: int, zipped: bool) -> None:
    path = _write_many(tmp_path / ("send.zip" if zipped else "Annonces.csv"), count, zipped=zipped)
    size = count * len(format_line(row_values(listing(0), 334)))  # uncompressed bytes
    seen, peak = _peak_while_reading(path)
    assert seen == count
    # Buffers are bounded (256 KiB chunks); only the key set (to catch duplicates) grows with
    # the file, by ~200 bytes a listing where the file grows by ~1.5 KB.
    assert peak < 10 * 1024 * 1024 + 250 * count, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.0f} MB of listings"
    assert peak < size / 3


def test_a_record_cut_by_a_truncated_upload_is_an_error_not_a_short_listing(tmp_path: Path) -> None:
    """A cut at a field boundary looks like an older revision's row; last in an unterminated
    file it is a truncation, and publishing it would replace the full listing online."""
    lines = [format_line(row_values(listing(n), 329)) for n in (1, 2, 3)]
    cut = lines[2][: lines[2].rindex('"!#"', 0, len(lines[2]) - 200) + 4]  # ends on a separator, no newline
    feed, results = parse_bytes(tmp_path, ("\r\n".join(lines[:2]) + "\r\n" + cut).encode())
    assert [type(r).__name__ for r in results] == ["SourceRecord", "SourceRecord", "RecordError"]
    assert results[2].issues[0].code == "E_LINE_TRUNCATED" and results[2].source_key == "TECH-3"
    assert feed.facts.complete is False and feed.facts.problems
