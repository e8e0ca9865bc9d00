"""The notification log as plain rows, for bulk readers: the feed, which never builds
events, and replays scoped to some aggregates (a quarter's report).

A row is (position, wire name, originator id as text, stored JSON bytes): no Notification
objects and no UUID parsing (the feed reader ran twice as fast on SQLite as with the
library's ``select_notifications``), and on PostgreSQL binary results (the JSON bytes travel
as they are, not hex-encoded).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
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


CaseRow = tuple[int, str, UUID, int, bytes]


def originators_recorded_between(
    recorder: ApplicationRecorder, since: datetime, until: datetime | None
) -> list[UUID]:
    """Every aggregate with an event *recorded* in [since, until] (through the indexed
    ``recorded_at`` column of migration 1): the only aggregates a figure about the time
    after ``since`` can depend on, since nothing can be recorded before it occurred."""
    upper = until or datetime.max.replace(tzinfo=UTC)
    rows = _rows(
        recorder,
        "SELECT DISTINCT originator_id FROM {table} WHERE recorded_at >= ? AND recorded_at <= ?",
        [since, upper],
    )
    return [r[0] if isinstance(r[0], UUID) else UUID(r[0]) for r in rows]


def last_recorded_position(recorder: ApplicationRecorder, until: datetime, upto: int) -> int:
    """The last position at or below ``upto`` holding an event recorded at or before
    ``until`` (0 if none): how far the ledger as known at ``until`` reached."""
    rows = _rows(
        recorder,
        "SELECT max({position}) FROM {table} WHERE recorded_at <= ? AND {position} <= ?",
        [until, upto],
    )
    return int(rows[0][0] or 0) if rows else 0


def select_rows_of(
    recorder: ApplicationRecorder,
    originators: Sequence[UUID],
    after: int,
    limit: int,
    stop: int,
) -> list[CaseRow]:
    """Rows of ``originators`` at positions in (after, stop], in log order, at most
    ``limit``: (position, wire name, originator id, version, stored JSON bytes)."""
    sqlite = isinstance(recorder, SQLiteApplicationRecorder)
    among = "IN (SELECT value FROM json_each(?))" if sqlite else "= ANY(?)"
    wanted: object = (
        orjson.dumps([o.hex for o in originators]).decode() if sqlite else list(originators)
    )
    rows = _rows(
        recorder,
        "SELECT {position}, topic, originator_id, originator_version, state FROM {table} "
        f"WHERE {{position}} > ? AND {{position}} <= ? AND originator_id {among} "
        "ORDER BY {position} LIMIT ?",
        [after, stop, wanted, limit],
    )
    return [
        (r[0], r[1], r[2] if isinstance(r[2], UUID) else UUID(r[2]), r[3], bytes(r[4]))
        for r in rows
    ]


def _rows(recorder: ApplicationRecorder, text: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """``text`` (with ``{table}``, ``{position}`` and ``?`` marks) on the log of either
    store; times are passed as the mapper stores them on SQLite (UTC text)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = text.format(table=recorder.events_table_name, position="rowid")
        values = [_rfc3339(v) if isinstance(v, datetime) else v for v in params]
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, values)
            return [tuple(r) for r in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        query = SQL(text.replace("?", "%s")).format(
            table=Identifier(recorder.datastore.schema, recorder.events_table_name),
            position=Identifier("notification_id"),
        )
        with (
            recorder.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row, binary=True) as cursor,
        ):
            cursor.execute(query, params)
            return list(cursor.fetchall())
    raise TypeError(f"no recorded_at index on {type(recorder).__name__}")


def _rfc3339(moment: datetime) -> str:
    """The form the mapper stores times in (UTC, ``+00:00``), so text order is time order."""
    return moment.astimezone(UTC).isoformat()
