"""One query for the newer events of several aggregates (a command reads its case and its
actor together: one round trip instead of two)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

_COLUMNS = "originator_id, originator_version, topic, state"


def select_newer(
    recorder: AggregateRecorder, wanted: Sequence[tuple[UUID, int]]
) -> dict[UUID, list[StoredEvent]]:
    """Events with version > v for each (id, v), grouped by id in version order."""
    if isinstance(recorder, SQLiteAggregateRecorder):
        rows = _sqlite(recorder, wanted)
    elif isinstance(recorder, PostgresAggregateRecorder):
        rows = _postgres(recorder, wanted)
    else:
        return {i: list(recorder.select_events(i, gt=v)) for i, v in wanted}
    found: dict[UUID, list[StoredEvent]] = {i: [] for i, _ in wanted}
    for row in rows:
        raw = row["originator_id"]
        originator = raw if isinstance(raw, UUID) else UUID(raw)
        found[originator].append(
            StoredEvent(originator, row["originator_version"], row["topic"], bytes(row["state"]))
        )
    return found


def _sqlite(recorder: SQLiteAggregateRecorder, wanted: Sequence[tuple[UUID, int]]) -> list[Any]:
    clause = " OR ".join("(originator_id=? AND originator_version>?)" for _ in wanted)
    statement = (
        f"SELECT {_COLUMNS} FROM {recorder.events_table_name} WHERE {clause} "
        "ORDER BY originator_version"
    )
    params = [value for i, v in wanted for value in (i.hex, v)]
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def _postgres(recorder: PostgresAggregateRecorder, wanted: Sequence[tuple[UUID, int]]) -> list[Any]:
    clause = " OR ".join("(originator_id = %s AND originator_version > %s)" for _ in wanted)
    statement = SQL(
        "SELECT "
        + _COLUMNS
        + " FROM {schema}.{table} WHERE "
        + clause
        + " ORDER BY originator_version"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    params = [value for i, v in wanted for value in (i, v)]
    with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, params, prepare=True)
        return list(cursor.fetchall())


def select_with_positions(
    recorder: AggregateRecorder, originator_id: UUID, below_version: int
) -> list[tuple[int, StoredEvent]]:
    """One aggregate's events before ``below_version``, each with its log position (the
    notification id), for readers that fold an aggregate they had put aside."""
    if isinstance(recorder, SQLiteAggregateRecorder):
        statement = (
            f"SELECT rowid AS position, {_COLUMNS} FROM {recorder.events_table_name} "
            "WHERE originator_id = ? AND originator_version < ? ORDER BY originator_version"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (originator_id.hex, below_version))
            rows: list[Any] = list(cursor.fetchall())
    elif isinstance(recorder, PostgresAggregateRecorder):
        query = SQL(
            "SELECT notification_id AS position, " + _COLUMNS + " FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version < %s ORDER BY originator_version"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(query, (originator_id, below_version), prepare=True)
            rows = list(cursor.fetchall())
    else:
        raise TypeError(f"no positions from {type(recorder).__name__}")
    return [
        (
            row["position"],
            StoredEvent(
                originator_id, row["originator_version"], row["topic"], bytes(row["state"])
            ),
        )
        for row in rows
    ]
