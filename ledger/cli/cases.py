"""``sop-ledger cases`` and ``sop-ledger record``: open, list and show cases; record one act."""

from __future__ import annotations

from uuid import UUID

import click

from ledger.cli.context import opened_ledger, parse_time, refusals, table, wib
from ledger.commands import OpenCase, RecordAction
from ledger.core.events import ActionRecorded, Document, FinalDisposition, LedgerEvent, Medium
from ledger.core.sop import Action


@click.group(help="Kasus (satu SOP untuk satu unit dan periode) / cases.")
def cases() -> None:
    pass


@cases.command("open", help="Buka kasus / open a case.")
@click.option("--sop", "sop_id", required=True)
@click.option("--unit", required=True)
@click.option("--period", required=True, help="2024-Q3 atau/or 2024-TW3")
@click.option("--branch", "branches", multiple=True, help="unit cabang / branch unit (repeat)")
@click.option("--version", "sop_version", default=None)
@click.option("--at", "at", default=None, help="RFC 3339, default now")
@click.option("--by", "recorded_by", default="cli")
@refusals
def open_case(
    sop_id: str,
    unit: str,
    period: str,
    branches: tuple[str, ...],
    sop_version: str | None,
    at: str | None,
    recorded_by: str,
) -> None:
    with opened_ledger() as ledger:
        result = ledger.open_case(
            OpenCase(
                sop_id=sop_id,
                unit=unit,
                period=period,
                sop_version=sop_version,
                branches=branches or None,
                occurred_at=parse_time(at),
                recorded_by=recorded_by,
            )
        )
    click.echo(
        f"{result.aggregate_id}  versi/version {result.version}  posisi/position {result.position}"
    )


@cases.command("list", help="Daftar kasus / list cases.")
def list_cases() -> None:
    with opened_ledger() as ledger:
        rows = [
            (str(c.case_id), c.sop_id, c.unit, c.period, c.status, wib(c.opened_at))
            for c in ledger.list_cases()
        ]
    table(rows, ("kasus/case", "SOP", "unit", "periode", "status", "dibuka/opened"))


@cases.command("show", help="Tampilkan kasus dan linimasanya / show a case and its timeline.")
@click.argument("case_id", type=click.UUID)
@refusals
def show(case_id: UUID) -> None:
    with opened_ledger() as ledger:
        state = ledger.case(case_id)
        events = list(ledger.store.events.get(case_id))
    click.echo(
        f"{state.id}  {state.sop.sop_id} v{state.sop.version}  {state.unit}  "
        f"{state.period}  status {state.status}  versi/version {state.version}"
    )
    awaiting = ", ".join(f"{s}" + (f"@{b}" if b else "") for s, b in state.awaiting)
    click.echo(f"  menunggu/awaiting: {awaiting or '-'}")
    if state.pending_return:
        r = state.pending_return
        click.echo(f"  dikembalikan/returned {r.from_step} -> {r.to_step}: {r.reason}")
    rows = [_timeline_row(e) for e in events if isinstance(e, LedgerEvent)]
    table(
        rows,
        (
            "v",
            "peristiwa/event",
            "langkah",
            "cabang",
            "pelaku/actor",
            "terjadi/occurred",
            "dicatat/recorded",
        ),
    )


def _timeline_row(event: LedgerEvent) -> tuple[str, ...]:
    act = event if isinstance(event, ActionRecorded) else None
    return (
        str(event.originator_version),
        event.TOPIC,
        str(act.step) if act else "-",
        (act.branch or "-") if act else "-",
        str(getattr(event, "actor", None) or "-"),
        wib(getattr(event, "occurred_at", None)),
        wib(event.recorded_at),
    )


@click.command(help="Catat satu tindakan / record one act on a case.")
@click.argument("case_id", type=click.UUID)
@click.option("--step", type=int, required=True)
@click.option("--action", type=click.Choice([a.value for a in Action]), required=True)
@click.option("--actor", required=True, help="NIP pelaku / actor's NIP")
@click.option("--branch", default=None)
@click.option("--role", default=None)
@click.option("--acting-for", default=None, help="a.n. (NIP)")
@click.option("--at", "at", default=None, help="occurred_at, RFC 3339 (back-dated allowed)")
@click.option("--by", "recorded_by", default=None, help="NIP pencatat / recorder (clerk)")
@click.option("--doc", "docs", multiple=True, help="judul|jenis|nomor|sha256|paper/electronic")
@click.option("--note", default=None)
@click.option("--expected-version", type=int, default=None)
@click.option("--reason", default=None)
@click.option("--return-to", type=int, default=None)
@click.option("--return-branch", "return_branches", multiple=True)
@click.option("--signed-sha256", default=None)
@click.option("--signature-ref", default=None)
@click.option("--classification", default=None)
@click.option("--location", default=None)
@click.option("--retention", default=None, help="aktif,inaktif tahun/years e.g. 2,3")
@click.option(
    "--final-disposition", type=click.Choice([f.value for f in FinalDisposition]), default=None
)
@click.option("--uploaded-sha256", default=None)
@click.option("--receipt", default=None)
@refusals
def record(
    case_id: UUID,
    step: int,
    action: str,
    actor: str,
    branch: str | None,
    role: str | None,
    acting_for: str | None,
    at: str | None,
    recorded_by: str | None,
    docs: tuple[str, ...],
    note: str | None,
    expected_version: int | None,
    reason: str | None,
    return_to: int | None,
    return_branches: tuple[str, ...],
    signed_sha256: str | None,
    signature_ref: str | None,
    classification: str | None,
    location: str | None,
    retention: str | None,
    final_disposition: str | None,
    uploaded_sha256: str | None,
    receipt: str | None,
) -> None:
    active, inactive = _retention(retention)
    command = RecordAction(
        case_id=case_id,
        step=step,
        action=Action(action),
        actor=actor,
        branch=branch,
        role=role,
        acting_for=acting_for,
        occurred_at=parse_time(at),
        recorded_by=recorded_by or actor,
        documents=tuple(_document(d) for d in docs),
        note=note,
        expected_version=expected_version,
        reason=reason,
        return_to=return_to,
        return_branches=return_branches,
        signed_document_sha256=signed_sha256,
        signature_ref=signature_ref,
        classification_code=classification,
        location=location,
        retention_active_years=active,
        retention_inactive_years=inactive,
        final_disposition=FinalDisposition(final_disposition) if final_disposition else None,
        uploaded_document_sha256=uploaded_sha256,
        receipt=receipt,
    )
    with opened_ledger() as ledger:
        result = ledger.record_action(command)
    click.echo(
        f"dicatat/recorded {result.event_id}  versi/version {result.version}  "
        f"posisi/position {result.position}"
    )


def _retention(value: str | None) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    try:
        active, inactive = (int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(
            "format: aktif,inaktif e.g. 2,3", param_hint="--retention"
        ) from None
    return active, inactive


def _document(value: str) -> Document:
    parts = [p.strip() for p in value.split("|")]
    if len(parts) < 2 or len(parts) > 5:
        raise click.BadParameter(
            "format: judul|jenis|nomor|sha256|paper", param_hint="--doc"
        ) from None
    parts += [""] * (5 - len(parts))
    try:
        medium = Medium(parts[4] or "electronic")
    except ValueError:
        raise click.BadParameter("medium: paper atau/or electronic", param_hint="--doc") from None
    return Document(
        title=parts[0],
        type=parts[1],
        number=parts[2] or None,
        sha256=parts[3].lower() or None,
        medium=medium,
    )
