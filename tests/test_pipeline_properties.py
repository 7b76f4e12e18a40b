"""Property-based: generated Poliris lines never crash convert, every record is accounted for,
and every accepted body validates against the official spec."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.extract.poliris.writer import annonces_bytes
from etl.feedgen import PROFILES, listing
from etl.pipeline import convert
from etl.records import FeedFacts
from oracle import assert_spec_valid

# Fields whose values drive the mapping's branches; hypothesis writes anything into them.
INTERESTING = [3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 18, 19, 21, 22, 23, 24, 27, 33, 34, 41, 82, 85, 94, 104,
               161, 175, 176, 177, 181, 201, 298, 299, 302, 303, 308, 310, 324, 325, 328]

junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0", "00/00/0000", "OUI", "non", "1,5", "495.000,00 €", "-3", "SL,BD,PC", "VI", "NS",
                     "12/13/2026", "31/02/2024", "http://x y.fr/a b.jpg", "Appartement", "château", "vente",
                     "location", "cession de bail", "4736", "99999", "DPE_v07-2021", "<br>", "a!#b", "é\u00a0"]),
)


@st.composite
def poliris_rows(draw: st.DrawFn) -> list[dict[int, str]]:
    seed = draw(st.integers(0, 10_000))
    rng = random.Random(seed)
    count = draw(st.integers(1, 6))
    rows = []
    for n in range(count):
        row = listing(rng, n + 1, draw(st.sampled_from(["ag-1", "ag-2"])), rng.choice(PROFILES))
        for rank in draw(st.lists(st.sampled_from(INTERESTING), max_size=6, unique=True)):
            row[rank] = draw(junk)
        rows.append(row)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=poliris_rows(), encoding=st.sampled_from(["utf-8", "cp1252"]), width=st.sampled_from([323, 329, 334]),
       trailing=st.booleans(), newline=st.sampled_from(["\r\n", "\n"]))
def test_convert_never_crashes_accounts_for_every_record_and_accepts_only_spec_valid_bodies(
        rows, encoding, width, trailing, newline):
    data = annonces_bytes(rows, encoding=encoding, newline=newline, width=width, trailing_separator=trailing,
                          errors="replace")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Annonces.csv"
        path.write_bytes(data)
        stats = FeedFacts(source=str(path))
        outcomes = list(convert(path, stats=stats))
    assert len(outcomes) == len(rows)
    for outcome in outcomes:
        if outcome.accepted:
            assert_spec_valid(outcome.body)
            assert outcome.portals and outcome.body_hash
        else:
            assert outcome.errors and all(e.code.startswith("E_") and e.message for e in outcome.errors)
