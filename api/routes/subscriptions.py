"""Webhook subscriptions (langganan): register an endpoint, see and redeliver deliveries."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Principal, Scope, require
from api.problems import problems
from api.subscription_schemas import (
    CreatedSubscriptionOut,
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
)
from ledger.core.errors import WebhooksUnavailableError
from ledger.webhooks.service import Webhooks
from ledger.webhooks.store import DeliveryStatus
from ledger.webhooks.subscriptions import NewSubscription, Subscriptions, Viewer

router = APIRouter(
    prefix="/subscriptions", tags=["subscriptions"], responses=problems(401, 403, 422, 503)
)
Caller = Annotated[Principal, Depends(require(Scope.INTEGRATOR, Scope.ADMIN))]


def get_subscriptions(request: Request) -> Subscriptions:
    webhooks: Webhooks | None = request.app.state.webhooks
    if webhooks is None:
        raise WebhooksUnavailableError(
            "layanan ini berjalan tanpa langganan / this service runs without subscriptions"
        )
    return webhooks.subscriptions


SubscriptionsDep = Annotated[Subscriptions, Depends(get_subscriptions)]


def viewer(principal: Principal) -> Viewer:
    return Viewer(principal.nip, admin=Scope.ADMIN in principal.scopes)


@router.post(
    "",
    status_code=201,
    summary="Daftarkan langganan / register a webhook subscription",
    response_model=CreatedSubscriptionOut,
)
def create(
    body: SubscriptionIn, subscriptions: SubscriptionsDep, who: Caller, response: Response
) -> CreatedSubscriptionOut:
    """Matching events are POSTed to ``url`` from now on (or after ``after``), one per
    request, signed per Standard Webhooks with the returned ``secret`` (shown only here)."""
    request = NewSubscription(
        url=body.url,
        types=body.types,
        sop_id=body.sop_id,
        unit=body.unit,
        description=body.description,
        after=body.after,
    )
    created = subscriptions.create(who.nip, request)
    response.headers["Location"] = f"/subscriptions/{created.id}"
    return CreatedSubscriptionOut.created(created)


@router.get("", summary="Langganan saya / my subscriptions (admin: all)")
def list_subscriptions(subscriptions: SubscriptionsDep, who: Caller) -> list[SubscriptionOut]:
    return [SubscriptionOut.of(s) for s in subscriptions.visible(viewer(who))]


@router.get(
    "/{subscription_id}", summary="Satu langganan / one subscription", responses=problems(404)
)
def get_subscription(
    subscription_id: UUID, subscriptions: SubscriptionsDep, who: Caller
) -> SubscriptionOut:
    return SubscriptionOut.of(subscriptions.get(subscription_id, viewer(who)))


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Hapus langganan / delete a subscription",
    responses=problems(404),
)
def delete_subscription(
    subscription_id: UUID, subscriptions: SubscriptionsDep, who: Caller
) -> Response:
    subscriptions.delete(subscription_id, viewer(who))
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    summary="Pengiriman yang diulang atau gagal / retried and failed deliveries",
    responses=problems(404),
)
def deliveries(
    subscription_id: UUID,
    subscriptions: SubscriptionsDep,
    who: Caller,
    status: Annotated[DeliveryStatus | None, Query(examples=["failed"])] = None,
) -> list[DeliveryOut]:
    """Deliveries that needed more than one attempt: being retried, failed (after the last
    attempt; re-deliverable), redelivering, delivered after retries."""
    found = subscriptions.deliveries(subscription_id, viewer(who), status)
    return [DeliveryOut.of(d) for d in found]


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Kirim ulang / redeliver a failed delivery",
    responses=problems(404, 409),
)
def redeliver(
    subscription_id: UUID, delivery_id: UUID, subscriptions: SubscriptionsDep, who: Caller
) -> DeliveryOut:
    """Queues the failed delivery again (status ``redelivering``, attempts from zero)."""
    return DeliveryOut.of(subscriptions.redeliver(subscription_id, delivery_id, viewer(who)))
