"""Counting what a scenario actually stored, through the library's notification log."""

from __future__ import annotations

from eventsourcing.persistence import ApplicationRecorder

PAGE = 1000


def stored_after(recorder: ApplicationRecorder, position: int) -> tuple[int, float]:
    """(number of events, mean state size in bytes) stored after log ``position``."""
    count = size = 0
    start = position + 1
    while True:
        rows = recorder.select_notifications(start, PAGE)
        count += len(rows)
        size += sum(len(row.state) for row in rows)
        if len(rows) < PAGE:
            return count, (size / count if count else 0.0)
        start = rows[-1].id + 1


def max_position(recorder: ApplicationRecorder) -> int:
    return recorder.max_notification_id() or 0
