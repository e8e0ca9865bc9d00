"""Reading the global log as CloudEvents, fast: stored rows straight to JSON.

Rows come from the library's notification log table as plain tuples
(:mod:`ledger.persistence.log_rows`); a row's stored JSON becomes the event's ``data``
unparsed (see :mod:`ledger.core.cloudevents`), so no event object is ever built. Type
filters go to SQL; SOP and unit filters need each case's SOP and unit, which a
:class:`CaseIndex` keeps from the log's ``case.opened`` events.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import orjson
from eventsourcing.persistence import ApplicationRecorder

from ledger.core.cloudevents import CASE_OPENED, CloudEvent, FeedFilter, from_stored
from ledger.persistence.log_rows import LogRow, select_log_rows

CaseKey = tuple[str, str]


class CaseIndex:
    """Case id -> (SOP id, unit), caught up from the log on demand. A case's opening is
    stored before any other event of it, so an index caught up to a position knows every
    case that has events up to that position."""

    def __init__(self, recorder: ApplicationRecorder, page: int = 5_000) -> None:
        self.recorder = recorder
        self.page = page
        self.position = 0
        self._cases: dict[str, CaseKey] = {}
        self._lock = threading.Lock()

    def upto(self, position: int) -> None:
        with self._lock:
            while self.position < position:
                rows = select_log_rows(
                    self.recorder, self.position, self.page, position, (CASE_OPENED,)
                )
                for _, _, case_id, state in rows:
                    opened = orjson.loads(state)
                    self._cases[case_id] = (opened["sop_id"], opened["unit"])
                self.position = rows[-1][0] if len(rows) == self.page else position

    def get(self, case_id: str) -> CaseKey | None:
        return self._cases.get(case_id)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Matching events after some position, and where the next page starts: the last
    position this read covered (past non-matching events; the head when not full)."""

    events: list[CloudEvent] = field(default_factory=list)
    next_after: int = 0
    head: int = 0


class FeedReader:
    """Pages of the log as CloudEvents. ``scan_limit`` bounds the rows one page reads, so a
    very selective filter over a long log returns a short (even empty) page with a
    ``next_after`` further on rather than scanning the whole log in one request."""

    def __init__(self, recorder: ApplicationRecorder, *, scan_limit: int = 100_000) -> None:
        self.recorder = recorder
        self.scan_limit = scan_limit
        self.cases = CaseIndex(recorder)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def page(self, after: int, limit: int, wanted: FeedFilter | None = None) -> FeedPage:
        wanted = wanted or FeedFilter()
        head = self.head()
        if wanted.matches_nothing:
            return FeedPage([], max(after, head), head)
        events: list[CloudEvent] = []
        covered = after
        scanned = 0
        while covered < head and len(events) < limit and scanned < self.scan_limit:
            chunk = limit - len(events)
            if wanted.by_case:  # rows include other cases' events: read more at once
                chunk = min(max(limit, 1_000), self.scan_limit - scanned)
            rows = select_log_rows(self.recorder, covered, chunk, head, wanted.topics)
            if not rows:
                covered = head
                break
            scanned += len(rows)
            covered = self._collect(rows, wanted, events, limit)
            if len(rows) < chunk and len(events) < limit:
                covered = head
        return FeedPage(events, covered, head)

    def _collect(
        self, rows: list[LogRow], wanted: FeedFilter, into: list[CloudEvent], limit: int
    ) -> int:
        """Append the matching rows' events until ``limit``; the last position looked at."""
        if wanted.by_case:
            self.cases.upto(rows[-1][0])
        cases = self.cases
        for position, topic, subject, state in rows:
            if wanted.by_case and not wanted.matches_case(cases.get(subject)):
                continue
            into.append(from_stored(position, topic, subject, state))
            if len(into) == limit:
                return position
        return rows[-1][0]

    def at(self, position: int) -> CloudEvent | None:
        """The event at ``position`` (to redeliver it), if there is one."""
        rows = select_log_rows(self.recorder, position - 1, 1, position)
        if not rows:
            return None
        found, topic, subject, state = rows[0]
        return from_stored(found, topic, subject, state)
