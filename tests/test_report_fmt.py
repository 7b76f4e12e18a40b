"""French formatting and file-name safety for the reports."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etl.report.fmt import agency_file_names, agency_slug, neutralise_formula
from etl.report.i18n import fmt_duration, fmt_int


def test_numbers_use_french_thousands_separator() -> None:
    assert fmt_int(1234567, "fr") == "1\u202f234\u202f567"
    assert fmt_int(12, "fr") == "12"


def test_durations_read_naturally() -> None:
    assert fmt_duration(2.34, "fr") == "2,3 s"
    assert fmt_duration(125, "fr") == "2 min 05 s"
    assert fmt_duration(3 * 3600 + 7 * 60, "fr") == "3 h 07 min"


def test_slug_strips_path_and_accents() -> None:
    assert agency_slug("../../etc/passwd") == "etc-passwd"
    assert agency_slug("Agence Été & Fils") == "Agence-Ete-Fils"
    assert agency_slug("...") == "inconnue"
    assert agency_slug("") == "inconnue"


def test_clean_ids_keep_their_name_and_clashing_ones_get_distinct_names() -> None:
    names = agency_file_names(["AG-1", "AG 1", "AG/1", "ag-1"])
    assert names["AG-1"] == "report-AG-1.html"
    assert len({n.lower() for n in names.values()}) == 4  # distinct even on a case-insensitive disk
    # stable from one run to the next
    assert agency_file_names(["AG/1", "AG-1"])["AG/1"] == names["AG/1"]


@given(st.lists(st.text(min_size=0, max_size=80), max_size=8, unique=True))
def test_file_names_are_safe_and_distinct_for_any_ids(ids: list[str]) -> None:
    names = agency_file_names(ids)
    assert len({n.lower() for n in names.values()}) == len(ids)
    for n in names.values():
        assert "/" not in n and "\\" not in n and not n.startswith(".") and n.isascii()
        assert len(n) <= 100


def test_formula_prefixes_are_neutralised_and_plain_text_untouched() -> None:
    for bad in ("=1+1", "+33 6", "-5", "@SUM(A1)", "\t=x", "\r=x"):
        assert neutralise_formula(bad) == "'" + bad
    assert neutralise_formula("Appartement T3 = lumineux") == "Appartement T3 = lumineux"
    assert neutralise_formula("") == ""
