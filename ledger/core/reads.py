"""Read audit, pure: the ``audit.read`` event, its subjects, the stated purpose.

Who looked at a case is as much a part of the audit trail as who acted on it. Every read of
a case's details or evidence by an inspector (and every evidence export) is stored as an
event in the ledger's own log, so it is sealed into the hash chain and the Merkle tree like
any act and cannot be quietly dropped later. The reads of one subject form one aggregate
(a *read log*: :func:`ledger.ids.case_reads_id`, :func:`ledger.ids.period_reads_id`), so
"who read this case" is one indexed read of that aggregate, never a scan of the log.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ledger.core.errors import LedgerError
from ledger.core.events import LedgerEvent
from ledger.core.periods import InvalidPeriodError, Quarter

MAX_PURPOSE = 500
PURPOSE_HEADER = "X-Audit-Purpose"


class ReadSubject(StrEnum):
    """What was read."""

    CASE = "case"  # a case's current state
    CASE_EVENTS = "case-events"  # a case's timeline
    EVIDENCE_CASE = "evidence-case"  # a case's evidence bundle
    EVIDENCE_PERIOD = "evidence-period"  # the evidence bundle of every case of a quarter


CASE_SUBJECTS = frozenset({ReadSubject.CASE, ReadSubject.CASE_EVENTS, ReadSubject.EVIDENCE_CASE})


class InvalidPurposeError(LedgerError):
    """The stated purpose of a read is too long or holds control characters."""

    code = "invalid-audit-purpose"
    title_id = "Tujuan pembacaan tidak valid"
    title_en = "Invalid audit purpose"


class ReadNotRecordedError(LedgerError):
    """The read could not be recorded, so it must not be served (the caller may retry)."""

    code = "read-not-recorded"
    title_id = "Pembacaan tidak dapat dicatat"
    title_en = "Read could not be recorded"


@dataclass(frozen=True, kw_only=True)
class ReadRecorded(LedgerEvent):
    """``reader`` (a NIP, or ``cli:<OS user>``) holding ``scopes`` read ``resource``: a
    ``subject`` of case ``case_id`` or of quarter ``period``, for the stated ``purpose``.
    ``recorded_by`` is the reader too; ``recorded_at`` is when the read was served."""

    TOPIC = "audit.read"

    reader: str
    scopes: tuple[str, ...]
    resource: str
    subject: ReadSubject
    case_id: UUID | None
    period: str | None
    purpose: str | None
    request_id: str | None


def checked_purpose(text: str | None) -> str | None:
    """The stated purpose, trimmed (``None`` when blank); over :data:`MAX_PURPOSE`
    characters or with a control character (a forged line break in a report) is refused."""
    if text is None or not text.strip():
        return None
    purpose = text.strip()
    if len(purpose) > MAX_PURPOSE:
        raise InvalidPurposeError(
            f"tujuan paling banyak {MAX_PURPOSE} karakter / purpose must be at most "
            f"{MAX_PURPOSE} characters",
            field=PURPOSE_HEADER,
        )
    if any(unicodedata.category(c) == "Cc" for c in purpose):
        raise InvalidPurposeError(
            "tujuan tidak boleh memuat karakter kendali / purpose must not contain control "
            "characters",
            field=PURPOSE_HEADER,
        )
    return purpose


def read_target(
    subject: ReadSubject, case_id: UUID | None, period: str | None
) -> tuple[UUID | None, str | None]:
    """``(case_id, period)`` as the event stores them: a case subject names a case and no
    period, a period subject a canonical quarter (``2024-Q3``) and no case."""
    if subject in CASE_SUBJECTS:
        if case_id is None or period is not None:
            raise ValueError(f"a {subject} read names a case and no period")
        return case_id, None
    if case_id is not None or period is None:
        raise ValueError(f"a {subject} read names a period and no case")
    return None, str(Quarter.parse(period))


def quarter_of(period: str) -> str | None:
    """The canonical quarter of a case's period, if it names one (period exports cover the
    cases of a quarter: their reads belong to those cases' reads too)."""
    try:
        return str(Quarter.parse(period))
    except InvalidPeriodError:
        return None
