"""Sealing the events a store held before migration 3, in log order, in the migration's
own transaction (which holds the append lock on PostgreSQL, and SQLite's write lock)."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from ledger.integrity.recorders import Chain, seal_batch, seal_sqlite
from ledger.integrity.schema import EVENTS_PG, EVENTS_SQLITE, HASHES

_CHUNK = 10_000


def seal_existing_sqlite(connection: sqlite3.Connection) -> None:
    cursor = connection.cursor()
    after = 0
    while True:
        rows = connection.execute(
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS_SQLITE} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, _CHUNK),
        ).fetchall()
        if not rows:
            return
        events = [StoredEvent(UUID(r[1]), r[2], r[3], bytes(r[4])) for r in rows]
        seal_sqlite(cursor, events, [r[0] for r in rows])
        after = rows[-1][0]


def seal_existing_postgres(connection: psycopg.Connection[Any]) -> None:
    """Every event in log order, its leaf rows copied in (the whole log's case chains are
    kept in memory: one entry per case)."""
    chain: Chain = {}
    next_index = 0
    with connection.cursor(name="ledger_backfill") as source:
        source.itersize = _CHUNK
        source.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {EVENTS_PG} ORDER BY notification_id".encode()
        )
        while rows := source.fetchmany(_CHUNK):
            events = [StoredEvent(r[1], r[2], r[3], bytes(r[4])) for r in rows]
            sealed, last = seal_batch(
                events,
                [r[0] for r in rows],
                next_index,
                lambda originator, version: _link(chain, originator, version),
            )
            chain.update(last)
            next_index += len(sealed)
            with (
                connection.cursor() as target,
                target.copy(
                    f"COPY {HASHES} (position, leaf_index, originator_id, originator_version, "
                    "leaf_hash) FROM STDIN".encode()
                ) as copy,
            ):
                for row in sealed:
                    copy.write_row(row)


def _link(chain: Chain, originator: UUID, version: int) -> bytes | None:
    last = chain.get(originator)
    return last[1] if last is not None and last[0] == version - 1 else None
