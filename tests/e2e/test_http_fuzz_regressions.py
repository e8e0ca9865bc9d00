"""Bugs the schema-driven fuzzing (``test_openapi_fuzz.py``) and the probing around it
found, each pinned by a plain test on both stores. Every one of them was a 500 (or a wrong
200/201) before its fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Scope
from ledger import ids
from ledger.commands import OpenCase
from ledger.core.errors import CaseNotFoundError
from ledger.core.sop import Action
from ledger.demo.org import BIRO, holder
from ledger.ledger import Ledger
from projections.service import ViewService
from support.auth import auth_header, issue_token
from support.http import HttpWalker, api_client
from support.ledgers import FakeClock
from support.views import runner, view_store

C = "biro-org.evaluasi-kinerja-internal"
KEPALA_BIRO = holder("kepala_biro", BIRO)
PROBLEM = "application/problem+json"


@pytest.fixture
def walker(ledger: Ledger) -> Iterator[HttpWalker]:
    with api_client(ledger, read_wait_seconds=0.5) as client:
        yield HttpWalker(client, ledger)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/problems/{code}"), body
    return body


def _reader(walker: HttpWalker) -> dict[str, str]:
    return walker.headers(KEPALA_BIRO, Scope.INSPECTOR)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        # year 1 at +05:00 is before datetime.min in UTC: astimezone() overflowed
        (f"/people/{KEPALA_BIRO}/activity", {"since": "0001-01-01T00:00:00+05:00"}),
        (f"/people/{KEPALA_BIRO}/activity", {"until": "9999-12-31T23:59:59-05:00"}),
        ("/reports/sla", {"period": "2024-Q3", "as_of": "0001-01-01T00:00:00+05:00"}),
        # a number was read as a Unix timestamp although the schema says date-time
        (f"/people/{KEPALA_BIRO}/activity", {"until": "3.666260466614534e+16"}),
    ],
)
def test_unrepresentable_or_numeric_times_in_queries_are_refused(
    walker: HttpWalker, path: str, params: dict[str, str]
) -> None:
    response = walker.client.get(path, params=params, headers=_reader(walker))
    body = _problem(response, 422, "malformed-request")
    assert body["field"].startswith("query.")


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00+14:00", 1727740800])
def test_unrepresentable_or_numeric_times_in_bodies_are_refused(
    walker: HttpWalker, occurred_at: object
) -> None:
    before = walker.ledger.max_position()
    body = {"sop_id": C, "unit": BIRO, "period": "2024-Q3", "occurred_at": occurred_at}
    response = walker.client.post("/cases", json=body, headers=walker.headers(KEPALA_BIRO))
    assert _problem(response, 422, "malformed-request")["field"] == "body.occurred_at"
    assert walker.ledger.max_position() == before + 1  # the token only


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/cases", {"sop_id": "\x00"}),
        ("/cases", {"unit": "a\x00b", "period": "x\x00"}),
        ("/archive", {"number": "\x00", "subject": "\x00", "signer": "\x00"}),
        (f"/people/{KEPALA_BIRO}/activity", {"role": "\x00"}),
        ("/reports/sla", {"period": "2024-Q3", "sop_id": "\x00", "unit": "\x00"}),
    ],
)
def test_nul_characters_in_filters_are_refused(
    walker: HttpWalker, path: str, params: dict[str, str]
) -> None:
    """PostgreSQL text cannot hold NUL: the query raised DataError (a 500)."""
    response = walker.client.get(path, params=params, headers=_reader(walker))
    _problem(response, 422, "malformed-request")


def test_nul_characters_in_an_act_are_refused_and_nothing_is_stored(
    walker: HttpWalker, clock: FakeClock
) -> None:
    """On PostgreSQL the append failed in the database (a 500); SQLite stored it, so the two
    stores disagreed."""
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    at = clock.advance(hours=1)
    body = walker.act_body(case, 1, Action.DISPOSITION, None, at)
    walker.headers(KEPALA_BIRO)
    before = walker.ledger.max_position()
    url = f"/cases/{case}/actions"
    for bad in (
        {**body, "note": "a\x00b"},
        {**body, "documents": [{**body["documents"][0], "title": "Disposisi\x00"}]},
    ):
        response = walker.client.post(url, json=bad, headers=walker.headers(KEPALA_BIRO))
        _problem(response, 422, "malformed-request")
    assert walker.ledger.max_position() == before
    assert walker.act(case, 1, Action.DISPOSITION, at=at).status_code == 201


def test_ids_of_other_aggregates_are_no_cases(walker: HttpWalker, clock: FakeClock) -> None:
    """A person's id under /cases/: the cached Person was taken for a case (500 on reading
    and recording), and the timeline listed the person's directory events (200)."""
    client, ledger = walker.client, walker.ledger
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    at = clock.advance(hours=1)
    assert walker.act(case, 1, Action.DISPOSITION, at=at).status_code == 201  # caches them
    person = ids.person_id(KEPALA_BIRO)
    headers = walker.headers(KEPALA_BIRO, Scope.INSPECTOR)
    _problem(client.get(f"/cases/{person}", headers=headers), 404, "case-not-found")
    _problem(client.get(f"/cases/{person}/events", headers=headers), 404, "case-not-found")
    body = walker.act_body(case, 2, Action.DRAFT, None, at)
    recorded = client.post(
        f"/cases/{person}/actions", json=body, headers=walker.headers(KEPALA_BIRO)
    )
    _problem(recorded, 404, "case-not-found")
    for lookup in (ledger.case, ledger.timeline):
        with pytest.raises(CaseNotFoundError):
            lookup(person)
    assert ledger.find_case(person) is None
    found = ledger.person(KEPALA_BIRO)  # the cache still holds the person, untouched
    assert found is not None
    assert found.nip == KEPALA_BIRO


def test_reads_before_the_first_build_of_the_views(ledger: Ledger) -> None:
    """Before the views' first build the queries hit tables that did not exist yet (a
    500): list reads now wait, then answer 503; one case answers without its board."""
    opened = ledger.open_case(
        OpenCase(sop_id=C, unit=BIRO, period="2024-Q3", recorded_by=KEPALA_BIRO)
    )
    headers = auth_header(issue_token(ledger, KEPALA_BIRO, Scope.INSPECTOR))
    with view_store(ledger) as store:
        views = ViewService(runner(ledger, store, page_size=500))
        app = create_app(ledger, views, read_wait_seconds=0.1)
        client = TestClient(app, raise_server_exceptions=False)  # no lifespan: never built
        for path, params in (
            ("/cases", {}),
            ("/esr", {"period": "2024-Q3"}),
            ("/reports/sla", {"period": "2024-Q3"}),
            ("/archive", {}),
            (f"/people/{KEPALA_BIRO}/activity", {}),
        ):
            response = client.get(path, params=params, headers=headers)
            _problem(response, 503, "views-unavailable")
        one = client.get(f"/cases/{opened.aggregate_id}", headers=headers)
        assert one.status_code == 200, one.text
        assert one.json()["board"] is None
        views.stop()


@pytest.mark.parametrize("period", ["0000-Q4", "0000-TW1"])
def test_year_zero_is_no_period(walker: HttpWalker, period: str) -> None:
    """Year 0 was accepted: a case opened for period "0-Q4" (which no query could name
    again) and the ESR register answered for "0-Q1"."""
    body = {"sop_id": C, "unit": BIRO, "period": period}
    response = walker.client.post("/cases", json=body, headers=walker.headers(KEPALA_BIRO))
    _problem(response, 422, "invalid-period")
    esr = walker.client.get("/esr", params={"period": period}, headers=_reader(walker))
    _problem(esr, 422, "invalid-period")
