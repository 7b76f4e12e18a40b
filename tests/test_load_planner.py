"""The planner: exactly the operations needed, and the mass-delete guard."""

from __future__ import annotations

from test_load_helpers import accepted, feed, rejected

from etl.records import FeedFacts
from etl.load.planner import GuardSettings, plan
from etl.load.state import ListingState


def _state(outcomes, *, status: str = "live") -> dict[str, ListingState]:
    return {o.key.source_key: ListingState(o.key.agency_id, o.key.source_key,
                                           o.body["data"]["metaData"]["source"]["offererEstateId"],
                                           f"cid-{o.key.source_key}", o.body_hash, '"1"', ["SL"], status)
            for o in outcomes}


def test_first_night_creates_everything() -> None:
    p = plan("a", feed("a", 5), {})
    assert len(p.creates) == 5 and not (p.updates or p.deletes or p.unchanged)
    assert p.creates[0].offerer_estate_id == "a-K00000" and p.guard is None


def test_unchanged_feed_plans_no_operation() -> None:
    night1 = feed("a", 20)
    p = plan("a", feed("a", 20), _state(night1))
    assert p.operations == [] and len(p.unchanged) == 20 and p.guard is None


def test_changed_body_is_an_update_with_the_known_classified_id_and_etag() -> None:
    state = _state(feed("a", 3))
    night2 = feed("a", 3)
    night2[1] = accepted("a", "K00001", price=1)
    p = plan("a", night2, state)
    assert [(o.op, o.key.source_key, o.classified_id, o.etag) for o in p.updates] == [
        ("update", "K00001", "cid-K00001", '"1"')]
    assert len(p.unchanged) == 2


def test_absent_listing_is_deleted_and_a_deleted_one_coming_back_is_created() -> None:
    state = _state(feed("a", 10))
    state.update(_state([accepted("a", "GONE")], status="deleted"))
    p = plan("a", [*feed("a", 9), accepted("a", "GONE")], state)
    assert [o.key.source_key for o in p.deletes] == ["K00009"]
    assert [o.key.source_key for o in p.creates] == ["GONE"]
    assert p.deletes[0].classified_id == "cid-K00009"


def test_listing_failing_validation_is_kept_online_not_deleted() -> None:
    state = _state(feed("a", 4))
    night2 = [*feed("a", 3), rejected("a", "K00003")]
    p = plan("a", night2, state)
    assert not p.deletes and [o.key.source_key for o in p.kept] == ["K00003"]
    assert p.counts()["kept"] == 1 and p.counts()["rejected"] == 0


def test_new_listing_failing_validation_is_rejected() -> None:
    p = plan("a", [rejected("a", "NEW"), rejected("a", None)], {})
    assert len(p.rejected) == 2 and not p.operations


def test_same_key_twice_keeps_the_first_and_reports_the_second() -> None:
    p = plan("a", [accepted("a", "K", price=1), accepted("a", "K", price=2)], {})
    assert len(p.creates) == 1 and p.creates[0].body["data"]["prices"]["buy"]["price"]["amount"] == 1
    assert len(p.duplicates) == 1 and p.counts()["rejected"] == 1


def test_guard_fires_on_empty_feed() -> None:
    p = plan("a", [], _state(feed("a", 10)))
    assert p.guard and "vide" in p.guard


def test_guard_fires_on_truncated_feed_even_without_deletes() -> None:
    p = plan("a", feed("a", 10), _state(feed("a", 10)), feed_complete=False)
    assert p.guard and "tronqué" in p.guard


def test_guard_fires_when_half_the_listings_would_go() -> None:
    p = plan("a", feed("a", 10), _state(feed("a", 20)))
    assert len(p.deletes) == 10 and p.guard and "50%" in p.guard


def test_guard_allows_deletes_within_the_share() -> None:
    p = plan("a", feed("a", 15), _state(feed("a", 20)), guard=GuardSettings(max_share=0.3))
    assert len(p.deletes) == 5 and p.guard is None


def test_guard_ignores_a_couple_of_deletes_in_a_tiny_agency() -> None:
    p = plan("a", feed("a", 1), _state(feed("a", 3)), guard=GuardSettings(max_share=0.3, min_count=3))
    assert len(p.deletes) == 2 and p.guard is None


def test_incremental_feed_never_deletes() -> None:
    p = plan("a", feed("a", 1), _state(feed("a", 20)), full_snapshot=False)
    assert not p.deletes and p.guard is None


def test_feed_stats_read_after_the_outcomes_decide_completeness() -> None:
    stats = FeedFacts("feed")

    def outcomes():
        yield from feed("a", 2)
        stats.mark_incomplete("tronqué")  # the pipeline learns of the truncation at the end

    p = plan("a", outcomes(), {}, feed_stats=stats)
    assert p.guard and not p.feed_complete
