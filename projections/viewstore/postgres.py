"""The production view store: PostgreSQL through psycopg 3, rows written with COPY.

A batch deletes the rows of the cases it touched (``= ANY(array)``), COPYs the new rows and
moves the tracking position, in one transaction. Worker exclusion is a session advisory lock
held for as long as the runner runs; DDL takes a transaction advisory lock so that two
processes never create tables at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from projections.tables import Table
from projections.viewstore.base import (
    META_TABLE,
    Changes,
    ConcurrentRunnerError,
    Generation,
    Row,
    ViewStore,
)

_TYPES = {"text": "text", "int": "bigint", "time": "timestamptz"}
_DDL_LOCK = 0x5E0_71E35


def _lock_key(projection: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"projection:{projection}".encode()).digest()[:8], "big", signed=True
    )


class PostgresViewStore(ViewStore):
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True)
        with self._tx() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META_TABLE} (projection text NOT NULL, "
                "generation int NOT NULL, version text NOT NULL, state text NOT NULL, "
                "position bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
                "switched_at timestamptz, PRIMARY KEY (projection, generation))"
            )

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            yield conn

    def generations(self, projection: str) -> list[Generation]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT projection, generation, version, state, position FROM {META_TABLE} "
                "WHERE projection = %s ORDER BY generation",
                (projection,),
            ).fetchall()
        return [Generation(*row) for row in rows]

    def create_generation(
        self, projection: str, version: str, tables: Sequence[Table], *, live: bool
    ) -> Generation:
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT coalesce(max(generation), 0) FROM {META_TABLE} WHERE projection = %s",
                (projection,),
            ).fetchone()
            assert row is not None
            generation = Generation(
                projection, row[0] + 1, version, "live" if live else "building", 0
            )
            for table in tables:
                for statement in _ddl(table, generation.number):
                    conn.execute(statement)
                if live:
                    _point_view(conn, table, generation.number)
            conn.execute(
                f"INSERT INTO {META_TABLE} (projection, generation, version, state, position) "
                "VALUES (%s, %s, %s, %s, 0)",
                (projection, generation.number, version, generation.state),
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
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(
                f"UPDATE {META_TABLE} SET position = %s WHERE projection = %s "
                "AND generation = %s AND position = %s",
                (position, generation.projection, generation.number, expected),
            )
            if cur.rowcount != 1:
                raise ConcurrentRunnerError(
                    f"projection {generation.projection} g{generation.number} moved past "
                    f"{expected}: another worker is running it"
                )
            for name, by_scope in changes.scoped.items():
                table = by_name[name]
                cur.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                        sql.Identifier(table.physical(generation.number)),
                        sql.Identifier(str(table.scope)),
                    ),
                    (list(by_scope),),
                )
            for name, rows in changes.inserts():
                _copy(cur, by_name[name], generation.number, rows)
            for name, column, value, key, key_value in changes.updates:
                cur.execute(
                    sql.SQL("UPDATE {} SET {} = %s WHERE {} = %s").format(
                        sql.Identifier(by_name[name].physical(generation.number)),
                        sql.Identifier(column),
                        sql.Identifier(key),
                    ),
                    (value, key_value),
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
                "WHERE projection = %s AND state = 'live'",
                (generation.projection,),
            )
            conn.execute(
                f"UPDATE {META_TABLE} SET state = 'live', switched_at = now() "
                "WHERE projection = %s AND generation = %s",
                (generation.projection, generation.number),
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
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_lock_key(projection),))
            held = bool(row.fetchone()[0])  # type: ignore[index]
            yield held

    def query(self, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(text.replace("?", "%s"), list(params))
            return [
                {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}
                for row in cur.fetchall()
            ]

    def close(self) -> None:
        self.pool.close()


def _ddl(table: Table, generation: int) -> list[str]:
    name = table.physical(generation)
    columns = ", ".join(f"{col} {_TYPES[kind]}" for col, kind in table.columns)
    statements = [f"DROP TABLE IF EXISTS {name} CASCADE", f"CREATE TABLE {name} ({columns})"]
    for i, index in enumerate(table.indexes):
        statements.append(f"CREATE INDEX {name}_i{i} ON {name} ({', '.join(index)})")
    return statements


def _point_view(conn: psycopg.Connection[Any], table: Table, generation: int) -> None:
    conn.execute(f"DROP VIEW IF EXISTS {table.name}")
    conn.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {table.physical(generation)}")


def _copy(cur: psycopg.Cursor[Any], table: Table, generation: int, rows: list[Row]) -> None:
    if not rows:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.physical(generation)),
        sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names),
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
