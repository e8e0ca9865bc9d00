"""Server-Sent Events framing and where a (re)connecting stream starts."""

from __future__ import annotations

import orjson
import pytest

from ledger.core.cloudevents import from_stored
from ledger.core.errors import InvalidFeedQueryError
from ledger.feed.stream import frame, resume_position

STATE = orjson.dumps(
    {"event_id": "e-1", "recorded_at": "2024-10-01T02:00:00+00:00", "schema_version": 1}
)


def test_a_frame_carries_position_type_and_the_cloudevent_on_one_data_line() -> None:
    event = from_stored(42, "case.opened", "c-1", STATE)
    text = frame(event).decode()
    assert text.endswith("\n\n")
    lines = text[:-2].split("\n")
    assert lines[0] == "id: 42"
    assert lines[1] == "event: id.go.sumbarprov.sop.case.opened.v1"
    assert lines[2].startswith("data: ")
    assert len(lines) == 3
    assert orjson.loads(lines[2].removeprefix("data: "))["position"] == 42


@pytest.mark.parametrize(
    ("last_event_id", "after", "expected"),
    [
        ("17", None, 17),
        ("17", 3, 17),  # a reconnect wins over the URL it reuses
        (" 17 ", None, 17),
        (None, 3, 3),
        ("", 3, 3),
        (None, None, 99),  # from now on
    ],
)
def test_where_a_stream_starts(last_event_id: str | None, after: int | None, expected: int) -> None:
    assert resume_position(last_event_id, after, head=99) == expected


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "0x10", "\u00b2", str(2**63)])
def test_a_last_event_id_that_is_no_position_is_refused(bad: str) -> None:
    with pytest.raises(InvalidFeedQueryError) as refused:
        resume_position(bad, None, head=99)
    assert refused.value.field == "Last-Event-ID"
