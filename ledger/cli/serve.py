"""``sop-ledger serve``: the HTTP service on the configured store."""

from __future__ import annotations

import click

from ledger.bootstrap import build_ledger, build_runner
from ledger.cli.context import load_settings, opened_ledger


@click.command(help="Jalankan layanan HTTP / run the HTTP service.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--projections",
    "projections_mode",
    type=click.Choice(["in-process", "external"]),
    default="in-process",
    show_default=True,
    help="keep the views current in this process, or leave it to `sop-ledger projections run`",
)
def serve(host: str, port: int, projections_mode: str) -> None:
    import uvicorn

    from api.app import create_app
    from projections.service import ViewService

    settings = load_settings()
    with opened_ledger() as ledger:
        follower = build_ledger(settings)  # its own caches: the runner works in a thread
        views = ViewService(
            build_runner(settings, follower), in_process=projections_mode == "in-process"
        )
        backend = ledger.store.env.get("PERSISTENCE_MODULE")
        click.echo(f"SOP Ledger: http://{host}:{port}/docs  (store: {backend})")
        try:
            uvicorn.run(create_app(ledger, views), host=host, port=port, log_level="info")
        finally:
            follower.close()
