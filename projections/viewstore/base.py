"""What a view store does, whichever database holds it.

A projection's views and its tracking position live in one database and change in one
transaction: a batch of events either lands whole, with the position it reached, or not at
all. That is what makes the runner exactly-once and restart-safe without any log of its own.

Each projection has *generations*: a generation is one set of physical tables built by one
version of the projection code (and calendar). One generation is live and is what the SQL
views named after the tables show; a new version is built beside it and switched in, in one
transaction, once it has caught up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from projections.tables import Table

Row = tuple[Any, ...]

META_TABLE = "projection_generations"


class ConcurrentRunnerError(RuntimeError):
    """Another worker advanced this projection: this one must stop, not double-apply."""


@dataclass
class Changes:
    """One batch's effect: per table, the rows now belonging to each scope value (the old
    rows of that scope are deleted first), rows appended, and single cells updated."""

    scoped: dict[str, dict[str, list[Row]]] = field(default_factory=dict)
    appended: dict[str, list[Row]] = field(default_factory=dict)
    updates: list[tuple[str, str, Any, str, Any]] = field(default_factory=list)

    def replace(self, table: Table, scope: str, rows: list[Row]) -> None:
        self.scoped.setdefault(table.name, {})[scope] = rows

    def append(self, table: Table, row: Row) -> None:
        self.appended.setdefault(table.name, []).append(row)

    def update(self, table: Table, column: str, value: Any, key: str, key_value: Any) -> None:
        self.updates.append((table.name, column, value, key, key_value))

    def inserts(self) -> Iterator[tuple[str, list[Row]]]:
        for name, by_scope in self.scoped.items():
            yield name, [row for rows in by_scope.values() for row in rows]
        yield from self.appended.items()

    @property
    def rows(self) -> int:
        return sum(len(rows) for _, rows in self.inserts())


@dataclass(frozen=True, slots=True)
class Generation:
    projection: str
    number: int
    version: str
    state: str  # live | building | retired
    position: int


class ViewStore(ABC):
    """Tables, tracking and locking for projections; SQLite and PostgreSQL implement it."""

    backend: str

    @abstractmethod
    def generations(self, projection: str) -> list[Generation]: ...

    @abstractmethod
    def create_generation(
        self, projection: str, version: str, tables: Sequence[Table], *, live: bool
    ) -> Generation: ...

    @abstractmethod
    def commit(
        self,
        generation: Generation,
        tables: Sequence[Table],
        changes: Changes,
        position: int,
        expected: int,
    ) -> Generation:
        """Apply ``changes`` and move the tracking position from ``expected`` to
        ``position`` in one transaction; :class:`ConcurrentRunnerError` if it moved."""

    @abstractmethod
    def switch(self, generation: Generation, tables: Sequence[Table]) -> Generation:
        """Make ``generation`` live: repoint the SQL views, retire and drop the old one."""

    @abstractmethod
    def lock(self, projection: str) -> AbstractContextManager[bool]:
        """Hold the projection's worker lock; yields False if another worker holds it."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read query written with ``?`` placeholders; times come back aware."""

    @abstractmethod
    def close(self) -> None: ...

    def live(self, projection: str) -> Generation | None:
        found = [g for g in self.generations(projection) if g.state == "live"]
        return found[0] if found else None

    def building(self, projection: str, version: str) -> Generation | None:
        found = [
            g
            for g in self.generations(projection)
            if g.state == "building" and g.version == version
        ]
        return found[0] if found else None


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
