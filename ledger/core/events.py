"""Every event the ledger stores: explicit, frozen, versioned, named on the wire.

Each concrete class declares ``TOPIC`` (its wire name, e.g. ``case.signing``) and
``class_version`` (its schema version). The registry :data:`EVENT_TYPES` maps wire names to
classes; the stored ``topic`` column holds the wire name, never a Python path, so modules
can move freely. A released class is never edited: a new field means ``class_version + 1``
and a static ``upcast_vN_vN+1(state)`` that fills it in for old records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from ledger.core.nip import EmployeeType
from ledger.core.sop import Action

EVENT_TYPES: dict[str, type[LedgerEvent]] = {}


@dataclass(frozen=True, kw_only=True)
class LedgerEvent:
    """Fields every stored event has; ``recorded_at`` is server time, never the client's."""

    TOPIC: ClassVar[str] = ""
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    event_id: UUID
    recorded_at: datetime
    recorded_by: str
    correlation_id: UUID
    causation_id: UUID | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("TOPIC")
        if topic:
            if topic in EVENT_TYPES:
                raise TypeError(f"wire name {topic!r} registered twice")
            EVENT_TYPES[topic] = cls


class Medium(StrEnum):
    PAPER = "paper"
    ELECTRONIC = "electronic"


class Capacity(StrEnum):
    """In which capacity the actor acted: as holder, acting (Plt/Plh) or on behalf (a.n.)."""

    DEFINITIF = "definitif"
    PLT = "plt"
    PLH = "plh"
    AN = "an"


class FinalDisposition(StrEnum):
    """JRA final disposition of a record."""

    PERMANENT = "permanen"
    DESTROY = "musnah"
    REVIEW = "dinilai_kembali"


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    type: str
    number: str | None = None
    sha256: str | None = None
    medium: Medium = Medium.ELECTRONIC
    classification_code: str | None = None


# --- catalogue -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SopPublished(LedgerEvent):
    TOPIC = "sop.published"
    sop_id: str
    version: str
    content_hash: str
    definition: dict[str, Any]


# --- directory -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UnitRegistered(LedgerEvent):
    TOPIC = "directory.unit_registered"
    code: str
    name: str
    parent: str | None
    kind: str


@dataclass(frozen=True, kw_only=True)
class PersonRegistered(LedgerEvent):
    TOPIC = "directory.person_registered"
    nip: str
    name: str
    employee_type: EmployeeType


@dataclass(frozen=True, kw_only=True)
class RoleAssigned(LedgerEvent):
    """From ``valid_from`` (until ``valid_until``) the person holds ``role`` in ``unit``."""

    TOPIC = "directory.role_assigned"
    nip: str
    assignment_id: UUID
    role: str
    unit: str
    valid_from: datetime
    valid_until: datetime | None
    capacity: Capacity
    acting_for: str | None
    decree: str | None


@dataclass(frozen=True, kw_only=True)
class RoleEnded(LedgerEvent):
    TOPIC = "directory.role_ended"
    nip: str
    assignment_id: UUID
    valid_until: datetime


# --- cases -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CaseOpened(LedgerEvent):
    """One SOP version run for one unit and one period; pins the exact definition hash."""

    TOPIC = "case.opened"
    sop_id: str
    sop_version: str
    sop_hash: str
    unit: str
    period: str
    branches: tuple[str, ...]
    occurred_at: datetime
    attempt: int


@dataclass(frozen=True, kw_only=True)
class ActionRecorded(LedgerEvent):
    """One SOP act at one step (and branch), by whom, in which capacity, with what papers."""

    ACTION: ClassVar[Action]

    step: int
    branch: str | None
    actor: str
    role: str
    capacity: Capacity
    acting_for: str | None
    occurred_at: datetime
    documents: tuple[Document, ...]
    note: str | None
    handed_over_from: UUID | None


@dataclass(frozen=True, kw_only=True)
class DispositionGiven(ActionRecorded):
    TOPIC = "case.disposition"
    ACTION = Action.DISPOSITION


@dataclass(frozen=True, kw_only=True)
class Drafted(ActionRecorded):
    TOPIC = "case.draft"
    ACTION = Action.DRAFT


@dataclass(frozen=True, kw_only=True)
class Submitted(ActionRecorded):
    TOPIC = "case.submission"
    ACTION = Action.SUBMISSION


@dataclass(frozen=True, kw_only=True)
class Validated(ActionRecorded):
    TOPIC = "case.validation"
    ACTION = Action.VALIDATION


@dataclass(frozen=True, kw_only=True)
class Approved(ActionRecorded):
    TOPIC = "case.approval"
    ACTION = Action.APPROVAL


@dataclass(frozen=True, kw_only=True)
class ReturnedForCompletion(ActionRecorded):
    """Sends the case (or some branches) back to ``target_step``; those steps are redone."""

    TOPIC = "case.return_for_completion"
    ACTION = Action.RETURN_FOR_COMPLETION
    reason: str
    target_step: int
    reopened_branches: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Signed(ActionRecorded):
    TOPIC = "case.signing"
    ACTION = Action.SIGNING
    signed_document_sha256: str
    signature_ref: str


@dataclass(frozen=True, kw_only=True)
class MeetingHeld(ActionRecorded):
    TOPIC = "case.meeting"
    ACTION = Action.MEETING
    attendees: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Distributed(ActionRecorded):
    TOPIC = "case.distribution"
    ACTION = Action.DISTRIBUTION
    recipients: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Archived(ActionRecorded):
    TOPIC = "case.archiving"
    ACTION = Action.ARCHIVING
    classification_code: str
    location: str
    retention_active_years: int
    retention_inactive_years: int
    final_disposition: FinalDisposition


@dataclass(frozen=True, kw_only=True)
class EsrUploaded(ActionRecorded):
    TOPIC = "case.esr_upload"
    ACTION = Action.ESR_UPLOAD
    uploaded_document_sha256: str
    receipt: str


@dataclass(frozen=True, kw_only=True)
class CaseCompleted(LedgerEvent):
    TOPIC = "case.completed"
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class CaseCancelled(LedgerEvent):
    TOPIC = "case.cancelled"
    occurred_at: datetime
    actor: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class EntryAnnotated(LedgerEvent):
    """A later correction or remark about an earlier event; history itself is never edited."""

    TOPIC = "entry.annotated"
    target_event_id: UUID
    kind: str
    text: str
    actor: str
    occurred_at: datetime
    documents: tuple[Document, ...]


ACTION_EVENTS: dict[Action, type[ActionRecorded]] = {
    cls.ACTION: cls for cls in EVENT_TYPES.values() if issubclass(cls, ActionRecorded)
}
