"""``sop-ledger directory``: import units and people (with their roles) from CSV.

Every row is checked before anything is written; one bad row means nothing is imported.
Units CSV header: ``code,name,parent,kind``. People CSV header: ``nip,name,employee_type,
role,unit,valid_from,valid_until,capacity,acting_for,decree`` (one row per role held).
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

import click

from ledger.cli.context import opened_ledger, refusals, table, wib
from ledger.commands import AssignRole, Command, RegisterPerson, RegisterUnit
from ledger.core.clock import as_utc
from ledger.core.errors import LedgerError
from ledger.core.events import Capacity
from ledger.core.nip import EmployeeType, validate_nip
from ledger.ledger import Ledger

UNIT_COLUMNS = ("code", "name", "parent", "kind")
PEOPLE_COLUMNS = ("nip", "name", "employee_type", "role", "unit", "valid_from")


@click.group(help="Direktori pegawai dan unit / directory of people and units.")
def directory() -> None:
    pass


@directory.command("import", help="Impor CSV unit atau pegawai / import a units or people CSV.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@refusals
def import_csv(path: Path) -> None:
    rows = _read_rows(path)
    header = set(rows[0]) if rows else set()
    with opened_ledger() as ledger:
        if set(UNIT_COLUMNS) <= header:
            commands, problems = _unit_commands(rows, ledger)
        elif set(PEOPLE_COLUMNS) <= header:
            commands, problems = _people_commands(rows, ledger)
        else:
            raise click.ClickException(
                f"{path}: kolom tidak dikenali / unrecognised header {sorted(header)}; expected "
                f"{','.join(UNIT_COLUMNS)} or {','.join(PEOPLE_COLUMNS)},..."
            )
        if problems:
            for problem in problems:
                click.echo(f"{path}:{problem}", err=True)
            click.echo("tidak ada yang diimpor / nothing imported", err=True)
            sys.exit(1)
        for command in commands:
            _apply(ledger, command)
    click.echo(f"{len(commands)} catatan diimpor / records imported from {path}")


def _read_rows(path: Path) -> list[dict[str, str]]:
    """Rows with every cell a stripped string; a ragged row or bad encoding is refused."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            raw = list(csv.DictReader(handle, restval=None))
    except (UnicodeDecodeError, csv.Error) as error:
        raise click.ClickException(f"{path}: bukan CSV UTF-8 / not a UTF-8 CSV: {error}") from None
    ragged = [
        str(line)
        for line, row in enumerate(raw, start=2)
        if None in row or any(value is None for value in row.values())
    ]
    if ragged:
        raise click.ClickException(
            f"{path}: jumlah kolom salah pada baris / wrong number of cells on line(s) "
            f"{', '.join(ragged)}; nothing imported"
        )
    return [{key: value.strip() for key, value in row.items()} for row in raw]


def _apply(ledger: Ledger, command: Command) -> None:
    if isinstance(command, RegisterUnit):
        ledger.register_unit(command)
    elif isinstance(command, RegisterPerson):
        ledger.register_person(command)
    elif isinstance(command, AssignRole):
        ledger.assign_role(command)


def _unit_commands(rows: list[dict[str, str]], ledger: Ledger) -> tuple[list[Command], list[str]]:
    known = set(ledger.org_chart(refresh=True).units)
    commands: list[Command] = []
    problems = []
    for line, row in enumerate(rows, start=2):
        code, parent = row["code"].strip(), (row["parent"] or "").strip() or None
        if not code or not row["name"].strip():
            problems.append(f"{line}: code/name wajib / required")
        elif code in known:
            problems.append(f"{line}: unit {code!r} sudah ada / already exists")
        elif parent is not None and parent not in known:
            problems.append(f"{line}: induk/parent {parent!r} tidak dikenal / unknown")
        else:
            known.add(code)
            commands.append(
                RegisterUnit(
                    code=code,
                    name=row["name"].strip(),
                    parent=parent,
                    kind=row["kind"].strip(),
                    recorded_by="cli-import",
                )
            )
    return commands, problems


def _people_commands(rows: list[dict[str, str]], ledger: Ledger) -> tuple[list[Command], list[str]]:
    units = set(ledger.org_chart(refresh=True).units)
    commands: list[Command] = []
    problems: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        try:
            commands.extend(_person_row(row, units, seen, ledger))
        except (LedgerError, ValueError, KeyError) as error:
            problems.append(f"{line}: {getattr(error, 'message', error)}")
    return commands, problems


def _person_row(
    row: dict[str, str], units: set[str], seen: dict[str, tuple[str, str]], ledger: Ledger
) -> list[Command]:
    kind = EmployeeType(row["employee_type"].strip().lower())
    nip = validate_nip(row["nip"], kind)
    name = row["name"].strip()
    if row["unit"].strip() not in units:
        raise ValueError(f"unit {row['unit']!r} tidak dikenal / unknown unit")
    commands: list[Command] = []
    if nip not in seen and ledger.person(nip) is None:
        commands.append(
            RegisterPerson(nip=nip, name=name, employee_type=kind, recorded_by="cli-import")
        )
    elif seen.get(nip, (name, kind)) != (name, kind):
        raise ValueError(f"NIP {nip}: nama/jenis berbeda antar baris / name or type differs")
    seen[nip] = (name, kind)
    until = (row.get("valid_until") or "").strip()
    commands.append(
        AssignRole(
            nip=nip,
            role=row["role"].strip(),
            unit=row["unit"].strip(),
            valid_from=as_utc(_time(row["valid_from"]), "valid_from"),
            valid_until=as_utc(_time(until), "valid_until") if until else None,
            capacity=Capacity((row.get("capacity") or "definitif").strip().lower()),
            acting_for=(row.get("acting_for") or "").strip() or None,
            decree=(row.get("decree") or "").strip() or None,
            recorded_by="cli-import",
        )
    )
    return commands


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.strip())


@directory.command("show", help="Tampilkan pegawai / show a person and their roles.")
@click.argument("nip")
@refusals
def show(nip: str) -> None:
    with opened_ledger() as ledger:
        person = ledger.require_person(nip, field="nip")
    click.echo(f"{person.nip}  {person.name}  ({person.employee_type})")
    table(
        [
            (a.role, a.unit, a.capacity, wib(a.valid_from), wib(a.valid_until))
            for a in person.assignments
        ],
        ("peran/role", "unit", "kapasitas", "dari/from", "sampai/until"),
    )


@directory.command("demo", help="Pasang direktori contoh / install the demo directory.")
def demo_directory() -> None:
    from ledger.demo.org import PEOPLE, UNITS, install_directory

    with opened_ledger() as ledger:
        install_directory(ledger)
    click.echo(f"{len(UNITS)} unit, {len(PEOPLE)} pegawai/people")
