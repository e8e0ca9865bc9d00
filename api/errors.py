"""Domain refusals as RFC 9457 problem JSON, in one table of statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.consistency import PreconditionHeaderError, ViewsBehindError, ViewsUnavailableError
from api.observability import current_request_id
from api.routes import ledger_proofs
from ledger.core import errors
from ledger.core.idempotency import IdempotencyKeyError, InvalidIdempotencyKeyError
from ledger.core.periods import InvalidPeriodError
from ledger.core.reads import ReadNotRecordedError

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
    errors.UnauthenticatedError: 401,
    errors.ForbiddenError: 403,
    errors.UnknownTokenError: 404,
    errors.TokenRequestError: 422,
    errors.KeysUnavailableError: 503,
    errors.InvalidFeedQueryError: 422,
    errors.InvalidSubscriptionError: 422,
    errors.SubscriptionNotFoundError: 404,
    errors.DeliveryNotFoundError: 404,
    errors.DeliveryStateError: 409,
    errors.WebhooksUnavailableError: 503,
    InvalidPeriodError: 422,
    PreconditionHeaderError: 400,
    ViewsBehindError: 409,
    ViewsUnavailableError: 503,
    InvalidIdempotencyKeyError: 400,
    IdempotencyKeyError: 422,
    ledger_proofs.NoCheckpointError: 404,
    ledger_proofs.CheckpointNotFoundError: 404,
    ledger_proofs.NotInTreeError: 404,
    ledger_proofs.InvalidTreeSizeError: 422,
    ledger_proofs.IntegrityUnavailableError: 503,
    ledger_proofs.EvidenceNotReadyError: 409,
    ReadNotRecordedError: 503,
}
PROBLEM = "application/problem+json"
_HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    404: ("not-found", "Tidak ditemukan", "Not found"),
    405: ("method-not-allowed", "Metode tidak diizinkan", "Method not allowed"),
    406: ("not-acceptable", "Format tidak tersedia", "Not acceptable"),
    413: ("payload-too-large", "Isi permintaan terlalu besar", "Payload too large"),
    415: ("unsupported-media-type", "Jenis isi tidak didukung", "Unsupported media type"),
}


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
            "request_id": current_request_id(),
            **getattr(error, "extensions", {}),
        }
        headers = {}
        if isinstance(error, errors.UnauthenticatedError):
            headers["WWW-Authenticate"] = error.challenge
        if body["status"] == 503:  # unavailable for now: worth a retry soon
            headers["Retry-After"] = "1"
        return JSONResponse(body, status_code=body["status"], media_type=PROBLEM, headers=headers)

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
            "request_id": current_request_id(),
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        """Routing-level errors (unknown path, wrong method) as problem JSON too."""
        code, title_id, title_en = _HTTP_PROBLEMS.get(
            error.status_code, ("http-error", "Kesalahan HTTP", "HTTP error")
        )
        body = {
            "type": f"https://sop-ledger.sumbarprov.go.id/problems/{code}",
            "title": f"{title_id} / {title_en}",
            "status": error.status_code,
            "detail": str(error.detail),
            "instance": str(request.url.path),
            "field": None,
            "request_id": current_request_id(),
        }
        return JSONResponse(
            body, status_code=error.status_code, media_type=PROBLEM, headers=error.headers
        )
