"""``sop-ledger tokens``: issue, list and revoke API tokens for the HTTP service.

The token is printed once, on stdout alone (``TOKEN=$(sop-ledger tokens create ...)``); the
ledger keeps only the SHA-256 of its secret. Issuing and revoking are events in the log.
"""

from __future__ import annotations

import getpass

import click

from ledger.cli.context import opened_ledger, refusals, table, wib
from ledger.commands import IssueToken, RevokeToken
from ledger.core.access import Scope, is_api_token, parse_duration, parse_token


@click.group(help="Token API / API tokens for the HTTP service.")
def tokens() -> None:
    pass


def operator() -> str:
    """Who ran the command, for the audit trail (``cli:<OS user>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


@tokens.command("create", help="Terbitkan token / issue a token (shown once).")
@click.option("--nip", required=True, help="NIP pemegang / holder's NIP (in the directory)")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([s.value for s in Scope]),
    help="cakupan / scope (repeat)",
)
@click.option("--expires-in", default="90d", show_default=True, help="e.g. 90d, 12h, 2w")
@click.option("--label", default=None, help="keterangan / what the token is for")
@click.option("--by", "recorded_by", default=None, help="penerbit / issuer (default cli:<user>)")
@refusals
def create(
    nip: str, scopes: tuple[str, ...], expires_in: str, label: str | None, recorded_by: str | None
) -> None:
    command = IssueToken(
        nip=nip,
        scopes=scopes,
        expires_in=parse_duration(expires_in),
        label=label,
        recorded_by=recorded_by or operator(),
    )
    with opened_ledger() as ledger:
        issued = ledger.issue_token(command)
    click.echo(issued.token)
    click.echo(
        f"id {issued.token_id}  NIP {nip}  cakupan/scopes {','.join(scopes)}  "
        f"berlaku sampai/expires {wib(issued.expires_at)}\n"
        "simpan sekarang, tidak akan ditampilkan lagi / store it now, it is not shown again",
        err=True,
    )


@tokens.command("revoke", help="Cabut token / revoke a token (from the next request on).")
@click.argument("token_id")
@click.option("--reason", default=None)
@click.option("--by", "recorded_by", default=None, help="pencabut / revoker (default cli:<user>)")
@refusals
def revoke(token_id: str, reason: str | None, recorded_by: str | None) -> None:
    if is_api_token(token_id):  # the whole token was pasted: its id is the public part
        token_id = parse_token(token_id)[0]
    command = RevokeToken(token_id=token_id, reason=reason, recorded_by=recorded_by or operator())
    with opened_ledger() as ledger:
        result = ledger.revoke_token(command)
    state = "dicabut/revoked" if result else "sudah dicabut/already revoked"
    click.echo(f"token {token_id}: {state}")


@tokens.command("list", help="Daftar token (tanpa rahasia) / list tokens (never the secret).")
def list_tokens() -> None:
    with opened_ledger() as ledger:
        rows = [
            (
                t.token_id,
                t.nip,
                ",".join(s.value for s in Scope if s in t.scopes),
                t.label or "-",
                wib(t.issued_at),
                wib(t.expires_at),
                wib(t.revoked_at),
            )
            for t in ledger.list_tokens()
        ]
    if not rows:
        click.echo("belum ada token / no tokens issued yet")
        return
    table(
        rows,
        (
            "id",
            "NIP",
            "cakupan/scopes",
            "label",
            "dibuat/created",
            "berlaku s.d./expires",
            "dicabut/revoked",
        ),
    )
