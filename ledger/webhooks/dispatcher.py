"""The webhook dispatcher: each subscription's matching events, in log order, one POST each.

Per subscription the dispatcher reads the log after the subscription's tracked position and
posts each matching event (CloudEvents structured JSON, Standard Webhooks signature,
``webhook-id`` = the event id so receivers can drop duplicates). The position moves past an
event only after a 2xx, in one transaction with any delivery record: at-least-once, and the
position is the one fact that says what was delivered. A failing event is retried with
exponential backoff and full jitter and holds back the events after it (order is kept);
after the last attempt it is recorded as failed (listed, re-deliverable) and the
subscription moves on. HTTP 410 disables the subscription. A subscription is delivered by
one dispatcher at a time, under its lock; others skip it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID

import orjson

from ledger.application import Clock, utc_now
from ledger.core.cloudevents import EVENT_MEDIA_TYPE, CloudEvent
from ledger.feed.reader import FeedReader
from ledger.feed.waiting import LogWaiter
from ledger.webhooks import signing
from ledger.webhooks.policy import RetryPolicy
from ledger.webhooks.sender import Outcome, Sender
from ledger.webhooks.store import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Due,
    PositionMovedError,
    Subscription,
    SubscriptionStore,
)

log = logging.getLogger(__name__)


class Step(Enum):
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"  # recorded as failed; the subscription moves on
    RETRY = "retry"  # recorded for a later attempt; the subscription waits
    GONE = "gone"  # 410: the subscription is disabled


@dataclass(frozen=True, slots=True)
class Plan:
    """What one pass has to do: subscriptions ready now, and when timed work falls due."""

    ready: list[UUID]
    next_due: datetime | None


class Dispatcher:
    def __init__(
        self,
        store: SubscriptionStore,
        reader: FeedReader,
        sender: Sender,
        policy: RetryPolicy,
        *,
        clock: Clock = utc_now,
        jitter: Callable[[], float] = random.random,
        batch: int = 100,
        turn_seconds: float = 5.0,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.observe = observe  # told each attempt's outcome (e.g. the service's metrics)
        self.reader = reader
        self.sender = sender
        self.policy = policy
        self.clock = clock
        self.jitter = jitter
        self.batch = batch
        self.turn_seconds = turn_seconds  # a slow endpoint does not hold up the others long

    # --- one pass ------------------------------------------------------------------------

    def plan(self) -> Plan:
        head, now, due = self.reader.head(), self.clock(), self.store.due()
        ready: list[UUID] = []
        later: list[datetime] = []
        for sub in self.store.active():
            when = due.get(sub.id, Due(None, None))
            if when.redeliver_at is not None and when.redeliver_at <= now:
                ready.append(sub.id)
                continue
            if when.redeliver_at is not None:
                later.append(when.redeliver_at)
            if sub.position >= head:
                continue
            if when.retry_at is None or when.retry_at <= now:
                ready.append(sub.id)
            else:
                later.append(when.retry_at)
        return Plan(ready, min(later, default=None))

    def run_once(
        self, pool: ThreadPoolExecutor | None = None, stop: threading.Event | None = None
    ) -> tuple[int, datetime | None]:
        """Give every subscription with work one turn; steps taken and the next due time."""
        plan = self.plan()
        stop = stop or threading.Event()
        if pool is None:
            steps = sum(self.deliver(sub_id, stop) for sub_id in plan.ready)
        else:
            steps = sum(pool.map(lambda sub_id: self.deliver(sub_id, stop), plan.ready))
        return steps, plan.next_due

    def run(
        self,
        stop: threading.Event,
        waiter: LogWaiter,
        *,
        concurrency: int = 4,
        idle_wait: float = 1.0,
    ) -> None:
        """Deliver until ``stop`` is set, waiting for appends (or due retries) when idle."""
        waiter.listen()
        try:
            with ThreadPoolExecutor(concurrency, thread_name_prefix="webhook") as pool:
                while not stop.is_set():
                    try:
                        steps, next_due = self.run_once(pool, stop)
                    except Exception:  # e.g. the database is away: try again later
                        log.exception("webhook dispatch pass failed")
                        stop.wait(idle_wait)
                        continue
                    if steps == 0:
                        waiter.wait(self._idle_seconds(next_due, idle_wait))
        finally:
            waiter.close()

    def _idle_seconds(self, next_due: datetime | None, idle_wait: float) -> float:
        if next_due is None:
            return idle_wait
        return max(0.0, min(idle_wait, (next_due - self.clock()).total_seconds()))

    # --- one subscription ------------------------------------------------------------------

    def deliver(self, subscription_id: UUID, stop: threading.Event | None = None) -> int:
        """One turn of one subscription under its lock; steps taken (0 if locked)."""
        stop = stop or threading.Event()
        with self.store.lock(subscription_id) as held:
            if not held:
                return 0
            sub = self.store.get(subscription_id)
            if sub is None or not sub.active:
                return 0
            try:
                steps, gone = self._redeliver(sub, stop)
                return steps if gone else steps + self._deliver_new(sub, stop)
            except PositionMovedError as error:
                log.warning("webhook dispatch stopped: %s", error)
                return 0

    def _deliver_new(self, sub: Subscription, stop: threading.Event) -> int:
        retry = self.store.retrying(sub.id)
        if retry is not None and retry.next_attempt_at and retry.next_attempt_at > self.clock():
            return 0
        page = self.reader.page(sub.position, self.batch, sub.filter)
        position, steps = sub.position, 0
        ends = time.monotonic() + self.turn_seconds
        for event in page.events:
            if stop.is_set() or time.monotonic() > ends:
                return steps
            at = int(event["position"])
            earlier = retry if retry is not None and retry.position == at else None
            step = self._attempt(sub, event, earlier, position)
            steps += 1
            if step in (Step.RETRY, Step.GONE):
                return steps
            position, retry = at, None
        if page.next_after > position:  # past events the filter left out
            self.store.record(sub.id, self.clock(), advance=(position, page.next_after))
            steps += 1
        return steps

    def _attempt(
        self, sub: Subscription, event: CloudEvent, earlier: Delivery | None, position: int
    ) -> Step:
        """Post the subscription's next event; move the position past it unless retrying."""
        outcome = self._post(sub, event)
        attempts = (earlier.attempts if earlier is not None else 0) + 1
        step, attempt = self._judge(event, outcome, attempts, DeliveryStatus.RETRYING)
        now = self.clock()
        if step is Step.GONE:
            self._disable(sub, outcome, now)
        elif step is Step.RETRY:
            self.store.record(sub.id, now, attempt=attempt)
        else:
            record = attempt if (earlier is not None or step is Step.GAVE_UP) else None
            self.store.record(
                sub.id, now, advance=(position, int(event["position"])), attempt=record
            )
        return step

    def _redeliver(self, sub: Subscription, stop: threading.Event) -> tuple[int, bool]:
        """Requested redeliveries that are due; (steps, whether the endpoint is gone)."""
        steps = 0
        for delivery in self.store.redeliveries_due(sub.id, self.clock()):
            if stop.is_set():
                break
            event = self.reader.at(delivery.position)
            if event is None:
                continue
            outcome = self._post(sub, event)
            step, attempt = self._judge(
                event, outcome, delivery.attempts + 1, DeliveryStatus.REDELIVERING
            )
            steps += 1
            if step is Step.GONE:
                self._disable(sub, outcome, self.clock())
                return steps, True
            self.store.record(sub.id, self.clock(), attempt=attempt)
        return steps, False

    def _judge(
        self, event: CloudEvent, outcome: Outcome, attempts: int, waiting: DeliveryStatus
    ) -> tuple[Step, Attempt]:
        """What an outcome means after ``attempts`` attempts, and the record to keep."""
        if outcome.ok:
            step, status, next_at = Step.DELIVERED, DeliveryStatus.DELIVERED, None
        elif outcome.gone:
            step, status, next_at = Step.GONE, waiting, None
        elif self.policy.exhausted(attempts):
            step, status, next_at = Step.GAVE_UP, DeliveryStatus.FAILED, None
        else:
            delay = self.policy.delay(attempts, self.jitter)
            step, status = Step.RETRY, waiting
            next_at = self.clock() + timedelta(seconds=delay)
        attempt = Attempt(
            position=int(event["position"]),
            event_id=str(event["id"]),
            event_type=str(event["type"]),
            status=status,
            attempts=attempts,
            last_status=outcome.status,
            last_error=None if outcome.ok else outcome.describe(),
            next_attempt_at=next_at,
        )
        if self.observe is not None:
            self.observe(step.value)
        return step, attempt

    def _post(self, sub: Subscription, event: CloudEvent) -> Outcome:
        body = orjson.dumps(event)
        timestamp = int(self.clock().timestamp())
        headers = signing.headers(sub.secret, str(event["id"]), timestamp, body)
        headers["Content-Type"] = EVENT_MEDIA_TYPE
        return self.sender(sub.url, body, headers)

    def _disable(self, sub: Subscription, outcome: Outcome, now: datetime) -> None:
        reason = f"titik akhir menjawab / endpoint answered {outcome.describe()}"
        log.warning("webhook subscription %s disabled: %s", sub.id, reason)
        self.store.disable(sub.id, reason, now)


class DispatcherThread:
    """The dispatcher in a background thread of ``sop-ledger serve`` (like the views)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        waiter: LogWaiter,
        *,
        concurrency: int = 4,
        idle_wait: float = 1.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.waiter = waiter
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.dispatcher.run(
                self._stop, self.waiter, concurrency=self.concurrency, idle_wait=self.idle_wait
            )
        except BaseException as error:  # the service stays up; readyz can report it
            log.exception("webhook dispatcher stopped")
            self.error = error

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
