"""Bodies of the webhook subscription API, with the examples /docs shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.core.clock import as_wib
from ledger.core.cloudevents import MAX_POSITION
from ledger.webhooks.store import Delivery, DeliveryStatus, Subscription

_TYPE = "id.go.sumbarprov.sop.case.signing.v1"


class SubscriptionIn(BaseModel):
    """Where to POST which events; every filter is optional (none: every event)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,  # `"after": false` is no position
        json_schema_extra={
            "examples": [
                {
                    "url": "https://esr.example.go.id/hooks/sop-ledger",
                    "types": [_TYPE, "id.go.sumbarprov.sop.case.completed.v1"],
                    "sop_id": "biro-org.pengukuran-kinerja",
                    "description": "Tanda tangan dan penyelesaian / signings and completions",
                }
            ]
        },
    )

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    types: Annotated[list[str], Field(max_length=100)] = []
    sop_id: Annotated[str | None, Field(max_length=200)] = None
    unit: Annotated[str | None, Field(max_length=200)] = None
    description: Annotated[str | None, Field(max_length=500)] = None
    after: Annotated[
        int | None,
        Field(ge=0, le=MAX_POSITION, description="start after this log position; default: now"),
    ] = None


class SubscriptionOut(BaseModel):
    id: UUID
    owner: str
    url: str
    types: list[str]
    sop_id: str | None
    unit: str | None
    description: str | None
    status: Annotated[str, Field(examples=["active", "disabled"])]
    position: Annotated[int, Field(description="the last log position handled")]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            owner=s.owner,
            url=s.url,
            types=sorted(s.filter.types),
            sop_id=s.filter.sop_id,
            unit=s.filter.unit,
            description=s.description,
            status="active" if s.active else "disabled",
            position=s.position,
            created_at=as_wib(s.created_at),
            disabled_at=None if s.disabled_at is None else as_wib(s.disabled_at),
            disabled_reason=s.disabled_reason,
        )


class CreatedSubscriptionOut(SubscriptionOut):
    secret: Annotated[
        str,
        Field(
            description="kunci penandatanganan, hanya ditampilkan sekali / signing secret, "
            "shown only once (Standard Webhooks)",
            examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ),
    ]

    @classmethod
    def created(cls, s: Subscription) -> CreatedSubscriptionOut:
        return cls(**SubscriptionOut.of(s).model_dump(), secret=s.secret)


class DeliveryOut(BaseModel):
    id: UUID
    subscription_id: UUID
    position: int
    event_id: str
    event_type: Annotated[str, Field(examples=[_TYPE])]
    status: DeliveryStatus
    attempts: int
    last_status: Annotated[int | None, Field(description="last HTTP status; null: no answer")]
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            subscription_id=d.subscription_id,
            position=d.position,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            next_attempt_at=None if d.next_attempt_at is None else as_wib(d.next_attempt_at),
            created_at=as_wib(d.created_at),
            updated_at=as_wib(d.updated_at),
        )
