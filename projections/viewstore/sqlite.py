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
from typing import Any, ClassVar

from projections.tables import TIME, Table
from projections.viewstore.base import Row, ViewStore, chunks

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _adapt(value: Any) -> Any:
    return to_text(value) if isinstance(value, datetime) else value


def _from_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 27 and value[-1] == "Z" and value[10] == "T":
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    return value


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(text, [_adapt(p) for p in params]).rowcount

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(text, [_adapt(p) for p in params]).fetchone()[0]

    def delete_scoped(self, physical: str, scope: str, values: list[str]) -> None:
        _delete(self.conn, physical, scope, values)

    def insert(self, table: Table, generation: int, rows: list[Row]) -> None:
        _insert(self.conn, table, generation, rows)


class SqliteViewStore(ViewStore):
    backend = "sqlite"
    column_types: ClassVar[dict[str, str]] = {"text": "TEXT", "int": "INTEGER", "time": "TEXT"}

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self.transaction() as tx:
            tx.execute(self._meta_ddl())

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, *, ddl: bool = False) -> Iterator[_SqliteTx]:
        """``BEGIN IMMEDIATE`` takes the write lock up front, DDL or not."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

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
