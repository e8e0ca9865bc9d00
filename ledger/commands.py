"""Commands: what a caller asks the ledger to do (imperative names, frozen, typed).

A command carries what the caller knows; the application adds server time, ids and the
person's role, and either stores the resulting events in one transaction or refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from ledger.core.events import Capacity, Document, FinalDisposition
from ledger.core.nip import EmployeeType
from ledger.core.sop import Action, SopDefinition


@dataclass(frozen=True, kw_only=True)
class Command:
    recorded_by: str = "system"
    correlation_id: UUID | None = None
    causation_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PublishSop(Command):
    definition: SopDefinition


@dataclass(frozen=True, kw_only=True)
class RegisterUnit(Command):
    code: str
    name: str
    parent: str | None
    kind: str


@dataclass(frozen=True, kw_only=True)
class RegisterPerson(Command):
    nip: str
    name: str
    employee_type: EmployeeType


@dataclass(frozen=True, kw_only=True)
class AssignRole(Command):
    nip: str
    role: str
    unit: str
    valid_from: datetime
    valid_until: datetime | None = None
    capacity: Capacity = Capacity.DEFINITIF
    acting_for: str | None = None
    decree: str | None = None


@dataclass(frozen=True, kw_only=True)
class EndRole(Command):
    nip: str
    assignment_id: UUID
    valid_until: datetime


@dataclass(frozen=True, kw_only=True)
class OpenCase(Command):
    sop_id: str
    unit: str
    period: str
    sop_version: str | None = None
    branches: tuple[str, ...] | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordAction(Command):
    """One SOP act. Kind-specific fields are checked against ``action``."""

    case_id: UUID
    step: int
    action: Action
    actor: str
    branch: str | None = None
    role: str | None = None
    acting_for: str | None = None
    occurred_at: datetime | None = None
    documents: tuple[Document, ...] = ()
    note: str | None = None
    expected_version: int | None = None
    # return_for_completion
    reason: str | None = None
    return_to: int | None = None
    return_branches: tuple[str, ...] = ()
    # signing
    signed_document_sha256: str | None = None
    signature_ref: str | None = None
    # archiving
    classification_code: str | None = None
    location: str | None = None
    retention_active_years: int | None = None
    retention_inactive_years: int | None = None
    final_disposition: FinalDisposition | None = None
    # esr_upload
    uploaded_document_sha256: str | None = None
    receipt: str | None = None
    # meeting / distribution
    attendees: tuple[str, ...] = field(default=())
    recipients: tuple[str, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class CancelCase(Command):
    case_id: UUID
    actor: str
    reason: str
    occurred_at: datetime | None = None
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class AnnotateEntry(Command):
    case_id: UUID
    target_event_id: UUID
    actor: str
    kind: str
    text: str
    occurred_at: datetime | None = None
    documents: tuple[Document, ...] = ()
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class IssueToken(Command):
    """An API token for a directory person; the secret is shown once, only its hash kept."""

    nip: str
    scopes: tuple[str, ...]
    expires_in: timedelta = timedelta(days=90)
    label: str | None = None


@dataclass(frozen=True, kw_only=True)
class RevokeToken(Command):
    token_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a successful command stored: the last event's id, its aggregate version and
    its position in the global log (so readers can wait for views to catch up)."""

    aggregate_id: UUID
    event_id: UUID
    version: int
    position: int
