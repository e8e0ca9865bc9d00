from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.auth import require
from api.problems import problems
from api.responses import SopDefinitionOut, SopSummary, ok
from api.routes.deps import LedgerDep
from ledger.core.sop_schema import definition_to_mapping

router = APIRouter(
    prefix="/sops",
    tags=["sops"],
    dependencies=[Depends(require())],
    responses=problems(401, 403),
)


@router.get("", response_model=None, responses=ok(list[SopSummary]))
def list_sops(ledger: LedgerDep) -> list[dict[str, Any]]:
    return [
        {
            "sop_id": d.sop_id,
            "version": d.version,
            "number": d.identity.number,
            "name": {"id": d.identity.name.id, "en": d.identity.name.en},
            "content_hash": d.content_hash,
        }
        for d in ledger.list_sops()
    ]


@router.get("/{sop_id}", response_model=None, responses=ok(SopDefinitionOut) | problems(404, 422))
def latest(sop_id: str, ledger: LedgerDep) -> dict[str, Any]:
    definition = ledger.catalogue(refresh=True).get(sop_id)
    return {**definition_to_mapping(definition), "content_hash": definition.content_hash}


@router.get(
    "/{sop_id}/versions/{version}",
    response_model=None,
    responses=ok(SopDefinitionOut) | problems(404, 422),
)
def version(sop_id: str, version: str, ledger: LedgerDep) -> dict[str, Any]:
    definition = ledger.catalogue(refresh=True).get(sop_id, version)
    return {**definition_to_mapping(definition), "content_hash": definition.content_hash}
