"""Managing webhook subscriptions: what the HTTP routes call.

An owner sees and changes only their own subscriptions (an administrator sees all); anyone
else's look like missing ones, so ids of others' subscriptions leak nothing. The signing
secret is returned once, at creation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from ledger.application import LedgerBase, utc_now
from ledger.core import errors
from ledger.core.cloudevents import FeedFilter
from ledger.webhooks import signing
from ledger.webhooks.policy import PUBLIC_ONLY, Targets, checked_description, checked_url
from ledger.webhooks.store import Delivery, DeliveryStatus, Subscription, SubscriptionStore


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: a NIP, and whether they administer every subscription."""

    nip: str
    admin: bool = False


@dataclass(frozen=True, slots=True)
class NewSubscription:
    url: str
    types: Sequence[str] = ()
    sop_id: str | None = None
    unit: str | None = None
    description: str | None = None
    after: int | None = None  # start after this log position; default: the head now


class Subscriptions:
    def __init__(
        self,
        store: SubscriptionStore,
        ledger: LedgerBase,
        head: Callable[[], int],
        targets: Targets = PUBLIC_ONLY,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.head = head
        self.targets = targets

    def create(self, owner: str, request: NewSubscription) -> Subscription:
        """A new, enabled subscription (its ``secret`` is to be shown to the owner once)."""
        subscription = Subscription(
            id=uuid4(),
            owner=owner,
            url=checked_url(request.url, self.targets),
            filter=self._filter(request),
            description=checked_description(request.description),
            secret=signing.new_secret(),
            created_at=self.ledger.clock(),
            disabled_at=None,
            disabled_reason=None,
            position=self._start(request.after),
        )
        self.store.add(subscription)
        return subscription

    def visible(self, viewer: Viewer) -> list[Subscription]:
        return self.store.subscriptions(None if viewer.admin else viewer.nip)

    def get(self, subscription_id: UUID, viewer: Viewer) -> Subscription:
        found = self.store.get(subscription_id)
        if found is None or not (viewer.admin or found.owner == viewer.nip):
            raise errors.SubscriptionNotFoundError(
                f"langganan {subscription_id} tidak ditemukan / subscription not found"
            )
        return found

    def delete(self, subscription_id: UUID, viewer: Viewer) -> None:
        self.get(subscription_id, viewer)
        self.store.remove(subscription_id)

    def deliveries(
        self, subscription_id: UUID, viewer: Viewer, status: DeliveryStatus | None = None
    ) -> list[Delivery]:
        self.get(subscription_id, viewer)
        return self.store.deliveries(subscription_id, status)

    def redeliver(self, subscription_id: UUID, delivery_id: UUID, viewer: Viewer) -> Delivery:
        """Queue a failed delivery for the dispatcher to send again."""
        subscription = self.get(subscription_id, viewer)
        delivery = self.store.delivery(subscription_id, delivery_id)
        if delivery is None:
            raise errors.DeliveryNotFoundError(
                f"pengiriman {delivery_id} tidak ditemukan / delivery not found"
            )
        if not subscription.active:
            raise errors.DeliveryStateError(
                "langganan dinonaktifkan / the subscription is disabled: "
                f"{subscription.disabled_reason}"
            )
        if not self.store.request_redelivery(subscription_id, delivery_id, self._now()):
            raise errors.DeliveryStateError(
                f"hanya pengiriman gagal yang dapat dikirim ulang / only failed deliveries "
                f"can be redelivered (this one is {delivery.status})"
            )
        updated = self.store.delivery(subscription_id, delivery_id)
        assert updated is not None
        return updated

    def _filter(self, request: NewSubscription) -> FeedFilter:
        try:
            wanted = FeedFilter.of(request.types, request.sop_id, request.unit)
        except errors.InvalidFeedQueryError as error:
            raise errors.InvalidSubscriptionError(error.message, field="types") from None
        if wanted.sop_id is not None:
            try:
                self.ledger.catalogue(refresh=True).get(wanted.sop_id)
            except errors.UnknownSopError:
                raise errors.InvalidSubscriptionError(
                    f"SOP {wanted.sop_id} tidak dikenal / unknown SOP", field="sop_id"
                ) from None
        if wanted.unit is not None and wanted.unit not in self.ledger.chart_with(wanted.unit).units:
            raise errors.InvalidSubscriptionError(
                f"unit {wanted.unit} tidak dikenal / unknown unit", field="unit"
            )
        return wanted

    def _start(self, after: int | None) -> int:
        head = self.head()
        if after is None:
            return head
        if not 0 <= after <= head:
            raise errors.InvalidSubscriptionError(
                f"posisi awal harus antara 0 dan {head} / start position must be 0..{head}",
                field="after",
            )
        return after

    def _now(self) -> datetime:
        """Wall time (the dispatcher's clock), not the ledger's: it schedules attempts."""
        return utc_now()
