"""The case API end to end over HTTP, on both stores: whole SOP runs, every refusal as
problem JSON, and nothing written by a refused request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from api.auth import Scope
from ledger import ids
from ledger.commands import AssignRole
from ledger.core.sop import Action
from ledger.demo.org import BIRO, DINAS, holder
from ledger.ledger import Ledger
from support.http import HttpWalker, api_client
from support.ledgers import FakeClock

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
KEPALA_BIRO = holder("kepala_biro", BIRO)
KASUBAG = holder("kasubag_tu", BIRO)
KABAG_TTL = holder("kabag_ttl", BIRO)
KADIS = holder("kepala_dinas", DINAS)


@pytest.fixture
def walker(ledger: Ledger) -> Iterator[HttpWalker]:
    with api_client(ledger) as client:
        yield HttpWalker(client, ledger)


def _problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/problems/{code}")
    assert body["status"] == status
    assert " / " in body["title"]
    if field is not None:
        assert body["field"] == field
    return dict(body)


def test_a_then_c_through_the_hand_over(walker: HttpWalker, clock: FakeClock) -> None:
    ledger, client = walker.ledger, walker.client
    case_a = walker.open(A, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    branches = ledger.case(case_a).branches
    walker.complete_step(case_a, 1, at=clock.advance(hours=1))
    walker.complete_step(case_a, 2, at=clock.advance(hours=1))
    for step in (3, 4, 5):
        for branch in branches:
            walker.complete_step(case_a, step, branch, at=clock.advance(hours=1))
    for step in (6, 7):
        walker.complete_step(case_a, step, at=clock.advance(hours=2))
    handover = walker.complete_step(case_a, 8, at=clock.advance(hours=1))[-1].json()

    headers = walker.headers(KEPALA_BIRO, Scope.INSPECTOR)
    shown = client.get(f"/cases/{case_a}", headers=headers)
    assert shown.json()["status"] == "completed"
    assert shown.headers["etag"] == f'"{shown.json()["version"]}"'
    case_c = ids.case_id(C, BIRO, "2024-Q3", 1)
    timeline = client.get(f"/cases/{case_c}/events", headers=headers).json()["events"]
    assert [e["type"] for e in timeline] == ["case.opened", "case.disposition"]
    assert timeline[1]["handed_over_from"] == str(handover["event_id"])
    assert timeline[1]["position"] > timeline[0]["position"]
    assert timeline[1]["recorded_at"].endswith("+07:00")
    for step in range(2, 8):
        walker.complete_step(case_c, step, at=clock.advance(hours=2))
    assert client.get(f"/cases/{case_c}", headers=headers).json()["status"] == "completed"


def test_b_with_a_return_at_step_7(walker: HttpWalker, clock: FakeClock) -> None:
    ledger, client = walker.ledger, walker.client
    case_b = walker.open(B, DINAS, "2024-Q3", clock.now, KADIS)
    branches = ledger.case(case_b).branches
    for step in (1, 2, 3):
        walker.complete_step(case_b, step, at=clock.advance(hours=1))
    for branch in branches:
        walker.complete_step(case_b, 4, branch, at=clock.advance(hours=1))
    for step in (5, 6):
        walker.complete_step(case_b, step, at=clock.advance(hours=1))
    back = walker.act(
        case_b,
        7,
        Action.RETURN_FOR_COMPLETION,
        at=clock.advance(hours=1),
        return_branches=(branches[1],),
    )
    assert back.status_code == 201, back.text
    shown = client.get(f"/cases/{case_b}", headers=walker.headers(KADIS)).json()
    assert shown["returned_for_completion"] is True
    assert shown["awaiting"] == [{"step": 4, "branch": branches[1]}]
    first_of_5 = ledger.case(case_b).sop.by_number[5].actions[0]
    early = walker.act(case_b, 5, first_of_5, at=clock.advance(minutes=10))
    _problem(early, 422, "join-incomplete")
    walker.complete_step(case_b, 4, branches[1], at=clock.advance(hours=3))
    for step in (5, 6, 7, 8, 9):
        walker.complete_step(case_b, step, at=clock.advance(hours=1))
    final = client.get(f"/cases/{case_b}", headers=walker.headers(KADIS)).json()
    assert final["status"] == "completed"
    assert final["returned_for_completion"] is False


def test_every_refusal_is_problem_json_and_writes_nothing(
    walker: HttpWalker, clock: FakeClock
) -> None:
    ledger, client = walker.ledger, walker.client
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    at = clock.advance(hours=1)
    walker.headers(KEPALA_BIRO), walker.headers(KASUBAG)  # tokens are events too: issue first
    before = ledger.max_position()

    _problem(walker.act(case, 2, Action.DRAFT, at=at, by=KASUBAG), 422, "step-order")
    _problem(walker.act(case, 1, Action.DISPOSITION, at=at, by=KASUBAG), 422, "role-not-held")
    unknown = walker.act_body(case, 1, Action.DISPOSITION, None, at) | {"step": 9}
    _problem(
        client.post(f"/cases/{case}/actions", json=unknown, headers=walker.headers(KEPALA_BIRO)),
        422,
        "unknown-step",
    )
    duplicate = {"sop_id": C, "unit": BIRO, "period": "2024-TW3"}
    _problem(
        client.post("/cases", json=duplicate, headers=walker.headers(KEPALA_BIRO)),
        409,
        "case-already-open",
    )
    for bad, field in (
        ({"step": "one", "action": "disposition"}, "body.step"),
        ({"step": 1, "action": "teleport"}, "body.action"),
        ({"step": 1, "action": "disposition", "actr": "x"}, "body.actr"),
        ({"step": 1, "action": "disposition", "occurred_at": "2024-10-01T09:00:00"}, None),
    ):
        response = client.post(
            f"/cases/{case}/actions", json=bad, headers=walker.headers(KEPALA_BIRO)
        )
        body = _problem(response, 422, "malformed-request", field)
        assert body["detail"]
    not_json = client.post(
        f"/cases/{case}/actions",
        content=b"{not json",
        headers={**walker.headers(KEPALA_BIRO), "content-type": "application/json"},
    )
    _problem(not_json, 422, "malformed-request")
    stale = walker.act(case, 1, Action.DISPOSITION, at=at, headers={"If-Match": '"7"'})
    assert _problem(stale, 412, "stale-version", "expected_version")["current_version"] == 1
    _problem(
        walker.act(case, 1, Action.DISPOSITION, at=at, headers={"If-Match": "seven"}),
        400,
        "invalid-if-match",
        "If-Match",
    )
    assert ledger.max_position() == before

    ok = walker.act(case, 1, Action.DISPOSITION, at=at, headers={"If-Match": '"1"'})
    assert ok.status_code == 201, ok.text
    assert ok.json()["version"] == 2
    assert ok.headers["etag"] == '"2"'
    for step in (2, 3, 4):
        walker.complete_step(case, step, at=clock.advance(hours=1))
    ledger.assign_role(
        AssignRole(
            nip=KASUBAG, role="kabag_ttl", unit=BIRO, valid_from=datetime(2024, 1, 1, tzinfo=UTC)
        )
    )
    position = ledger.max_position()
    segregation = walker.act(case, 5, Action.VALIDATION, at=clock.now, by=KASUBAG)
    _problem(segregation, 422, "segregation-of-duties")
    assert ledger.max_position() == position


def test_access_by_scope_and_clerk_on_behalf(walker: HttpWalker, clock: FakeClock) -> None:
    ledger, client = walker.ledger, walker.client
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    at = clock.advance(hours=1)
    body = walker.act_body(case, 1, Action.DISPOSITION, None, at)
    url = f"/cases/{case}/actions"
    _problem(client.post(url, json=body), 401, "unauthenticated")
    inspector = walker.headers(KEPALA_BIRO, Scope.INSPECTOR)
    _problem(client.post(url, json=body, headers=inspector), 403, "forbidden")
    as_other = body | {"on_behalf_of": KEPALA_BIRO}
    _problem(client.post(url, json=as_other, headers=walker.headers(KASUBAG)), 403, "forbidden")
    clerk = walker.headers(KASUBAG, Scope.CLERK)
    recorded = client.post(url, json=as_other, headers=clerk)
    assert recorded.status_code == 201, recorded.text
    event = client.get(f"/cases/{case}/events", headers=inspector).json()["events"][-1]
    assert (event["actor"], event["recorded_by"]) == (KEPALA_BIRO, KASUBAG)
    assert event["occurred_at"] == at.astimezone(event_tz(event)).isoformat()
    assert client.get(f"/cases/{case}").status_code == 401
    _problem(client.get("/no-such-thing", headers=inspector), 404, "not-found")
    _problem(client.delete(f"/cases/{case}", headers=inspector), 405, "method-not-allowed")
    assert ledger.case(case).version == 2


def event_tz(event: dict) -> object:
    return datetime.fromisoformat(event["occurred_at"]).tzinfo


def test_reads_wait_for_views_or_answer_409(ledger: Ledger, clock: FakeClock) -> None:
    with api_client(ledger, read_wait_seconds=3.0) as client:
        walker = HttpWalker(client, ledger)
        opened = client.post(
            "/cases",
            json={"sop_id": C, "unit": BIRO, "period": "2024-Q3"},
            headers=walker.headers(KEPALA_BIRO),
        ).json()
        headers = walker.headers(KEPALA_BIRO, Scope.INSPECTOR)
        board = client.get("/cases", params={"min_position": opened["position"]}, headers=headers)
        assert board.status_code == 200, board.text
        assert [row["case_id"] for row in board.json()["items"]] == [opened["id"]]
        assert board.json()["views_position"] >= opened["position"]
        ahead = client.get("/cases", params={"min_position": 10**9}, headers=headers)
        body = _problem(ahead, 409, "views-behind", "min_position")
        assert body["position"] >= opened["position"]


def test_case_queries_from_the_views(walker: HttpWalker, clock: FakeClock) -> None:
    client = walker.client
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    for step in range(1, 8):
        last = walker.complete_step(case, step, at=clock.advance(hours=2))[-1].json()
    headers = walker.headers(KEPALA_BIRO, Scope.INSPECTOR)
    wait = {"min_position": last["position"]}
    report = client.get("/reports/sla", params={"period": "2024-Q4", **wait}, headers=headers)
    assert report.status_code == 200, report.text
    figures = report.json()
    assert figures["manifest"]["source"] == "live views"
    assert sum(g["executions"] for g in figures["groups"]) == len(figures["executions"]) > 0
    replay = client.get(
        "/reports/sla",
        params={"period": "2024-Q4", "as_of": clock.now.isoformat()},
        headers=headers,
    ).json()
    assert replay["content_sha256"] != figures["content_sha256"]  # as_of is part of the content
    assert replay["executions"] == figures["executions"]
    archive = client.get("/archive", params={"unit": BIRO, **wait}, headers=headers).json()
    assert archive["items"]
    assert all(item["case_id"] == str(case) for item in archive["items"])
    done = client.get(f"/people/{KEPALA_BIRO}/activity", params=wait, headers=headers).json()
    assert {item["case_id"] for item in done["items"]} == {str(case)}
    esr = client.get("/esr", params={"period": "2024-Q3", **wait}, headers=headers)
    assert esr.status_code == 200
    _problem(client.get("/esr", params={"period": "Q5"}, headers=headers), 422, "invalid-period")
    bad_nip = client.get("/people/12/activity", headers=headers)
    _problem(bad_nip, 422, "malformed-request")
