"""Commands that publish SOP versions and keep the directory of units and people."""

from __future__ import annotations

from uuid import uuid4

from ledger import ids
from ledger.application import LedgerBase
from ledger.commands import (
    AssignRole,
    EndRole,
    PublishSop,
    Recorded,
    RegisterPerson,
    RegisterUnit,
)
from ledger.core import errors
from ledger.core.events import (
    PersonRegistered,
    RoleAssigned,
    RoleEnded,
    SopPublished,
    UnitRegistered,
)
from ledger.core.nip import validate_nip
from ledger.core.sop_schema import definition_to_mapping


class RegistryCommands(LedgerBase):
    def publish_sop(self, command: PublishSop) -> Recorded | None:
        """Record a definition version; ``None`` if that exact content is already published."""
        definition = command.definition
        catalogue = self.catalogue(refresh=True)
        existing = catalogue.definitions.get((definition.sop_id, definition.version))
        if existing is not None:
            if existing.content_hash == definition.content_hash:
                return None
            raise errors.SopVersionConflictError(
                f"SOP {definition.sop_id} versi {definition.version} sudah diterbitkan dengan "
                f"isi lain / already published with other content "
                f"({existing.content_hash[:12]} != {definition.content_hash[:12]})",
                field="version",
            )
        event = SopPublished(
            originator_id=ids.CATALOGUE_ID,
            originator_version=catalogue.version + 1,
            sop_id=definition.sop_id,
            version=definition.version,
            content_hash=definition.content_hash,
            definition=definition_to_mapping(definition),
            **self.stamp(command, self.clock()),
        )
        return self.save(
            [event],
            lambda: errors.SopVersionConflictError(
                "katalog berubah bersamaan / catalogue changed concurrently, retry"
            ),
        )

    def register_unit(self, command: RegisterUnit) -> Recorded:
        chart = self.org_chart(refresh=True)
        if command.code in chart.units:
            raise errors.DirectoryError(
                f"unit {command.code!r} sudah terdaftar / already registered", field="code"
            )
        if command.parent is not None and command.parent not in chart.units:
            raise errors.DirectoryError(
                f"unit induk {command.parent!r} tidak dikenal / unknown parent unit",
                field="parent",
            )
        if not command.code or not command.name:
            raise errors.DirectoryError("kode dan nama unit wajib / code and name required")
        event = UnitRegistered(
            originator_id=ids.ORG_CHART_ID,
            originator_version=chart.version + 1,
            code=command.code,
            name=command.name,
            parent=command.parent,
            kind=command.kind,
            **self.stamp(command, self.clock()),
        )
        return self.save(
            [event],
            lambda: errors.DirectoryError(
                "direktori berubah bersamaan / org chart changed concurrently, retry"
            ),
        )

    def register_person(self, command: RegisterPerson) -> Recorded:
        nip = validate_nip(command.nip, command.employee_type)
        if not command.name.strip():
            raise errors.DirectoryError("nama wajib diisi / name is required", field="name")
        event = PersonRegistered(
            originator_id=ids.person_id(nip),
            originator_version=1,
            nip=nip,
            name=command.name.strip(),
            employee_type=command.employee_type,
            **self.stamp(command, self.clock()),
        )
        return self.save(
            [event],
            lambda: errors.DirectoryError(
                f"NIP {nip} sudah terdaftar / already registered", field="nip"
            ),
        )

    def assign_role(self, command: AssignRole) -> Recorded:
        person = self.require_person(command.nip, field="nip")
        if command.unit not in self.chart_with(command.unit).units:
            raise errors.DirectoryError(
                f"unit {command.unit!r} tidak dikenal / unknown", field="unit"
            )
        _check_interval(command)
        if command.acting_for is not None:
            self.require_person(command.acting_for, field="acting_for")
        event = RoleAssigned(
            originator_id=person.id,
            originator_version=person.version + 1,
            nip=person.nip,
            assignment_id=uuid4(),
            role=command.role,
            unit=command.unit,
            valid_from=command.valid_from,
            valid_until=command.valid_until,
            capacity=command.capacity,
            acting_for=command.acting_for,
            decree=command.decree,
            **self.stamp(command, self.clock()),
        )
        return self.save([event], _directory_conflict)

    def end_role(self, command: EndRole) -> Recorded:
        person = self.require_person(command.nip, field="nip")
        match = [a for a in person.assignments if a.assignment_id == command.assignment_id]
        if not match:
            raise errors.DirectoryError(
                "penugasan tidak ditemukan / no such assignment", field="assignment_id"
            )
        if command.valid_until <= match[0].valid_from:
            raise errors.DirectoryError(
                "akhir harus setelah awal / end must follow start", field="valid_until"
            )
        event = RoleEnded(
            originator_id=person.id,
            originator_version=person.version + 1,
            nip=person.nip,
            assignment_id=command.assignment_id,
            valid_until=command.valid_until,
            **self.stamp(command, self.clock()),
        )
        return self.save([event], _directory_conflict)


def _check_interval(command: AssignRole) -> None:
    if command.valid_from.tzinfo is None or (
        command.valid_until is not None and command.valid_until.tzinfo is None
    ):
        raise errors.DirectoryError(
            "waktu harus berzona / times must be timezone-aware", field="valid_from"
        )
    if command.valid_until is not None and command.valid_until <= command.valid_from:
        raise errors.DirectoryError(
            "akhir harus setelah awal / end must follow start", field="valid_until"
        )
    if not command.role:
        raise errors.DirectoryError("peran wajib / role is required", field="role")


def _directory_conflict() -> errors.LedgerError:
    return errors.StaleVersionError("data pegawai berubah bersamaan / person changed concurrently")
