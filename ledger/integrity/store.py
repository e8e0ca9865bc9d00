"""The Merkle tree, checkpoints and signing keys in the ledger's own database.

Leaves are the ``ledger_event_hashes`` rows the appends wrote (level 0); the checkpointer
adds every interior complete subtree a new leaf completes (``ledger_merkle_nodes``, level
1 and up) and a signed checkpoint, in one transaction, under a lock only one checkpointer
holds. Complete subtrees never change, so a proof for any tree size up to the latest
checkpoint is a single query for O(log n) stored hashes.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ledger.core import merkle
from ledger.core.checkpoint import Checkpoint, Signer, Verifier, sign_checkpoint
from ledger.integrity.schema import CHECKPOINTS, EVENTS_PG, EVENTS_SQLITE, HASHES, KEYS, NODES
from ledger.persistence.sqltx import PostgresTx, Tx, sqlite_transaction

_LOCK_KEY = 0x5E0_C4EC7  # the checkpointer's advisory lock
_CHUNK = 50_000  # leaves read per query while building


class NotSealedError(LookupError):
    """A position or tree size the sealed tree does not cover (yet)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    key_name: str
    note: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    verifier_key: str
    name: str
    status: str  # active | retired
    at: datetime

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_text(self.verifier_key)


@dataclass(frozen=True, slots=True)
class Leaf:
    leaf_index: int
    position: int
    originator_id: uuid.UUID
    version: int
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """One stored event, byte for byte, with its leaf and its case's previous leaf."""

    position: int
    originator_id: uuid.UUID
    version: int
    topic: str
    state: bytes
    leaf_index: int
    leaf_hash: bytes
    previous: bytes | None


class IntegrityStore:
    """Tree, checkpoints and keys of one ledger database (SQLite file or PostgreSQL URL)."""

    def __init__(self, target: str, pool_size: int = 2) -> None:
        self.target = target
        self.postgres = target.startswith(("postgresql://", "postgres://"))
        self._pool = (
            ConnectionPool(
                target, min_size=1, max_size=pool_size, open=True, kwargs={"autocommit": True}
            )
            if self.postgres
            else None
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def transaction(self, *, write: bool = False) -> AbstractContextManager[Tx]:
        if self._pool is None:
            return sqlite_transaction(Path(self.target), write=write, convert=_to_sqlite)
        return self._postgres(write)

    @contextmanager
    def _postgres(self, write: bool) -> Iterator[Tx]:
        """Writes in a transaction under the checkpointer's lock; reads one autocommit
        statement at a time (what they read - sealed leaves, complete subtrees, signed
        checkpoints - never changes once there)."""
        assert self._pool is not None
        with self._pool.connection() as conn:
            if not write:
                with conn.cursor() as cur:
                    yield PostgresTx(cur)
                return
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                yield PostgresTx(cur)

    # --- reading ---------------------------------------------------------------------

    def sealed_size(self, tx: Tx | None = None) -> int:
        """Leaves in the tree: events sealed so far."""
        with _maybe(self, tx) as t:
            row = t.rows(f"SELECT COALESCE(max(leaf_index) + 1, 0) FROM {HASHES}")
            return int(row[0][0])

    def leaf_at(self, position: int, tx: Tx | None = None) -> Leaf:
        with _maybe(self, tx) as t:
            rows = t.rows(f"SELECT {_LEAF_COLUMNS} FROM {HASHES} WHERE position = ?", [position])
        if not rows:
            raise NotSealedError(
                f"posisi {position} tidak ada di pohon / position {position} is not in the tree"
            )
        return _leaf(rows[0])

    def leaves(self, start: int, end: int, tx: Tx | None = None) -> list[Leaf]:
        """Leaves with index in [start, end), in order."""
        with _maybe(self, tx) as t:
            rows = t.rows(
                f"SELECT {_LEAF_COLUMNS} FROM {HASHES} WHERE leaf_index >= ? AND leaf_index < ? "
                "ORDER BY leaf_index",
                [start, end],
            )
        return [_leaf(r) for r in rows]

    def subtrees(
        self, nodes: Sequence[merkle.Node], tx: Tx | None = None
    ) -> dict[merkle.Node, bytes]:
        """Stored hashes of complete subtrees (level 0: leaf hashes), in one query."""
        if not nodes:
            return {}
        leaves = [index for level, index in nodes if level == 0]
        inner = [(level, index) for level, index in nodes if level > 0]
        if self.postgres:  # one statement text whatever the nodes: prepared once
            with _maybe(self, tx) as t:
                rows = t.rows(
                    _PG_SUBTREES,
                    [leaves, [level for level, _ in inner], [index for _, index in inner]],
                )
            return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
        parts, params = [], []
        if leaves:
            marks = ", ".join("?" for _ in leaves)
            parts.append(
                f"SELECT 0, leaf_index, leaf_hash FROM {HASHES} WHERE leaf_index IN ({marks})"
            )
            params += leaves
        if inner:
            pairs = " OR ".join("(level = ? AND idx = ?)" for _ in inner)
            parts.append(f"SELECT level, idx, hash FROM {NODES} WHERE {pairs}")
            params += [value for node in inner for value in node]
        with _maybe(self, tx) as t:
            rows = t.rows(" UNION ALL ".join(parts), params)
        return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}

    def records_of(self, originator_id: uuid.UUID, tx: Tx | None = None) -> list[SealedEvent]:
        """An aggregate's events as stored (exact bytes) with their leaves, in version order."""
        if self.postgres:
            position, events, key = "e.notification_id", EVENTS_PG, originator_id
        else:
            position, events, key = "e.rowid", EVENTS_SQLITE, originator_id.hex  # type: ignore[assignment]
        with _maybe(self, tx) as t:
            rows = t.rows(
                f"SELECT {position}, e.originator_version, e.topic, e.state, h.leaf_index, "
                f"h.leaf_hash FROM {events} e JOIN {HASHES} h ON h.position = {position} "
                "WHERE e.originator_id = ? ORDER BY e.originator_version",
                [key],
            )
        found, previous = [], None
        for r in rows:
            leaf = bytes(r[5])
            found.append(
                SealedEvent(
                    int(r[0]),
                    originator_id,
                    int(r[1]),
                    r[2],
                    bytes(r[3]),
                    int(r[4]),
                    leaf,
                    previous,
                )
            )
            previous = leaf
        return found

    def checkpoints(self, tx: Tx | None = None) -> list[StoredCheckpoint]:
        with _maybe(self, tx) as t:
            rows = t.rows(f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} ORDER BY tree_size")
        return [_checkpoint(r) for r in rows]

    def checkpoint_of(self, tree_size: int, tx: Tx | None = None) -> StoredCheckpoint | None:
        """The stored checkpoint of exactly ``tree_size`` leaves, if one was signed."""
        with _maybe(self, tx) as t:
            rows = t.rows(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} WHERE tree_size = ?", [tree_size]
            )
        return _checkpoint(rows[0]) if rows else None

    def latest_checkpoint(self, tx: Tx | None = None) -> StoredCheckpoint | None:
        with _maybe(self, tx) as t:
            rows = t.rows(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} ORDER BY tree_size DESC LIMIT 1"
            )
        return _checkpoint(rows[0]) if rows else None

    def signing_keys(self, tx: Tx | None = None) -> list[KeyRecord]:
        """Every key with its current status and since when (its latest row), oldest key
        first."""
        with _maybe(self, tx) as t:
            rows = t.rows(f"SELECT verifier_key, name, status, at FROM {KEYS} ORDER BY id")
        current: dict[str, KeyRecord] = {}
        for verifier_key, name, status, at in rows:
            current[verifier_key] = KeyRecord(verifier_key, name, status, _time(at))
        return list(current.values())

    def scan(self, batch: int = 10_000) -> Generator[list[tuple[Any, ...]], None, None]:
        """The events with their leaf rows in log order, in one snapshot, as
        :func:`scan_statements` lists them (case ids as stored); leaf rows whose event
        is gone are merged in at their position. Events stream in index order (no sort of
        the log); the orphaned leaves are read first, whole (normally none)."""
        events, orphans = scan_statements(postgres=self._pool is not None)
        if self._pool is None:
            with sqlite_transaction(Path(self.target), write=False) as tx:
                found = tx.conn.execute(orphans).fetchall()
                cursor = tx.conn.execute(events)
                yield from _merge(iter(lambda: cursor.fetchmany(batch), []), found)
            return
        with self._pool.connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            try:
                with conn.transaction():
                    found = [row for rows in _streamed(conn, orphans, batch) for row in rows]
                    yield from _merge(_streamed(conn, events, batch), found)
            finally:
                conn.isolation_level = None
                conn.read_only = False

    # --- proofs ----------------------------------------------------------------------

    def inclusion(
        self, position: int, tree_size: int | None = None
    ) -> tuple[Leaf, int, list[bytes]]:
        """The leaf at ``position``, the tree size used and its RFC 9162 inclusion proof."""
        with self.transaction() as tx:
            rows = tx.rows(
                f"SELECT {_LEAF_COLUMNS}, (SELECT max(tree_size) FROM {CHECKPOINTS}) "
                f"FROM {HASHES} WHERE position = ?",
                [position],
            )
            if not rows:
                raise NotSealedError(
                    f"posisi {position} tidak ada di pohon / position {position} is not in the tree"
                )
            leaf = _leaf(rows[0])
            size = _provable(tree_size, rows[0][5])
            if leaf.leaf_index >= size:
                raise NotSealedError(
                    f"posisi {position} belum masuk checkpoint ukuran {size} / position "
                    f"{position} is not in the tree of size {size}"
                )
            nodes = merkle.inclusion_nodes(leaf.leaf_index, size)
            found = self.subtrees(nodes, tx)
        return leaf, size, merkle.assemble_inclusion(leaf.leaf_index, size, found)

    def consistency(self, first: int, second: int | None = None) -> tuple[int, list[bytes]]:
        with self.transaction() as tx:
            size = self._provable_size(second, tx)
            if not 0 <= first <= size:
                raise NotSealedError(
                    f"ukuran {first} di luar 0..{size} / size {first} outside 0..{size}"
                )
            found = self.subtrees(merkle.consistency_nodes(first, size), tx)
        return size, merkle.assemble_consistency(first, size, found)

    def root(self, tree_size: int) -> bytes:
        with self.transaction() as tx:
            size = self._provable_size(tree_size, tx)
            nodes = merkle.range_nodes(0, size)
            found = self.subtrees(nodes, tx)
        return merkle.root_from_frontier([found[n] for n in nodes])

    def _provable_size(self, wanted: int | None, tx: Tx) -> int:
        found = tx.rows(f"SELECT max(tree_size) FROM {CHECKPOINTS}")
        return _provable(wanted, found[0][0] if found else None)

    # --- writing ---------------------------------------------------------------------

    def _insert_nodes(self, tx: Tx, nodes: list[tuple[int, int, bytes]]) -> None:
        """New interior nodes: one array INSERT on PostgreSQL (row by row is ~20x slower
        for the million nodes of a first checkpoint), executemany on SQLite."""
        if not nodes:
            return
        if self.postgres:
            levels, indexes, hashes = (list(column) for column in zip(*nodes, strict=True))
            tx.execute(
                f"INSERT INTO {NODES} (level, idx, hash) "
                "SELECT * FROM unnest(?::integer[], ?::bigint[], ?::bytea[])",
                [levels, indexes, hashes],
            )
            return
        tx.executemany(f"INSERT INTO {NODES} (level, idx, hash) VALUES (?, ?, ?)", nodes)

    def add_key(self, verifier: Verifier, status: str, at: datetime) -> None:
        with self.transaction(write=True) as tx:
            tx.execute(
                f"INSERT INTO {KEYS} (verifier_key, name, status, at) VALUES (?, ?, ?, ?)",
                [verifier.to_text(), verifier.name, status, at],
            )

    def checkpoint(
        self, signer: Signer, origin: str, now: Callable[[], datetime], *, force: bool = False
    ) -> StoredCheckpoint | None:
        """Build the tree up to every sealed event and sign a checkpoint of it. Nothing new
        and not ``force``: returns None. The signer's key must be registered active."""
        with self.transaction(write=True) as tx:
            active = {k.verifier_key for k in self.signing_keys(tx) if k.status == "active"}
            if signer.verifier().to_text() not in active:
                raise UnknownSignerError(
                    f"kunci {signer.name} tidak terdaftar aktif / key {signer.name} is not "
                    "registered as active (sop-ledger keys generate)"
                )
            latest = self.latest_checkpoint(tx)
            built = 0 if latest is None else latest.tree_size
            sealed = self.sealed_size(tx)
            if sealed == built and latest is not None and not force:
                return None
            edge = merkle.frontier(built)
            known = self.subtrees(edge, tx)
            hashes = [known[n] for n in edge]
            size = built
            while size < sealed:
                chunk = [
                    leaf.leaf_hash for leaf in self.leaves(size, min(sealed, size + _CHUNK), tx)
                ]
                made = merkle.append_nodes(size, hashes, chunk)
                self._insert_nodes(tx, [m for m in made if m[0] > 0])
                lookup = {(level, index): hashed for level, index, hashed in made} | dict(
                    zip(merkle.frontier(size), hashes, strict=True)
                )
                size += len(chunk)
                hashes = [lookup[n] for n in merkle.frontier(size)]
            head = Checkpoint(origin, size, merkle.root_from_frontier(hashes), now())
            note = sign_checkpoint(head, signer).decode()
            tx.execute(
                f"INSERT INTO {CHECKPOINTS} (tree_size, root_hash, signed_at, key_name, note) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING",
                [size, head.root_hash, head.time, signer.name, note],
            )
            return self.latest_checkpoint(tx)


class UnknownSignerError(RuntimeError):
    """The checkpointer's key is not among the ledger's active keys."""


def scan_statements(*, postgres: bool) -> tuple[str, str]:
    """Events left-joined to their leaf rows in log order; leaf rows without an event."""
    events, position, cast = (
        (EVENTS_PG, "notification_id", "::text") if postgres else (EVENTS_SQLITE, "rowid", "")
    )
    leaf = f"h.leaf_index, h.position, h.originator_id{cast}, h.originator_version, h.leaf_hash"
    return (
        f"SELECT e.{position}, e.originator_id{cast}, e.originator_version, e.topic, e.state, "
        f"{leaf} FROM {events} e LEFT JOIN {HASHES} h ON h.position = e.{position} "
        f"ORDER BY e.{position}",
        f"SELECT NULL, NULL, NULL, NULL, NULL, {leaf} FROM {HASHES} h WHERE NOT EXISTS "
        f"(SELECT 1 FROM {events} e WHERE e.{position} = h.position) ORDER BY h.position",
    )


def _streamed(
    conn: psycopg.Connection[Any], statement: str, batch: int
) -> Iterator[list[tuple[Any, ...]]]:
    with conn.cursor(name="ledger_verify", binary=True) as cur:
        cur.itersize = batch
        cur.execute(statement.encode())
        while rows := cur.fetchmany(batch):
            yield rows


def _merge(
    batches: Iterable[list[tuple[Any, ...]]], orphans: list[tuple[Any, ...]]
) -> Iterator[list[tuple[Any, ...]]]:
    """Event rows (position first) with the orphaned leaf rows (position seventh) put in
    at their place in log order."""
    if not orphans:
        yield from batches
        return
    pending = deque(orphans)
    for rows in batches:
        merged = []
        for row in rows:
            while pending and pending[0][6] < row[0]:
                merged.append(pending.popleft())
            merged.append(row)
        yield merged
    if pending:
        yield list(pending)


_LEAF_COLUMNS = "leaf_index, position, originator_id, originator_version, leaf_hash"
_PG_SUBTREES = (
    f"SELECT 0, leaf_index, leaf_hash FROM {HASHES} WHERE leaf_index = ANY(?::bigint[]) "
    f"UNION ALL SELECT n.level, n.idx, n.hash FROM unnest(?::integer[], ?::bigint[]) "
    f"AS w(level, idx) JOIN {NODES} n ON n.level = w.level AND n.idx = w.idx"
)


def _provable(wanted: int | None, latest: int | None) -> int:
    """The tree size a proof is for: ``wanted``, or the latest checkpoint's."""
    limit = latest or 0
    if wanted is None:
        if latest is None:
            raise NotSealedError("belum ada checkpoint / no checkpoint yet")
        return limit
    if not 0 < wanted <= limit:
        raise NotSealedError(
            f"ukuran pohon {wanted} di luar 1..{limit} (checkpoint terakhir) / "
            f"tree size {wanted} outside 1..{limit} (the latest checkpoint)"
        )
    return wanted


_CHECKPOINT_COLUMNS = "tree_size, root_hash, signed_at, key_name, note"


def _leaf(row: tuple[Any, ...]) -> Leaf:
    originator = row[2] if isinstance(row[2], uuid.UUID) else uuid.UUID(row[2])
    return Leaf(int(row[0]), int(row[1]), originator, int(row[3]), bytes(row[4]))


def _checkpoint(row: tuple[Any, ...]) -> StoredCheckpoint:
    return StoredCheckpoint(int(row[0]), bytes(row[1]), _time(row[2]), row[3], row[4])


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


@contextmanager
def _maybe(store: IntegrityStore, tx: Tx | None) -> Iterator[Tx]:
    if tx is not None:
        yield tx
        return
    with store.transaction() as fresh:
        yield fresh
