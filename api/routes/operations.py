"""``GET /metrics``: the Prometheus scrape target. Open, like the health checks, unless the
operator sets ``LEDGER_METRICS_TOKEN``: then the scraper must send it as a bearer token
(Prometheus ``authorization: {credentials: ...}``); API tokens are not asked for, so a
scraper needs no person's identity."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from api.metrics import CONTENT_TYPE, Metrics
from api.problems import problems
from ledger.core import errors

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
        **problems(401),
    },
)
def metrics(request: Request) -> Response:
    """Prometheus text exposition; a plain ``def``: the gauges query the store synchronously."""
    _check_scraper(request)
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


def _check_scraper(request: Request) -> None:
    token: str | None = request.app.state.metrics_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise errors.UnauthenticatedError(
            "metrik memerlukan token / /metrics needs the metrics bearer token", reason="missing"
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise errors.UnauthenticatedError(
            "token metrik tidak dikenal / not the metrics token", reason="invalid"
        )
