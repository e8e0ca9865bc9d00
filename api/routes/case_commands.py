"""Commands on cases: open one, record an act. Routers only translate HTTP to commands."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response

from api.auth import Principal, Scope, require
from api.consistency import PreconditionHeaderError
from api.problems import problems
from api.render import etag
from api.routes.deps import BatcherDep, IdempotencyKey, LedgerDep, MetricsDep
from api.schemas import ActionIn, OpenCaseIn, RecordedOut
from ledger.commands import OpenCase, RecordAction
from ledger.core.errors import ForbiddenError
from ledger.core.events import Document
from ledger.core.idempotency import Claim, claim

router = APIRouter(prefix="/cases", tags=["cases"], responses=problems(400, 401, 403, 422))
Writer = Annotated[Principal, Depends(require(Scope.OFFICIAL, Scope.CLERK))]
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


@router.post(
    "",
    status_code=201,
    summary="Buka kasus / open a case",
    responses=problems(404, 409),
)
def open_case(
    body: OpenCaseIn,
    response: Response,
    ledger: LedgerDep,
    metrics: MetricsDep,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> RecordedOut:
    command = OpenCase(
        sop_id=body.sop_id,
        unit=body.unit,
        period=body.period,
        sop_version=body.sop_version,
        branches=None if body.branches is None else tuple(body.branches),
        occurred_at=body.occurred_at,
        recorded_by=who.nip,
    )
    recorded = ledger.open_case(command, _claim(who, idempotency_key, "open", body.model_dump()))
    metrics.appended("open_case", 1)
    response.headers["Location"] = f"/cases/{recorded.aggregate_id}"
    response.headers["ETag"] = etag(recorded.version)
    return RecordedOut.of(recorded)


@router.post(
    "/{case_id}/actions",
    status_code=201,
    summary="Catat tindakan SOP / record an SOP act",
    description="The actor is the caller; a clerk records on behalf of a named official "
    "(`on_behalf_of`, e.g. back-dated paper records) and the event shows both. "
    "`If-Match: <version>` refuses a stale write with 412.",
    responses=problems(404, 409, 412),
)
def record_action(
    case_id: UUID,
    body: ActionIn,
    response: Response,
    batcher: BatcherDep,
    metrics: MetricsDep,
    who: Writer,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    idempotency_key: IdempotencyKey = None,
) -> RecordedOut:
    expected = _expected_version(if_match)
    request = {"case_id": str(case_id), "if_match": expected, **body.model_dump()}
    command = _command(case_id, body, who, expected)
    recorded = batcher.record(command, _claim(who, idempotency_key, "act", request))
    metrics.appended("record_action", 1)
    response.headers["ETag"] = etag(recorded.version)
    return RecordedOut.of(recorded)


def _command(case_id: UUID, body: ActionIn, who: Principal, expected: int | None) -> RecordAction:
    fields = body.model_dump(exclude={"documents", "on_behalf_of", "return_branches"})
    for name in ("attendees", "recipients"):
        fields[name] = tuple(fields[name])
    return RecordAction(
        case_id=case_id,
        actor=_actor(who, body.on_behalf_of),
        recorded_by=who.nip,
        expected_version=expected,
        documents=tuple(Document(**d.model_dump()) for d in body.documents),
        return_branches=tuple(body.return_branches),
        **fields,
    )


def _actor(who: Principal, on_behalf_of: str | None) -> str:
    """The caller acts for themself; only a clerk may record another official's act."""
    if on_behalf_of is None or on_behalf_of == who.nip:
        if Scope.OFFICIAL not in who.scopes and Scope.CLERK not in who.scopes:
            raise ForbiddenError("hanya pejabat / officials only", field="scope")
        return who.nip
    if Scope.CLERK not in who.scopes:
        raise ForbiddenError(
            "hanya petugas pencatat (clerk) yang boleh mencatat atas nama pejabat lain / only "
            "a clerk may record on behalf of another official",
            field="on_behalf_of",
        )
    return on_behalf_of


def _expected_version(header: str | None) -> int | None:
    if header is None or header.strip() == "*":
        return None
    found = _IF_MATCH.match(header.strip())
    if found is None:
        raise PreconditionHeaderError(
            f'If-Match {header!r} bukan versi kasus / is not a case version (e.g. "7")',
            field="If-Match",
        )
    return int(found.group(1))


def _claim(who: Principal, key: str | None, operation: str, request: Any) -> Claim | None:
    if key is None:
        return None
    return claim(who.nip, key, {"operation": operation, "request": request})
