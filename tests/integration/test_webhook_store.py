"""The subscription store on both databases: subscriptions, positions, deliveries, locks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.bootstrap import open_webhook_store
from ledger.core.cloudevents import FeedFilter
from ledger.ledger import Ledger
from ledger.webhooks.store import (
    Attempt,
    DeliveryStatus,
    PositionMovedError,
    Subscription,
    SubscriptionStore,
)
from support.webhooks import settings_of

NOW = datetime(2024, 10, 1, 2, 0, tzinfo=UTC)
SIGNING = "id.go.sumbarprov.sop.case.signing.v1"


@pytest.fixture
def store(ledger: Ledger) -> Iterator[SubscriptionStore]:
    opened = open_webhook_store(settings_of(ledger))
    yield opened
    opened.close()


def subscription(owner: str = "197305131997032005", position: int = 10) -> Subscription:
    return Subscription(
        id=uuid4(),
        owner=owner,
        url="https://esr.example.go.id/hook",
        filter=FeedFilter.of([SIGNING], sop_id="biro-org.pengukuran-kinerja"),
        description="ESR",
        secret="whsec_c2VjcmV0",
        created_at=NOW,
        disabled_at=None,
        disabled_reason=None,
        position=position,
    )


def attempt(position: int, status: DeliveryStatus, attempts: int, **more: object) -> Attempt:
    return Attempt(position, f"evt-{position}", SIGNING, status, attempts, **more)


def test_subscriptions_round_trip_and_belong_to_their_owner(store: SubscriptionStore) -> None:
    mine, theirs = subscription(), subscription(owner="198203142006042003")
    store.add(mine)
    store.add(theirs)
    assert store.get(mine.id) == mine
    assert store.subscriptions(mine.owner) == [mine]
    assert {s.id for s in store.subscriptions()} == {mine.id, theirs.id}
    store.disable(theirs.id, "HTTP 410", NOW)
    assert [s.id for s in store.active()] == [mine.id]
    disabled = store.get(theirs.id)
    assert disabled is not None
    assert (disabled.disabled_at, disabled.disabled_reason) == (NOW, "HTTP 410")
    assert store.remove(mine.id)
    assert not store.remove(mine.id)
    assert store.get(mine.id) is None


def test_the_position_moves_only_from_where_it_was_read(store: SubscriptionStore) -> None:
    sub = subscription(position=10)
    store.add(sub)
    store.record(sub.id, NOW, advance=(10, 12))
    with pytest.raises(PositionMovedError):
        store.record(sub.id, NOW, advance=(10, 13))  # a second dispatcher's stale view
    with pytest.raises(PositionMovedError):
        store.record(uuid4(), NOW, attempt=attempt(13, DeliveryStatus.RETRYING, 1))
    refreshed = store.get(sub.id)
    assert refreshed is not None
    assert refreshed.position == 12


def test_a_retried_delivery_keeps_one_record_through_to_delivered(
    store: SubscriptionStore,
) -> None:
    sub = subscription(position=10)
    store.add(sub)
    later = NOW + timedelta(seconds=30)
    store.record(
        sub.id,
        NOW,
        attempt=attempt(11, DeliveryStatus.RETRYING, 1, last_status=503, next_attempt_at=later),
    )
    retrying = store.retrying(sub.id)
    assert retrying is not None
    assert (retrying.position, retrying.attempts, retrying.last_status) == (11, 1, 503)
    assert store.due()[sub.id].retry_at == later
    store.record(sub.id, later, advance=(10, 11), attempt=attempt(11, DeliveryStatus.DELIVERED, 2))
    (delivered,) = store.deliveries(sub.id)
    assert (delivered.id, delivered.status, delivered.attempts) == (
        retrying.id,
        DeliveryStatus.DELIVERED,
        2,
    )
    assert store.retrying(sub.id) is None
    assert sub.id not in store.due()


def test_only_failed_deliveries_can_be_asked_for_again(store: SubscriptionStore) -> None:
    sub = subscription(position=10)
    store.add(sub)
    store.record(
        sub.id,
        NOW,
        advance=(10, 11),
        attempt=attempt(11, DeliveryStatus.FAILED, 5, last_error="HTTP 500"),
    )
    (failed,) = store.deliveries(sub.id, DeliveryStatus.FAILED)
    assert failed.last_error == "HTTP 500"
    assert store.redeliveries_due(sub.id, NOW) == []
    assert store.request_redelivery(sub.id, failed.id, NOW)
    assert not store.request_redelivery(sub.id, failed.id, NOW)  # no longer failed
    (queued,) = store.redeliveries_due(sub.id, NOW)
    assert (queued.status, queued.attempts) == (DeliveryStatus.REDELIVERING, 0)
    assert store.due()[sub.id].redeliver_at == NOW
    assert store.delivery(sub.id, uuid4()) is None


def test_deleting_a_subscription_deletes_its_position_and_deliveries(
    store: SubscriptionStore,
) -> None:
    sub = subscription()
    store.add(sub)
    store.record(sub.id, NOW, attempt=attempt(11, DeliveryStatus.RETRYING, 1))
    assert store.remove(sub.id)
    assert store.deliveries(sub.id) == []
    with pytest.raises(PositionMovedError):
        store.record(sub.id, NOW, advance=(10, 11))


def test_one_worker_at_a_time_holds_a_subscription(store: SubscriptionStore) -> None:
    first, second = uuid4(), uuid4()
    with store.lock(first) as held:
        assert held
        with store.lock(first) as again, store.lock(second) as other:
            assert not again
            assert other
    with store.lock(first) as after_release:
        assert after_release


def test_a_released_lock_is_free_at_once_for_the_next_worker(store: SubscriptionStore) -> None:
    """Released when the holder leaves, not when its server process gets round to exiting
    (a worker taking over right after another stopped used to find it still held)."""
    subscription = uuid4()
    for _ in range(30):
        with store.lock(subscription) as held:
            assert held
        with store.lock(subscription) as next_worker:
            assert next_worker
