"""``GET /events``: the log as a CloudEvents batch over HTTP, paging, filters, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Scope
from ledger.bootstrap import build_feed
from ledger.ledger import Ledger
from support.auth import auth_header, issue_token
from support.webhooks import A_SOP, A_UNIT, B_UNIT, open_cases, settings_of

BATCH = "application/cloudevents-batch+json"
PROBLEM = "application/problem+json"
OPENED = "id.go.sumbarprov.sop.case.opened.v1"
UNIT_REGISTERED = "id.go.sumbarprov.sop.directory.unit_registered.v1"
INTEGRATOR_NIP = "198203142006042003"


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    app = create_app(ledger, feed=build_feed(settings_of(ledger), ledger))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers.update(
            auth_header(issue_token(ledger, INTEGRATOR_NIP, Scope.INTEGRATOR))
        )
        yield test_client


def follow(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every event from ``url`` on, following ``Link: rel="next"`` until caught up."""
    events: list[dict[str, Any]] = []
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        events.extend(page)
        head = int(response.headers["Ledger-Head"])
        following = int(response.headers["Ledger-Next-After"])
        url = response.links["next"]["url"]
        assert f"after={following}" in url
        if following >= head:
            return events


def test_a_page_is_a_cloudevents_batch(client: TestClient, ledger: Ledger) -> None:
    (case_id,) = open_cases(ledger, 1)
    response = client.get("/events", params={"after": ledger.max_position() - 1})
    assert response.status_code == 200
    assert response.headers["content-type"] == BATCH
    (event,) = response.json()
    assert set(event) == {
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "sequence",
        "position",
        "data",
    }
    assert event["specversion"] == "1.0"
    assert event["type"] == OPENED
    assert event["subject"] == str(case_id)
    assert event["position"] == ledger.max_position()
    assert event["sequence"] == f"{ledger.max_position():020d}"
    assert event["source"].startswith("/sop-ledger/")
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["event_id"] == event["id"]
    assert event["data"]["recorded_at"] == event["time"]
    assert event["data"]["unit"] == ledger.case(case_id).unit


def test_next_links_page_through_the_whole_log_once(client: TestClient, ledger: Ledger) -> None:
    open_cases(ledger, 3)
    whole = client.get("/events", params={"limit": 1000}).json()
    assert [e["position"] for e in whole] == sorted({e["position"] for e in whole})
    assert follow(client, "/events?limit=7") == whole
    first = client.get("/events", params={"limit": 7})
    assert first.headers["Ledger-Next-After"] == "7"
    assert first.links["next"]["url"] == "/events?limit=7&after=7"


def test_filters_by_type_sop_and_unit(client: TestClient, ledger: Ledger) -> None:
    b_cases = open_cases(ledger, 2)
    a_cases = open_cases(ledger, 2, A_SOP, A_UNIT)
    typed = follow(client, f"/events?limit=4&type={OPENED}&type={UNIT_REGISTERED}")
    assert {e["type"] for e in typed} == {OPENED, UNIT_REGISTERED}
    by_sop = follow(client, f"/events?limit=1&sop_id={A_SOP}")
    assert [e["subject"] for e in by_sop] == [str(c) for c in a_cases]
    by_unit = follow(client, f"/events?unit={B_UNIT}&type={OPENED}")
    assert [e["subject"] for e in by_unit] == [str(c) for c in b_cases]
    next_link = client.get(f"/events?limit=1&sop_id={A_SOP}").links["next"]["url"]
    assert f"sop_id={A_SOP}" in next_link  # filters carry over to the next page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=-1", "query.after"),
        ("after=abc", "query.after"),
        (f"after={2**63}", "query.after"),
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("type=id.go.sumbarprov.sop.case.nonsense.v1", "type"),
    ],
)
def test_bad_queries_are_problems(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"/events?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["field"] == field
    assert problem["type"].startswith("https://sop-ledger.sumbarprov.go.id/problems/")


def test_a_bad_last_event_id_is_a_problem_before_any_stream(client: TestClient) -> None:
    response = client.get("/events/stream", headers={"Last-Event-ID": "yesterday"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["field"] == "Last-Event-ID"


@pytest.mark.parametrize("scope", [Scope.INTEGRATOR, Scope.INSPECTOR, Scope.ADMIN])
def test_integrators_inspectors_and_admins_read_the_feed(
    client: TestClient, ledger: Ledger, scope: Scope
) -> None:
    token = issue_token(ledger, "197604152002121001", scope)
    assert client.get("/events", headers=auth_header(token)).status_code == 200


def test_others_are_refused(client: TestClient, ledger: Ledger) -> None:
    official = issue_token(ledger, "197604152002121001", Scope.OFFICIAL)
    assert client.get("/events", headers=auth_header(official)).status_code == 403
    anonymous = client.get("/events", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
