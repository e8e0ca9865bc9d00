"""The canonical event bytes: a fixed literal, the concatenation equal to JCS, refusals."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core import eventhash, jcs

CASE = UUID("0F8FAD5B-D9CB-469F-A165-70867728950E")
PREVIOUS = bytes(range(32))


def test_the_format_byte_for_byte() -> None:
    canonical = eventhash.canonical_event(
        7, CASE, 3, "CaseOpened", b'{"a":1,"b":"\xc3\xa9"}', PREVIOUS
    )
    assert canonical == (
        b'{"case_id":"0f8fad5b-d9cb-469f-a165-70867728950e","payload":{"a":1,"b":"\xc3\xa9"},'
        b'"position":7,"previous":"000102030405060708090a0b0c0d0e0f'
        b'101112131415161718191a1b1c1d1e1f","topic":"CaseOpened","version":3}'
    )
    first = eventhash.canonical_event(1, CASE, 1, "CaseOpened", b"{}", None)
    assert first == (
        b'{"case_id":"0f8fad5b-d9cb-469f-a165-70867728950e","payload":{},'
        b'"position":1,"previous":null,"topic":"CaseOpened","version":1}'
    )


def test_leaf_hash_is_the_rfc9162_leaf() -> None:
    canonical = eventhash.canonical_event(1, CASE, 1, "t", b"{}", None)
    expected = hashlib.sha256(b"\x00" + canonical).digest()
    assert eventhash.leaf_hash(canonical) == expected
    assert eventhash.event_leaf_hash(1, CASE, 1, "t", b"{}", None) == expected


def test_topics_are_json_strings() -> None:
    canonical = eventhash.canonical_event(1, CASE, 1, 'a"b\\c\n\u00e9', b"{}", None)
    assert b',"topic":"a\\"b\\\\c\\n\xc3\xa9",' in canonical


@pytest.mark.parametrize(
    ("position", "version", "previous", "message"),
    [
        (-1, 1, None, "position must be an integer in 0..2\\*\\*53"),
        (2**53 + 1, 1, None, "position must be"),
        (1, -1, None, "version must be"),
        (True, 1, None, "position must be"),
        (1, 1, b"\x00" * 31, "previous hash must be 32 bytes, not 31"),
        (1, 1, b"", "previous hash must be 32 bytes, not 0"),
    ],
)
def test_refusals(position: int, version: int, previous: bytes | None, message: str) -> None:
    with pytest.raises(eventhash.EventHashError, match=message):
        eventhash.canonical_event(position, CASE, version, "t", b"{}", previous)


def test_from_payload_refuses_what_jcs_refuses() -> None:
    with pytest.raises(jcs.CanonicalizationError):
        eventhash.canonical_event_from_payload(1, CASE, 1, "t", {"x": float("nan")}, None)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-jcs.MAX_EXACT_INT, jcs.MAX_EXACT_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ascii_keys = st.text(st.characters(max_codepoint=0x7F), max_size=10)


@dataclass(frozen=True)
class Event:
    position: int
    case_id: UUID
    version: int
    topic: str
    previous: bytes | None

    def canonical(self, payload: object) -> bytes:
        return eventhash.canonical_event_from_payload(
            self.position, self.case_id, self.version, self.topic, payload, self.previous
        )

    def as_jcs_object(self, payload: object) -> bytes:
        """The definition: JCS of the whole object."""
        return jcs.canonicalize(
            {
                "case_id": str(self.case_id),
                "payload": payload,
                "position": self.position,
                "previous": None if self.previous is None else self.previous.hex(),
                "topic": self.topic,
                "version": self.version,
            }
        )


events = st.builds(
    Event,
    position=st.integers(0, jcs.MAX_EXACT_INT),
    case_id=st.uuids(),
    version=st.integers(0, jcs.MAX_EXACT_INT),
    topic=st.text(max_size=30),
    previous=st.none() | st.binary(min_size=32, max_size=32),
)


@given(events, st.dictionaries(ascii_keys, json_values, max_size=6))
def test_concatenation_is_the_jcs_of_the_object(event: Event, payload: dict[str, object]) -> None:
    state = jcs.canonical_json(payload)
    canonical = eventhash.canonical_event(
        event.position, event.case_id, event.version, event.topic, state, event.previous
    )
    assert canonical == event.as_jcs_object(payload)
    assert canonical == event.canonical(payload)


@given(events, json_values)
def test_any_json_payload_fits_the_format(event: Event, payload: object) -> None:
    assert event.canonical(payload) == event.as_jcs_object(payload)
