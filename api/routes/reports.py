"""Figures for inspectors and evaluators: SLA report, archive index, activity, ESR register."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import Principal, Scope, require
from api.consistency import wait_for
from api.problems import problems
from api.render import plain
from api.responses import Activity, ArchivePage, EsrRegister, SlaReportOut, ok
from api.routes.deps import Filter, MinPosition, ViewsDep
from api.schemas import Moment
from ledger.core.clock import as_utc
from ledger.core.periods import Quarter
from projections import queries
from projections.report import SlaReport, build_sla_report, live_sla_report
from projections.runner import Runner
from projections.viewstore.base import ViewStore

router = APIRouter(tags=["reports"], responses=problems(401, 403, 409, 422, 503))
Reader = Annotated[
    Principal, Depends(require(Scope.OFFICIAL, Scope.CLERK, Scope.INSPECTOR, Scope.ADMIN))
]
Period = Annotated[str, Query(description="triwulan / quarter: 2024-Q3 or 2024-TW3")]
Grouping = Annotated[str, Query(pattern="^(" + "|".join(sorted(queries.GROUPINGS)) + ")$")]
RunnerFactory = Callable[[ViewStore, datetime | None], Runner]


@router.get(
    "/reports/sla",
    summary="Kepatuhan waktu per langkah / per-step SLA report",
    response_model=None,
    responses=ok(SlaReportOut),
)
def sla_report(
    request: Request,
    views: ViewsDep,
    _who: Reader,
    period: Period,
    sop_id: Filter = None,
    unit: Filter = None,
    by: Grouping = "step",
    as_of: Annotated[
        Moment | None,
        Query(description="as the ledger knew it then: replays the log, ignoring later entries"),
    ] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Counts, compliance %, median and p90 working time per group, and every execution,
    with a manifest (log position, SOP and calendar versions) and a content hash. With
    ``as_of`` the log is replayed as it stood then, so the figures never change."""
    quarter = str(Quarter.parse(period))
    report: SlaReport
    if as_of is not None:
        make_runner: RunnerFactory = request.app.state.report_runners
        report = build_sla_report(
            make_runner, quarter, as_of=as_utc(as_of, "as_of"), by=by, sop_id=sop_id, unit=unit
        )
    else:
        position = wait_for(views, min_position, request.app.state.read_wait_seconds)
        assert views is not None
        report = live_sla_report(
            views.store,
            quarter,
            calendar_version=views.calendar_version,
            log_position=position,
            by=by,
            sop_id=sop_id,
            unit=unit,
        )
    return report.as_json()


@router.get(
    "/archive",
    summary="Indeks arsip / archive index",
    response_model=None,
    responses=ok(ArchivePage),
)
def archive(
    request: Request,
    views: ViewsDep,
    _who: Reader,
    classification_code: Filter = None,
    number: Filter = None,
    doc_type: Annotated[Filter, Query(alias="type")] = None,
    title_contains: Annotated[Filter, Query(alias="subject")] = None,
    period: Filter = None,
    unit: Filter = None,
    signer: Filter = None,
    medium: Annotated[str | None, Query(pattern="^(paper|electronic)$")] = None,
    location: Filter = None,
    sha256: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Every signed or archived document (DOMAIN.md section 5 fields), searchable by each."""
    position = wait_for(views, min_position, request.app.state.read_wait_seconds)
    assert views is not None
    filters = {
        "classification_code": classification_code,
        "number": number,
        "type": doc_type,
        "period": period,
        "unit": unit,
        "signer": signer,
        "medium": medium,
        "location": location,
        "sha256": sha256,
    }
    rows = queries.archive(views.store, title_contains=title_contains, **filters)
    return {"items": plain(rows), "views_position": position}


@router.get(
    "/people/{nip}/activity",
    summary="Aktivitas pegawai / a person's activity",
    response_model=None,
    responses=ok(Activity),
)
def activity(
    request: Request,
    views: ViewsDep,
    _who: Reader,
    nip: Annotated[str, Path(pattern=r"^\d{18}$", description="NIP (18 digits)")],
    role: Filter = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Who did what, when, in which case and capacity (acting for whom)."""
    position = wait_for(views, min_position, request.app.state.read_wait_seconds)
    assert views is not None
    rows = queries.activity(
        views.store,
        actor=nip,
        role=role,
        since=None if since is None else as_utc(since, "since"),
        until=None if until is None else as_utc(until, "until"),
        limit=limit,
    )
    return {"nip": nip, "items": plain(rows), "views_position": position}


@router.get(
    "/esr",
    summary="Register unggah ESR / ESR upload register",
    response_model=None,
    responses=ok(EsrRegister),
)
def esr(
    request: Request,
    views: ViewsDep,
    _who: Reader,
    period: Period,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Per unit: uploaded (when, by whom, receipt), pending, and units with no case."""
    position = wait_for(views, min_position, request.app.state.read_wait_seconds)
    assert views is not None
    found = queries.esr(views.store, str(Quarter.parse(period)))
    return {**plain(found), "views_position": position}
