"""The HTTP service: a thin translation of requests into ledger queries and commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import cases, health, sops
from ledger.ledger import Ledger
from projections.service import ViewService


def create_app(ledger: Ledger, views: ViewService | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if views is not None:
            views.start()
        try:
            yield
        finally:
            if views is not None:
                views.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="SOP Ledger",
        summary="Buku besar audit pelaksanaan SOP / audit ledger of SOP executions",
        version="0.1.0",
    )
    app.state.ledger = ledger
    app.state.views = views
    install_error_handlers(app)
    for router in (health.router, sops.router, cases.router):
        app.include_router(router)
    return app
