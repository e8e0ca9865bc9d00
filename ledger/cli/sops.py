"""``sop-ledger sops``: list, show, check and publish SOP definitions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.catalogue.loader import load_file, load_seeds
from ledger.cli.context import opened_ledger, refusals, table
from ledger.commands import PublishSop
from ledger.core.errors import DefinitionError
from ledger.core.sop import SopDefinition


@click.group(help="Katalog SOP / SOP catalogue.")
def sops() -> None:
    pass


@sops.command("list", help="SOP yang diterbitkan / published SOPs with their versions.")
def list_sops() -> None:
    with opened_ledger() as ledger:
        catalogue = ledger.catalogue(refresh=True)
        rows = [
            (d.sop_id, d.version, d.identity.number, d.identity.name.id, d.content_hash[:12])
            for d in sorted(catalogue.definitions.values(), key=lambda d: (d.sop_id, d.version))
        ]
    if not rows:
        click.echo("belum ada SOP / no SOP published yet: run `sop-ledger sops publish`")
        return
    table(rows, ("SOP", "versi/version", "nomor/number", "nama/name", "hash"))


@sops.command(help="Tampilkan satu SOP / show one SOP (latest, or --version).")
@click.argument("sop_id")
@click.option("--version", "version", default=None)
@refusals
def show(sop_id: str, version: str | None) -> None:
    with opened_ledger() as ledger:
        definition = ledger.catalogue(refresh=True).get(sop_id, version)
    _print_definition(definition)


def _print_definition(d: SopDefinition) -> None:
    click.echo(f"{d.identity.name.id} / {d.identity.name.en}")
    click.echo(
        f"  {d.sop_id} v{d.version}  nomor {d.identity.number}  "
        f"efektif {d.identity.effective}  hash {d.content_hash}"
    )
    click.echo(f"  {' / '.join(d.identity.agency)}")
    for step in d.steps:
        flags = [
            f
            for f, on in (
                ("per unit", step.per_unit),
                ("keputusan/decision", step.decision),
                ("peran disimpulkan/inferred lane", step.roles_inferred),
            )
            if on
        ]
        back = f" kembali ke/returns to {list(step.returns.targets)}" if step.returns else ""
        click.echo(
            f"  {step.number}. [{'/'.join(step.roles)}] {','.join(step.actions)} "
            f"{step.time.raw}{back} {' '.join(f'({f})' for f in flags)}"
        )
        click.echo(f"     {step.text.id}")
    for inference in d.inferences:
        click.echo(
            f"  * disimpulkan/inferred {inference.field} = {inference.choice}: {inference.reason}"
        )


@sops.command(help="Periksa berkas definisi / check definition files (exit 1 if any is bad).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    bad = 0
    for path in files:
        try:
            definition = load_file(path)
        except DefinitionError as error:
            bad += 1
            click.echo(f"SALAH / INVALID {error}", err=True)
            continue
        click.echo(
            f"ok {path}: {definition.sop_id} v{definition.version} "
            f"({len(definition.steps)} langkah/steps)"
        )
    sys.exit(1 if bad else 0)


@sops.command(help="Terbitkan definisi / publish definitions (default: the shipped seeds).")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@refusals
def publish(files: tuple[Path, ...]) -> None:
    try:
        definitions = [load_file(p) for p in files] if files else load_seeds()
    except DefinitionError as error:
        raise click.ClickException(str(error)) from None
    with opened_ledger() as ledger:
        for definition in definitions:
            result = ledger.publish_sop(PublishSop(definition=definition, recorded_by="cli"))
            state = "diterbitkan/published" if result else "sudah ada/already published"
            click.echo(f"{definition.sop_id} v{definition.version}: {state}")
