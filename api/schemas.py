"""Request and response bodies of the case API, with the examples /docs shows.

Bodies forbid unknown fields, so a misspelt field is named in the refusal rather than
silently dropped. Times are RFC 3339 with an offset; a naive time is refused.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from ledger.commands import RecordAction, Recorded
from ledger.core.events import FinalDisposition, Medium
from ledger.core.sop import Action

# No NUL characters: PostgreSQL text cannot hold them, so the two stores would disagree.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
Code = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Nip = Annotated[str, Field(pattern=r"^\d{18}$", examples=["197305131997032005"])]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _rfc3339_only(value: object) -> object:
    """Refuse what pydantic would read as a Unix timestamp (a number, a numeric string)."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.match(value)):
        return value
    raise ValueError("harus waktu RFC 3339 / must be an RFC 3339 date-time with an offset")


def _representable(value: datetime) -> datetime:
    """Refuse instants that overflow when shown in UTC or WIB (year 1 at +14:00, ...)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("di luar rentang / out of range: years 1900 to 8999 only")
    return value


# A time as the API takes it: RFC 3339 with an offset (a naive time is refused, never
# guessed), within the years the ledger can show in every zone.
Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_representable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentIn(Strict):
    title: Text
    type: Code = Field(examples=["nota_dinas"])
    number: Code | None = None
    sha256: Sha256 | None = None
    medium: Medium = Medium.ELECTRONIC
    classification_code: Code | None = None


class OpenCaseIn(Strict):
    sop_id: Code = Field(examples=["biro-org.pengukuran-kinerja"])
    unit: Code = Field(examples=["biro-org"])
    period: Code = Field(description="triwulan / quarter: 2024-Q3 or 2024-TW3")
    sop_version: Code | None = Field(None, description="default: the version in force")
    branches: list[Code] | None = Field(None, max_length=100)
    occurred_at: Moment | None = None

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"sop_id": "biro-org.pengukuran-kinerja", "unit": "biro-org", "period": "2024-Q3"}
            ]
        },
    )


class ActionIn(Strict):
    """One SOP act; the kind-specific fields are checked against ``action``."""

    step: int = Field(ge=1, le=1000)
    action: Action
    branch: Code | None = None
    occurred_at: Moment | None = Field(
        None, description="when it happened (back-dated paper records); default: now"
    )
    documents: list[DocumentIn] = Field(default_factory=list, max_length=100)
    note: Text | None = None
    role: Code | None = Field(None, description="the step's role acted in, if several")
    acting_for: Nip | None = Field(None, description="a.n.: the official this act is for")
    on_behalf_of: Nip | None = Field(
        None, description="clerks only: the official whose act is recorded (the actor)"
    )
    reason: Text | None = None
    return_to: int | None = Field(None, ge=1, le=1000)
    return_branches: list[Code] = Field(default_factory=list, max_length=100)
    signed_document_sha256: Sha256 | None = None
    signature_ref: Code | None = None
    classification_code: Code | None = None
    location: Code | None = None
    retention_active_years: int | None = Field(None, ge=0, le=1000)
    retention_inactive_years: int | None = Field(None, ge=0, le=1000)
    final_disposition: FinalDisposition | None = None
    uploaded_document_sha256: Sha256 | None = None
    receipt: Code | None = None
    attendees: list[Nip] = Field(default_factory=list, max_length=500)
    recipients: list[Code] = Field(default_factory=list, max_length=500)

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "step": 1,
                    "action": "disposition",
                    "occurred_at": "2024-10-01T09:00:00+07:00",
                    "documents": [{"title": "Disposisi", "type": "disposisi", "medium": "paper"}],
                },
                {
                    "step": 7,
                    "action": "return_for_completion",
                    "reason": "Data capaian triwulan belum lengkap",
                    "return_to": 5,
                },
            ]
        },
    )


class RecordedOut(BaseModel):
    """What a command stored: the case, its event, the case version and the log position
    (pass it as ``min_position`` to read your own write)."""

    id: UUID
    event_id: UUID
    version: int
    position: int

    @classmethod
    def of(cls, recorded: Recorded) -> RecordedOut:
        return cls(
            id=recorded.aggregate_id,
            event_id=recorded.event_id,
            version=recorded.version,
            position=recorded.position,
        )


_NOT_IN_BODY = frozenset(
    {"case_id", "actor", "recorded_by", "expected_version", "correlation_id", "causation_id"}
)


def action_body(command: RecordAction, *, omit: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The JSON body that records ``command`` through ``POST /cases/{id}/actions`` (the
    inverse of the route's translation; for clients, tests and benchmarks). The caller's
    token says who acts; ``case_id`` goes in the path and the version in ``If-Match``."""
    body: dict[str, Any] = {}
    for name in fields(command):
        value = getattr(command, name.name)
        if name.name in _NOT_IN_BODY | omit or value in (None, (), []):
            continue
        body[name.name] = _json(value)
    return body


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in fields(value)}
    return value
