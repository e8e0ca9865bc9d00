from __future__ import annotations

from fastapi import APIRouter, Request

from api.responses import Health, Readiness, ok
from api.routes.deps import LedgerDep
from projections.service import ViewService

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=None, responses=ok(Health))
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=ok(Readiness))
def readyz(ledger: LedgerDep, request: Request) -> dict[str, object]:
    """The store answers; the views' position and lag (events behind the log)."""
    body: dict[str, object] = {"status": "ready", "position": ledger.max_position()}
    views: ViewService | None = request.app.state.views
    if views is not None:
        progress = views.progress()
        body["projections"] = {
            progress.projection: {
                "generation": progress.generation,
                "state": progress.state,
                "position": progress.position,
                "lag": progress.lag,
                "in_process": views.in_process,
                "error": None if views.error is None else str(views.error),
            }
        }
    return body
