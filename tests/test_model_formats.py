"""The format checks: the same answer from pydantic-core's Rust regex, from Python's ``re``
and from the spec oracle (jsonschema's FormatChecker and the project's ``url``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import format_checker
from oracle import is_url as oracle_is_url
from pydantic import TypeAdapter, ValidationError

from etl.model import formats
from etl.model.scalars import DATE, DATE_TIME, EMAIL, MEDIA_TITLE, URL

CHECKER = format_checker()


def _accepts(annotation: Any) -> Any:
    validate = TypeAdapter(Annotated[str, annotation]).validate_python

    def accepts(value: str) -> bool:
        try:
            validate(value)
        except ValidationError:
            return False
        return True

    return accepts


MODEL_DATE = _accepts(DATE)
MODEL_DATE_TIME = _accepts(DATE_TIME)
MODEL_URL = _accepts(URL)
MODEL_TITLE = _accepts(MEDIA_TITLE)
MODEL_EMAIL = _accepts(EMAIL)


def test_date_agrees_with_jsonschema_on_every_day_of_the_tricky_years() -> None:
    years = [*range(0, 405), *range(1896, 2105), *range(9995, 10000)]
    python_re = re.compile(formats.DATE_PATTERN)
    mismatches = []
    for year in years:
        for month in range(0, 14):
            for day in range(0, 33):
                value = f"{year:04d}-{month:02d}-{day:02d}"
                expected = CHECKER.conforms(value, "date")
                if (python_re.fullmatch(value) is not None) is not expected:
                    mismatches.append(value)
    assert mismatches == []
    # And the Rust engine reads the pattern the same way.
    for value in [
        "2024-02-29",
        "2023-02-29",
        "2000-02-29",
        "1900-02-29",
        "0000-01-01",
        "0001-01-01",
        "2025-04-31",
    ]:
        assert MODEL_DATE(value) is CHECKER.conforms(value, "date"), value


DATE_TIMES = st.builds(
    lambda d, sep, h, m, s, frac, zone: f"{d}{sep}{h:02d}:{m:02d}:{s:02d}{frac}{zone}",
    st.sampled_from(["2025-09-01", "2024-02-29", "2023-02-29", "0000-01-01", "2025-13-01", "2025-9-01"]),
    st.sampled_from(["T", "t", " ", ""]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["", ".5", ".123456789", "."]),
    st.sampled_from(["Z", "z", "+02:00", "-05:30", "+24:00", "+0200", "", "+02:60"]),
)


@settings(max_examples=500, deadline=None)
@given(DATE_TIMES)
def test_date_time_agrees_with_jsonschema(value: str) -> None:
    expected = CHECKER.conforms(value, "date-time")
    assert formats.is_date_time(value) is expected
    assert MODEL_DATE_TIME(value) is expected


def test_date_time_refuses_the_trailing_newline_jsonschema_lets_through() -> None:
    value = "2025-09-01T10:00:00Z\n"
    assert CHECKER.conforms(value, "date-time")  # rfc3339-validator's `$` allows it
    assert not MODEL_DATE_TIME(value)


URLISH = st.builds(
    lambda scheme, host, port, rest: scheme + host + port + rest,
    st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "https:/", "//", "", "https://u:p@"]),
    st.text(alphabet="ab.-_~%!$&'()*+,;=:@[]/?#é 1", max_size=8),
    st.sampled_from(["", ":8080", ":", ":123456", ":x"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10),
)


@settings(max_examples=1000, deadline=None)
@given(URLISH)
def test_url_means_the_same_to_rust_python_and_the_oracle(value: str) -> None:
    expected = oracle_is_url(value)
    assert formats.is_url(value) is expected
    assert MODEL_URL(value) is expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://media.example-agency.fr/biens/VA-2025-0142/01.jpg?timestamp=2025-09-02T10:15:00", True),
        ("http://localhost:8000/photo.jpg", True),
        ("HTTPS://A.FR", True),
        ("https://a.fr/d%C3%A9j%C3%A0.jpg#x", True),
        ("https://a.fr/déjà.jpg", True),
        ("/biens/01.jpg", False),
        ("media.example-agency.fr/01.jpg", False),
        ("ftp://a.fr/01.jpg", False),
        ("https://a.fr/01 bis.jpg", False),
        ("https://user:secret@a.fr/01.jpg", False),
        ("https://é.fr/01.jpg", False),
        ("https://[::1]/01.jpg", False),
        ("https://", False),
    ],
)
def test_url_format_examples(value: str, ok: bool) -> None:
    assert MODEL_URL(value) is ok
    assert oracle_is_url(value) is ok


TITLE_CHARS = st.characters(blacklist_categories=("Cs",))


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.one_of(TITLE_CHARS, st.sampled_from(" \t\n\r\u00a0\u2028\ufeff\x1c")), max_size=6))
def test_media_title_is_never_looser_than_the_spec_pattern(value: str) -> None:
    assert MODEL_TITLE(value) is formats.is_media_title(value)
    if MODEL_TITLE(value):
        assert re.search(r"(?!(^\s+$))^.+$", value) is not None  # the spec's pattern, as jsonschema runs it


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Salle d'eau", True),
        (" Séjour ", True),
        ("", False),
        ("   ", False),
        ("\t", False),
        ("\u00a0", False),
        ("Séjour\navec vue", False),
        ("Séjour\n", False),
        ("\ufeff", False),
    ],
)
def test_media_title_examples(value: str, ok: bool) -> None:
    assert MODEL_TITLE(value) is ok


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab.@ -+", max_size=10))
def test_email_is_never_looser_than_jsonschema(value: str) -> None:
    if MODEL_EMAIL(value):
        assert CHECKER.conforms(value, "email")
    assert MODEL_EMAIL("contact@agence-exemple.fr")
    assert not MODEL_EMAIL("contact@agence")
