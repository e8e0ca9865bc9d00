"""Stored events as CloudEvents: names, fields, byte-exact data, upcasting, filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import uuid4

import orjson
import pytest

from ledger.core import cloudevents
from ledger.core.cloudevents import FeedFilter, event_type, from_stored, known_types
from ledger.core.errors import InvalidFeedQueryError
from ledger.core.events import EVENT_TYPES, LedgerEvent

SIGNING = "id.go.sumbarprov.sop.case.signing.v1"


def stored(**fields: Any) -> bytes:
    base = {
        "event_id": str(uuid4()),
        "recorded_at": "2024-10-01T02:00:00+00:00",
        "recorded_by": "197305131997032005",
        "schema_version": 1,
    }
    return orjson.dumps(base | fields)


def test_type_is_the_wire_name_under_the_prefix_with_its_version() -> None:
    assert event_type("case.signing", 1) == SIGNING
    assert known_types()[SIGNING] == "case.signing"
    assert "id.go.sumbarprov.sop.case.return_for_completion.v1" in known_types()


def test_credentials_and_request_bookkeeping_are_not_published() -> None:
    published = set(known_types().values())
    assert not any(t.startswith(("access.", "request.")) for t in published)
    assert {"case.opened", "sop.published", "directory.role_assigned"} <= published


def test_a_stored_row_becomes_a_cloudevent_with_its_json_as_data() -> None:
    state = stored(step=8, signature_ref="TTE/1")
    subject = str(uuid4())
    event = from_stored(42, "case.signing", subject, state)
    encoded = orjson.loads(orjson.dumps(event))
    fields = orjson.loads(state)
    assert encoded == {
        "specversion": "1.0",
        "id": fields["event_id"],
        "source": cloudevents.SOURCE,
        "type": SIGNING,
        "subject": subject,
        "time": "2024-10-01T02:00:00+00:00",
        "datacontenttype": "application/json",
        "sequence": "00000000000000000042",
        "position": 42,
        "data": fields,
    }
    assert state in orjson.dumps(event)  # embedded byte for byte, never re-encoded


def test_sequence_orders_as_text_like_positions_as_numbers() -> None:
    positions = [1, 9, 10, 99, 100, 123_456_789]
    assert sorted(positions, key=cloudevents.sequence) == positions
    assert sorted(map(cloudevents.sequence, positions)) == list(
        map(cloudevents.sequence, positions)
    )


@dataclass(frozen=True, kw_only=True)
class _Renamed(LedgerEvent):
    """A v2 event class whose v1 records lack ``reason`` (not registered globally)."""

    class_version: ClassVar[int] = 2
    reason: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["reason"] = "unknown"


def test_an_older_record_is_upcast_so_data_matches_the_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(EVENT_TYPES, "test.renamed", _Renamed)
    event = from_stored(7, "test.renamed", "s", stored())
    assert event["type"] == "id.go.sumbarprov.sop.test.renamed.v2"
    assert event["data"]["reason"] == "unknown"
    assert event["data"]["schema_version"] == 2
    current = from_stored(8, "test.renamed", "s", stored(reason="r", schema_version=2))
    assert orjson.loads(orjson.dumps(current["data"]))["reason"] == "r"


def test_filter_refuses_unknown_types_naming_them() -> None:
    with pytest.raises(InvalidFeedQueryError) as refused:
        FeedFilter.of(["id.go.sumbarprov.sop.case.signing.v9", SIGNING])
    assert refused.value.field == "type"
    assert "case.signing.v9" in refused.value.message


def test_filter_topics_and_case_matching() -> None:
    assert FeedFilter.of([SIGNING]).topics == ("case.signing",)
    assert "case.opened" in FeedFilter().topics
    assert "access.token_issued" not in FeedFilter().topics
    by_sop = FeedFilter.of((), sop_id="biro-org.pengukuran-kinerja")
    assert by_sop.matches_case(("biro-org.pengukuran-kinerja", "biro-org"))
    assert not by_sop.matches_case(("dinas-bmcktr.pengukuran-kinerja", "dinas-bmcktr"))
    assert not by_sop.matches_case(None)  # events of no case never match a case filter
    both = FeedFilter.of((), sop_id="a", unit="u")
    assert both.matches_case(("a", "u"))
    assert not both.matches_case(("a", "v"))
    assert FeedFilter().matches_case(None)


def test_a_filter_on_types_no_longer_emitted_matches_nothing() -> None:
    stale = FeedFilter(frozenset({"id.go.sumbarprov.sop.gone.v1"}))
    assert stale.matches_nothing
    assert not FeedFilter().matches_nothing
