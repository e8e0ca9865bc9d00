from __future__ import annotations

from fastapi import APIRouter

from api.routes.deps import LedgerDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ledger: LedgerDep) -> dict[str, object]:
    return {"status": "ready", "position": ledger.max_position()}
