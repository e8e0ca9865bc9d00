"""Recording reads (``audit.read``) and listing who read a case.

A read is appended to its subject's read log at the next version. Two inspectors reading
one case at once compute the same next version and one of them collides on the store's
unique (aggregate, version) key; the loser re-reads the version and tries again after a
short random pause, so concurrent reads are all recorded, never lost. A read that still
cannot be recorded raises ReadNotRecordedError: the caller must not serve it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from ledger import ids
from ledger.application import LedgerBase
from ledger.commands import Command, Recorded
from ledger.core import errors
from ledger.core.periods import Quarter
from ledger.core.reads import (
    ReadNotRecordedError,
    ReadRecorded,
    ReadSubject,
    checked_purpose,
    quarter_of,
    read_target,
)
from ledger.persistence.multi_read import select_with_positions

ATTEMPTS = 40
MAX_PAUSE_SECONDS = 0.025


@dataclass(frozen=True, kw_only=True)
class RecordRead(Command):
    """A read by ``recorded_by`` (the reader: a NIP or ``cli:<OS user>``)."""

    scopes: tuple[str, ...]
    resource: str
    subject: ReadSubject
    case_id: UUID | None = None
    period: str | None = None
    purpose: str | None = None
    request_id: str | None = None


class _ReadLogClash(errors.LedgerError):
    """Another read took the version first (handled here, never raised to callers)."""


class ReadAudit(LedgerBase):
    def record_read(self, command: RecordRead) -> Recorded:
        """Append the read to its subject's read log (retrying on concurrent reads)."""
        case_id, period = read_target(command.subject, command.case_id, command.period)
        log_id = _read_log(case_id, period)
        purpose = checked_purpose(command.purpose)
        stamp = self.stamp(command, self.clock())
        for attempt in range(ATTEMPTS):
            event = ReadRecorded(
                originator_id=log_id,
                originator_version=self._read_log_version(log_id) + 1,
                reader=command.recorded_by,
                scopes=tuple(command.scopes),
                resource=command.resource,
                subject=command.subject,
                case_id=case_id,
                period=period,
                purpose=purpose,
                request_id=command.request_id,
                **stamp,
            )
            try:
                return self.save([event], lambda: _ReadLogClash("read log version taken"))
            except _ReadLogClash:
                time.sleep(random.uniform(0, min(MAX_PAUSE_SECONDS, 0.001 * 2**attempt)))
        raise ReadNotRecordedError(
            "pembacaan tidak dapat dicatat karena banyak pembacaan bersamaan; coba lagi / "
            "the read could not be recorded (too many reads at once); retry"
        )

    def case_reads(self, case_id: UUID) -> list[tuple[int, ReadRecorded]]:
        """Who read the case, oldest first, with log positions: its own read log and the
        evidence exports of its quarter (CaseNotFoundError if there is no such case)."""
        logs = [ids.case_reads_id(case_id)]
        quarter = quarter_of(self.case(case_id).period)
        if quarter is not None:
            logs.append(ids.period_reads_id(quarter))
        return sorted((read for log in logs for read in self._reads_in(log)), key=_position)

    def period_reads(self, quarter: Quarter) -> list[tuple[int, ReadRecorded]]:
        """The evidence exports of a quarter, oldest first."""
        return self._reads_in(ids.period_reads_id(str(quarter)))

    def _reads_in(self, log_id: UUID) -> list[tuple[int, ReadRecorded]]:
        decode = self.store.mapper.to_domain_event
        rows = select_with_positions(self.store.recorder, log_id, 2**62)
        return [(position, cast(ReadRecorded, decode(stored))) for position, stored in rows]

    def _read_log_version(self, log_id: UUID) -> int:
        last = self.store.recorder.select_events(log_id, desc=True, limit=1)
        return last[0].originator_version if last else 0


def _position(read: tuple[int, ReadRecorded]) -> int:
    return read[0]


def _read_log(case_id: UUID | None, period: str | None) -> UUID:
    if case_id is not None:
        return ids.case_reads_id(case_id)
    assert period is not None  # read_target names exactly one of the two
    return ids.period_reads_id(period)
