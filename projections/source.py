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
from ledger.persistence.log_rows import (
    last_recorded_position,
    originators_recorded_between,
    select_rows_of,
)
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
        self._since: datetime | None = None
        self._originators: list[UUID] | None = None

    def only_recorded_since(self, moment: datetime) -> None:
        """Read only the aggregates with an event recorded at or after ``moment`` (and not
        after ``as_of``), whole: all their events, in log order. A report about what ended
        after ``moment`` needs no other: an act is never recorded before it occurred. The
        set is taken at the first read, after the head it reads up to was fixed."""
        self._since = moment
        self._originators = None

    @property
    def scoped_aggregates(self) -> int | None:
        """How many aggregates a scoped read covers (None: the whole log)."""
        return None if self._originators is None else len(self._originators)

    def reached(self, upto: int) -> int:
        """The last position at or below ``upto`` this source lets through (``as_of``)."""
        if self.as_of is None:
            return upto
        return last_recorded_position(self.recorder, self.as_of, upto)

    def head(self) -> int:
        """The last position in the log now."""
        return self.ledger.max_position()

    def read(self, after: int, limit: int, upto: int) -> tuple[list[Positioned], int]:
        """Events in (after, upto], at most ``limit``; and the position this read covers
        (``upto`` when the page was not full: filtered-out positions count as read)."""
        if self._since is not None:
            return self._read_scoped(self._since, after, limit, upto)
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

    def _read_scoped(
        self, since: datetime, after: int, limit: int, upto: int
    ) -> tuple[list[Positioned], int]:
        if self._originators is None:
            self._originators = originators_recorded_between(self.recorder, since, self.as_of)
        if not self._originators:
            return [], upto
        rows = select_rows_of(self.recorder, self._originators, after, limit, upto)
        covered = rows[-1][0] if len(rows) == limit else upto
        as_of = self.as_of
        topics = set(self.topics)
        events: list[Positioned] = []
        for position, topic, originator, version, state in rows:
            if topics and topic not in topics:
                continue
            event = decode_event(topic, originator, version, state)
            if as_of is None or event.recorded_at <= as_of:
                events.append((position, event))
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
