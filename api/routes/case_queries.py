"""Reading cases: the status board (read models), one case (its aggregate), its timeline."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Principal, Scope, require
from api.consistency import wait_for
from api.problems import problems
from api.render import etag, event_json, plain
from api.responses import CaseOut, CasePage, Timeline, ok
from api.routes.deps import Filter, LedgerDep, MinPosition, ViewsDep
from projections import queries

router = APIRouter(prefix="/cases", tags=["cases"], responses=problems(401, 403, 422))
Reader = Annotated[
    Principal, Depends(require(Scope.OFFICIAL, Scope.CLERK, Scope.INSPECTOR, Scope.ADMIN))
]


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
    responses=ok(CaseOut) | problems(404),
)
def get_case(
    case_id: UUID, response: Response, ledger: LedgerDep, views: ViewsDep, _who: Reader
) -> dict[str, Any]:
    """The case's state from its own events (``ETag`` = case version, for ``If-Match``),
    plus due times and holders from the read models when they have it."""
    state = ledger.case(case_id)
    response.headers["ETag"] = etag(state.version)
    board = None
    if views is not None and views.live() is not None:
        board = queries.case(views.store, str(case_id), now=ledger.clock())
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
    responses=ok(Timeline) | problems(404),
)
def case_events(case_id: UUID, ledger: LedgerDep, _who: Reader) -> dict[str, Any]:
    """Every event of the case in order: actor, role, capacity, occurred_at (when it
    happened), recorded_at and recorded_by (when and by whom it was entered), documents,
    and its global log position."""
    return {
        "case_id": str(case_id),
        "events": [event_json(p, e) for p, e in ledger.timeline(case_id)],
    }
