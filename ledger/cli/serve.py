"""``sop-ledger serve``: the HTTP service on the configured store."""

from __future__ import annotations

import click

from ledger.cli.context import opened_ledger


@click.command(help="Jalankan layanan HTTP / run the HTTP service.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    with opened_ledger() as ledger:
        backend = ledger.store.env.get("PERSISTENCE_MODULE")
        click.echo(f"SOP Ledger: http://{host}:{port}/docs  (store: {backend})")
        uvicorn.run(create_app(ledger), host=host, port=port, log_level="info")
