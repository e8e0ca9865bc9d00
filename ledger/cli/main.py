"""``sop-ledger``: db, sops, directory, cases, record, demo, projections, report, serve,
tokens, webhooks, keys, checkpoint, verify, export."""

from __future__ import annotations

import click

from ledger.bootstrap import upgrade_schema
from ledger.cli.cases import cases, record
from ledger.cli.context import load_settings
from ledger.cli.demo import demo
from ledger.cli.directory import directory
from ledger.cli.integrity import checkpoint, export, keys, verify
from ledger.cli.projections import projections
from ledger.cli.report import report
from ledger.cli.serve import serve
from ledger.cli.sops import sops
from ledger.cli.tokens import tokens
from ledger.cli.webhooks import webhooks


@click.group(help="SOP Ledger - buku besar audit SOP / audit ledger of SOP executions.")
def main() -> None:
    pass


@main.group(help="Skema basis data / database schema.")
def db() -> None:
    pass


@db.command(help="Buat atau mutakhirkan skema / create or migrate the schema (run once).")
def upgrade() -> None:
    settings = load_settings()
    applied = upgrade_schema(settings)
    where = settings.database_url or settings.sqlite_path
    if applied:
        click.echo(f"skema diperbarui / schema upgraded ({settings.backend}: {where}):")
        for name in applied:
            click.echo(f"  + {name}")
    else:
        click.echo(f"skema sudah mutakhir / schema up to date ({settings.backend}: {where})")


for command in (
    sops,
    directory,
    cases,
    record,
    demo,
    projections,
    report,
    serve,
    tokens,
    webhooks,
    keys,
    checkpoint,
    verify,
    export,
):
    main.add_command(command)
