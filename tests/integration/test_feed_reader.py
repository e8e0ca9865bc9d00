"""The feed reader on both stores: pages cover the log once, filters, scan bounds."""

from __future__ import annotations

from datetime import timedelta

import orjson

from ledger.core.cloudevents import FeedFilter
from ledger.feed.reader import FeedReader
from ledger.ledger import Ledger
from support.auth import issue_token
from support.webhooks import A_SOP, A_UNIT, B_SOP, B_UNIT, open_cases

OPENED = "id.go.sumbarprov.sop.case.opened.v1"


def plain(events: list[dict]) -> list[dict]:
    """As a client sees them (``data`` is embedded JSON until encoded)."""
    loaded: list[dict] = orjson.loads(orjson.dumps(events))
    return loaded


def read_all(reader: FeedReader, limit: int, wanted: FeedFilter | None = None) -> list[dict]:
    after, seen = 0, []
    while True:
        page = reader.page(after, limit, wanted)
        assert len(page.events) <= limit
        seen.extend(plain(page.events))
        assert page.next_after >= after
        if page.next_after >= page.head and len(page.events) < limit:
            return seen
        after = page.next_after


def test_small_pages_cover_the_log_once_in_order(ledger: Ledger) -> None:
    open_cases(ledger, 3)
    reader = FeedReader(ledger.store.recorder)
    whole = reader.page(0, 10_000)
    assert whole.next_after == whole.head == ledger.max_position()
    positions = [e["position"] for e in whole.events]
    assert positions == sorted(set(positions))
    for limit in (1, 7, 1000):
        assert read_all(reader, limit) == plain(whole.events)
    expected = {event.event_id for _, event in ledger.read_log()}
    assert {e["id"] for e in whole.events} == {str(i) for i in expected}


def test_a_full_page_ends_at_its_last_event_and_a_short_one_at_the_head(
    ledger: Ledger,
) -> None:
    reader = FeedReader(ledger.store.recorder)
    full = reader.page(0, 5)
    assert full.next_after == full.events[-1]["position"] == 5
    tail = reader.page(full.head - 2, 100)
    assert (len(tail.events), tail.next_after) == (2, tail.head)
    beyond = reader.page(full.head + 10, 100)
    assert (beyond.events, beyond.next_after) == ([], full.head + 10)


def test_data_is_the_stored_json_of_the_event(ledger: Ledger) -> None:
    (case_id,) = open_cases(ledger, 1)
    event = FeedReader(ledger.store.recorder).page(ledger.max_position() - 1, 1).events[0]
    data = orjson.loads(orjson.dumps(event))["data"]
    opened = ledger.case(case_id)
    assert event["subject"] == str(case_id)
    assert event["type"] == OPENED
    assert data["sop_id"] == opened.sop.sop_id
    assert data["unit"] == opened.unit
    assert data["event_id"] == event["id"]
    assert data["recorded_at"] == event["time"]


def test_type_filter_is_exact_and_repeatable(ledger: Ledger) -> None:
    open_cases(ledger, 2)
    reader = FeedReader(ledger.store.recorder)
    person = "id.go.sumbarprov.sop.directory.person_registered.v1"
    events = read_all(reader, 3, FeedFilter.of([OPENED, person]))
    assert {e["type"] for e in events} == {OPENED, person}
    assert sum(e["type"] == OPENED for e in events) == 2


def test_sop_and_unit_filters_keep_only_that_cases_events(ledger: Ledger) -> None:
    b_cases = open_cases(ledger, 2)
    a_cases = open_cases(ledger, 3, A_SOP, A_UNIT)
    reader = FeedReader(ledger.store.recorder)
    by_sop = read_all(reader, 2, FeedFilter.of((), sop_id=A_SOP))
    assert {e["subject"] for e in by_sop} == {str(c) for c in a_cases}
    by_unit = read_all(reader, 2, FeedFilter.of((), unit=B_UNIT))
    assert {e["subject"] for e in by_unit} == {str(c) for c in b_cases}
    both = read_all(reader, 50, FeedFilter.of((), sop_id=B_SOP, unit=A_UNIT))
    assert both == []


def test_a_selective_filter_pages_through_a_long_log_in_bounded_scans(
    ledger: Ledger,
) -> None:
    (case_id,) = open_cases(ledger, 1, A_SOP, A_UNIT)
    reader = FeedReader(ledger.store.recorder, scan_limit=5)
    first = reader.page(0, 10, FeedFilter.of((), sop_id=A_SOP))
    assert first.events == []
    assert 0 < first.next_after < first.head  # progress, without reading everything
    found = read_all(reader, 10, FeedFilter.of((), sop_id=A_SOP))
    assert [e["subject"] for e in found] == [str(case_id)]


def test_tokens_never_reach_the_feed(ledger: Ledger) -> None:
    from api.auth import Scope

    issue_token(ledger, "197305131997032005", Scope.INTEGRATOR, expires_in=timedelta(hours=1))
    events = FeedReader(ledger.store.recorder).page(0, 10_000).events
    assert events[-1]["position"] < ledger.max_position()
    assert not any(e["type"].startswith("id.go.sumbarprov.sop.access.") for e in events)


def test_redelivery_reads_one_event_by_position(ledger: Ledger) -> None:
    reader = FeedReader(ledger.store.recorder)
    assert reader.at(3)["position"] == 3
    assert reader.at(ledger.max_position() + 1) is None
