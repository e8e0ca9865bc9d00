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
from psycopg.sql import SQL, Composed, Identifier

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
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
            "WHERE recorded_at >= ? AND recorded_at <= ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (_rfc3339(since), _rfc3339(until) if until else "9"))
            return [UUID(r[0]) for r in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        query = SQL(
            "SELECT DISTINCT originator_id FROM {schema}.{table} "
            "WHERE recorded_at >= %s AND recorded_at <= %s"
        )
        with (
            recorder.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            cursor.execute(
                _named(query, recorder), (since, until or datetime.max.replace(tzinfo=UTC))
            )
            return [r[0] for r in cursor.fetchall()]
    raise TypeError(f"no recorded_at index on {type(recorder).__name__}")


def last_recorded_position(recorder: ApplicationRecorder, until: datetime, upto: int) -> int:
    """The last position at or below ``upto`` holding an event recorded at or before
    ``until`` (0 if none): how far the ledger as known at ``until`` reached."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            f"SELECT max(rowid) FROM {recorder.events_table_name} "
            "WHERE recorded_at <= ? AND rowid <= ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (_rfc3339(until), upto))
            found = cursor.fetchone()[0]
    elif isinstance(recorder, PostgresApplicationRecorder):
        query = SQL(
            "SELECT max(notification_id) FROM {schema}.{table} "
            "WHERE recorded_at <= %s AND notification_id <= %s"
        )
        with (
            recorder.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            cursor.execute(_named(query, recorder), (until, upto))
            row = cursor.fetchone()
            found = None if row is None else row[0]
    else:
        raise TypeError(f"no recorded_at index on {type(recorder).__name__}")
    return int(found or 0)


def select_rows_of(
    recorder: ApplicationRecorder,
    originators: Sequence[UUID],
    after: int,
    limit: int,
    stop: int,
) -> list[CaseRow]:
    """Rows of ``originators`` at positions in (after, stop], in log order, at most
    ``limit``: (position, wire name, originator id, version, stored JSON bytes)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            "SELECT rowid, topic, originator_id, originator_version, state "
            f"FROM {recorder.events_table_name} WHERE rowid > ? AND rowid <= ? "
            "AND originator_id IN (SELECT value FROM json_each(?)) ORDER BY rowid LIMIT ?"
        )
        ids = orjson.dumps([o.hex for o in originators]).decode()
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (after, stop, ids, limit))
            return [(r[0], r[1], UUID(r[2]), r[3], r[4]) for r in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        query = SQL(
            "SELECT notification_id, topic, originator_id, originator_version, state "
            "FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s "
            "AND originator_id = ANY(%s) ORDER BY notification_id LIMIT %s"
        )
        with (
            recorder.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row, binary=True) as cursor,
        ):
            cursor.execute(_named(query, recorder), (after, stop, list(originators), limit))
            return [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in cursor.fetchall()]
    raise TypeError(f"cannot select by originator on {type(recorder).__name__}")


def _named(query: SQL, recorder: PostgresApplicationRecorder) -> Composed:
    return query.format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )


def _rfc3339(moment: datetime) -> str:
    """The form the mapper stores times in (UTC, ``+00:00``), so text order is time order."""
    return moment.astimezone(UTC).isoformat()
