"""ConvertSummary: exact counts, bounded memory, the summary.json shape."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Iterator

import pytest

from etl.records import FeedFacts
from etl.records import SourceLocation
from etl.issues import Issue, Severity, error, warning
from etl.outcome import ListingKey, Outcome
from etl.report.summary import LOAD_KEYS, MAX_VALUE_CHARS, ConvertSummary


class Body(dict):
    """A body that can be weakly referenced, to prove nobody keeps it."""

    __slots__ = ("__weakref__",)


def outcome(agency: str, n: int, *, accepted: bool = True, issues: list[Issue] | None = None,
            requested: tuple[str, ...] = ("SL",), portals: tuple[str, ...] | None = None,
            file: str = "Annonces.csv") -> Outcome:
    granted = list(requested if portals is None else portals) if accepted else []
    body = Body(portals=granted, data={"reference": f"VA{n:04d}", "description": "Bel appartement " * 20}) \
        if accepted else None
    return Outcome(
        location=SourceLocation(file, n + 1, n),
        key=ListingKey(agency, f"{agency}-{n}"),
        reference=f"VA{n:04d}",
        accepted=accepted,
        body=body,
        body_hash="0" * 64 if accepted else None,
        requested_portals=list(requested),
        portals=granted,
        issues=issues or [],
    )


PRICE = error("E_PRICE_MISSING", "Le prix de vente (champ 11) est vide : renseignez-le.",
              source_field="Prix (champ 11)", aviv_path="data.prices.buy.price.amount", value="")
POSTCODE = error("E_POSTCODE_INVALID", "Le code postal « 75O11 » n'a pas 5 chiffres.",
                 source_field="Code postal (champ 5)", aviv_path="data.location.postalcode", value="75O11")
SHORT = warning("W_BD_DESCRIPTION_SHORT", "La description fait 80 caractères ; Belles Demeures en demande 160.",
                source_field="Texte annonce (champ 21)", value="Belle maison", portal="BD")
NO_PICTURE = error("E_BD_PICTURE_MISSING", "Belles Demeures exige au moins une photo (champs 85 à 93).",
                   source_field="Photo 1 (champ 85)", portal="BD")


def test_counts_read_accepted_rejected_warned_per_agency() -> None:
    s = ConvertSummary()
    s.add(outcome("AG1", 1))
    s.add(outcome("AG1", 2, accepted=False, issues=[PRICE, POSTCODE]))
    s.add(outcome("AG1", 3, issues=[SHORT], requested=("SL", "BD")))
    s.add(outcome("AG1", 4, issues=[NO_PICTURE, SHORT], requested=("SL", "BD"), portals=("SL",)))
    s.add(outcome("AG2", 1, requested=("SL", "BD")))

    a1, a2 = s.agencies
    assert (a1.agency_id, a1.read, a1.accepted, a1.rejected, a1.warned) == ("AG1", 4, 3, 1, 2)
    assert (a1.warnings, a1.errors) == (2, 3)
    assert a1.by_portal == {"SL": 3, "BD": 1}
    assert a1.refused_by_portal == {"BD": 1}
    assert a1.codes["W_BD_DESCRIPTION_SHORT"].listings == 2
    assert a1.codes["E_PRICE_MISSING"].severity is Severity.ERROR
    # Listings to fix: every listing with an issue, accepted or not.
    assert [p.reference for p in a1.problems] == ["VA0002", "VA0003", "VA0004"]
    assert (a2.read, a2.accepted, a2.by_portal) == (1, 1, {"SL": 1, "BD": 1})
    assert a2.problems == []


def test_code_counted_once_per_listing_but_every_occurrence_counted() -> None:
    s = ConvertSummary()
    twice = [PRICE, error("E_PRICE_MISSING", "autre prix manquant")]
    s.add(outcome("AG1", 1, accepted=False, issues=twice))
    c = s.agency("AG1").codes["E_PRICE_MISSING"]
    assert (c.listings, c.issues) == (1, 2)


def test_outcome_without_key_is_counted_under_unknown_agency() -> None:
    # An extractor error may not know its agency: it must still be counted, not dropped.
    s = ConvertSummary()
    o = outcome("AG1", 1, accepted=False, issues=[error("E_LINE_UNREADABLE", "Ligne illisible")])
    o.key = None
    s.add(o)
    assert s.agency("").rejected == 1
    assert s.agency("").problems[0].source_key == ""


def test_listings_kept_are_bounded_but_counts_stay_exact() -> None:
    s = ConvertSummary(max_listings_per_agency=5)
    for n in range(12):
        s.add(outcome("AG1", n, accepted=False, issues=[PRICE]))
    a = s.agency("AG1")
    assert len(a.problems) == 5
    assert a.omitted_problems == 7
    assert a.codes["E_PRICE_MISSING"].listings == 12
    j = s.to_json()["agencies"]["AG1"]
    assert (j["rejected"], j["problems_listed"], j["problems_omitted"]) == (12, 5, 7)


def test_long_values_are_truncated_in_what_is_kept() -> None:
    s = ConvertSummary()
    long = warning("W_TEXT", "Texte suspect", value="x" * 10_000)
    s.add(outcome("AG1", 1, issues=[long]))
    kept = s.agency("AG1").problems[0].issues[0]
    assert kept.value is not None and len(kept.value) == MAX_VALUE_CHARS + 1
    assert kept.value.endswith("…")
    assert (kept.code, kept.message) == ("W_TEXT", "Texte suspect")


def test_to_json_has_counts_portals_sources_durations_and_room_for_the_loader() -> None:
    s = ConvertSummary()
    s.add_source("/feeds/agence1/Annonces.csv", FeedFacts("/feeds/agence1/Annonces.csv", records=3))
    s.add(outcome("AG1", 1, requested=("SL", "BD")))
    s.add(outcome("AG1", 2, accepted=False, issues=[PRICE]))
    s.add(outcome("AG2", 1, issues=[SHORT]))
    s.add_duration("convert", 1.5)
    s.finish()
    j = s.to_json()

    assert j["command"] == "convert"
    assert j["sources"] == [{"path": "/feeds/agence1/Annonces.csv", "format": None, "dialect": None, "encoding": None,
                             "records": 3, "complete": True, "problems": []}]
    assert j["durations_s"]["convert"] == 1.5 and j["durations_s"]["total"] >= 0
    assert j["started_at"] and j["finished_at"]
    ag1 = j["agencies"]["AG1"]
    assert {k: ag1[k] for k in ("read", "accepted", "rejected", "warned")} == \
        {"read": 2, "accepted": 1, "rejected": 1, "warned": 0}
    assert ag1["by_portal"] == {"SL": 1, "BD": 1}
    for agency in j["agencies"].values():
        assert all(agency[k] == 0 for k in LOAD_KEYS)
    assert j["totals"]["read"] == 3 and j["totals"]["warned"] == 1
    assert j["totals"]["codes"]["E_PRICE_MISSING"] == {"severity": "error", "listings": 1, "issues": 1}
    assert all(j["totals"][k] == 0 for k in LOAD_KEYS)


def test_loader_counts_go_into_the_same_shape() -> None:
    s = ConvertSummary(command="run")
    s.add(outcome("AG1", 1))
    s.add_load_counts("AG1", created=1)
    s.add_load_counts("AG1", created=2, failed=1)
    j = s.to_json()
    assert (j["agencies"]["AG1"]["created"], j["agencies"]["AG1"]["failed"]) == (3, 1)
    assert j["totals"]["created"] == 3
    with pytest.raises(ValueError):
        s.add_load_counts("AG1", published=1)


def test_add_all_passes_outcomes_through_while_counting() -> None:
    s = ConvertSummary()
    items = [outcome("AG1", n) for n in range(3)]
    assert list(s.add_all(iter(items))) == items
    assert s.agency("AG1").read == 3


def _accepted_stream(n: int) -> Iterator[Outcome]:
    for i in range(n):
        yield outcome(f"AG{i % 3}", i, requested=("SL", "BD"))


def test_accepted_bodies_are_not_retained() -> None:
    s = ConvertSummary()
    o = outcome("AG1", 1, issues=[SHORT])
    ref = weakref.ref(o.body)
    s.add(o)
    del o
    gc.collect()
    assert ref() is None


def test_feeding_100k_accepted_outcomes_keeps_the_accumulator_small() -> None:
    s = ConvertSummary()
    s.add(outcome("AG0", 0))  # first-time allocations (agency entries) out of the measure
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for o in _accepted_stream(100_000):
            s.add(o)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One retained body alone is ~500 bytes: 100k of them would be ~50 MB.
    assert after - before < 200_000, f"accumulator grew by {after - before} bytes"
    assert sum(a.read for a in s.agencies) == 100_001
    assert s.totals.by_portal == {"SL": 100_001, "BD": 100_000}
