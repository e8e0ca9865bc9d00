"""The ``/ledger`` routes end to end, on both stores: what the API hands out verifies with
nothing but the standard algorithms (a C2SP note opened with the key from ``/ledger/keys``,
RFC 9162 inclusion and consistency proofs); every refusal is a problem document naming
the field; the routes answer as their OpenAPI says (schemathesis). Also the checkpointer
thread behind them, and how the composition root builds it."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.auth import Scope
from api.responses import (
    EXAMPLE_NOTE,
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    SigningKeyOut,
)
from ledger.bootstrap import build_checkpointer, open_integrity
from ledger.core import merkle
from ledger.core.checkpoint import Checkpoint, Signer, Verifier, generate_signer, open_checkpoint
from ledger.core.clock import as_wib
from ledger.demo.org import BIRO, holder
from ledger.integrity.checkpointer import Checkpointer
from ledger.integrity.keys import generate_key
from ledger.integrity.store import IntegrityStore, UnknownSignerError
from ledger.ledger import Ledger
from support.auth import auth_header, issue_token
from support.http import HttpWalker
from support.ledgers import FakeClock
from support.webhooks import settings_of

A = "biro-org.pengukuran-kinerja"
KEPALA_BIRO = holder("kepala_biro", BIRO)
ORIGIN = "test.sop-ledger/proofs"
PROBLEM = "application/problem+json"


@dataclass
class Service:
    client: TestClient
    walker: HttpWalker
    store: IntegrityStore
    checkpointer: Checkpointer

    def as_(self, *scopes: Scope) -> dict[str, str]:
        return self.walker.headers(KEPALA_BIRO, *scopes)

    def sign(self) -> dict[str, Any]:
        response = self.client.post("/ledger/checkpoints", headers=self.as_(Scope.ADMIN))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.as_(Scope.INSPECTOR))
        assert response.status_code == 200, response.text
        return response.json()

    def verifiers(self) -> list[Verifier]:
        return [Verifier.from_text(k["verifier_key"]) for k in self.get("/ledger/keys")]

    def signed_head(self, tree_size: int | None = None) -> Checkpoint:
        """The checkpoint as a client sees it: the text note, opened with the keys."""
        params = {} if tree_size is None else {"tree_size": tree_size}
        response = self.client.get(
            "/ledger/checkpoint", params=params, headers=self.as_(Scope.INSPECTOR)
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        head, names = open_checkpoint(response.content, self.verifiers())
        assert names == [ORIGIN]
        return head


@pytest.fixture
def integrity(ledger: Ledger) -> Iterator[IntegrityStore]:
    store = open_integrity(settings_of(ledger))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def signer(integrity: IntegrityStore, tmp_path: Path, clock: FakeClock) -> Signer:
    return generate_key(integrity, tmp_path / "checkpoint.key", ORIGIN, clock)


@pytest.fixture
def service(
    ledger: Ledger, integrity: IntegrityStore, signer: Signer, clock: FakeClock
) -> Iterator[Service]:
    checkpointer = Checkpointer(integrity, signer, ORIGIN, 3600, clock)
    app = create_app(ledger, integrity=integrity, checkpointer=checkpointer)
    with TestClient(app, raise_server_exceptions=False) as client:
        walker = HttpWalker(client, ledger)
        for scope in Scope:  # issued up front: issuing a token appends an event
            walker.headers(KEPALA_BIRO, scope)
        yield Service(client, walker, integrity, checkpointer)


def _record(service: Service, clock: FakeClock, period: str, steps: int = 2) -> UUID:
    """A case opened over HTTP and its first (case-level) steps recorded."""
    case = service.walker.open(A, BIRO, period, clock.now, KEPALA_BIRO)
    for step in range(1, steps + 1):
        service.walker.complete_step(case, step, at=clock.advance(hours=1))
    return case


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _problem(response: Any, status: int, code: str | None, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    if code is not None:
        assert body["type"].endswith(f"/problems/{code}"), body
    assert body["status"] == status
    assert " / " in body["title"]
    assert body["field"] == field, body
    assert body["request_id"]
    return body


# --- proofs that verify ----------------------------------------------------------------------


def test_inclusion_proofs_verify_against_the_signed_note(
    service: Service, ledger: Ledger, clock: FakeClock
) -> None:
    case = _record(service, clock, "2024-Q3")
    signed = service.sign()
    head = service.signed_head()
    assert (head.origin, head.size) == (ORIGIN, signed["tree_size"])
    assert head.size == service.store.sealed_size()
    sealed = {record.position: record for record in service.store.records_of(case)}
    positions = [position for position, _ in ledger.timeline(case)]
    assert sorted(sealed) == positions
    for position in positions:
        proof = service.get(f"/ledger/proofs/inclusion/{position}")
        InclusionProofOut.model_validate(proof)
        assert (proof["position"], proof["tree_size"]) == (position, head.size)
        leaf = bytes.fromhex(proof["leaf_hash"])
        assert (leaf, proof["leaf_index"]) == (
            sealed[position].leaf_hash,
            sealed[position].leaf_index,
        )
        path = [_b64(h) for h in proof["proof"]]
        assert merkle.verify_inclusion(proof["leaf_index"], head.size, leaf, path, head.root_hash)
        assert _b64(proof["root_hash"]) == head.root_hash
        assert proof["checkpoint"] == signed["note"]
        assert not merkle.verify_inclusion(
            proof["leaf_index"], head.size, merkle.leaf_hash(b"forged"), path, head.root_hash
        )


def test_consistency_between_two_checkpoints_and_proofs_in_the_older_tree(
    service: Service, ledger: Ledger, clock: FakeClock
) -> None:
    early_case = _record(service, clock, "2024-Q2")
    first = service.sign()["tree_size"]
    for period in ("2024-Q3", "2024-Q4"):
        _record(service, clock, period)
    second = service.sign()["tree_size"]
    assert first < second == service.store.sealed_size()
    old, new = service.signed_head(first), service.signed_head(second)
    body = service.get("/ledger/proofs/consistency", first=first, second=second)
    ConsistencyProofOut.model_validate(body)
    assert (body["first"], body["second"]) == (first, second)
    assert (_b64(body["first_root"]), _b64(body["second_root"])) == (old.root_hash, new.root_hash)
    proof = [_b64(h) for h in body["proof"]]
    assert proof
    assert merkle.verify_consistency(first, second, old.root_hash, new.root_hash, proof)
    assert not merkle.verify_consistency(first, second, new.root_hash, new.root_hash, proof)
    assert service.get("/ledger/proofs/consistency", first=first) == body  # second: the latest
    empty = service.get("/ledger/proofs/consistency", first=0)
    assert empty["proof"] == []
    assert merkle.verify_consistency(
        0, second, _b64(empty["first_root"]), new.root_hash, [_b64(h) for h in empty["proof"]]
    )
    same = service.get("/ledger/proofs/consistency", first=first, second=first)
    assert (same["proof"], _b64(same["second_root"])) == ([], old.root_hash)
    # an event of the older tree, proven in it and in the newer one
    position = ledger.timeline(early_case)[-1][0]
    for size, root, note in ((first, old.root_hash, True), (second, new.root_hash, True)):
        proof_body = service.get(f"/ledger/proofs/inclusion/{position}", tree_size=size)
        assert proof_body["tree_size"] == size
        assert (proof_body["checkpoint"] is not None) is note
        assert merkle.verify_inclusion(
            proof_body["leaf_index"],
            size,
            bytes.fromhex(proof_body["leaf_hash"]),
            [_b64(h) for h in proof_body["proof"]],
            root,
        )


def test_a_tree_size_without_its_own_checkpoint_still_proves_but_carries_no_note(
    service: Service, clock: FakeClock
) -> None:
    _record(service, clock, "2024-Q3")
    size = service.sign()["tree_size"]
    proof = service.get("/ledger/proofs/inclusion/1", tree_size=size - 1)
    assert proof["checkpoint"] is None
    assert proof["tree_size"] == size - 1
    between = service.get("/ledger/proofs/consistency", first=size - 1, second=size)
    head = service.signed_head(size)
    assert merkle.verify_inclusion(
        proof["leaf_index"],
        size - 1,
        bytes.fromhex(proof["leaf_hash"]),
        [_b64(h) for h in proof["proof"]],
        _b64(between["first_root"]),
    )
    assert merkle.verify_consistency(
        size - 1,
        size,
        _b64(between["first_root"]),
        head.root_hash,
        [_b64(h) for h in between["proof"]],
    )


def test_the_checkpoint_as_text_and_as_json(service: Service, clock: FakeClock) -> None:
    _record(service, clock, "2024-Q3", steps=1)
    signed = service.sign()
    at = clock.now
    CheckpointOut.model_validate(signed)
    headers = service.as_(Scope.CLERK)
    text = service.client.get("/ledger/checkpoint", headers=headers)
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["vary"] == "Accept"
    assert text.text == signed["note"]
    assert text.text.splitlines()[:4] == [
        ORIGIN,
        str(signed["tree_size"]),
        signed["root_hash"],
        f"time {at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
    ]
    as_json = service.client.get(
        "/ledger/checkpoint", headers={**headers, "Accept": "application/json"}
    )
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json() == signed
    assert signed["signed_at"] == as_wib(at).isoformat()
    assert signed["key_name"] == ORIGIN
    for accept, media in (
        ("text/plain;q=0.5, application/json", "application/json"),
        ("application/*", "application/json"),
        ("*/*", "text/plain; charset=utf-8"),
        ("application/json;q=0.1, text/*", "text/plain; charset=utf-8"),
        ("text/html", "text/plain; charset=utf-8"),
        ("application/json;q=x, ;;,", "text/plain; charset=utf-8"),
    ):
        answer = service.client.get("/ledger/checkpoint", headers={**headers, "Accept": accept})
        assert (answer.status_code, answer.headers["content-type"]) == (200, media), accept
    by_size = service.client.get(
        "/ledger/checkpoint", params={"tree_size": signed["tree_size"]}, headers=headers
    )
    assert by_size.text == signed["note"]


def test_keys_list_the_active_and_retired_keys_and_old_notes_still_verify(
    service: Service, integrity: IntegrityStore, clock: FakeClock
) -> None:
    _record(service, clock, "2024-Q3", steps=1)
    old_note = service.sign()["note"]
    (active,) = service.get("/ledger/keys")
    SigningKeyOut.model_validate(active)
    verifier = Verifier.from_text(active["verifier_key"])
    assert active == {
        "verifier_key": verifier.to_text(),
        "name": ORIGIN,
        "key_id": verifier.key_id.hex(),
        "status": "active",
        "since": "2024-10-01T08:00:00+07:00",
    }
    successor = Signer.from_text(generate_signer(ORIGIN)[0])
    retired_at = clock.advance(hours=1)
    integrity.add_key(verifier, "retired", retired_at)
    integrity.add_key(successor.verifier(), "active", retired_at)
    keys = service.get("/ledger/keys")
    assert [(k["key_id"], k["status"]) for k in keys] == [
        (verifier.key_id.hex(), "retired"),
        (successor.key_id.hex(), "active"),
    ]
    assert keys[0]["since"] == keys[1]["since"] == as_wib(retired_at).isoformat()
    assert open_checkpoint(old_note.encode(), service.verifiers())[1] == [ORIGIN]


def test_signing_on_demand(service: Service, clock: FakeClock) -> None:
    _record(service, clock, "2024-Q3", steps=1)
    response = service.client.post("/ledger/checkpoints", headers=service.as_(Scope.ADMIN))
    assert response.status_code == 201
    made = response.json()
    assert response.headers["location"] == f"/ledger/checkpoint?tree_size={made['tree_size']}"
    again = service.client.post("/ledger/checkpoints", headers=service.as_(Scope.ADMIN))
    assert (again.status_code, again.json()) == (200, made)  # nothing new: the same one
    assert "location" not in again.headers
    assert len(service.store.checkpoints()) == 1


# --- refusals --------------------------------------------------------------------------------


def test_nothing_but_health_answers_without_a_token(service: Service) -> None:
    for method, path in (
        ("GET", "/ledger/checkpoint"),
        ("GET", "/ledger/keys"),
        ("GET", "/ledger/proofs/inclusion/1"),
        ("GET", "/ledger/proofs/consistency?first=0"),
        ("POST", "/ledger/checkpoints"),
    ):
        response = service.client.request(method, path)
        _problem(response, 401, "unauthenticated", "Authorization")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert service.client.get("/healthz").status_code == 200


def test_every_scope_reads_and_only_admin_signs(service: Service) -> None:
    service.sign()
    for scope in (Scope.INSPECTOR, Scope.INTEGRATOR, Scope.OFFICIAL, Scope.CLERK):
        headers = service.as_(scope)
        for path in ("/ledger/checkpoint", "/ledger/keys", "/ledger/proofs/inclusion/1"):
            assert service.client.get(path, headers=headers).status_code == 200, (scope, path)
        refused = service.client.post("/ledger/checkpoints", headers=headers)
        body = _problem(refused, 403, "forbidden", "Authorization")
        assert "admin" in body["detail"]


def test_before_the_first_checkpoint_the_routes_say_so(service: Service) -> None:
    headers = service.as_(Scope.INSPECTOR)
    for path in (
        "/ledger/checkpoint",
        "/ledger/proofs/inclusion/1",
        "/ledger/proofs/consistency?first=0",
    ):
        body = _problem(service.client.get(path, headers=headers), 404, "no-checkpoint", None)
        assert body["title"] == "Belum ada checkpoint bertanda tangan / No signed checkpoint yet"
    assert service.get("/ledger/keys")  # the key is registered already


def test_every_bad_input_is_a_problem_naming_the_field(
    service: Service, ledger: Ledger, clock: FakeClock
) -> None:
    size = service.sign()["tree_size"]
    case = _record(service, clock, "2024-Q3", steps=1)  # sealed, not yet signed
    newer = ledger.timeline(case)[0][0]
    huge = 2**63
    cases: list[tuple[str, dict[str, Any], int, str | None, str | None]] = [
        ("/ledger/checkpoint", {"tree_size": size + 1}, 404, "checkpoint-not-found", "tree_size"),
        ("/ledger/checkpoint", {"tree_size": -1}, 422, "malformed-request", "query.tree_size"),
        ("/ledger/checkpoint", {"tree_size": "x"}, 422, "malformed-request", "query.tree_size"),
        ("/ledger/checkpoint", {"tree_size": huge}, 422, "malformed-request", "query.tree_size"),
        ("/ledger/proofs/inclusion/0", {}, 422, "malformed-request", "path.position"),
        ("/ledger/proofs/inclusion/abc", {}, 422, "malformed-request", "path.position"),
        (f"/ledger/proofs/inclusion/{huge}", {}, 422, "malformed-request", "path.position"),
        (f"/ledger/proofs/inclusion/{newer}", {}, 404, "not-in-tree", "position"),
        (f"/ledger/proofs/inclusion/{huge - 1}", {}, 404, "not-in-tree", "position"),
        ("/ledger/proofs/inclusion/5", {"tree_size": 3}, 404, "not-in-tree", "position"),
        (
            "/ledger/proofs/inclusion/1",
            {"tree_size": size + 1},
            422,
            "invalid-tree-size",
            "tree_size",
        ),
        ("/ledger/proofs/inclusion/1", {"tree_size": 0}, 422, None, "query.tree_size"),
        ("/ledger/proofs/consistency", {}, 422, "malformed-request", "query.first"),
        ("/ledger/proofs/consistency", {"first": -1}, 422, None, "query.first"),
        ("/ledger/proofs/consistency", {"first": size + 1}, 422, "invalid-tree-size", "first"),
        ("/ledger/proofs/consistency", {"first": 5, "second": 3}, 422, None, "first"),
        (
            "/ledger/proofs/consistency",
            {"first": 1, "second": size + 1},
            422,
            "invalid-tree-size",
            "second",
        ),
        ("/ledger/proofs/consistency", {"first": 1, "second": 0}, 422, None, "query.second"),
    ]
    headers = service.as_(Scope.INSPECTOR)
    for path, params, status, code, field in cases:
        response = service.client.get(path, params=params, headers=headers)
        _problem(response, status, code, field)


def test_without_a_signing_key_signing_on_demand_is_503(
    ledger: Ledger, integrity: IntegrityStore, signer: Signer, clock: FakeClock
) -> None:
    integrity.checkpoint(signer, ORIGIN, clock)
    app = create_app(ledger, integrity=integrity)
    with TestClient(app) as client:
        headers = auth_header(issue_token(ledger, KEPALA_BIRO, Scope.ADMIN))
        refused = client.post("/ledger/checkpoints", headers=headers)
        body = _problem(refused, 503, "signing-unavailable", None)
        assert "keys generate" in body["detail"]
        assert client.get("/ledger/checkpoint", headers=headers).status_code == 200


def test_a_signing_key_the_ledger_does_not_know_is_503(
    ledger: Ledger, integrity: IntegrityStore, clock: FakeClock
) -> None:
    stranger = Signer.from_text(generate_signer(ORIGIN)[0])
    app = create_app(ledger, checkpointer=Checkpointer(integrity, stranger, ORIGIN, 60, clock))
    assert app.state.integrity is integrity  # the checkpointer's store
    with TestClient(app) as client:
        headers = auth_header(issue_token(ledger, KEPALA_BIRO, Scope.ADMIN))
        refused = client.post("/ledger/checkpoints", headers=headers)
        assert "not registered as active" in _problem(refused, 503, None, None)["detail"]


def test_an_app_without_the_tree_has_no_ledger_routes(ledger: Ledger) -> None:
    app = create_app(ledger)
    assert app.state.integrity is None
    assert not [path for path in app.openapi()["paths"] if path.startswith("/ledger")]
    with TestClient(app) as client:
        headers = auth_header(issue_token(ledger, KEPALA_BIRO, Scope.INSPECTOR))
        _problem(client.get("/ledger/keys", headers=headers), 404, "not-found", None)


def test_the_documented_examples_verify() -> None:
    """The OpenAPI examples are one real tree: a reader can try the algorithms on them."""
    key = SigningKeyOut.model_json_schema()["examples"][0]
    checkpoint = CheckpointOut.model_json_schema()["examples"][0]
    inclusion = InclusionProofOut.model_json_schema()["examples"][0]
    consistency = ConsistencyProofOut.model_json_schema()["examples"][0]
    verifier = Verifier.from_text(key["verifier_key"])
    assert verifier.key_id.hex() == key["key_id"]
    head, _ = open_checkpoint(EXAMPLE_NOTE.encode(), [verifier])
    assert checkpoint["note"] == inclusion["checkpoint"] == EXAMPLE_NOTE
    assert base64.b64encode(head.root_hash).decode() == checkpoint["root_hash"]
    assert head.size == checkpoint["tree_size"] == inclusion["tree_size"]
    assert merkle.verify_inclusion(
        inclusion["leaf_index"],
        head.size,
        bytes.fromhex(inclusion["leaf_hash"]),
        [_b64(h) for h in inclusion["proof"]],
        head.root_hash,
    )
    assert merkle.verify_consistency(
        consistency["first"],
        consistency["second"],
        _b64(consistency["first_root"]),
        _b64(consistency["second_root"]),
        [_b64(h) for h in consistency["proof"]],
    )
    assert _b64(consistency["second_root"]) == head.root_hash


# --- the OpenAPI, fuzzed ---------------------------------------------------------------------

CONFORMANCE: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
FUZZ_CONFIG = schemathesis.Config.from_dict(
    {"generation": {"allow-extra-parameters": False, "with-security-parameters": False}}
)


@pytest.mark.slow
def test_the_ledger_routes_answer_as_documented(
    ledger: Ledger, integrity: IntegrityStore, signer: Signer, clock: FakeClock
) -> None:
    """Schemathesis on the ``/ledger`` operations (the app-wide fuzz test builds its app
    without a Merkle tree, so it does not see them): coverage phase, then positive and
    negative examples, against a store with two checkpoints."""
    integrity.checkpoint(signer, ORIGIN, clock)
    token = auth_header(issue_token(ledger, KEPALA_BIRO, *Scope, expires_in=timedelta(days=9)))
    integrity.checkpoint(signer, ORIGIN, clock)
    checkpointer = Checkpointer(integrity, signer, ORIGIN, 3600, clock)
    app = create_app(ledger, integrity=integrity, checkpointer=checkpointer)

    def call(case: Case) -> None:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        extra = [negative_data_rejection] if negative else []
        case.call_and_validate(headers=token, checks=[*CONFORMANCE, *extra])

    failures: list[str] = []
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=FUZZ_CONFIG)
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if result.ok().path.startswith("/ledger")
        ]
        assert len(operations) == 5
        for operation in operations:
            try:
                for case in schema.iter_coverage_cases(
                    operation,
                    generation_modes=list(GenerationMode),
                    generation_config=schema.config.generation_for(operation=operation),
                ):
                    call(case)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} [coverage]:\n{error}")
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=15,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: Case) -> None:
                    call(case)

                try:
                    run()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE
                except (Exception, BaseExceptionGroup) as error:
                    failures.append(f"{operation.label} [{mode}]:\n{error}")
    finally:
        asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)


# --- the checkpointer ------------------------------------------------------------------------


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_checkpointer_signs_each_tick_with_new_events_and_stop_joins(
    ledger: Ledger, integrity: IntegrityStore, signer: Signer, clock: FakeClock
) -> None:
    checkpointer = Checkpointer(integrity, signer, ORIGIN, 0.05, clock)
    first = checkpointer.sign_now()
    assert first is not None
    assert first.tree_size == integrity.sealed_size() > 0
    assert checkpointer.sign_now() is None  # nothing new
    forced = checkpointer.sign_now(force=True)
    assert forced == first  # the same tree size is signed once
    checkpointer.start()
    try:
        assert checkpointer.running
        issue_token(ledger, KEPALA_BIRO, Scope.INSPECTOR)  # appends an event
        _wait(lambda: (integrity.latest_checkpoint() or first).tree_size > first.tree_size)
        latest = integrity.latest_checkpoint()
        assert latest is not None
        assert latest.tree_size == integrity.sealed_size() > first.tree_size
        time.sleep(0.3)  # several ticks with nothing new: nothing signed
        assert [c.tree_size for c in integrity.checkpoints()] == [first.tree_size, latest.tree_size]
        thread = next(t for t in threading.enumerate() if t.name == "checkpointer")
        assert thread.daemon
    finally:
        checkpointer.stop()
    assert not checkpointer.running
    assert not thread.is_alive()
    assert checkpointer.last_error is None
    found = integrity.checkpoint_of(latest.tree_size)
    assert found == latest
    assert integrity.checkpoint_of(latest.tree_size + 1) is None


def test_a_failing_round_is_logged_and_the_thread_keeps_ticking(
    integrity: IntegrityStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = Signer.from_text(generate_signer(ORIGIN)[0])
    checkpointer = Checkpointer(integrity, stranger, ORIGIN, 0.02, clock)
    with caplog.at_level(logging.ERROR, logger="ledger.integrity.checkpointer"):
        checkpointer.start()
        try:
            _wait(lambda: caplog.text.count("checkpoint signing failed") >= 2)
            assert checkpointer.running
        finally:
            checkpointer.stop()
    assert isinstance(checkpointer.last_error, UnknownSignerError)
    assert integrity.latest_checkpoint() is None
    with pytest.raises(UnknownSignerError):  # on demand, the caller hears of it
        checkpointer.sign_now()


def test_the_composition_root_builds_a_checkpointer_only_with_a_key_and_an_interval(
    ledger: Ledger, integrity: IntegrityStore, tmp_path: Path, clock: FakeClock
) -> None:
    key = tmp_path / "keys" / "service.key"
    base = settings_of(ledger, signing_key_file=key, checkpoint_origin=ORIGIN)
    other = open_integrity(base)
    try:
        assert other.target == integrity.target
    finally:
        other.close()
    assert build_checkpointer(base, integrity) is None  # no key yet
    generate_key(integrity, key, ORIGIN, clock)
    built = build_checkpointer(base, integrity, clock)
    assert built is not None
    assert (built.origin, built.interval_seconds, built.store) == (ORIGIN, 60.0, integrity)
    assert built.signer.verifier().to_text() == integrity.signing_keys()[0].verifier_key
    never = base.model_copy(update={"checkpoint_interval_seconds": 0})
    assert build_checkpointer(never, integrity) is None
