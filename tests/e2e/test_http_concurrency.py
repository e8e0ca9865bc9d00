"""Concurrent writers over real sockets (both stores): one version, one winner; one
idempotency key, one event - however many clients send it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.app import create_app
from ledger.core.sop import Action
from ledger.demo.org import BIRO, holder
from ledger.ledger import Ledger
from support.http import HttpWalker
from support.ledgers import FakeClock
from support.live_server import live_server

C = "biro-org.evaluasi-kinerja-internal"
KEPALA_BIRO = holder("kepala_biro", BIRO)


@pytest.fixture
def served(ledger: Ledger) -> Iterator[tuple[str, HttpWalker]]:
    with live_server(create_app(ledger)) as base, httpx.Client(base_url=base) as client:
        yield base, HttpWalker(client, ledger)  # type: ignore[arg-type]


def _all_at_once(
    count: int, send: Callable[[httpx.Client], httpx.Response], base: str
) -> list[httpx.Response]:
    """``count`` clients, each on its own connection, released together."""
    barrier = threading.Barrier(count)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait()
            response = send(client)
            with lock:
                responses.append(response)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def _open(walker: HttpWalker, clock: FakeClock) -> tuple[UUID, dict[str, Any], dict[str, str]]:
    case = walker.open(C, BIRO, "2024-Q3", clock.now, KEPALA_BIRO)
    body = walker.act_body(case, 1, Action.DISPOSITION, None, clock.advance(hours=1))
    return case, body, walker.headers(KEPALA_BIRO)


@pytest.mark.parametrize("clients", [2, 8])
def test_same_version_exactly_one_wins(
    served: tuple[str, HttpWalker], clock: FakeClock, clients: int
) -> None:
    base, walker = served
    case, body, headers = _open(walker, clock)
    responses = _all_at_once(
        clients,
        lambda c: c.post(
            f"/cases/{case}/actions", json=body, headers={**headers, "If-Match": '"1"'}
        ),
        base,
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [412] * (clients - 1), [r.text for r in responses]
    for lost in (r for r in responses if r.status_code == 412):
        assert lost.json()["type"].endswith("/stale-version")
    state = walker.ledger.case(case)
    assert state.version == 2
    assert len(walker.ledger.timeline(case)) == 2


def test_idempotency_key_replayed_ten_times_stores_one_event(
    served: tuple[str, HttpWalker], clock: FakeClock
) -> None:
    base, walker = served
    case, body, headers = _open(walker, clock)
    keyed = {**headers, "Idempotency-Key": "disposisi-001"}
    with httpx.Client(base_url=base) as client:
        answers = [
            client.post(f"/cases/{case}/actions", json=body, headers=keyed) for _ in range(10)
        ]
        assert {r.status_code for r in answers} == {201}
        assert len({r.text for r in answers}) == 1
        changed = client.post(
            f"/cases/{case}/actions", json={**body, "note": "lain"}, headers=keyed
        )
        assert changed.status_code == 422
        assert changed.json()["type"].endswith("/idempotency-key-reused")
    acts = [e for _, e in walker.ledger.timeline(case) if e.TOPIC == "case.disposition"]
    assert len(acts) == 1
    assert str(acts[0].event_id) == answers[0].json()["event_id"]


def test_idempotency_key_sent_by_ten_clients_at_once_stores_one_event(
    served: tuple[str, HttpWalker], clock: FakeClock
) -> None:
    base, walker = served
    case, body, headers = _open(walker, clock)
    keyed = {**headers, "Idempotency-Key": "disposisi-serentak"}
    responses = _all_at_once(
        10, lambda c: c.post(f"/cases/{case}/actions", json=body, headers=keyed), base
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert walker.ledger.case(case).version == 2
