"""``/subscriptions`` over HTTP: register, list, read, delete, failed deliveries listed and
redelivered, with the in-process dispatcher posting to a real receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Scope
from ledger.bootstrap import build_feed, build_webhooks
from ledger.ledger import Ledger
from support.auth import auth_header, issue_token
from support.webhooks import Receiver, eventually, open_cases, receiving, settings_of

PROBLEM = "application/problem+json"
OPENED = "id.go.sumbarprov.sop.case.opened.v1"
INTEGRATOR, OTHER, ADMIN = "198203142006042003", "197604152002121001", "197305131997032005"


@dataclass
class Api:
    client: TestClient
    ledger: Ledger

    def as_(self, nip: str, *scopes: Scope) -> dict[str, str]:
        return auth_header(issue_token(self.ledger, nip, *(scopes or (Scope.INTEGRATOR,))))

    def subscribe(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = self.client.post("/subscriptions", json=body, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def api(ledger: Ledger) -> Iterator[Api]:
    settings = settings_of(
        ledger, webhook_retry_base_seconds=0.02, webhook_max_attempts=2, webhook_concurrency=2
    )
    app = create_app(
        ledger, feed=build_feed(settings, ledger), webhooks=build_webhooks(settings, ledger)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, ledger)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


def test_register_read_list_and_delete(api: Api, receiver: Receiver) -> None:
    mine, theirs = api.as_(INTEGRATOR), api.as_(OTHER)
    response = api.client.post(
        "/subscriptions",
        json={"url": receiver.url, "types": [OPENED], "description": "ESR"},
        headers=mine,
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["Location"] == f"/subscriptions/{created['id']}"
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"][6:])) == 32
    assert created["owner"] == INTEGRATOR
    assert (created["types"], created["status"]) == ([OPENED], "active")
    assert created["position"] == api.ledger.max_position()
    shown = api.client.get(f"/subscriptions/{created['id']}", headers=mine).json()
    assert "secret" not in shown  # shown once, at creation
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    other = api.subscribe(theirs, url=receiver.url)
    assert [s["id"] for s in api.client.get("/subscriptions", headers=mine).json()] == [
        created["id"]
    ]
    admin = api.as_(ADMIN, Scope.ADMIN)
    everyone = api.client.get("/subscriptions", headers=admin).json()
    assert {s["id"] for s in everyone} == {created["id"], other["id"]}
    hidden = api.client.get(f"/subscriptions/{created['id']}", headers=theirs)
    assert hidden.status_code == 404  # another owner's subscription looks missing
    assert hidden.json()["type"].endswith("/subscription-not-found")
    assert api.client.delete(f"/subscriptions/{created['id']}", headers=theirs).status_code == 404
    assert api.client.delete(f"/subscriptions/{created['id']}", headers=mine).status_code == 204
    assert api.client.get(f"/subscriptions/{created['id']}", headers=mine).status_code == 404


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{digest}"


def test_failed_deliveries_are_listed_and_redelivered(api: Api, receiver: Receiver) -> None:
    headers = api.as_(INTEGRATOR)
    receiver.answer(503, 500)  # two attempts (the configured maximum), both failing
    created = api.subscribe(headers, url=receiver.url, types=[OPENED])
    base = f"/subscriptions/{created['id']}"
    first, second = open_cases(api.ledger, 2)
    eventually(lambda: len(receiver.ok()) == 1)  # the second, after giving up on the first
    failed = api.client.get(f"{base}/deliveries", params={"status": "failed"}, headers=headers)
    assert failed.status_code == 200
    (delivery,) = failed.json()
    assert delivery["status"] == "failed"
    assert (delivery["attempts"], delivery["last_status"]) == (2, 500)
    assert delivery["event_type"] == OPENED
    assert receiver.ok()[0].event["subject"] == str(second)
    again = api.client.post(f"{base}/deliveries/{delivery['id']}/redeliver", headers=headers)
    assert again.status_code == 202
    assert again.json()["status"] == "redelivering"
    eventually(lambda: len(receiver.ok()) == 2)
    redelivered = receiver.ok()[1]
    assert redelivered.event["subject"] == str(first)
    assert redelivered.webhook_id == delivery["event_id"]
    verify(created["secret"], redelivered.headers, redelivered.body)
    eventually(
        lambda: (
            api.client.get(f"{base}/deliveries", headers=headers).json()[0]["status"] == "delivered"
        )
    )
    twice = api.client.post(f"{base}/deliveries/{delivery['id']}/redeliver", headers=headers)
    assert twice.status_code == 409
    assert twice.headers["content-type"] == PROBLEM
    assert twice.json()["type"].endswith("/delivery-not-redeliverable")
    missing = api.client.post(f"{base}/deliveries/{created['id']}/redeliver", headers=headers)
    assert missing.status_code == 404


def test_410_disables_the_subscription(api: Api, receiver: Receiver) -> None:
    headers = api.as_(INTEGRATOR)
    receiver.answer(410)
    created = api.subscribe(headers, url=receiver.url)
    open_cases(api.ledger, 1)

    def disabled() -> bool:
        shown = api.client.get(f"/subscriptions/{created['id']}", headers=headers).json()
        return bool(shown["status"] == "disabled" and "410" in shown["disabled_reason"])

    eventually(disabled)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "ftp://esr.example.go.id/x"}, "invalid-subscription", "url"),
        ({"url": "not a url"}, "invalid-subscription", "url"),
        ({"url": "https://user:pw@esr.example.go.id/"}, "invalid-subscription", "url"),
        ({"url": "http://169.254.169.254/latest/"}, "invalid-subscription", "url"),  # metadata
        ({"url": "http://10.0.0.5/hook"}, "invalid-subscription", "url"),  # not allowed here
        (
            {"url": "https://esr.example.go.id/", "types": ["case.signing"]},
            "invalid-subscription",
            "types",
        ),
        ({"url": "https://esr.example.go.id/", "sop_id": "nope"}, "invalid-subscription", "sop_id"),
        ({"url": "https://esr.example.go.id/", "unit": "nope"}, "invalid-subscription", "unit"),
        ({"url": "https://esr.example.go.id/", "after": 10**9}, "invalid-subscription", "after"),
        ({"url": "https://esr.example.go.id/", "secret": "x"}, "malformed-request", "body.secret"),
        ({}, "malformed-request", "body.url"),
    ],
)
def test_bad_subscriptions_are_problems(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    response = api.client.post("/subscriptions", json=body, headers=api.as_(INTEGRATOR))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith(f"/{code}")
    assert problem["field"] == field
    assert " / " in problem["title"]  # Indonesian / English


def test_bad_delivery_queries_are_problems(api: Api, receiver: Receiver) -> None:
    headers = api.as_(INTEGRATOR)
    created = api.subscribe(headers, url=receiver.url)
    bad = api.client.get(
        f"/subscriptions/{created['id']}/deliveries", params={"status": "lost"}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    not_uuid = api.client.get("/subscriptions/42", headers=headers)
    assert not_uuid.status_code == 422


def test_only_integrators_and_admins_manage_subscriptions(api: Api, receiver: Receiver) -> None:
    inspector = api.as_(OTHER, Scope.INSPECTOR)
    refused = api.client.post("/subscriptions", json={"url": receiver.url}, headers=inspector)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert api.client.get("/subscriptions").status_code == 401
    admin = api.as_(ADMIN, Scope.ADMIN)
    assert (
        api.client.post("/subscriptions", json={"url": receiver.url}, headers=admin).status_code
        == 201
    )


def test_without_a_subscription_store_the_routes_say_so(ledger: Ledger) -> None:
    with TestClient(create_app(ledger), raise_server_exceptions=False) as client:
        headers = auth_header(issue_token(ledger, INTEGRATOR, Scope.INTEGRATOR))
        response = client.get("/subscriptions", headers=headers)
    assert response.status_code == 503
    assert response.json()["type"].endswith("/webhooks-unavailable")
