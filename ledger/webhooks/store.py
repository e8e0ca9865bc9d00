"""Subscriptions, their tracked log positions and delivery records, in the ledger's database.

The SQL is written once (``?`` placeholders); SQLite and PostgreSQL supply connections,
value conversions and the per-subscription worker lock (a file lock beside the SQLite file;
a session advisory lock on PostgreSQL, released by the server if the process dies).

Moving a position is a compare-and-set from the position the dispatcher read, in the same
transaction as the delivery record it goes with, so two dispatchers that somehow both ran
one subscription could not both advance it.
"""

from __future__ import annotations

import fcntl
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
from psycopg_pool import ConnectionPool

from ledger.core.cloudevents import FeedFilter
from ledger.persistence.pglock import lock_key, session_lock
from ledger.persistence.sqltx import PostgresTx, Tx, sqlite_transaction
from ledger.webhooks.schema import DELIVERIES, POSITIONS, SUBSCRIPTIONS

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_SUBSCRIPTION_COLUMNS = (
    "s.id, s.owner, s.url, s.types, s.sop_id, s.unit, s.description, s.secret, "
    "s.created_at, s.disabled_at, s.disabled_reason, p.position"
)
_SELECT_SUBSCRIPTIONS = (
    f"SELECT {_SUBSCRIPTION_COLUMNS} FROM {SUBSCRIPTIONS} s "
    f"JOIN {POSITIONS} p ON p.subscription_id = s.id"
)
_DELIVERY_COLUMNS = (
    "id, subscription_id, position, event_id, event_type, status, attempts, last_status, "
    "last_error, next_attempt_at, created_at, updated_at"
)


class DeliveryStatus(StrEnum):
    RETRYING = "retrying"  # the subscription's next event; waits for its next attempt
    FAILED = "failed"  # gave up after the last attempt; the subscription moved on
    REDELIVERING = "redelivering"  # a failed one, asked for again
    DELIVERED = "delivered"  # got a 2xx after being retried or redelivered


@dataclass(frozen=True, slots=True)
class Subscription:
    id: UUID
    owner: str
    url: str
    filter: FeedFilter
    description: str | None
    secret: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    position: int

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    subscription_id: UUID
    position: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """An outcome to record for the delivery of the event at ``position``."""

    position: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """When a subscription has timed work: its next event's retry, a redelivery."""

    retry_at: datetime | None
    redeliver_at: datetime | None


class PositionMovedError(RuntimeError):
    """The position is not where the dispatcher read it: another dispatcher moved it, or
    the subscription was deleted meanwhile. Nothing was written."""


class SubscriptionStore(ABC):
    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]: ...

    @abstractmethod
    def lock(self, subscription_id: UUID) -> AbstractContextManager[bool]:
        """Hold the subscription's delivery lock; yields False if another worker has it."""

    @abstractmethod
    def close(self) -> None: ...

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as tx:
            return tx.rows(text, params)

    # --- subscriptions ---------------------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        s = subscription
        with self.transaction() as tx:
            tx.execute(
                f"INSERT INTO {SUBSCRIPTIONS} (id, owner, url, types, sop_id, unit, "
                "description, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    s.id,
                    s.owner,
                    s.url,
                    orjson.dumps(sorted(s.filter.types)).decode(),
                    s.filter.sop_id,
                    s.filter.unit,
                    s.description,
                    s.secret,
                    s.created_at,
                ],
            )
            tx.execute(
                f"INSERT INTO {POSITIONS} (subscription_id, position) VALUES (?, ?)",
                [s.id, s.position],
            )

    def get(self, subscription_id: UUID) -> Subscription | None:
        rows = self._rows(f"{_SELECT_SUBSCRIPTIONS} WHERE s.id = ?", [subscription_id])
        return _subscription(rows[0]) if rows else None

    def subscriptions(self, owner: str | None = None) -> list[Subscription]:
        """Every subscription (of ``owner`` if given), oldest first."""
        where, params = ("WHERE s.owner = ? ", [owner]) if owner is not None else ("", [])
        rows = self._rows(f"{_SELECT_SUBSCRIPTIONS} {where}ORDER BY s.created_at, s.id", params)
        return [_subscription(row) for row in rows]

    def active(self) -> list[Subscription]:
        rows = self._rows(f"{_SELECT_SUBSCRIPTIONS} WHERE s.disabled_at IS NULL")
        return [_subscription(row) for row in rows]

    def remove(self, subscription_id: UUID) -> bool:
        with self.transaction() as tx:
            for table, column in ((DELIVERIES, "subscription_id"), (POSITIONS, "subscription_id")):
                tx.execute(f"DELETE FROM {table} WHERE {column} = ?", [subscription_id])
            return tx.execute(f"DELETE FROM {SUBSCRIPTIONS} WHERE id = ?", [subscription_id]) > 0

    def disable(self, subscription_id: UUID, reason: str, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"UPDATE {SUBSCRIPTIONS} SET disabled_at = ?, disabled_reason = ? "
                "WHERE id = ? AND disabled_at IS NULL",
                [at, reason, subscription_id],
            )

    # --- delivery state --------------------------------------------------------------------

    def record(
        self,
        subscription_id: UUID,
        at: datetime,
        *,
        advance: tuple[int, int] | None = None,
        attempt: Attempt | None = None,
    ) -> None:
        """In one transaction: move the position ``(from, to)`` if given (compare-and-set)
        and upsert the delivery record of ``attempt`` if given."""
        with self.transaction() as tx:
            if advance is not None:
                expected, position = advance
                moved = tx.execute(
                    f"UPDATE {POSITIONS} SET position = ? "
                    "WHERE subscription_id = ? AND position = ?",
                    [position, subscription_id, expected],
                )
                if moved != 1:
                    raise PositionMovedError(
                        f"subscription {subscription_id} is no longer at position {expected}"
                    )
            elif not tx.rows(
                f"SELECT 1 FROM {POSITIONS} WHERE subscription_id = ?", [subscription_id]
            ):
                raise PositionMovedError(f"subscription {subscription_id} is gone")
            if attempt is not None:
                _upsert(tx, subscription_id, attempt, at)

    def due(self) -> dict[UUID, Due]:
        """Timed work per subscription (only those with any)."""
        rows = self._rows(
            "SELECT subscription_id, "
            f"min(CASE WHEN status = '{DeliveryStatus.RETRYING}' THEN next_attempt_at END), "
            f"min(CASE WHEN status = '{DeliveryStatus.REDELIVERING}' THEN next_attempt_at END) "
            f"FROM {DELIVERIES} WHERE status IN (?, ?) GROUP BY subscription_id",
            [DeliveryStatus.RETRYING.value, DeliveryStatus.REDELIVERING.value],
        )
        return {_uuid(r[0]): Due(_time_or_none(r[1]), _time_or_none(r[2])) for r in rows}

    def retrying(self, subscription_id: UUID) -> Delivery | None:
        """The delivery of the subscription's next event, if it has failed before."""
        found = self.deliveries(subscription_id, DeliveryStatus.RETRYING)
        return found[0] if found else None

    def deliveries(
        self, subscription_id: UUID, status: DeliveryStatus | None = None
    ) -> list[Delivery]:
        where = "subscription_id = ?"
        params: list[Any] = [subscription_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status.value)
        rows = self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM {DELIVERIES} WHERE {where} ORDER BY position",
            params,
        )
        return [_delivery(row) for row in rows]

    def delivery(self, subscription_id: UUID, delivery_id: UUID) -> Delivery | None:
        rows = self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM {DELIVERIES} WHERE subscription_id = ? AND id = ?",
            [subscription_id, delivery_id],
        )
        return _delivery(rows[0]) if rows else None

    def request_redelivery(self, subscription_id: UUID, delivery_id: UUID, at: datetime) -> bool:
        """Queue a failed delivery again, from attempt 0; False if it is not failed."""
        with self.transaction() as tx:
            changed = tx.execute(
                f"UPDATE {DELIVERIES} SET status = ?, attempts = 0, next_attempt_at = ?, "
                "updated_at = ? WHERE subscription_id = ? AND id = ? AND status = ?",
                [
                    DeliveryStatus.REDELIVERING.value,
                    at,
                    at,
                    subscription_id,
                    delivery_id,
                    DeliveryStatus.FAILED.value,
                ],
            )
        return changed == 1

    def redeliveries_due(self, subscription_id: UUID, now: datetime) -> list[Delivery]:
        rows = self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM {DELIVERIES} WHERE subscription_id = ? "
            "AND status = ? AND next_attempt_at <= ? ORDER BY position",
            [subscription_id, DeliveryStatus.REDELIVERING.value, now],
        )
        return [_delivery(row) for row in rows]


def _upsert(tx: Tx, subscription_id: UUID, attempt: Attempt, at: datetime) -> None:
    a = attempt
    tx.execute(
        f"INSERT INTO {DELIVERIES} ({_DELIVERY_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (subscription_id, position) DO UPDATE SET status = excluded.status, "
        "attempts = excluded.attempts, last_status = excluded.last_status, "
        "last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at, "
        "updated_at = excluded.updated_at",
        [
            uuid4(),
            subscription_id,
            a.position,
            a.event_id,
            a.event_type,
            a.status.value,
            a.attempts,
            a.last_status,
            a.last_error,
            a.next_attempt_at,
            at,
            at,
        ],
    )


def _subscription(row: tuple[Any, ...]) -> Subscription:
    types = frozenset(orjson.loads(row[3]))
    return Subscription(
        id=_uuid(row[0]),
        owner=row[1],
        url=row[2],
        filter=FeedFilter(types, row[4], row[5]),
        description=row[6],
        secret=row[7],
        created_at=_time(row[8]),
        disabled_at=_time_or_none(row[9]),
        disabled_reason=row[10],
        position=int(row[11]),
    )


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        id=_uuid(row[0]),
        subscription_id=_uuid(row[1]),
        position=int(row[2]),
        event_id=row[3],
        event_type=row[4],
        status=DeliveryStatus(row[5]),
        attempts=row[6],
        last_status=row[7],
        last_error=row[8],
        next_attempt_at=_time_or_none(row[9]),
        created_at=_time(row[10]),
        updated_at=_time(row[11]),
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def _time_or_none(value: Any) -> datetime | None:
    return None if value is None else _time(value)


# --- SQLite ----------------------------------------------------------------------------------


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(_TIME_FORMAT)  # text order is time order
    if isinstance(value, UUID):
        return str(value)
    return value


class SqliteSubscriptionStore(SubscriptionStore):
    """In the ledger's SQLite file; a connection per operation (they are rare and short)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_dir = self.path.with_name(f"{self.path.name}.locks")

    def transaction(self) -> AbstractContextManager[Tx]:
        return sqlite_transaction(self.path, convert=_to_sqlite)

    @contextmanager
    def lock(self, subscription_id: UUID) -> Iterator[bool]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"webhook-{subscription_id}.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        pass


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresSubscriptionStore(SubscriptionStore):
    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield PostgresTx(cur)

    def lock(self, subscription_id: UUID) -> AbstractContextManager[bool]:
        return session_lock(self.url, lock_key(f"webhook:{subscription_id}"))

    def close(self) -> None:
        self.pool.close()


def open_subscription_store(target: str, pool_size: int = 4) -> SubscriptionStore:
    """The store on a postgresql:// URL or in the SQLite file at ``target``."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresSubscriptionStore(target, pool_size)
    return SqliteSubscriptionStore(target)
