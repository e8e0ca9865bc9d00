"""Reading cases: the status board (read models), one case (its aggregate), its timeline,
its evidence bundle, and who read it.

What an inspector reads of a case (its state, timeline, evidence) is recorded in the
ledger before it is answered (``audit.read``, with the purpose stated in
``X-Audit-Purpose``): a read that cannot be recorded is not served. So "who looked at
this file" is answerable from the ledger and sealed like every act.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, Scope, require
from api.consistency import wait_for
from api.observability import current_request_id
from api.problems import problems
from api.render import etag, event_json, plain
from api.responses import CaseOut, CasePage, Open, Time, Timeline, ok
from api.routes.deps import Filter, LedgerDep, MinPosition, ViewsDep
from api.routes.ledger_proofs import EvidenceNotReadyError, IntegrityUnavailableError
from ledger.core.reads import (
    MAX_PURPOSE,
    PURPOSE_HEADER,
    ReadRecorded,
    ReadSubject,
)
from ledger.handlers.reads import RecordRead
from ledger.integrity.bundle import BundleError, export_case
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger
from projections import queries

router = APIRouter(prefix="/cases", tags=["cases"], responses=problems(401, 403, 422))
evidence_router = APIRouter(prefix="/cases", tags=["cases"], responses=problems(401, 403, 422))
"""``GET /cases/{id}/evidence``: mounted only on an app holding the integrity store, like
the ``/ledger`` proof routes (an app without it neither documents nor serves it)."""
Reader = Annotated[
    Principal, Depends(require(Scope.OFFICIAL, Scope.CLERK, Scope.INSPECTOR, Scope.ADMIN))
]
Examiner = Annotated[Principal, Depends(require(Scope.INSPECTOR, Scope.ADMIN))]
AuditPurpose = Annotated[
    str | None,
    Header(
        alias=PURPOSE_HEADER,
        max_length=MAX_PURPOSE,
        pattern=r"^[^\x00-\x1f\x7f-\x9f]*$",
        description="tujuan pembacaan / stated purpose of the read, recorded with it when "
        f"the caller holds the inspector scope (at most {MAX_PURPOSE} characters, no "
        "control characters; ASCII recommended)",
        examples=["Pemeriksaan kinerja BPK 2024 / BPK performance audit 2024"],
    ),
]
EXAMPLE_CASE = "6f1c0a52-8d0e-5b6e-9a43-1f7c2f2b9d10"


class ReadOut(BaseModel):
    """One recorded read of the case (or of its quarter's evidence)."""

    reader: str = Field(description="NIP of the reader, or cli:<OS user> for the CLI")
    scopes: list[str] = Field(description="the scopes the reader held")
    resource: str = Field(description="what was asked for (method and path)")
    subject: Literal["case", "case-events", "evidence-case", "evidence-period"]
    period: str | None = Field(description="the quarter of an evidence-period read")
    purpose: str | None = Field(description="the stated purpose (X-Audit-Purpose)")
    request_id: str | None = Field(description="X-Request-ID of the read")
    recorded_at: Time
    position: int = Field(description="the read event's position in the ledger's log")
    event_id: UUID


class CaseReads(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": EXAMPLE_CASE,
                    "reads": [
                        {
                            "reader": "197001012000031001",
                            "scopes": ["inspector"],
                            "resource": f"GET /cases/{EXAMPLE_CASE}/events",
                            "subject": "case-events",
                            "period": None,
                            "purpose": "Pemeriksaan kinerja BPK 2024 / BPK performance audit",
                            "request_id": "0b6f5f0c2d8e4a8f9b1e3c5d7a9f1e2d",
                            "recorded_at": "2024-10-01T08:00:00+07:00",
                            "position": 4211,
                            "event_id": "3d0f7c1e-5b8a-4c2d-9e6f-7a1b2c3d4e5f",
                        }
                    ],
                }
            ]
        }
    )

    case_id: UUID
    reads: list[ReadOut] = Field(description="oldest first")


_EXAMPLE_ORIGIN = "sop-ledger.sumbarprov.go.id/ledger"
_EXAMPLE_ROOT = "IQB7NookQ8Lj8zFwMrpxIRkEAWOJpKFhulBvIrf4Rck="


class EvidenceBundle(Open):
    """An evidence bundle (``sop-ledger-evidence/1``): the case's events as stored, with
    leaf hashes, chain links and inclusion proofs against one signed checkpoint; check it
    offline with ``sop-ledger verify --bundle``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "sop-ledger-evidence/1",
                    "subject": {"kind": "case", "case_id": EXAMPLE_CASE},
                    "exported_at": "2025-01-06T09:30:00+07:00",
                    "checkpoint": f"{_EXAMPLE_ORIGIN}\n226\n{_EXAMPLE_ROOT}\n"
                    "time 2024-12-31T09:00:00Z\n\n\u2014 ...\n",
                    "tree_size": 226,
                    "root_hash": _EXAMPLE_ROOT,
                    "keys": [f"{_EXAMPLE_ORIGIN}+33532d1b+AaS+SSUcBCO7Yc4d220mnK+PZNTqTIUxv..."],
                    "signed_by": [f"{_EXAMPLE_ORIGIN}+33532d1b+AaS+SSUcBCO7Yc4d220mnK+PZNT..."],
                    "how_to_verify": {"id": ["..."], "en": ["..."]},
                    "events": [
                        {
                            "position": 42,
                            "leaf_index": 41,
                            "case_id": EXAMPLE_CASE,
                            "version": 1,
                            "topic": "case.opened",
                            "state": '{"attempt":1,"branches":[],...}',
                            "previous": None,
                            "leaf_hash": "2e7d2c03a9507ae265ecf5b5356885a5...",
                            "inclusion_proof": ["LueINyUYGQpqtTnLsgMx3xBA8hhG47qDbCaa7pB8iUw="],
                        }
                    ],
                }
            ]
        }
    )

    format: Literal["sop-ledger-evidence/1"]
    subject: dict[str, Any]
    exported_at: str
    checkpoint: str = Field(description="the signed note (C2SP tlog-checkpoint)")
    tree_size: int
    root_hash: str
    keys: list[str]
    signed_by: list[str]
    how_to_verify: dict[str, list[str]]
    events: list[Open]


EVIDENCE_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "model": EvidenceBundle,
        "description": "berkas bukti / the evidence bundle (a JSON file to save)",
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="evidence-<case_id>.json"',
                "schema": {"type": "string"},
            }
        },
    }
}


def _record(
    ledger: Ledger,
    request: Request,
    who: Principal,
    subject: ReadSubject,
    case_id: UUID,
    purpose: str | None,
) -> None:
    """Record the read of ``case_id`` (ReadNotRecordedError: do not answer it)."""
    ledger.record_read(
        RecordRead(
            recorded_by=who.nip,
            scopes=tuple(s.value for s in Scope if s in who.scopes),
            resource=f"{request.method} {request.url.path}",
            subject=subject,
            case_id=case_id,
            purpose=purpose,
            request_id=current_request_id(),
        )
    )


def _read_json(position: int, read: ReadRecorded) -> dict[str, Any]:
    return {
        "reader": read.reader,
        "scopes": list(read.scopes),
        "resource": read.resource,
        "subject": str(read.subject),
        "period": read.period,
        "purpose": read.purpose,
        "request_id": read.request_id,
        "recorded_at": plain(read.recorded_at),
        "position": position,
        "event_id": str(read.event_id),
    }


@router.get(
    "",
    summary="Papan status kasus / case status board",
    response_model=None,
    responses=ok(CasePage) | problems(409, 503),
)
def list_cases(
    request: Request,
    ledger: LedgerDep,
    views: ViewsDep,
    _who: Reader,
    sop_id: Filter = None,
    unit: Filter = None,
    period: Filter = None,
    status: Annotated[str | None, Query(pattern="^(open|completed|cancelled)$")] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """One row per case: current steps, open branches, who must act (role and the person
    holding it now), due times, overdue flag; from the read models."""
    position = wait_for(views, min_position, request.app.state.read_wait_seconds)
    assert views is not None
    rows = queries.cases(
        views.store,
        now=ledger.clock(),
        sop_id=sop_id,
        unit=unit,
        period=period,
        status=status,
        overdue=overdue,
        limit=limit + 1,
        offset=offset,
    )
    more = len(rows) > limit
    following = request.url.include_query_params(offset=offset + limit) if more else None
    return {
        "items": plain(rows[:limit]),
        "limit": limit,
        "offset": offset,
        "next": None if following is None else str(following),
        "views_position": position,
    }


@router.get(
    "/{case_id}",
    summary="Status satu kasus / one case's status",
    response_model=None,
    responses=ok(CaseOut) | problems(404, 503),
)
def get_case(
    case_id: UUID,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    views: ViewsDep,
    who: Reader,
    purpose: AuditPurpose = None,
) -> dict[str, Any]:
    """The case's state from its own events (``ETag`` = case version, for ``If-Match``),
    plus due times and holders from the read models when they have it. An inspector's
    read is recorded (with ``X-Audit-Purpose``) before it is answered."""
    state = ledger.case(case_id)
    board = None
    if views is not None and views.live() is not None:
        board = queries.case(views.store, str(case_id), now=ledger.clock())
    if Scope.INSPECTOR in who.scopes:
        _record(ledger, request, who, ReadSubject.CASE, case_id, purpose)
    response.headers["ETag"] = etag(state.version)
    return {
        "id": str(state.id),
        "version": state.version,
        "sop_id": state.sop.sop_id,
        "sop_version": state.sop.version,
        "unit": state.unit,
        "period": state.period,
        "branches": list(state.branches),
        "status": str(state.status),
        "opened_at": plain(state.opened_at),
        "awaiting": [{"step": s, "branch": b} for s, b in state.awaiting],
        "returned_for_completion": state.pending_return is not None,
        "board": None if board is None else plain(board),
    }


@router.get(
    "/{case_id}/events",
    summary="Linimasa kasus / the case's timeline",
    response_model=None,
    responses=ok(Timeline) | problems(404, 503),
)
def case_events(
    case_id: UUID,
    request: Request,
    ledger: LedgerDep,
    who: Reader,
    purpose: AuditPurpose = None,
) -> dict[str, Any]:
    """Every event of the case in order: actor, role, capacity, occurred_at (when it
    happened), recorded_at and recorded_by (when and by whom it was entered), documents,
    and its global log position. An inspector's read is recorded (with
    ``X-Audit-Purpose``) before it is answered."""
    timeline = ledger.timeline(case_id)
    if Scope.INSPECTOR in who.scopes:
        _record(ledger, request, who, ReadSubject.CASE_EVENTS, case_id, purpose)
    return {"case_id": str(case_id), "events": [event_json(p, e) for p, e in timeline]}


@evidence_router.get(
    "/{case_id}/evidence",
    summary="Berkas bukti kasus / the case's evidence bundle",
    response_model=None,
    response_class=Response,
    responses=EVIDENCE_OK | problems(404, 409, 503),
)
def case_evidence(
    case_id: UUID,
    request: Request,
    ledger: LedgerDep,
    who: Examiner,
    purpose: AuditPurpose = None,
) -> Response:
    """Every event of the case with its leaf hash, chain link and inclusion proof against
    the latest signed checkpoint: one JSON file that verifies offline (``sop-ledger
    verify --bundle``). Every download is recorded as a read (inspector or admin, with
    ``X-Audit-Purpose``) before it is answered. 409 while no checkpoint covers the case's
    events yet; 503 when this service runs without the integrity store."""
    store: IntegrityStore | None = getattr(request.app.state, "integrity", None)
    if store is None:
        raise IntegrityUnavailableError(
            "layanan ini berjalan tanpa pohon Merkle / this service runs without a Merkle tree"
        )
    ledger.case(case_id)
    try:
        data = export_case(ledger, store, str(case_id), now=ledger.clock)
    except BundleError as error:
        raise EvidenceNotReadyError(str(error), field=error.field) from error
    _record(ledger, request, who, ReadSubject.EVIDENCE_CASE, case_id, purpose)
    disposition = f'attachment; filename="evidence-{case_id}.json"'
    return Response(
        data, media_type="application/json", headers={"Content-Disposition": disposition}
    )


@router.get(
    "/{case_id}/reads",
    summary="Siapa membaca kasus ini / who read this case",
    response_model=None,
    responses=ok(CaseReads) | problems(404),
)
def case_reads(case_id: UUID, ledger: LedgerDep, _who: Examiner) -> dict[str, Any]:
    """Every recorded read of the case, oldest first: its state, timeline and evidence
    read by inspectors, and the evidence exports of its quarter (API or CLI), with who,
    when, with which scopes and for which stated purpose. Reading this list is not itself
    recorded: it shows reads, it reads no case detail, and recording it would make every
    look at the list grow it."""
    reads = ledger.case_reads(case_id)
    return {"case_id": str(case_id), "reads": [_read_json(p, r) for p, r in reads]}
