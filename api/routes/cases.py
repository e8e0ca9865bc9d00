from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.routes.deps import LedgerDep

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("")
def list_cases(ledger: LedgerDep) -> list[dict[str, Any]]:
    return [
        {
            "id": str(c.case_id),
            "sop_id": c.sop_id,
            "sop_version": c.sop_version,
            "unit": c.unit,
            "period": c.period,
            "status": c.status,
            "opened_at": c.opened_at.isoformat(),
        }
        for c in ledger.list_cases()
    ]


@router.get("/{case_id}")
def get_case(case_id: UUID, ledger: LedgerDep) -> dict[str, Any]:
    state = ledger.case(case_id)
    return {
        "id": str(state.id),
        "version": state.version,
        "sop_id": state.sop.sop_id,
        "sop_version": state.sop.version,
        "unit": state.unit,
        "period": state.period,
        "branches": list(state.branches),
        "status": state.status,
        "awaiting": [{"step": s, "branch": b} for s, b in state.awaiting],
        "returned_for_completion": state.pending_return is not None,
    }
