"""Domain refusals as RFC 9457 problem JSON, in one table of statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ledger.core import errors

STATUS: dict[type[errors.LedgerError], int] = {
    errors.CaseNotFoundError: 404,
    errors.UnknownSopError: 404,
    errors.CaseAlreadyOpenError: 409,
    errors.SopVersionConflictError: 409,
    errors.StaleVersionError: 412,
    errors.CaseClosedError: 409,
    errors.ActionRejectedError: 422,
    errors.DirectoryError: 422,
    errors.DefinitionError: 422,
}
PROBLEM = "application/problem+json"


def status_of(error: errors.LedgerError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.LedgerError)
    async def ledger_error(request: Request, error: errors.LedgerError) -> JSONResponse:
        body = {
            "type": f"https://sop-ledger.sumbarprov.go.id/problems/{error.code}",
            "title": f"{error.title_id} / {error.title_en}",
            "status": status_of(error),
            "detail": error.message,
            "instance": str(request.url.path),
            "field": error.field,
        }
        return JSONResponse(body, status_code=body["status"], media_type=PROBLEM)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        body = {
            "type": "https://sop-ledger.sumbarprov.go.id/problems/malformed-request",
            "title": "Permintaan tidak valid / Malformed request",
            "status": 422,
            "detail": "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems),
            "instance": str(request.url.path),
            "field": ".".join(str(part) for part in first.get("loc", ())) or None,
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM)
