"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from api.metrics import Metrics
from ledger.batching import CommandBatcher
from ledger.ledger import Ledger
from projections.service import ViewService


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def get_views(request: Request) -> ViewService | None:
    views: ViewService | None = request.app.state.views
    return views


def get_batcher(request: Request) -> CommandBatcher:
    batcher: CommandBatcher = request.app.state.batcher
    return batcher


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ViewsDep = Annotated[ViewService | None, Depends(get_views)]
BatcherDep = Annotated[CommandBatcher, Depends(get_batcher)]
Filter = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[^\x00]*$"),
]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        description="baca-tulis sendiri / read your writes: answer only once the read models "
        "have reached this log position (bounded wait, then 409 with the current position)",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a retry with the same key returns the first result and stores nothing",
    ),
]
