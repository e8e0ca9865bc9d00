"""Time helpers for the core: every stored instant is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ledger.core.errors import InvalidTimeError

WIB = ZoneInfo("Asia/Jakarta")


def as_utc(moment: datetime, field: str = "time") -> datetime:
    """Normalise an aware datetime to UTC; a naive one is refused, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTimeError(
            f"{field} harus menyertakan zona waktu / must include a UTC offset "
            f"(e.g. 2024-07-01T09:00:00+07:00)",
            field=field,
        )
    return moment.astimezone(UTC)


def as_wib(moment: datetime) -> datetime:
    return moment.astimezone(WIB)
