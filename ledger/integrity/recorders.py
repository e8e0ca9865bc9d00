"""The eventsourcing recorders the ledger runs on: the library's, sealing every append.

Each append's leaf rows are written in the appending transaction, after its events (so
the positions are known) and under the library's append lock (so leaf indexes follow log
order). SQLite has no SHA-256 in SQL: :class:`SealingSQLiteRecorder` computes the leaves
in Python on the appending cursor and remembers each case's last committed leaf. On
PostgreSQL the migration's triggers seal inside the appending statement (no round trip of
their own, which is what single-event appends pay for); :class:`SealingPostgresRecorder`
only takes the library's append lock through ``ledger_lock_events()``, because ``LOCK
TABLE ... IN EXCLUSIVE MODE`` needs UPDATE rights the service role does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg.sql import SQL, Literal

from ledger.core.eventhash import stored_leaf_hash
from ledger.integrity.schema import EVENTS_SQLITE, HASHES

Chain = dict[UUID, tuple[int, bytes]]  # aggregate -> (version, leaf) of its last event
LeafRow = tuple[int, int, UUID, int, bytes]  # position, leaf index, aggregate, version, leaf
_RECENT_MAX = 20_000


def seal_batch(
    stored_events: Sequence[StoredEvent],
    positions: Sequence[int],
    next_index: int,
    previous: Callable[[UUID, int], bytes | None],
) -> tuple[list[LeafRow], Chain]:
    """The leaf rows of a batch just appended at ``positions`` (pure but for
    ``previous(aggregate, version)``, asked only for an aggregate's first event in the
    batch); and each aggregate's last (version, leaf) in it."""
    sealed: Chain = {}
    rows = []
    for stored, position in zip(stored_events, positions, strict=True):
        originator = _uuid(stored.originator_id)
        version = stored.originator_version
        last = sealed.get(originator)
        link = last[1] if last is not None else previous(originator, version)
        leaf = stored_leaf_hash(
            position, str(originator), version, stored.topic, stored.state, link
        )
        sealed[originator] = (version, leaf)
        rows.append((position, next_index, originator, version, leaf))
        next_index += 1
    return rows, sealed


class SealingSQLiteRecorder(SQLiteApplicationRecorder):
    """Remembers, per aggregate, the leaf of the last version it sealed *and saw
    committed*, so the next append of that aggregate need not look it up; a version that
    is not the next one (another process appended meanwhile) is looked up as usual.

    It also remembers where its last commit left the log (last position, next leaf
    index). SQLite gives a new event the row id after the highest, and events are never
    removed, so when an append's first position directly follows that remembered one
    nobody appended in between and the next leaf index is known without a query; any
    other first position means someone did, and the index is read from the table."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self._recent: Chain = {}
        self._tail: tuple[int, int] | None = None  # (last position, next leaf index)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.transaction(commit=True) as c:
            positions = self._insert_events(c, stored_events, **kwargs)
            appended = positions or ()
            tail = self._tail
            known = tail[1] if tail and appended and appended[0] == tail[0] + 1 else None
            sealed, next_index = seal_sqlite(c, stored_events, appended, self._recent, known)
        if appended:
            self._tail = (appended[-1], next_index)
        if len(self._recent) > _RECENT_MAX:
            self._recent.clear()
        self._recent.update(sealed)
        return positions


def seal_sqlite(
    c: Any,
    stored_events: Sequence[StoredEvent],
    positions: Sequence[int],
    recent: Chain | None = None,
    next_index: int | None = None,
) -> tuple[Chain, int]:
    """Leaf rows for events just inserted at ``positions``, on SQLite cursor ``c``; the
    leaf index of the first is ``next_index`` when the caller knows it, else read. Returns
    each aggregate's last (version, leaf) and the leaf index after the batch."""
    if not positions:
        return {}, next_index if next_index is not None else -1
    if next_index is None:
        c.execute(f"SELECT COALESCE(max(leaf_index) + 1, 0) FROM {HASHES}")
        next_index = int(c.fetchone()[0])
    known = recent or {}

    def previous(originator: UUID, version: int) -> bytes | None:
        last = known.get(originator)
        if last is not None and last[0] == version - 1:
            return last[1]
        if version == 1:
            return None
        c.execute(
            f"SELECT h.leaf_hash FROM {EVENTS_SQLITE} e JOIN {HASHES} h ON h.position = e.rowid "
            "WHERE e.originator_id = ? AND e.originator_version = ?",
            (originator.hex, version - 1),
        )
        found = c.fetchone()
        return None if found is None else bytes(found[0])

    rows, sealed = seal_batch(stored_events, positions, next_index, previous)
    c.executemany(
        f"INSERT INTO {HASHES} (position, leaf_index, originator_id, originator_version, "
        "leaf_hash) VALUES (?, ?, ?, ?, ?)",
        [(p, i, o.hex, v, h) for p, i, o, v, h in rows],
    )
    return sealed, next_index + len(rows)


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
