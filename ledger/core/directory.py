"""People, units and who held which role where and when - folded from directory events.

A role held in a unit covers that unit's sub-units (a Kepala Biro's authority reaches every
Bagian of the Biro), so "did this person hold role R for unit U at instant T" walks from U up
to the root. Assignments are half-open intervals ``[valid_from, valid_until)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from ledger.core.events import (
    Capacity,
    LedgerEvent,
    PersonRegistered,
    RoleAssigned,
    RoleEnded,
    UnitRegistered,
)
from ledger.core.nip import EmployeeType


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    parent: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class OrgChart:
    """All organisational units (one aggregate: units are few and change rarely)."""

    id: UUID
    version: int
    units: Mapping[str, Unit]

    def lineage(self, code: str) -> tuple[str, ...]:
        """The unit and its ancestors, nearest first."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            unit = self.units.get(current)
            current = unit.parent if unit else None
        return tuple(chain)

    def children(self, code: str) -> tuple[str, ...]:
        return tuple(sorted(u.code for u in self.units.values() if u.parent == code))


@dataclass(frozen=True, slots=True)
class Assignment:
    assignment_id: UUID
    role: str
    unit: str
    valid_from: datetime
    valid_until: datetime | None
    capacity: Capacity
    acting_for: str | None
    decree: str | None

    def covers(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@dataclass(frozen=True, slots=True)
class Person:
    id: UUID
    version: int
    nip: str
    name: str
    employee_type: EmployeeType
    assignments: tuple[Assignment, ...]

    def roles_at(self, at: datetime) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.covers(at))

    def holding(
        self, roles: tuple[str, ...], unit: str, at: datetime, chart: OrgChart
    ) -> Assignment | None:
        """The assignment by which this person held one of ``roles`` for ``unit`` at ``at``."""
        lineage = chart.lineage(unit)
        for assignment in self.assignments:
            if assignment.role in roles and assignment.unit in lineage and assignment.covers(at):
                return assignment
        return None


def evolve_chart(chart: OrgChart | None, event: LedgerEvent) -> OrgChart:
    assert isinstance(event, UnitRegistered), event.TOPIC
    units = dict(chart.units) if chart else {}
    units[event.code] = Unit(event.code, event.name, event.parent, event.kind)
    return OrgChart(event.originator_id, event.originator_version, units)


def evolve_person(person: Person | None, event: LedgerEvent) -> Person:
    if isinstance(event, PersonRegistered):
        return Person(
            event.originator_id,
            event.originator_version,
            event.nip,
            event.name,
            event.employee_type,
            (),
        )
    assert person is not None, f"{event.TOPIC} before person registered"
    if isinstance(event, RoleAssigned):
        assignment = Assignment(
            event.assignment_id,
            event.role,
            event.unit,
            event.valid_from,
            event.valid_until,
            event.capacity,
            event.acting_for,
            event.decree,
        )
        assignments = (*person.assignments, assignment)
    elif isinstance(event, RoleEnded):
        assignments = tuple(
            replace(a, valid_until=event.valid_until)
            if a.assignment_id == event.assignment_id
            else a
            for a in person.assignments
        )
    else:
        raise TypeError(f"a person cannot hold {event.TOPIC}")
    return replace(person, version=event.originator_version, assignments=assignments)
