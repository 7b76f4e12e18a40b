import pytest

from etl.mapping.converters import (
    ConversionError,
    amount,
    country_iso3,
    fold,
    half_count,
    integer,
    is_blank,
    iso_date,
    iso_datetime,
    number,
    postal_code,
    tristate,
    year_date,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2950000.00", 2950000),
    ("58.4", 58.4),
    ("58,4", 58.4),
    ("495.000,00 €", 495000),      # the importer that read 49,500,000 (feed-quirks.md)
    ("495 000", 495000),
    ("495\u00a0000,50", 495000.5),
    ("1.250.000", 1250000),
    ("1,250,000.75", 1250000.75),
    ("289000 EUR", 289000),
])
def test_french_and_dotted_numbers_are_read_as_agencies_mean_them(raw, expected):
    value = number(raw)
    assert value == expected
    assert type(value) is type(expected)  # whole numbers stay integers: stable hashes


@pytest.mark.parametrize("raw", ["abc", "12a", "--", "1e400"])
def test_a_non_number_is_an_error_naming_the_value(raw):
    with pytest.raises(ConversionError, match="nombre"):
        number(raw)


def test_amounts_refuse_negatives_and_integers_refuse_fractions():
    with pytest.raises(ConversionError):
        amount("-5")
    with pytest.raises(ConversionError):
        integer("1.5")
    assert half_count("2.5") == 2.5
    with pytest.raises(ConversionError):
        half_count("2.3")


def test_poliris_empty_markers_are_blank():
    assert is_blank("") and is_blank("0") and is_blank("00/00/0000") and is_blank("0.00")
    assert not is_blank("01/01/2020") and not is_blank("5")


def test_dates_follow_the_format_each_aviv_path_requires():
    assert iso_date("12/03/2026") == "2026-03-12"
    assert iso_datetime("01/07/2026") == "2026-07-01T00:00:00+02:00"   # summer time in Paris
    assert iso_datetime("01/01/2026") == "2026-01-01T00:00:00+01:00"
    assert year_date("2021") == "2021-01-01"
    assert year_date("01/01/2000") == "2000-01-01"  # field 328 seen holding a date
    with pytest.raises(ConversionError):
        iso_date("31/02/2026")


def test_yes_no_and_country_and_postal_code():
    assert tristate("OUI ") == "YES" and tristate("non") == "NO"
    with pytest.raises(ConversionError):
        tristate("peut-être")
    assert country_iso3("France") == "FRA"
    assert country_iso3("Belgique") == "BEL"
    with pytest.raises(ConversionError, match="inconnu"):
        country_iso3("Atlantide")
    assert postal_code("6250") == "06250"
    with pytest.raises(ConversionError):
        postal_code("750")
    with pytest.raises(ConversionError):
        postal_code("ABCDE")


def test_fold_ignores_case_accents_spacing_and_curly_apostrophes():
    assert fold("  Modèle  de MAISON ") == "modele de maison"
    assert fold("produit d\u2019investissement") == "produit d'investissement"
