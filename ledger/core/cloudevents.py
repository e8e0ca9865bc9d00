"""Stored events as CloudEvents 1.0, for other systems (feed, stream, webhooks).

A CloudEvent's ``type`` is the wire name under a reverse-DNS prefix with the schema version
(``case.signing`` v1 -> ``id.go.sumbarprov.sop.case.signing.v1``), ``subject`` the aggregate
(for case events: the case) id, ``time`` the server's ``recorded_at``, ``sequence`` the log
position (zero-padded so that text order is log order, per the sequence extension) and
``data`` the stored JSON itself. A stored state at the current schema version is embedded
byte for byte (:class:`orjson.Fragment`), never decoded and re-encoded: the feed is read in
bulk. Older states are upcast first, so ``data`` always matches the version in ``type``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.core.errors import InvalidFeedQueryError
from ledger.core.events import EVENT_TYPES

SPEC_VERSION = "1.0"
TYPE_PREFIX = "id.go.sumbarprov.sop."
SOURCE = "/sop-ledger/sumbarprov"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
EVENT_MEDIA_TYPE = "application/cloudevents+json"
CASE_OPENED = "case.opened"
MAX_POSITION = 2**63 - 1  # a log position is a signed 64-bit integer in both stores
INTERNAL_FAMILIES = ("access.", "request.", "audit.")

CloudEvent = dict[str, Any]


def event_type(wire_name: str, version: int) -> str:
    """``case.signing``, 1 -> ``id.go.sumbarprov.sop.case.signing.v1``."""
    return f"{TYPE_PREFIX}{wire_name}.v{version}"


def published_topics() -> list[str]:
    """The wire names other systems see: not credentials (token hashes), request
    bookkeeping or who read what (``audit.read``), which are the ledger's own business."""
    return sorted(t for t in EVENT_TYPES if not t.startswith(INTERNAL_FAMILIES))


def known_types() -> dict[str, str]:
    """Every CloudEvents type the feed emits, mapped to its wire name."""
    return {event_type(t, EVENT_TYPES[t].class_version): t for t in published_topics()}


def sequence(position: int) -> str:
    """The sequence extension value: lexicographic order equals log order."""
    return f"{position:020d}"


def from_stored(position: int, topic: str, subject: str, state: bytes) -> CloudEvent:
    """The CloudEvent of one stored row; ``state`` is embedded unparsed when current."""
    fields: dict[str, Any] = orjson.loads(state)
    cls = EVENT_TYPES.get(topic)
    version = fields.get("schema_version", 1)
    current = cls.class_version if cls is not None else version
    data: Any = orjson.Fragment(state) if version == current else _upcast(cls, fields)
    return {
        "specversion": SPEC_VERSION,
        "id": fields["event_id"],
        "source": SOURCE,
        "type": event_type(topic, current),
        "subject": subject,
        "time": fields["recorded_at"],
        "datacontenttype": "application/json",
        "sequence": sequence(position),
        "position": position,
        "data": data,
    }


def _upcast(cls: Any, fields: dict[str, Any]) -> dict[str, Any]:
    data = dict(fields)
    version = data.get("schema_version", 1)
    while version < cls.class_version:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(data)
        version += 1
    data["schema_version"] = version
    return data


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """Which events a reader wants: any of ``types`` (exact CloudEvents types; empty means
    all), of cases of ``sop_id`` and/or ``unit``. Events of no case never match a case
    filter."""

    types: frozenset[str] = frozenset()
    sop_id: str | None = None
    unit: str | None = None

    @classmethod
    def of(
        cls, types: Iterable[str] = (), sop_id: str | None = None, unit: str | None = None
    ) -> FeedFilter:
        """A filter, refusing types this software never emits (a typo matches nothing)."""
        wanted = frozenset(types)
        unknown = sorted(wanted - known_types().keys())
        if unknown:
            raise InvalidFeedQueryError(
                f"jenis peristiwa tidak dikenal / unknown event type: {', '.join(unknown)}",
                field="type",
            )
        return cls(wanted, sop_id or None, unit or None)

    @property
    def topics(self) -> tuple[str, ...]:
        """The wire names to select in the store (no types: every published one)."""
        if not self.types:
            return tuple(published_topics())
        names = known_types()
        return tuple(sorted(names[t] for t in self.types if t in names))

    @property
    def matches_nothing(self) -> bool:
        """Types were asked for, but none this software still emits."""
        return bool(self.types) and not self.topics

    @property
    def by_case(self) -> bool:
        return self.sop_id is not None or self.unit is not None

    def matches_case(self, case: tuple[str, str] | None) -> bool:
        """Whether an event of a case with (sop_id, unit) ``case`` passes the case filter."""
        if not self.by_case:
            return True
        if case is None:
            return False
        sop_id, unit = case
        return self.sop_id in (None, sop_id) and self.unit in (None, unit)

    def as_mapping(self) -> dict[str, Any]:
        return {"types": sorted(self.types), "sop_id": self.sop_id, "unit": self.unit}
