"""Maps ledger events to stored rows and back: plain JSON, wire-name topics, upcasting.

The stored ``topic`` is the event's wire name (``case.signing``); the stored ``state`` is
UTF-8 JSON with the event's fields under their own names, times as RFC 3339 UTC strings and
a ``schema_version``. Any tool that reads JSON (or SQL's JSON functions) can read the log
without this code. Decoding rebuilds the frozen event from its class's type hints and
upcasts older schema versions first.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder

import ledger.core.access  # noqa: F401  (registers the access.* wire names)
from ledger.core import idempotency as _registers_request_events  # noqa: F401
from ledger.core import reads as _registers_audit_events  # noqa: F401
from ledger.core.events import EVENT_TYPES, LedgerEvent

Convert = Callable[[Any], Any]
_PASS: Convert = lambda value: value  # noqa: E731


class UnknownWireNameError(MapperDeserialisationError):
    """A stored topic names no event type this software knows."""


def encode_event_state(event: LedgerEvent) -> bytes:
    """The stored state: RFC 8785 (JCS) JSON, so the bytes an event's leaf hash covers are
    its canonical form. orjson with sorted keys writes JCS for what events hold (ASCII
    member names, strings, integers, no floats; ``test_mapper_jcs`` checks every event
    type); it writes dataclass fields unsorted, hence the round trip through plain JSON."""
    state = dict(vars(event))
    del state["originator_id"], state["originator_version"]
    state["schema_version"] = type(event).class_version
    return orjson.dumps(orjson.loads(orjson.dumps(state)), option=orjson.OPT_SORT_KEYS)


@cache
def _converter(hint: Any) -> Convert:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [_converter(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        one = inner[0] if len(inner) == 1 else _PASS
        return lambda value: None if value is None else one(value)
    if origin is tuple:
        item = _converter(typing.get_args(hint)[0])
        return lambda value: tuple(item(v) for v in value)
    return _leaf_converter(hint)


def _leaf_converter(hint: Any) -> Convert:
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if hint is UUID:
        return UUID
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = _field_converters(hint)
        return lambda value: hint(**{k: fields[k](v) for k, v in value.items()})
    return _PASS


_FIELD_CONVERTERS: dict[type, dict[str, Convert]] = {}


def _field_converters(cls: type) -> dict[str, Convert]:
    found = _FIELD_CONVERTERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}
        _FIELD_CONVERTERS[cls] = found
    return found


def decode_event(topic: str, originator_id: UUID, version: int, state: bytes) -> LedgerEvent:
    cls = EVENT_TYPES.get(topic)
    if cls is None:
        raise UnknownWireNameError(f"unknown event wire name {topic!r}")
    data: dict[str, Any] = orjson.loads(state)
    from_version = data.pop("schema_version", 1)
    while from_version < cls.class_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(data)
        from_version += 1
    fields = _field_converters(cls)
    values = {name: fields[name](value) for name, value in data.items()}
    values["originator_id"] = originator_id
    values["originator_version"] = version
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", values)
    return event


class LedgerMapper(Mapper[UUID]):
    """The eventsourcing Mapper, speaking our wire format (no cipher, no compression)."""

    def __init__(self, transcoder: Transcoder | None = None) -> None:
        super().__init__(transcoder=transcoder)  # type: ignore[arg-type]

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=domain_event.TOPIC,
            state=encode_event_state(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        try:
            return decode_event(
                stored_event.topic,
                originator_id,
                stored_event.originator_version,
                stored_event.state,
            )
        except MapperDeserialisationError:
            raise
        except (ValueError, TypeError, KeyError) as error:
            raise MapperDeserialisationError(
                f"cannot decode {stored_event.topic} of {originator_id} "
                f"v{stored_event.originator_version}: {error}"
            ) from error
