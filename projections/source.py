"""Where projections read from: the ledger's notification log, in large pages.

``as_of`` makes a reader see the ledger as it was known at that instant: events *recorded*
later are skipped wherever they sit in the log, even when back-dated into the past.
Live following waits on PostgreSQL's ``NOTIFY`` (sent by the library's recorder on every
append) or, on SQLite, polls.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import psycopg

from ledger.application import LedgerBase
from ledger.core.events import LedgerEvent
from ledger.persistence.mapper import decode_event
from ledger.persistence.multi_read import select_with_positions
from ledger.persistence.stores import POSTGRES_EVENTS_TABLE

Positioned = tuple[int, LedgerEvent]


class LogSource:
    def __init__(
        self,
        ledger: LedgerBase,
        *,
        topics: Sequence[str] = (),
        as_of: datetime | None = None,
        listen_url: str | None = None,
        poll_seconds: float = 0.2,
    ) -> None:
        self.ledger = ledger
        self.recorder = ledger.store.recorder
        self.topics = list(topics)
        self.as_of = as_of
        self.poll_seconds = poll_seconds
        self._listen_url = listen_url
        self._listener: psycopg.Connection[object] | None = None

    def head(self) -> int:
        """The last position in the log now."""
        return self.ledger.max_position()

    def read(self, after: int, limit: int, upto: int) -> tuple[list[Positioned], int]:
        """Events in (after, upto], at most ``limit``; and the position this read covers
        (``upto`` when the page was not full: filtered-out positions count as read)."""
        rows = self.recorder.select_notifications(after + 1, limit, stop=upto, topics=self.topics)
        covered = rows[-1].id if len(rows) == limit else upto
        events: list[Positioned] = []
        as_of = self.as_of
        for row in rows:
            originator = row.originator_id
            event = decode_event(
                row.topic,
                originator if isinstance(originator, UUID) else UUID(str(originator)),
                row.originator_version,
                row.state,
            )
            if as_of is None or event.recorded_at <= as_of:
                events.append((row.id, event))
        return events, covered

    def history(self, aggregate_id: UUID, below_version: int) -> list[Positioned]:
        """An aggregate's earlier events with their positions (to refold an evicted case)."""
        found = select_with_positions(self.recorder, aggregate_id, below_version)
        return [
            (position, decode_event(s.topic, aggregate_id, s.originator_version, s.state))
            for position, s in found
        ]

    def listen(self) -> None:
        """Start listening before reading, so no append slips between a read and a wait."""
        if self._listen_url is not None and self._listener is None:
            self._listener = psycopg.connect(self._listen_url, autocommit=True)
            self._listener.execute(f"LISTEN {POSTGRES_EVENTS_TABLE}")

    def wait(self, timeout: float) -> None:
        """Return when new events may be there: on NOTIFY (PostgreSQL) or after a poll."""
        self.listen()
        if self._listener is None:
            time.sleep(min(timeout, self.poll_seconds))
            return
        for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            pass

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
