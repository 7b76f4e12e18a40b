"""``values: spreadsheet``: numbers and dates as people type them, ambiguity refused."""

from __future__ import annotations

import pytest

from etl.mapping.converters import SPREADSHEET_CONVERTERS, ConversionError, number, sheet_date, strict_number


@pytest.mark.parametrize(("raw", "expected"), [
    ("1 250 000,50", 1250000.5),
    ("1\u202f250\u202f000,50", 1250000.5),
    ("1.250.000,50", 1250000.5),
    ("495 000 €", 495000),
    ("495.000,00 €", 495000),
    ("1,250,000.50", 1250000.5),
    ("1,250,000", 1250000),
    ("1.250.000", 1250000),
    ("2950000.00", 2950000),
    ("58,4", 58.4),
    ("0,250", 0.25),
    ("1 250", 1250),
    ("1 250,500", 1250.5),
    ("-12,5", -12.5),
    ("350000 EUR", 350000),
])
def test_french_and_english_numbers_are_read_as_written(raw, expected):
    value = strict_number(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw", ["1,250", "1.250", "350.000", "12,500"])
def test_a_single_separator_before_three_digits_is_ambiguous_never_guessed(raw):
    with pytest.raises(ConversionError, match="ambigu"):
        strict_number(raw)


def test_export_mappings_keep_their_lenient_reading():
    assert number("1,250") == 1.25 and number("1.250") == 1.25  # Poliris behaviour, unchanged


@pytest.mark.parametrize("raw", ["1,2,3", "1.25.000,5", "abc", "12 a"])
def test_a_malformed_number_is_an_error(raw):
    with pytest.raises(ConversionError):
        strict_number(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("12/03/2025", "2025-03-12"), ("12/03/25", "2025-03-12"), ("2025-03-12", "2025-03-12"),
    ("45728", "2025-03-12"), ("45728.5", "2025-03-12"), ("01/01/99", "1999-01-01"), ("2025-03-12T10:00:00", "2025-03-12"),
])
def test_french_iso_and_excel_serial_dates(raw, expected):
    assert sheet_date(raw).isoformat() == expected


@pytest.mark.parametrize("raw", ["31/02/2025", "12/13/2025", "350000", "demain"])
def test_an_impossible_date_is_an_error(raw):
    with pytest.raises(ConversionError):
        sheet_date(raw)


def test_spreadsheet_converters_refuse_what_they_cannot_read_unambiguously():
    conv = SPREADSHEET_CONVERTERS
    assert conv["positive_amount"]("495 000 €") == 495000
    assert conv["half_count"]("2,5") == 2.5
    assert conv["datetime"]("12/03/25") == "2025-03-12T00:00:00+01:00"
    with pytest.raises(ConversionError):
        conv["count"]("1,5")
    with pytest.raises(ConversionError, match="ambigu"):
        conv["amount"]("1.500")
