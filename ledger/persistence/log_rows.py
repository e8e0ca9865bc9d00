"""The notification log as plain rows, for bulk readers that never build events (the feed).

A row is (position, wire name, originator id as text, stored JSON bytes): no Notification
objects and no UUID parsing (the feed reader ran twice as fast on SQLite as with the
library's ``select_notifications``), and on PostgreSQL binary results (the JSON bytes travel
as they are, not hex-encoded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

LogRow = tuple[int, str, str, bytes]


def select_log_rows(
    recorder: ApplicationRecorder,
    after: int,
    limit: int,
    stop: int | None = None,
    topics: Sequence[str] = (),
) -> list[LogRow]:
    """Rows at positions in (after, stop], in log order, at most ``limit``, of ``topics``
    (all when empty)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite(recorder, after, limit, stop, topics)
    if isinstance(recorder, PostgresApplicationRecorder):
        return _postgres(recorder, after, limit, stop, topics)
    found = recorder.select_notifications(after + 1, limit, stop=stop, topics=topics)
    return [(n.id, n.topic, str(n.originator_id), n.state) for n in found]


def _sqlite(
    recorder: SQLiteApplicationRecorder,
    after: int,
    limit: int,
    stop: int | None,
    topics: Sequence[str],
) -> list[LogRow]:
    where, params = _where("rowid", "?", after, stop, topics, sqlite=True)
    statement = (
        f"SELECT rowid, topic, originator_id, state FROM {recorder.events_table_name} "
        f"WHERE {where} ORDER BY rowid LIMIT ?"
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, [*params, limit])
        return [(r[0], r[1], _dashed(r[2]), r[3]) for r in cursor.fetchall()]


def _dashed(stored: str) -> str:
    """SQLite keeps ids as 32 hex digits; the feed shows the usual 8-4-4-4-12 form."""
    if len(stored) != 32:
        return stored
    return f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"


def _postgres(
    recorder: PostgresApplicationRecorder,
    after: int,
    limit: int,
    stop: int | None,
    topics: Sequence[str],
) -> list[LogRow]:
    where, params = _where("notification_id", "%s", after, stop, topics, sqlite=False)
    statement = SQL(
        "SELECT notification_id, topic, originator_id::text, state FROM {schema}.{table} "
        "WHERE " + where + " ORDER BY notification_id LIMIT %s"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with (
        recorder.datastore.get_connection() as connection,
        connection.cursor(row_factory=tuple_row, binary=True) as cursor,
    ):
        cursor.execute(statement, [*params, limit], prepare=True)
        return [(r[0], r[1], r[2], bytes(r[3])) for r in cursor.fetchall()]


def _where(
    column: str,
    mark: str,
    after: int,
    stop: int | None,
    topics: Sequence[str],
    *,
    sqlite: bool,
) -> tuple[str, list[Any]]:
    clauses = [f"{column} > {mark}"]
    params: list[Any] = [after]
    if stop is not None:
        clauses.append(f"{column} <= {mark}")
        params.append(stop)
    if topics and sqlite:
        clauses.append(f"topic IN ({', '.join(mark for _ in topics)})")
        params.extend(topics)
    elif topics:
        clauses.append(f"topic = ANY({mark})")
        params.append(list(topics))
    return " AND ".join(clauses), params
