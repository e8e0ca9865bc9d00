"""The stored state of events is RFC 8785 (JCS) canonical JSON: the fast encoder
(orjson, sorted keys) writes exactly what the pure JCS implementation writes for what
events hold (ASCII member names; any strings, integers, booleans, nulls, lists and
objects; no floats), and every event of a generated demo year is stored that way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ledger.core import jcs
from ledger.demo.year import SimClock, generate_year
from ledger.persistence.mapper import encode_event_state
from support.ledgers import seeded_ledger

NAMES = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(NAMES, VALUES, max_size=8))
def test_sorted_orjson_is_jcs_for_what_events_hold(state: dict[str, object]) -> None:
    assert orjson.dumps(state, option=orjson.OPT_SORT_KEYS) == jcs.canonicalize(state)


def test_every_event_of_a_demo_year_is_stored_as_jcs() -> None:
    clock = SimClock(datetime(2024, 1, 2, tzinfo=UTC))
    with seeded_ledger("sqlite", clock) as ledger:  # type: ignore[arg-type]
        generate_year(ledger, clock)
        events = [event for _, event in ledger.read_log()]
    assert len(events) > 200
    for event in events:
        stored = encode_event_state(event)
        assert stored == jcs.canonicalize(json.loads(stored)), event.TOPIC
