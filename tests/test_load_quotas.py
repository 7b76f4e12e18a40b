"""Contract quotas: the planner publishes no more than a portal's quota, in the configured priority,
and the agency's report lists what did not fit."""

from __future__ import annotations

import copy
import html
import io
import json
from pathlib import Path

from test_load_helpers import accepted, body_hash, feed, rejected, sandbox, test_env, write_config, write_payloads  # noqa: F401

from etl.agencies import load_config
from etl.load.planner import plan
from etl.load.state import ListingState
from etl.log import RunLog
from etl.outcome import Outcome
from etl.pipeline.run import RunOptions, run


def _live(outcomes: list[Outcome], *, first_seen: int = 1) -> dict[str, ListingState]:
    return {o.key.source_key: ListingState(o.key.agency_id, o.key.source_key,
                                           o.body["data"]["metaData"]["source"]["offererEstateId"],
                                           f"cid-{o.key.source_key}", o.body_hash, '"1"', list(o.body["portals"]),
                                           "live", first_seen_run=first_seen) for o in outcomes}


def _with(o: Outcome, *, portals: list[str] | None = None, mandate: str | None = None, price: int | None = None) -> Outcome:
    body = copy.deepcopy(o.body)
    if portals is not None:
        body["portals"] = portals
    if mandate is not None:
        body["data"]["countrySpecific"]["fr"]["agentMandate"]["startDate"] = mandate
    if price is not None:
        body["data"]["prices"]["buy"]["price"]["amount"] = price
    o.body, o.body_hash, o.portals = body, body_hash(body), list(body["portals"])
    return o


def test_thirty_eligible_with_a_quota_of_twenty_plans_twenty_and_lists_ten() -> None:
    p = plan("a", feed("a", 30), {}, quotas={"SL": 20})
    assert len(p.creates) == 20 and len(p.over_quota) == 10
    assert {m.source_key for m in p.over_quota}.isdisjoint(o.key.source_key for o in p.creates)
    assert all(m.portals == ("SL",) and not m.published and not m.was_online for m in p.over_quota)
    assert p.counts()["over_quota"] == 10


def test_listings_already_online_keep_their_seats_before_new_ones() -> None:
    online = feed("a", 20)
    tonight = feed("a", 30)  # the 20 online ones plus 10 new (newer: first seen tonight)
    p = plan("a", tonight, _live(online), quotas={"SL": 20})
    assert p.operations == [] and len(p.unchanged) == 20
    assert sorted(m.source_key for m in p.over_quota) == [f"K{i:05d}" for i in range(20, 30)]


def test_newest_mandates_win_when_nothing_is_online() -> None:
    tonight = [_with(o, mandate=f"2025-{1 + i % 12:02d}-{1 + i:02d}") for i, o in enumerate(feed("a", 12))]
    p = plan("a", tonight, {}, quotas={"SL": 3})
    newest = sorted(tonight, key=lambda o: o.body["data"]["countrySpecific"]["fr"]["agentMandate"]["startDate"])[-3:]
    assert {o.key.source_key for o in p.creates} == {o.key.source_key for o in newest}


def test_a_lowered_quota_withdraws_the_oldest_online_listings() -> None:
    old, recent = feed("a", 5), feed("a", 5, start=5)
    state = {**_live(old, first_seen=1), **_live(recent, first_seen=7)}
    p = plan("a", old + recent, state, quotas={"SL": 6})
    assert len(p.deletes) == 4 and {o.key.source_key for o in p.deletes} <= {o.key.source_key for o in old}
    assert all(m.was_online and not m.published for m in p.over_quota)


def test_a_full_portal_is_dropped_from_the_body_and_the_others_stay() -> None:
    tonight = [_with(o, portals=["SL", "BD"]) for o in feed("a", 4)]
    p = plan("a", tonight, {}, quotas={"BD": 1})
    assert len(p.creates) == 4
    assert sorted(tuple(o.body["portals"]) for o in p.creates) == [("SL",), ("SL",), ("SL",), ("SL", "BD")]
    trimmed = [o for o in p.creates if o.body["portals"] == ["SL"]]
    assert all(o.body_hash == body_hash(o.body) != o.outcome.body_hash for o in trimmed)
    assert all(m.published for m in p.over_quota) and len(p.over_quota) == 3


def test_listings_kept_online_despite_an_error_hold_their_seats() -> None:
    online = feed("a", 3)
    tonight = [rejected("a", "K00000"), *feed("a", 5, start=1)]
    p = plan("a", tonight, _live(online), quotas={"SL": 3})
    assert len(p.kept) == 1 and len(p.unchanged) == 2 and p.creates == []
    assert sorted(m.source_key for m in p.over_quota) == ["K00003", "K00004", "K00005"]


def test_price_high_priority_gives_the_quota_to_the_dearest() -> None:
    tonight = [_with(o, price=100_000 * (i + 1)) for i, o in enumerate(feed("a", 5))]
    p = plan("a", tonight, {}, quotas={"SL": 2}, quota_priority=["price_high"])
    assert {o.key.source_key for o in p.creates} == {"K00003", "K00004"}


def test_without_quotas_nothing_is_held_back() -> None:
    p = plan("a", feed("a", 30), {})
    assert len(p.creates) == 30 and p.over_quota == []


def test_a_night_publishes_exactly_the_quota_and_the_report_lists_the_others(
        tmp_path: Path, sandbox, test_env) -> None:
    cfg_path = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                            agencies={"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 30))},
                            agency_extra={"quotas": {"SL": 20}})
    res = run(load_config(cfg_path), options=RunOptions(), log=RunLog("text", io.StringIO()))
    assert res.exit_code == 0
    published = sandbox.classifieds(intermediary_id="int-ag")
    assert len(published) == 20
    left_out = {f"ag-K{i:05d}" for i in range(30)} - {c["offererEstateId"] for c in published}
    assert len(left_out) == 10
    summary = json.loads(res.reports["summary"].read_text(encoding="utf-8"))
    listed = summary["agencies"]["ag"]["run"]["over_quota"]
    assert {f"ag-{q['source_key']}" for q in listed} == left_out
    page = html.unescape(res.reports["html:ag"].read_text(encoding="utf-8"))
    assert "Au-delà des quotas de votre contrat" in page and "20 annonces sur" in page
    assert all(f"REF-{sk[3:]}" in page for sk in left_out)
    # ten valid listings left out is no "everything online"; they are named before the night's changes
    assert "Tout est en ligne" not in page and "Des annonces n'ont pas trouvé de place" in page
    assert page.index("Au-delà des quotas de votre contrat") < page.index("Les changements de la nuit")
    load = json.loads(res.reports["load"].read_text(encoding="utf-8"))
    assert len(load["agencies"][0]["over_quota"]) == 10
