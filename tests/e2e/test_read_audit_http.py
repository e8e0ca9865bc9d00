"""Read audit over HTTP, on both stores: an inspector's reads of a case are recorded before
they are answered (with the stated purpose), listed by ``GET /cases/{id}/reads``; other
callers' reads are not; a bad purpose header is a 422 problem; the evidence bundle
downloads, verifies offline and is recorded too; a read that cannot be recorded is not
served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Scope
from ledger.application import utc_now
from ledger.core.clock import as_wib
from ledger.core.reads import ReadNotRecordedError
from ledger.demo.org import BIRO, DINAS, holder
from ledger.integrity.bundle import verify_bundle
from ledger.integrity.keys import generate_key
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger
from support.http import HttpWalker
from support.ledgers import FakeClock
from support.model import seeded_store
from support.pg_server import PostgresUnavailable

B = "dinas-bmcktr.pengukuran-kinerja"
KEPALA_BIRO = holder("kepala_biro", BIRO)
KADIS = holder("kepala_dinas", DINAS)
ORIGIN = "test.sop-ledger/read-audit"
EVIDENCE = "/cases/{case_id}/evidence"
PURPOSE = "Pemeriksaan kinerja BPK 2024 / BPK performance audit"


@pytest.fixture
def served(backend: str, clock: FakeClock) -> Iterator[tuple[HttpWalker, IntegrityStore]]:
    """The app on a seeded store, with the store's integrity tables wired in."""
    try:
        with seeded_store(backend, clock) as seeded:
            store = IntegrityStore(seeded.settings.ledger_target)
            try:
                app = create_app(seeded.ledger, integrity=store)
                with TestClient(app, raise_server_exceptions=False) as client:
                    yield HttpWalker(client, seeded.ledger), store
            finally:
                store.close()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


@pytest.fixture
def walker(served: tuple[HttpWalker, IntegrityStore]) -> HttpWalker:
    return served[0]


def _case(walker: HttpWalker, clock: FakeClock) -> UUID:
    case = walker.open(B, DINAS, "2024-Q3", clock.now, KADIS)
    walker.complete_step(case, 1, at=clock.advance(hours=1))
    return case


def _inspector(walker: HttpWalker, **extra: str) -> dict[str, str]:
    return walker.headers(KEPALA_BIRO, Scope.INSPECTOR) | extra


def _reads(walker: HttpWalker, case: UUID) -> list[dict[str, Any]]:
    response = walker.client.get(f"/cases/{case}/reads", headers=_inspector(walker))
    assert response.status_code == 200, response.text
    assert response.json()["case_id"] == str(case)
    return list(response.json()["reads"])


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/problems/{code}")
    assert " / " in body["title"]
    return body


def test_an_inspectors_read_is_recorded_with_its_purpose(
    walker: HttpWalker, clock: FakeClock
) -> None:
    case = _case(walker, clock)
    shown = walker.client.get(
        f"/cases/{case}",
        headers=_inspector(walker, **{"X-Audit-Purpose": PURPOSE, "X-Request-ID": "bpk-1"}),
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["id"] == str(case)

    [read] = _reads(walker, case)
    assert read["reader"] == KEPALA_BIRO
    assert read["scopes"] == ["inspector"]
    assert read["resource"] == f"GET /cases/{case}"
    assert read["subject"] == "case"
    assert read["purpose"] == PURPOSE
    assert read["request_id"] == "bpk-1"
    assert read["period"] is None
    assert read["recorded_at"] == as_wib(clock.now).isoformat()
    assert read["recorded_at"].endswith("+07:00")
    assert read["position"] == walker.ledger.max_position()
    UUID(read["event_id"])
    assert _reads(walker, case) == [read]  # listing the reads is not itself a read


def test_the_timeline_read_is_recorded_newest_last(walker: HttpWalker, clock: FakeClock) -> None:
    case = _case(walker, clock)
    assert walker.client.get(f"/cases/{case}", headers=_inspector(walker)).status_code == 200
    clock.advance(minutes=1)
    timeline = walker.client.get(f"/cases/{case}/events", headers=_inspector(walker))
    assert timeline.status_code == 200, timeline.text
    assert all(e["type"].startswith("case.") for e in timeline.json()["events"])

    reads = _reads(walker, case)
    assert [(r["subject"], r["purpose"]) for r in reads] == [("case", None), ("case-events", None)]
    assert reads[0]["position"] < reads[1]["position"]
    assert reads[1]["resource"] == f"GET /cases/{case}/events"


def test_an_officials_read_is_not_recorded(walker: HttpWalker, clock: FakeClock) -> None:
    case = _case(walker, clock)
    official = walker.headers(KADIS) | {"X-Audit-Purpose": PURPOSE}
    assert walker.client.get(f"/cases/{case}", headers=official).status_code == 200
    assert walker.client.get(f"/cases/{case}/events", headers=official).status_code == 200
    assert _reads(walker, case) == []
    _problem(walker.client.get(f"/cases/{case}/reads", headers=official), 403, "forbidden")


@pytest.mark.parametrize("purpose", ["x" * 501, "audit\x1bforged", "del\x7f"])
def test_a_bad_purpose_header_is_a_422_naming_it(
    walker: HttpWalker, clock: FakeClock, purpose: str
) -> None:
    case = _case(walker, clock)
    headers = _inspector(walker, **{"X-Audit-Purpose": purpose})
    before = walker.ledger.max_position()
    for path in (f"/cases/{case}", f"/cases/{case}/events", f"/cases/{case}/evidence"):
        response = walker.client.get(path, headers=headers)
        body = _problem(response, 422, "malformed-request")
        assert "X-Audit-Purpose" in body["field"]
    assert walker.ledger.max_position() == before


def test_unknown_cases_are_404_and_nothing_is_recorded(walker: HttpWalker) -> None:
    headers = _inspector(walker)
    before = walker.ledger.max_position()
    for tail in ("", "/events", "/evidence", "/reads"):
        response = walker.client.get(f"/cases/{uuid4()}{tail}", headers=headers)
        _problem(response, 404, "case-not-found")
    assert walker.ledger.max_position() == before


def test_the_evidence_bundle_verifies_and_its_download_is_recorded(
    served: tuple[HttpWalker, IntegrityStore], clock: FakeClock, tmp_path: Path
) -> None:
    walker, store = served
    case = _case(walker, clock)
    early = walker.client.get(f"/cases/{case}/evidence", headers=_inspector(walker))
    _problem(early, 409, "evidence-not-ready")
    assert _reads(walker, case) == []

    signer = generate_key(store, tmp_path / "key", ORIGIN, utc_now)
    assert store.checkpoint(signer, ORIGIN, utc_now) is not None
    admin = walker.headers(KEPALA_BIRO, Scope.ADMIN) | {"X-Audit-Purpose": PURPOSE}
    response = walker.client.get(f"/cases/{case}/evidence", headers=admin)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="evidence-{case}.json"'
    )
    result = verify_bundle(response.content, [signer.verifier()])
    assert result.ok, result.summary()
    assert result.events == walker.ledger.case(case).version
    [read] = _reads(walker, case)
    assert (read["subject"], read["scopes"], read["purpose"]) == (
        "evidence-case",
        ["admin"],
        PURPOSE,
    )
    assert read["resource"] == f"GET /cases/{case}/evidence"
    official = walker.headers(KADIS)
    _problem(walker.client.get(f"/cases/{case}/evidence", headers=official), 403, "forbidden")


def test_without_the_integrity_store_evidence_is_a_503(
    walker: HttpWalker, clock: FakeClock
) -> None:
    case = _case(walker, clock)
    app: Any = walker.client.app
    app.state.integrity = None
    response = walker.client.get(f"/cases/{case}/evidence", headers=_inspector(walker))
    _problem(response, 503, "integrity-unavailable")
    assert _reads(walker, case) == []


def test_a_read_that_cannot_be_recorded_is_not_served(
    walker: HttpWalker, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _case(walker, clock)

    def refuse(_self: Ledger, _command: object) -> None:
        raise ReadNotRecordedError("too many reads at once; retry")

    monkeypatch.setattr(Ledger, "record_read", refuse)
    for tail in ("", "/events"):
        response = walker.client.get(f"/cases/{case}{tail}", headers=_inspector(walker))
        body = _problem(response, 503, "read-not-recorded")
        assert "events" not in body
        assert "version" not in body
        assert response.headers["retry-after"] == "1"
        assert "etag" not in response.headers
    official = walker.client.get(f"/cases/{case}", headers=walker.headers(KADIS))
    assert official.status_code == 200
