"""The eventsourcing recorders the ledger runs on: the library's, sealing every append.

SQLite has no SHA-256 in SQL, so :class:`SealingSQLiteRecorder` seals in Python, on the
cursor of the appending transaction (after the events' inserts took SQLite's write lock, so
leaf indexes follow log order). On PostgreSQL the migration's trigger seals;
:class:`SealingPostgresRecorder` only takes the library's append lock through
``ledger_lock_events()``, because ``LOCK TABLE ... IN EXCLUSIVE MODE`` needs UPDATE rights
the service role does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL, Literal

from ledger.core.eventhash import canonical_event, leaf_hash
from ledger.integrity.schema import HASHES


class SealingSQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            seal_sqlite(c, stored_events, positions)
        return positions


def seal_sqlite(c: Any, stored_events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
    """Leaf hash rows for events just inserted at ``positions``, on cursor ``c``."""
    c.execute(f"SELECT COALESCE(max(leaf_index) + 1, 0) FROM {HASHES}")
    next_index = int(c.fetchone()[0])
    previous: dict[UUID, bytes | None] = {}
    rows = []
    for stored, position in zip(stored_events, positions, strict=True):
        originator = _uuid(stored.originator_id)
        if originator not in previous:
            c.execute(
                f"SELECT leaf_hash FROM {HASHES} WHERE originator_id = ? "
                "AND originator_version < ? ORDER BY originator_version DESC LIMIT 1",
                (originator.hex, stored.originator_version),
            )
            found = c.fetchone()
            previous[originator] = None if found is None else bytes(found[0])
        leaf = leaf_hash(
            canonical_event(
                position,
                originator,
                stored.originator_version,
                stored.topic,
                stored.state,
                previous[originator],
            )
        )
        previous[originator] = leaf
        rows.append((next_index, position, originator.hex, stored.originator_version, leaf))
        next_index += 1
    c.executemany(
        f"INSERT INTO {HASHES} (leaf_index, position, originator_id, originator_version, "
        "leaf_hash) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


class SealingPostgresRecorder(PostgresApplicationRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = {0}").format(Literal(f"{datastore.lock_timeout}s")),
            SQL("SELECT ledger_lock_events()"),
        ]
