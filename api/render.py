"""Plain JSON for responses: times shown in Asia/Jakarta (RFC 3339 with +07:00)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from ledger.core.clock import as_wib
from ledger.core.events import LedgerEvent


def plain(value: Any) -> Any:
    """``value`` with datetimes in WIB and UUIDs, enums, tuples and dataclasses made JSON."""
    if isinstance(value, datetime):
        return as_wib(value).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def event_json(position: int, event: LedgerEvent) -> dict[str, Any]:
    """A stored event as the timeline shows it: wire name, position, then every field."""
    fields = plain(dict(vars(event)))
    version = fields.pop("originator_version")
    return {
        "position": position,
        "type": event.TOPIC,
        "schema_version": type(event).class_version,
        "version": version,
        **fields,
    }


def etag(version: int) -> str:
    return f'"{version}"'
