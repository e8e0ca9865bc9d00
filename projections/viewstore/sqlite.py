"""The embedded view store: one SQLite file (WAL), times as fixed-width UTC text.

Times are written as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so that text order is time order and
SQL comparisons on them are right; :meth:`query` turns them back into aware datetimes.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projections.tables import TIME, Table
from projections.viewstore.base import (
    META_TABLE,
    Changes,
    ConcurrentRunnerError,
    Generation,
    Row,
    ViewStore,
    chunks,
)

_TYPES = {"text": "TEXT", "int": "INTEGER", "time": "TEXT"}
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _adapt(value: Any) -> Any:
    return to_text(value) if isinstance(value, datetime) else value


def _from_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 27 and value[-1] == "Z" and value[10] == "T":
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    return value


class SqliteViewStore(ViewStore):
    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._tx() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META_TABLE} (projection TEXT NOT NULL, "
                "generation INTEGER NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, "
                "position INTEGER NOT NULL, created_at TEXT NOT NULL, switched_at TEXT, "
                "PRIMARY KEY (projection, generation))"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def generations(self, projection: str) -> list[Generation]:
        rows = self._conn().execute(
            f"SELECT projection, generation, version, state, position FROM {META_TABLE} "
            "WHERE projection = ? ORDER BY generation",
            (projection,),
        )
        return [Generation(*row) for row in rows]

    def create_generation(
        self, projection: str, version: str, tables: Sequence[Table], *, live: bool
    ) -> Generation:
        with self._tx() as conn:
            (last,) = conn.execute(
                f"SELECT coalesce(max(generation), 0) FROM {META_TABLE} WHERE projection = ?",
                (projection,),
            ).fetchone()
            generation = Generation(
                projection, last + 1, version, "live" if live else "building", 0
            )
            for table in tables:
                for statement in _ddl(table, generation.number):
                    conn.execute(statement)
                if live:
                    _point_view(conn, table, generation.number)
            conn.execute(
                f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, 0, ?, ?)",
                (projection, generation.number, version, generation.state, _now(), None),
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
        by_name = {t.name: t for t in tables}
        with self._tx() as conn:
            moved = conn.execute(
                f"UPDATE {META_TABLE} SET position = ? WHERE projection = ? AND generation = ? "
                "AND position = ?",
                (position, generation.projection, generation.number, expected),
            ).rowcount
            if moved != 1:
                raise ConcurrentRunnerError(
                    f"projection {generation.projection} g{generation.number} moved past "
                    f"{expected}: another worker is running it"
                )
            for name, by_scope in changes.scoped.items():
                table = by_name[name]
                _delete(conn, table.physical(generation.number), table.scope, list(by_scope))
            for name, rows in changes.inserts():
                _insert(conn, by_name[name], generation.number, rows)
            for name, column, value, key, key_value in changes.updates:
                conn.execute(
                    f"UPDATE {by_name[name].physical(generation.number)} SET {column} = ? "
                    f"WHERE {key} = ?",
                    (_adapt(value), _adapt(key_value)),
                )
        return Generation(
            generation.projection,
            generation.number,
            generation.version,
            generation.state,
            position,
        )

    def switch(self, generation: Generation, tables: Sequence[Table]) -> Generation:
        old = self.live(generation.projection)
        with self._tx() as conn:
            for table in tables:
                _point_view(conn, table, generation.number)
            conn.execute(
                f"UPDATE {META_TABLE} SET state = 'retired' "
                "WHERE projection = ? AND state = 'live'",
                (generation.projection,),
            )
            conn.execute(
                f"UPDATE {META_TABLE} SET state = 'live', switched_at = ? "
                "WHERE projection = ? AND generation = ?",
                (_now(), generation.projection, generation.number),
            )
            if old is not None:
                for table in tables:
                    conn.execute(f"DROP TABLE IF EXISTS {table.physical(old.number)}")
        return Generation(
            generation.projection,
            generation.number,
            generation.version,
            "live",
            generation.position,
        )

    @contextmanager
    def lock(self, projection: str) -> Iterator[bool]:
        with open(f"{self.path}.{projection}.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self._conn().execute(sql, [_adapt(p) for p in params])
        names = [d[0] for d in cursor.description or ()]
        return [
            {name: _from_text(value) for name, value in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _now() -> str:
    return to_text(datetime.now(UTC))


def _ddl(table: Table, generation: int) -> list[str]:
    name = table.physical(generation)
    columns = ", ".join(f"{col} {_TYPES[kind]}" for col, kind in table.columns)
    statements = [f"CREATE TABLE {name} ({columns})"]
    for i, index in enumerate(table.indexes):
        statements.append(f"CREATE INDEX {name}_i{i} ON {name} ({', '.join(index)})")
    return statements


def _point_view(conn: sqlite3.Connection, table: Table, generation: int) -> None:
    conn.execute(f"DROP VIEW IF EXISTS {table.name}")
    conn.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {table.physical(generation)}")


def _delete(conn: sqlite3.Connection, physical: str, scope: str | None, values: list[str]) -> None:
    for part in chunks(values, 500):
        marks = ",".join("?" * len(part))
        conn.execute(f"DELETE FROM {physical} WHERE {scope} IN ({marks})", list(part))


def _insert(conn: sqlite3.Connection, table: Table, generation: int, rows: list[Row]) -> None:
    if not rows:
        return
    times = [i for i, (_, kind) in enumerate(table.columns) if kind == TIME]
    marks = ",".join("?" * len(table.columns))
    converted = rows
    if times:
        converted = []
        for row in rows:
            values = list(row)
            for i in times:
                if values[i] is not None:
                    values[i] = to_text(values[i])
            converted.append(tuple(values))
    conn.executemany(f"INSERT INTO {table.physical(generation)} VALUES ({marks})", converted)
