"""``sop-ledger keys``, ``checkpoint``, ``verify`` and ``export``: the tamper evidence an
inspector can take away and check with nothing but the files."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import click
import orjson

from ledger.application import utc_now
from ledger.cli.context import load_settings, opened_ledger, wib
from ledger.cli.tokens import operator
from ledger.core.checkpoint import NoteError, Verifier
from ledger.core.errors import LedgerError
from ledger.core.periods import Quarter
from ledger.core.reads import ReadSubject
from ledger.handlers.reads import RecordRead
from ledger.integrity.bundle import (
    BundleError,
    export_case,
    export_period,
    verify_bundle,
)
from ledger.integrity.keys import KeyFileError, generate_key, load_signer, rotate_key
from ledger.integrity.store import IntegrityStore, UnknownSignerError
from ledger.integrity.verify import Report, verify_store
from ledger.ledger import Ledger
from ledger.settings import Settings


@contextmanager
def _integrity(settings: Settings) -> Iterator[IntegrityStore]:
    """The ledger's integrity tables; a refusal becomes one clear line and exit 1."""
    store = IntegrityStore(settings.ledger_target)
    try:
        yield store
    except (KeyFileError, UnknownSignerError, NoteError, BundleError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()


@click.group(help="Kunci penanda tangan checkpoint / checkpoint signing keys.")
def keys() -> None:
    pass


@keys.command("generate", help="Buat kunci baru / make and register a signing key.")
@click.option("--name", default=None, help="nama kunci / key name (default: the origin)")
def generate(name: str | None) -> None:
    settings = load_settings()
    with _integrity(settings) as store:
        signer = generate_key(store, settings.key_path, name or settings.checkpoint_origin, utc_now)
    click.echo(signer.verifier().to_text())
    click.echo(f"kunci privat / private key: {settings.key_path}", err=True)


@keys.command("rotate", help="Pensiunkan kunci lama, buat yang baru / retire and replace.")
@click.option("--name", default=None, help="nama kunci baru / new key name")
def rotate(name: str | None) -> None:
    settings = load_settings()
    with _integrity(settings) as store:
        signer, kept = rotate_key(
            store, settings.key_path, name or settings.checkpoint_origin, utc_now
        )
    click.echo(signer.verifier().to_text())
    click.echo(f"kunci lama dipindah ke / old private key moved to: {kept}", err=True)


@keys.command("list", help="Kunci publik dan statusnya / public keys and their status.")
def list_keys() -> None:
    with _integrity(load_settings()) as store:
        for key in store.signing_keys():
            click.echo(f"{key.status:8} {wib(key.at)}  {key.verifier_key}")


@click.command(help="Tanda tangani checkpoint sekarang / sign a checkpoint now.")
@click.option("--force", is_flag=True, help="also when no event came since the last one")
def checkpoint(force: bool) -> None:
    settings = load_settings()
    with _integrity(settings) as store:
        signer = load_signer(settings.key_path)
        made = store.checkpoint(signer, settings.checkpoint_origin, utc_now, force=force)
        latest = made or store.latest_checkpoint()
    if made is None:
        click.echo("tidak ada peristiwa baru / nothing new since the last checkpoint", err=True)
    if latest is not None:
        sys.stdout.write(latest.note)


@click.command(help="Periksa seluruh buku besar / verify the whole ledger (exit 1 if not).")
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="trust only this verifier key (file with one key per line; repeatable)",
)
@click.option("--from", "first", type=int, default=None, help="first position to report")
@click.option("--to", "last", type=int, default=None, help="last position to report")
@click.option("--json", "as_json", is_flag=True, help="machine-readable report")
def verify(
    bundle: Path | None,
    key_files: tuple[Path, ...],
    first: int | None,
    last: int | None,
    as_json: bool,
) -> None:
    trusted = _trusted(key_files) if key_files else None
    if bundle is not None:
        try:
            result = verify_bundle(bundle.read_bytes(), trusted)
        except BundleError as error:
            raise click.ClickException(str(error)) from None
        _emit(result.as_json(), as_json, result.summary())
        sys.exit(0 if result.ok else 1)
    settings = load_settings()
    with _integrity(settings) as store:
        report = verify_store(store, trusted, first=first, last=last)
    _emit(report.as_json(), as_json, _summary(report))
    sys.exit(0 if report.ok else 1)


def _trusted(files: tuple[Path, ...]) -> list[Verifier]:
    found = []
    for file in files:
        for line in file.read_text().splitlines():
            if line.strip():
                try:
                    found.append(Verifier.from_text(line.strip()))
                except NoteError as error:
                    raise click.BadParameter(f"{file}: {error}", param_hint="--key") from None
    return found


def _summary(report: Report) -> str:
    lines = [
        f"peristiwa/events {report.events:,}  daun/leaves {report.leaves:,}  "
        f"checkpoint {report.checkpoints}  terverifikasi s.d. ukuran/verified up to tree size "
        f"{report.verified_size:,}  ({report.seconds:.1f} s)"
    ]
    first = report.first
    if first is None:
        lines.append("BERES / OK: tidak ada perubahan / nothing was altered")
    else:
        where = "-" if first.position is None else str(first.position)
        lines.append(f"GAGAL / FAILED: {len(report.problems)} masalah / problem(s)")
        lines.append(f"pertama / first: posisi/position {where}: {first.kind} - {first.title}")
        lines.extend(f"  {p.position or '-'}: {p.kind}: {p.detail}" for p in report.problems)
    return "\n".join(lines)


def _emit(data: object, as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        click.echo(text)


@click.group(help="Berkas bukti / evidence bundles, verifiable offline.")
def export() -> None:
    pass


PURPOSE = click.option(
    "--purpose",
    default=None,
    help="tujuan ekspor / stated purpose, recorded with the export (audit.read)",
)


@export.command("case", help="Semua peristiwa satu kasus dengan bukti / a case's evidence.")
@click.argument("case_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@PURPOSE
def export_case_command(case_id: str, out: Path, purpose: str | None) -> None:
    settings = load_settings()
    with opened_ledger() as ledger:
        with _integrity(settings) as store:
            data = export_case(ledger, store, case_id)
        target = UUID(case_id.strip())
        _record_export(
            ledger, f"export case {target}", ReadSubject.EVIDENCE_CASE, purpose, case_id=target
        )
    out.write_bytes(data)
    click.echo(f"{out}: {len(data):,} bytes", err=True)


@export.command("period", help="Semua kasus satu triwulan / a quarter's evidence.")
@click.argument("period")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@PURPOSE
def export_period_command(period: str, out: Path, purpose: str | None) -> None:
    settings = load_settings()
    quarter = Quarter.parse(period)
    with opened_ledger() as ledger:
        with _integrity(settings) as store:
            data = export_period(ledger, store, quarter)
        _record_export(
            ledger,
            f"export period {quarter}",
            ReadSubject.EVIDENCE_PERIOD,
            purpose,
            period=str(quarter),
        )
    out.write_bytes(data)
    click.echo(f"{out}: {len(data):,} bytes", err=True)


def _record_export(
    ledger: Ledger,
    what: str,
    subject: ReadSubject,
    purpose: str | None,
    *,
    case_id: UUID | None = None,
    period: str | None = None,
) -> None:
    """Record the export as a read by ``cli:<OS user>`` before the file is written: an
    export that is not in the ledger is not handed out."""
    try:
        ledger.record_read(
            RecordRead(
                recorded_by=operator(),
                scopes=(),
                resource=f"sop-ledger {what}",
                subject=subject,
                case_id=case_id,
                period=period,
                purpose=purpose,
            )
        )
    except LedgerError as error:
        raise click.ClickException(str(error)) from None
