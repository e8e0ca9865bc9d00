"""Sealing the events a SQLite store held before migration 3, in log order.

(PostgreSQL does the same inside the migration, with the trigger's own function.)
"""

from __future__ import annotations

import sqlite3
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.integrity.recorders import seal_sqlite
from ledger.integrity.schema import EVENTS_SQLITE

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
