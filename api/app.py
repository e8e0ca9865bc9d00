"""The HTTP service: a thin translation of requests into ledger queries and commands."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import cases, health, sops
from ledger.ledger import Ledger


def create_app(ledger: Ledger) -> FastAPI:
    app = FastAPI(
        title="SOP Ledger",
        summary="Buku besar audit pelaksanaan SOP / audit ledger of SOP executions",
        version="0.1.0",
    )
    app.state.ledger = ledger
    install_error_handlers(app)
    for router in (health.router, sops.router, cases.router):
        app.include_router(router)
    return app
