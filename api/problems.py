"""The problem responses (RFC 9457) every route may answer, declared once for the OpenAPI.

Routers pick the statuses they can answer with ``problems(...)`` (``responses=`` on the
router or the route); ``document_problems`` makes the schema say what the handlers in
``api.errors`` really send: ``application/problem+json`` with the ``Problem`` model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_REF = "#/components/schemas/Problem"


class Problem(BaseModel):
    """A refusal: what went wrong, for which field, and the request id to quote."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://sop-ledger.sumbarprov.go.id/problems/step-order",
                    "title": "Urutan langkah tidak sesuai / Step out of order",
                    "status": 422,
                    "detail": "langkah 2 belum dapat dicatat / step 2 cannot be recorded yet",
                    "instance": "/cases/6f1c0a52-8d0e-5b6e-9a43-1f7c2f2b9d10/actions",
                    "field": "step",
                    "request_id": "0b6f5f0c2d8e4a8f9b1e3c5d7a9f1e2d",
                }
            ]
        },
    )

    type: str = Field(description="URI naming the kind of problem (its stable code at the end)")
    title: str = Field(description="judul / title: Bahasa Indonesia / English")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what exactly was refused, and why")
    instance: str = Field(description="the request path")
    field: str | None = Field(None, description="the field, parameter or header at fault")
    request_id: str | None = Field(None, description="X-Request-ID of the request")


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


PROBLEM_RESPONSES: dict[int, dict[str, Any]] = {
    400: _problem(
        "Permintaan rusak / malformed If-Match or Idempotency-Key header, or a body that "
        "cannot be decoded"
    ),
    401: _problem("Tanpa token yang sah / missing, unknown or expired bearer token"),
    403: _problem("Cakupan token tidak cukup / the token lacks the required scope"),
    404: _problem("Tidak ditemukan / not found: no such case, SOP, version, ..."),
    409: _problem(
        "Konflik / conflict with the current state: e.g. the case is already open or closed, "
        "or the read models have not reached min_position yet (retry)"
    ),
    412: _problem("Versi kasus sudah berubah / If-Match names a stale case version"),
    422: _problem("Permintaan ditolak / malformed request or an SOP rule refused it"),
    503: _problem("Tidak tersedia / the read models or identity keys are unavailable"),
}
AUTHENTICATED = (401, 403)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The declarations of ``statuses`` (for ``responses=`` on a router or a route)."""
    return {status: PROBLEM_RESPONSES[status] for status in statuses}


def document_problems(app: FastAPI) -> None:
    """Let ``app.openapi()`` show every 4xx/5xx body as ``application/problem+json``."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = as_problem_json(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def as_problem_json(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` saying what ``api.errors`` sends: every 4xx/5xx body is problem JSON (also
    FastAPI's own 422 for malformed requests); a route guarded by the bearer scheme may
    answer 401 and 403, one taking a body 400 (a body that is not UTF-8)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema())
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                for status in AUTHENTICATED:
                    responses.setdefault(str(status), _declared(status))
            if "requestBody" in operation:
                responses.setdefault("400", _declared(400))
            for status, response in responses.items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content.pop("application/json")
                    content[PROBLEM_MEDIA_TYPE] = {"schema": {"$ref": _PROBLEM_REF}}
    return schema


def _declared(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_RESPONSES[status]["description"],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
    }
