"""The field table embedded in the package matches the reference table, and the writer
writes what the spec asks."""

from __future__ import annotations

import csv
from pathlib import Path

from etl.extract.poliris import COLUMNS, FIELD_COUNT, FIELD_NAMES, field_label
from etl.extract.poliris.fields import FIELDS
from etl.extract.poliris.writer import clean_value, format_line, row_values

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def test_embedded_field_table_matches_the_reference_csv() -> None:
    with open(REFERENCE / "poliris-4.09-fields.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["name_en"], r["name_fr"]) for r in rows] == list(FIELDS[:329])
    assert [int(r["rank"]) for r in rows] == list(range(1, 330))
    assert FIELD_NAMES[329:] == ("field_330", "field_331", "field_332", "field_333", "field_334")
    assert FIELD_COUNT == 334
    assert len(set(FIELD_NAMES)) == FIELD_COUNT
    assert not set(FIELD_NAMES) & {str(i) for i in range(1, 400)}


def test_columns_cover_names_and_ranks() -> None:
    for rank, name in enumerate(FIELD_NAMES, start=1):
        assert COLUMNS[name] == COLUMNS[str(rank)] == rank - 1


def test_field_label_names_the_field_in_french() -> None:
    assert field_label(175) == "champ 175 (Identifiant technique)"
    assert field_label(332) == "champ 332"


def test_writer_quotes_values_and_replaces_what_the_format_cannot_carry() -> None:
    assert clean_value('Le "Florentin"\r\nvue\rmer\nici') == "Le 'Florentin'<BR>vue<BR>mer<BR>ici"
    assert format_line(["a", "", 'b"c']) == '"a"!#""!#"b\'c"'
    assert format_line(["a", "b"], trailing_separator=True) == '"a"!#"b"!#'
    assert format_line(["a", "b"], spaced=True, trailing_separator=True) == '"a" !# "b" !#'


def test_writer_rows_by_rank_or_name_are_padded() -> None:
    values = row_values({1: "ag", "technical_id": "T-1", "price": 1200}, 329)
    assert len(values) == 329
    assert values[0] == "ag" and values[174] == "T-1" and values[10] == "1200"
    assert row_values(["a", "b"], 4) == ["a", "b", "", ""]


def test_source_record_field_order_the_extractor_relies_on() -> None:
    # poliris._Parser._record builds SourceRecord positionally (it is on the hot path).
    import dataclasses

    from etl.records import SourceRecord

    names = [f.name for f in dataclasses.fields(SourceRecord)]
    assert names[:6] == ["agency_id", "source_key", "location", "values", "columns", "format_version"]
