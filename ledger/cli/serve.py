"""``sop-ledger serve``: the HTTP service on the configured store.

On a fresh machine (no ``LEDGER_DATABASE_URL``) it is a demo in one command: it migrates the
embedded SQLite store, publishes the seed SOPs, fills an empty store with the demo directory
and a demo year, makes the checkpoint signing key, signs a first checkpoint, and prints a
short-lived token per scope and the key's verifier line. With PostgreSQL configured it only
serves (``--demo`` asks for the same preparation there). Either way it signs checkpoints
every ``LEDGER_CHECKPOINT_INTERVAL_SECONDS`` when this host holds the signing key.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta

import click

from ledger.application import utc_now
from ledger.bootstrap import (
    build_authenticator,
    build_checkpointer,
    build_feed,
    build_ledger,
    build_runner,
    build_webhooks,
    open_integrity,
    report_runners,
    upgrade_schema,
)
from ledger.cli.context import load_settings, opened_ledger, wib
from ledger.commands import IssueToken
from ledger.core.access import Scope
from ledger.core.checkpoint import Verifier
from ledger.integrity.keys import ensure_key
from ledger.integrity.store import IntegrityStore, UnknownSignerError
from ledger.ledger import Ledger
from ledger.settings import Settings

DEMO_YEAR = 2024
DEMO_TOKEN_LIFETIME = timedelta(days=30)
# Who gets which demo token: people of the demo directory (ledger/demo/org.py) whose lane
# fits the scope.
DEMO_HOLDERS: tuple[tuple[Scope, str, str], ...] = (
    (Scope.OFFICIAL, "197305131997032005", "Kepala Biro Organisasi (A.1, A.7, C.2)"),
    (Scope.CLERK, "PTT2023001", "pengadministrasi Biro Organisasi (catatan kertas / paper)"),
    (Scope.INSPECTOR, "198509092010011001", "Tim SAKIP Dinas BMCKTR"),
    (Scope.INTEGRATOR, "199001012015031001", "JF Pelaksana Bagian Kelembagaan"),
    (Scope.ADMIN, "198203142006042003", "Kasubag TU Biro Organisasi"),
)


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
@click.option(
    "--webhooks",
    "webhooks_mode",
    type=click.Choice(["in-process", "external"]),
    default="in-process",
    show_default=True,
    help="deliver webhooks from this process, or leave it to `sop-ledger webhooks run`",
)
@click.option(
    "--demo/--no-demo",
    default=None,
    help="migrate, publish seeds, fill an empty store with a demo year, print demo tokens "
    "[default: on for the embedded SQLite store, off with LEDGER_DATABASE_URL]",
)
def serve(
    host: str, port: int, projections_mode: str, webhooks_mode: str, demo: bool | None
) -> None:
    import uvicorn

    from api.app import create_app
    from api.observability import uvicorn_log_config
    from projections.service import ViewService

    settings = load_settings()
    if demo is None:
        demo = settings.backend == "sqlite"
    if demo:
        prepare_demo(settings)
    with opened_ledger() as ledger, closing(open_integrity(settings)) as integrity:
        if demo:
            verifier = prepare_signing(settings, integrity)
            print_demo_tokens(ledger, f"http://{host}:{port}")
            click.echo("Kunci verifikasi checkpoint / checkpoint verifier key (GET /ledger/keys):")
            click.echo(f"  {verifier.to_text()}")
        checkpointer = build_checkpointer(settings, integrity)
        if checkpointer is None:
            click.echo(
                f"checkpoint tidak ditandatangani / no checkpoints signed: no key at "
                f"{settings.key_path} (sop-ledger keys generate) or an interval of 0"
            )
        follower = build_ledger(settings)  # its own caches: the runner works in a thread
        views = ViewService(
            build_runner(settings, follower), in_process=projections_mode == "in-process"
        )
        app = create_app(
            ledger,
            views,
            authenticator=build_authenticator(settings, ledger),
            report_runners=report_runners(settings, ledger),
            read_wait_seconds=settings.read_wait_seconds,
            feed=build_feed(settings, ledger),
            webhooks=build_webhooks(settings, ledger, in_process=webhooks_mode == "in-process"),
            integrity=integrity,
            checkpointer=checkpointer,
            metrics_token=settings.metrics_token,
        )
        backend = ledger.store.env.get("PERSISTENCE_MODULE")
        click.echo(f"SOP Ledger: http://{host}:{port}/docs  (store: {backend})")
        try:
            # Event streams never end by themselves: give them 5 s on shutdown.
            uvicorn.run(
                app,
                host=host,
                port=port,
                log_config=uvicorn_log_config(),
                access_log=False,  # the request middleware logs each request as JSON
                timeout_graceful_shutdown=5,
            )
        finally:
            follower.close()


def prepare_demo(settings: Settings) -> None:
    """Schema, seed SOPs and, in an empty store, the demo directory and year (idempotent)."""
    from ledger.demo.org import publish_seeds

    for name in upgrade_schema(settings):
        click.echo(f"skema/schema + {name}")
    ledger = build_ledger(settings)
    try:
        empty = not ledger.max_position()
        published = [] if empty else publish_seeds(ledger)
    finally:
        ledger.close()
    if empty:
        published = fill_demo_year(settings)
    for sop in published:
        click.echo(f"SOP diterbitkan / published: {sop}")


def prepare_signing(settings: Settings, store: IntegrityStore) -> Verifier:
    """The checkpoint signing key (made and registered on a fresh machine) and a
    checkpoint over what the store holds now; returns the key inspectors pin."""
    signer = ensure_key(store, settings.key_path, settings.checkpoint_origin, utc_now)
    verifier = signer.verifier()
    if verifier.to_text() not in {key.verifier_key for key in store.signing_keys()}:
        # A key file kept from an earlier demo store that was deleted: this store's key now.
        store.add_key(verifier, "active", utc_now())
    try:
        made = store.checkpoint(signer, settings.checkpoint_origin, utc_now)
    except UnknownSignerError as error:
        raise click.ClickException(str(error)) from None
    if made is not None:
        click.echo(f"checkpoint ditandatangani / signed: ukuran pohon/tree size {made.tree_size}")
    return verifier


def fill_demo_year(settings: Settings) -> list[str]:
    """Seeds, the demo directory and a year of cases, on the year's simulated clock."""
    from ledger.demo.org import install_directory, publish_seeds
    from ledger.demo.year import SimClock, generate_year

    clock = SimClock(datetime(DEMO_YEAR, 1, 2, tzinfo=UTC))
    ledger = build_ledger(settings, clock)
    try:
        published = publish_seeds(ledger)
        install_directory(ledger)
        click.echo(f"tahun contoh / demo year {DEMO_YEAR} ...")
        summary = generate_year(ledger, clock, DEMO_YEAR)
    finally:
        ledger.close()
    click.echo(f"  {summary.cases} kasus/cases, {summary.events} peristiwa/events")
    return published


def print_demo_tokens(ledger: Ledger, base_url: str) -> list[str]:
    """A fresh token per scope for a fitting demo person (label ``demo``, 30 days)."""
    click.echo(f"Token contoh / demo tokens (berlaku/valid {DEMO_TOKEN_LIFETIME.days} hari/days):")
    issued: list[str] = []
    for scope, nip, who in DEMO_HOLDERS:
        if ledger.person(nip) is None:
            continue  # a store filled otherwise: that demo person is not in its directory
        token = ledger.issue_token(
            IssueToken(
                nip=nip,
                scopes=(scope,),
                expires_in=DEMO_TOKEN_LIFETIME,
                label="demo",
                recorded_by="serve-demo",
            )
        ).token
        issued.append(token)
        click.echo(f"  {scope.value:<10} NIP {nip}  {who}")
        click.echo(f"             {token}")
    if issued:
        click.echo(f"  s.d./until {wib(ledger.clock() + DEMO_TOKEN_LIFETIME)}; contoh / example:")
        click.echo(f'  curl -H "Authorization: Bearer {issued[0]}" {base_url}/sops')
    return issued
