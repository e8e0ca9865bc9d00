"""The webhook dispatcher against a real HTTP receiver, on both stores.

The receiver checks nothing itself; every test recomputes the Standard Webhooks signature
here, from the secret the subscription was created with, with ``hmac`` directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from ledger.bootstrap import open_webhook_store
from ledger.core.cloudevents import FeedFilter
from ledger.feed.reader import FeedReader
from ledger.feed.waiting import LogWaiter
from ledger.ledger import Ledger
from ledger.webhooks.dispatcher import Dispatcher, DispatcherThread
from ledger.webhooks.policy import RetryPolicy, Targets
from ledger.webhooks.sender import HttpSender, Outcome
from ledger.webhooks.store import DeliveryStatus, Subscription, SubscriptionStore
from ledger.webhooks.subscriptions import NewSubscription, Subscriptions, Viewer
from support.views import ledger_url
from support.webhooks import (
    A_SOP,
    A_UNIT,
    LOOPBACK,
    Received,
    eventually,
    open_cases,
    receiving,
    settings_of,
)

LOCAL = Targets.of(LOOPBACK)  # the receivers of these tests listen on loopback
OWNER = Viewer("197305131997032005")
OPENED = "id.go.sumbarprov.sop.case.opened.v1"


def verify_signature(secret: str, received: Received) -> None:
    """Standard Webhooks, computed independently of ``ledger.webhooks.signing``."""
    key = base64.b64decode(secret.split("_", 1)[1])
    headers = received.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = dict(part.split(",", 1) for part in headers["webhook-signature"].split())
    assert hmac.compare_digest(versions["v1"], expected)


@dataclass
class Rig:
    ledger: Ledger
    store: SubscriptionStore
    subscriptions: Subscriptions

    def dispatcher(self, sender: object = None, **policy: float) -> Dispatcher:
        return Dispatcher(
            self.store,
            FeedReader(self.ledger.store.recorder),
            sender or HttpSender(timeout_seconds=5, targets=LOCAL),
            RetryPolicy(**{"base_seconds": 0.05, "cap_seconds": 1.0, **policy}),
            jitter=lambda: 1.0,  # always the longest wait: the backoff is checkable
        )

    def subscribe(self, url: str, **filters: object) -> Subscription:
        return self.subscriptions.create(OWNER.nip, NewSubscription(url=url, **filters))

    def current(self, subscription: Subscription) -> Subscription:
        return self.subscriptions.get(subscription.id, OWNER)

    @contextmanager
    def running(self, dispatcher: Dispatcher | None = None) -> Iterator[DispatcherThread]:
        worker = DispatcherThread(
            dispatcher or self.dispatcher(), LogWaiter(ledger_url(self.ledger)), idle_wait=0.2
        )
        worker.start()
        try:
            yield worker
        finally:
            worker.stop()
        assert worker.error is None


@pytest.fixture
def rig(ledger: Ledger) -> Iterator[Rig]:
    store = open_webhook_store(settings_of(ledger))
    yield Rig(ledger, store, Subscriptions(store, ledger, ledger.max_position, LOCAL))
    store.close()


def drain(dispatcher: Dispatcher) -> None:
    """Run passes until there is nothing to do now."""
    for _ in range(1000):
        steps, _due = dispatcher.run_once()
        if steps == 0:
            return
    raise AssertionError("the dispatcher never settled")


def opened_ids(ledger: Ledger, after: int) -> list[str]:
    events = FeedReader(ledger.store.recorder).page(after, 10_000, FeedFilter.of([OPENED]))
    return [str(e["id"]) for e in events.events]


def test_each_matching_event_is_posted_once_signed(rig: Rig) -> None:
    with receiving() as receiver:
        sub = rig.subscribe(receiver.url, types=[OPENED])
        start = rig.ledger.max_position()
        open_cases(rig.ledger, 3)
        drain(rig.dispatcher())
        received = receiver.all()
        assert [r.webhook_id for r in received] == opened_ids(rig.ledger, start)
        for r in received:
            verify_signature(sub.secret, r)
            assert r.headers["content-type"] == "application/cloudevents+json"
            assert r.event["id"] == r.webhook_id
            assert r.event["type"] == OPENED
            assert r.event["specversion"] == "1.0"
        assert rig.current(sub).position == rig.ledger.max_position()


def test_filters_choose_the_events_and_the_position_passes_the_rest(rig: Rig) -> None:
    with receiving() as receiver:
        sub = rig.subscribe(receiver.url, sop_id=A_SOP)
        a_cases = open_cases(rig.ledger, 2, A_SOP, A_UNIT)
        open_cases(rig.ledger, 2)  # another SOP, last in the log
        drain(rig.dispatcher())
        assert [r.event["subject"] for r in receiver.all()] == [str(c) for c in a_cases]
        assert rig.current(sub).position == rig.ledger.max_position()


class Crash(BaseException):
    """The process dies right after the receiver got the POST, before the position moved."""


class CrashAfter:
    def __init__(self, sends: int) -> None:
        self.sends = sends
        self.http = HttpSender(timeout_seconds=5, targets=LOCAL)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        outcome = self.http(url, body, headers)
        self.sends -= 1
        if self.sends == 0:
            raise Crash
        return outcome


def test_a_restart_resumes_from_the_position_with_nothing_lost(rig: Rig) -> None:
    with receiving() as receiver:
        sub = rig.subscribe(receiver.url, types=[OPENED])
        start = rig.ledger.max_position()
        with rig.running():
            open_cases(rig.ledger, 2)
            eventually(lambda: len(receiver.all()) == 2)
        open_cases(rig.ledger, 3)  # recorded while no dispatcher runs
        with pytest.raises(Crash):  # dies between the 2xx and moving the position
            drain(rig.dispatcher(CrashAfter(sends=2)))
        open_cases(rig.ledger, 2)
        with rig.running():
            eventually(lambda: rig.current(sub).position == rig.ledger.max_position())
        expected = opened_ids(rig.ledger, start)
        counts = Counter(r.webhook_id for r in receiver.all())
        assert set(counts) == set(expected)  # nothing lost
        assert [i for i, n in counts.items() if n > 1] == [expected[3]]  # the crash's one
        for r in receiver.all():
            verify_signature(sub.secret, r)


def test_server_errors_are_retried_with_backoff_until_delivered(rig: Rig) -> None:
    with receiving() as receiver:
        receiver.answer(500, 503)
        sub = rig.subscribe(receiver.url, types=[OPENED])
        dispatcher = rig.dispatcher(base_seconds=0.2, cap_seconds=5)
        outcomes: list[str] = []
        dispatcher.observe = outcomes.append  # what the service's metrics count
        with rig.running(dispatcher):
            open_cases(rig.ledger, 2)
            eventually(lambda: len(receiver.ok()) == 2)
        assert outcomes == ["retry", "retry", "delivered", "delivered"]
        first, second, third, fourth = receiver.all()
        assert first.webhook_id == second.webhook_id == third.webhook_id != fourth.webhook_id
        assert [r.status for r in receiver.all()] == [500, 503, 204, 204]
        assert second.at - first.at >= 0.2  # attempt n waits up to base * 2**(n-1)
        assert third.at - second.at >= 0.4
        for r in receiver.all():
            verify_signature(sub.secret, r)
        (delivery,) = rig.subscriptions.deliveries(sub.id, OWNER)
        assert (delivery.status, delivery.attempts, delivery.last_status) == (
            DeliveryStatus.DELIVERED,
            3,
            204,
        )
        assert delivery.event_id == first.webhook_id


def test_410_gone_disables_the_subscription(rig: Rig) -> None:
    with receiving() as receiver:
        receiver.answer(410)
        sub = rig.subscribe(receiver.url, types=[OPENED])
        start = rig.current(sub).position
        open_cases(rig.ledger, 2)
        drain(rig.dispatcher())
        disabled = rig.current(sub)
        assert disabled.disabled_at is not None
        assert "410" in (disabled.disabled_reason or "")
        assert disabled.position == start  # nothing was delivered
        open_cases(rig.ledger, 1)
        drain(rig.dispatcher())
        assert len(receiver.all()) == 1


def test_a_failed_delivery_is_listed_then_redelivered(rig: Rig) -> None:
    with receiving() as receiver:
        receiver.answer(500, 500)
        sub = rig.subscribe(receiver.url, types=[OPENED])
        dispatcher = rig.dispatcher(max_attempts=2, base_seconds=0.01)
        with rig.running(dispatcher):
            open_cases(rig.ledger, 2)
            eventually(lambda: len(receiver.ok()) == 1)  # gave up on the first, moved on
            (failed,) = rig.subscriptions.deliveries(sub.id, OWNER, DeliveryStatus.FAILED)
            assert (failed.attempts, failed.last_status) == (2, 500)
            assert failed.last_error is not None
            assert "500" in failed.last_error
            queued = rig.subscriptions.redeliver(sub.id, failed.id, OWNER)
            assert queued.status is DeliveryStatus.REDELIVERING
            eventually(lambda: len(receiver.ok()) == 2)
        redelivered = receiver.ok()[-1]
        assert redelivered.webhook_id == failed.event_id == receiver.all()[0].webhook_id
        verify_signature(sub.secret, redelivered)
        after = rig.subscriptions.deliveries(sub.id, OWNER)
        assert [(d.id, d.status) for d in after] == [(failed.id, DeliveryStatus.DELIVERED)]


def test_two_dispatchers_never_deliver_one_subscription_twice(rig: Rig) -> None:
    with receiving() as receiver:
        subs = [rig.subscribe(receiver.url, types=[OPENED]) for _ in range(3)]
        start = rig.ledger.max_position()
        with rig.running(), rig.running():
            open_cases(rig.ledger, 8)
            eventually(
                lambda: all(rig.current(s).position == rig.ledger.max_position() for s in subs)
            )
        per_event = Counter(r.webhook_id for r in receiver.all())
        assert set(per_event) == set(opened_ids(rig.ledger, start))
        assert set(per_event.values()) == {3}  # once per subscription, never twice


def test_a_locked_subscription_is_left_to_its_holder(rig: Rig) -> None:
    with receiving() as receiver:
        sub = rig.subscribe(receiver.url)
        open_cases(rig.ledger, 1)
        with rig.store.lock(sub.id):
            assert rig.dispatcher().deliver(sub.id) == 0
        assert receiver.all() == []
        assert rig.dispatcher().deliver(sub.id) > 0


def test_a_request_that_cannot_connect_is_a_failed_attempt(rig: Rig) -> None:
    with receiving() as closed:
        url = closed.url  # a port nobody listens on any more
    sub = rig.subscribe(url, types=[OPENED])
    open_cases(rig.ledger, 1)
    drain(rig.dispatcher(base_seconds=60))
    retrying = rig.store.retrying(sub.id)
    assert retrying is not None
    assert retrying.last_status is None
    assert "Connection" in (retrying.last_error or "")
    assert retrying.attempts == 1
