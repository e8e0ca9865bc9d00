"""The HTTP service: a thin translation of requests into ledger queries and commands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.metrics import Metrics
from api.observability import RequestObservability
from api.problems import document_problems
from api.routes import (
    case_commands,
    case_queries,
    health,
    ledger_proofs,
    operations,
    reports,
    sops,
)
from api.routes import events as event_routes
from api.routes import subscriptions as subscription_routes
from ledger.access_service import Authenticator
from ledger.batching import CommandBatcher
from ledger.bootstrap import report_runners as replay_runners
from ledger.feed.service import Feed
from ledger.integrity.checkpointer import Checkpointer
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger
from ledger.settings import Settings
from ledger.webhooks.service import Webhooks
from projections.report import RunnerFactory
from projections.service import ViewService


def create_app(
    ledger: Ledger,
    views: ViewService | None = None,
    *,
    authenticator: Authenticator | None = None,
    report_runners: RunnerFactory | None = None,
    read_wait_seconds: float = 5.0,
    webhooks: Webhooks | None = None,
    feed: Feed | None = None,
    integrity: IntegrityStore | None = None,
    checkpointer: Checkpointer | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """The app; ``authenticator`` defaults to API tokens only (no OIDC); ``feed`` to one
    that polls for new events (``build_feed`` listens on PostgreSQL); without ``webhooks``
    the subscription routes answer 503. With ``integrity`` (default: the checkpointer's
    store) the ``/ledger`` proof routes are served; without a ``checkpointer`` signing on
    demand answers 503. The caller owns both and closes the store. With ``metrics_token``
    ``/metrics`` answers only a scraper that sends it as a bearer token."""
    if integrity is None and checkpointer is not None:
        integrity = checkpointer.store

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if views is not None:
            views.start()
        batcher.start()
        event_feed.open()
        if webhooks is not None:
            webhooks.start()
        if checkpointer is not None:
            checkpointer.start()
        try:
            yield
        finally:
            if checkpointer is not None:
                checkpointer.stop()
            event_feed.stop()
            if webhooks is not None:
                webhooks.stop()
            batcher.stop()
            if views is not None:
                views.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="SOP Ledger",
        summary="Buku besar audit pelaksanaan SOP / audit ledger of SOP executions",
        version="0.1.0",
    )
    batcher = CommandBatcher(ledger)
    app.state.ledger = ledger
    app.state.views = views
    app.state.batcher = batcher
    event_feed = feed or Feed.over(ledger)
    app.state.feed = event_feed
    app.state.webhooks = webhooks
    app.state.read_wait_seconds = read_wait_seconds
    app.state.integrity = integrity
    app.state.checkpointer = checkpointer
    app.state.report_runners = report_runners or replay_runners(Settings.model_construct(), ledger)
    app.state.metrics = Metrics(ledger.max_position, _lags(views))
    app.state.metrics_token = metrics_token or None
    if webhooks is not None:
        webhooks.observe(app.state.metrics.delivered)
    app.add_middleware(RequestObservability, metrics=app.state.metrics)
    app.state.authenticator = authenticator or Authenticator(ledger)
    install_error_handlers(app)
    document_problems(app)
    routers = (
        health.router,
        operations.router,
        sops.router,
        case_queries.router,
        case_commands.router,
        reports.router,
        event_routes.router,
        subscription_routes.router,
    )
    for router in routers:
        app.include_router(router)
    if integrity is not None:  # an app without it documents and serves no proof routes
        app.include_router(ledger_proofs.router)
        app.include_router(case_queries.evidence_router)
    return app


def _lags(views: ViewService | None) -> Callable[[], Mapping[str, int]]:
    """Projection lag for the metrics, read at scrape time (none without in-app views)."""

    def lags() -> Mapping[str, int]:
        if views is None:
            return {}
        progress = views.progress()
        return {progress.projection: progress.lag}

    return lags
