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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

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


@dataclass(frozen=True, slots=True)
class Generation:
    projection: str
    number: int
    version: str
    state: str  # live | building | retired
    position: int


class Transaction(Protocol):
    """One open transaction of a store, in the few words the shared flow needs."""

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        """Run ``text`` (``?`` placeholders); the number of rows it changed."""

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any: ...

    def delete_scoped(self, physical: str, scope: str, values: list[str]) -> None: ...

    def insert(self, table: Table, generation: int, rows: list[Row]) -> None: ...


class ViewStore(ABC):
    """Tables, tracking and locking for projections. The flow (generations, the page
    commit, the switch) is written once here; SQLite and PostgreSQL supply transactions,
    column types, bulk writes, locks and reads."""

    backend: str
    column_types: ClassVar[dict[str, str]]
    # Whether a bulk catch-up may commit one page on a thread while the next one folds:
    # worth it where a commit mostly waits on a server with the GIL released (COPY to
    # PostgreSQL); not for SQLite, whose per-row steps hand the GIL back and forth.
    commits_beside_fold: ClassVar[bool] = False

    @abstractmethod
    def transaction(self, *, ddl: bool = False) -> AbstractContextManager[Transaction]:
        """A transaction; ``ddl`` ones are serialised across processes."""

    @abstractmethod
    def lock(self, projection: str) -> AbstractContextManager[bool]:
        """Hold the projection's worker lock; yields False if another worker holds it."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read query written with ``?`` placeholders; times come back aware."""

    @abstractmethod
    def close(self) -> None: ...

    def generations(self, projection: str) -> list[Generation]:
        rows = self.query(
            f"SELECT projection, generation, version, state, position FROM {META_TABLE} "
            "WHERE projection = ? ORDER BY generation",
            [projection],
        )
        return [
            Generation(r["projection"], r["generation"], r["version"], r["state"], r["position"])
            for r in rows
        ]

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

    def create_generation(
        self, projection: str, version: str, tables: Sequence[Table], *, live: bool
    ) -> Generation:
        with self.transaction(ddl=True) as tx:
            last = tx.scalar(
                f"SELECT coalesce(max(generation), 0) FROM {META_TABLE} WHERE projection = ?",
                [projection],
            )
            generation = Generation(
                projection, last + 1, version, "live" if live else "building", 0
            )
            for table in tables:
                for statement in self._ddl(table, generation.number):
                    tx.execute(statement)
                if live:
                    _point_view(tx, table, generation.number)
            tx.execute(
                f"INSERT INTO {META_TABLE} (projection, generation, version, state, position, "
                "created_at) VALUES (?, ?, ?, ?, 0, ?)",
                [projection, generation.number, version, generation.state, datetime.now(UTC)],
            )
        return generation

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
        by_name = {t.name: t for t in tables}
        number = generation.number
        with self.transaction() as tx:
            moved = tx.execute(
                f"UPDATE {META_TABLE} SET position = ? WHERE projection = ? AND generation = ? "
                "AND position = ?",
                [position, generation.projection, number, expected],
            )
            if moved != 1:
                raise ConcurrentRunnerError(
                    f"projection {generation.projection} g{number} moved past "
                    f"{expected}: another worker is running it"
                )
            for name, by_scope in changes.scoped.items():
                table = by_name[name]
                tx.delete_scoped(table.physical(number), str(table.scope), list(by_scope))
            for name, rows in changes.inserts():
                tx.insert(by_name[name], number, rows)
            for name, column, value, key, key_value in changes.updates:
                tx.execute(
                    f"UPDATE {by_name[name].physical(number)} SET {column} = ? WHERE {key} = ?",
                    [value, key_value],
                )
        return replace(generation, position=position)

    def analyze(self, generation: Generation, tables: Sequence[Table]) -> None:
        """Refresh the planner statistics of a generation's tables. After a bulk load
        nothing else does it soon enough (PostgreSQL's autovacuum may be off or late;
        SQLite never does), and the planner's guesses made a board page 6x slower."""
        with self.transaction() as tx:
            for table in tables:
                tx.execute(f"ANALYZE {table.physical(generation.number)}")

    def switch(self, generation: Generation, tables: Sequence[Table]) -> Generation:
        """Make ``generation`` live: repoint the SQL views, retire and drop the old one."""
        old = self.live(generation.projection)
        with self.transaction(ddl=True) as tx:
            for table in tables:
                _point_view(tx, table, generation.number)
            tx.execute(
                f"UPDATE {META_TABLE} SET state = 'retired' "
                "WHERE projection = ? AND state = 'live'",
                [generation.projection],
            )
            tx.execute(
                f"UPDATE {META_TABLE} SET state = 'live', switched_at = ? "
                "WHERE projection = ? AND generation = ?",
                [datetime.now(UTC), generation.projection, generation.number],
            )
            if old is not None:
                for table in tables:
                    tx.execute(f"DROP TABLE IF EXISTS {table.physical(old.number)}")
        return replace(generation, state="live")

    def _meta_ddl(self) -> str:
        t = self.column_types
        return (
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (projection {t['text']} NOT NULL, "
            f"generation {t['int']} NOT NULL, version {t['text']} NOT NULL, "
            f"state {t['text']} NOT NULL, position {t['int']} NOT NULL, "
            f"created_at {t['time']} NOT NULL, switched_at {t['time']}, "
            "PRIMARY KEY (projection, generation))"
        )

    def _ddl(self, table: Table, generation: int) -> list[str]:
        name = table.physical(generation)
        columns = ", ".join(f"{col} {self.column_types[kind]}" for col, kind in table.columns)
        statements = [f"CREATE TABLE {name} ({columns})"]
        for i, index in enumerate(table.indexes):
            statements.append(f"CREATE INDEX {name}_i{i} ON {name} ({', '.join(index)})")
        return statements


def _point_view(tx: Transaction, table: Table, generation: int) -> None:
    tx.execute(f"DROP VIEW IF EXISTS {table.name}")
    tx.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {table.physical(generation)}")


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
