"""The canonical bytes and RFC 9162 leaf hash of one stored event.

The leaf of an event is the JCS (RFC 8785) form of::

    {"case_id": "<originator UUID, lowercase, hyphenated>",
     "payload": <the event's stored JSON state>,
     "position": <log position>,
     "previous": "<lowercase hex of the previous leaf hash of the case>" | null,
     "topic": "<wire name>",
     "version": <originator version>}

``previous`` chains the events of one case, so a case read on its own (without the
log's Merkle proofs) still shows a removed or reordered event. Verifiers written in other
languages compute these bytes too (the evidence bundle spells them out), so the format
is fixed byte for byte.

The member names already sort in JCS order (``case_id < payload < position < previous
< topic < version``), so when the stored state is JCS the canonical form is a plain
concatenation: no parsing on the write path.
"""

from __future__ import annotations

from functools import cache
from hashlib import sha256
from uuid import UUID

from ledger.core import jcs, merkle

HASH_SIZE = merkle.HASH_SIZE


class EventHashError(ValueError):
    """An event field that the canonical form cannot hold."""


def canonical_event(  # noqa: PLR0917 - the fixed field order of the format
    position: int,
    case_id: UUID | str,
    version: int,
    topic: str,
    state: bytes,
    previous: bytes | None,
) -> bytes:
    """The canonical bytes, ``state`` being the JCS bytes of the payload (not checked);
    ``case_id`` a UUID or its lowercase hyphenated text (bulk readers skip the parse)."""
    _check_count("position", position)
    _check_count("version", version)
    return _assemble(position, str(case_id), version, _topic(topic), state, _previous(previous))


def stored_leaf_hash(  # noqa: PLR0917
    position: int, case_id: str, version: int, topic: str, state: bytes, previous: bytes | None
) -> bytes:
    """The leaf of an event as a store holds it (integer position and version, the id as
    lowercase hyphenated text): :func:`leaf_hash` of :func:`canonical_event` without its
    argument checks, for verifiers walking millions of rows."""
    link = b"null" if previous is None else b'"' + previous.hex().encode() + b'"'
    return sha256(
        b"\x00" + _assemble(position, case_id, version, _topic(topic), state, link)
    ).digest()


def _assemble(  # noqa: PLR0917
    position: int, case_id: str, version: int, topic: bytes, state: bytes, previous: bytes
) -> bytes:
    return b"".join(
        (
            b'{"case_id":"',
            case_id.encode("ascii"),
            b'","payload":',
            state,
            b',"position":',
            str(position).encode("ascii"),
            b',"previous":',
            previous,
            b',"topic":',
            topic,
            b',"version":',
            str(version).encode("ascii"),
            b"}",
        )
    )


@cache
def _topic(topic: str) -> bytes:
    """A wire name as a JCS string (a few dozen names, each escaped once)."""
    return jcs.canonical_string(topic)


def canonical_event_from_payload(  # noqa: PLR0917
    position: int,
    case_id: UUID,
    version: int,
    topic: str,
    payload: object,
    previous: bytes | None,
) -> bytes:
    """The canonical bytes from the parsed payload (any JCS-able value, usually a dict)."""
    return canonical_event(position, case_id, version, topic, jcs.canonical_json(payload), previous)


def leaf_hash(canonical: bytes) -> bytes:
    """The RFC 9162 leaf hash ``SHA-256(0x00 || canonical)``."""
    return merkle.leaf_hash(canonical)


def event_leaf_hash(  # noqa: PLR0917
    position: int, case_id: UUID, version: int, topic: str, state: bytes, previous: bytes | None
) -> bytes:
    """``leaf_hash(canonical_event(...))``."""
    return leaf_hash(canonical_event(position, case_id, version, topic, state, previous))


def _previous(previous: bytes | None) -> bytes:
    if previous is None:
        return b"null"
    if len(previous) != HASH_SIZE:
        raise EventHashError(
            "hash sebelumnya harus 32 byte / the previous hash must be 32 bytes, "
            f"not {len(previous)}"
        )
    return b'"' + previous.hex().encode("ascii") + b'"'


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not 0 <= value <= jcs.MAX_EXACT_INT:
        raise EventHashError(
            f"{name} harus bilangan bulat 0..2**53 / {name} must be an integer in 0..2**53"
        )
