"""Schema-driven fuzzing: schemathesis generates requests for every operation of the app's
own OpenAPI and checks each answer - never a 5xx, and always what the schema documents
(status code, content type, body schema, headers). On both stores holding a generated demo
year (so the boards, reports and registers answer real rows), with a real token holding
every scope, against real cases, an SOP and a person as well as made-up ones, with valid
(positive) and schema-violating (negative) requests; without a token every guarded
operation must answer a 401 problem document.

Each operation gets schemathesis' coverage phase (deterministic boundary values, and one
violation of each constraint in turn), then a bounded number of random examples, so the
whole run stays around half a minute per store; the CI Hypothesis profile
(``HYPOTHESIS_PROFILE=ci``) derandomizes it. Bugs it found are pinned by regular tests in
``test_http_fuzz_regressions.py``.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
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
from ledger.bootstrap import build_webhooks, open_integrity
from ledger.commands import OpenCase
from ledger.demo.org import BIRO, holder
from ledger.demo.year import SimClock, generate_year
from ledger.integrity.checkpointer import Checkpointer
from ledger.integrity.keys import generate_key
from ledger.ledger import Ledger
from projections.service import ViewService
from support.auth import auth_header, issue_token
from support.ledgers import PostgresUnavailable, seeded_ledger
from support.views import runner, view_store
from support.webhooks import settings_of

SOP = "biro-org.evaluasi-kinerja-internal"
KEPALA_BIRO = holder("kepala_biro", BIRO)
# Never-ending by design (Server-Sent Events); its own tests cover it.
NOT_FUZZED = frozenset({"GET /events/stream"})
EXAMPLES = 15  # per operation and generation mode, after the coverage phase
UNAUTHENTICATED_EXAMPLES = 3
PROBLEM = "application/problem+json"
ORIGIN = "fuzz.sop-ledger/ledger"
# Unknown query parameters are ignored by design, and the bearer token is ours to pass.
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"allow-extra-parameters": False, "with-security-parameters": False}}
)
CheckFunction = Callable[..., Any]
CONFORMANCE: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def year(backend: str) -> Iterator[Ledger]:
    """A store holding a generated demo year (12 cases, returns, late and paper records)."""
    clock = SimClock(datetime(2024, 1, 2, tzinfo=UTC))
    try:
        with seeded_ledger(backend, clock) as ledger:  # type: ignore[arg-type]
            generate_year(ledger, clock)
            yield ledger
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


@contextmanager
def fuzzed_app(ledger: Ledger) -> Iterator[FastAPI]:
    """The real app with in-process views and subscriptions (no delivery worker: nothing
    is sent to the made-up webhook URLs); schemathesis runs its lifespan, ended here."""
    settings = settings_of(ledger)
    with (
        view_store(ledger) as store,
        closing(open_integrity(settings)) as integrity,
        tempfile.TemporaryDirectory() as keys,
    ):
        signer = generate_key(integrity, Path(keys) / "key", ORIGIN, ledger.clock)
        checkpointer = Checkpointer(integrity, signer, ORIGIN, 3600, ledger.clock)
        checkpointer.sign_now()
        views = ViewService(runner(ledger, store, page_size=500))
        webhooks = build_webhooks(settings, ledger, in_process=False)
        app = create_app(
            ledger,
            views,
            webhooks=webhooks,
            read_wait_seconds=0.05,
            integrity=integrity,
            checkpointer=checkpointer,
        )
        try:
            yield app
        finally:
            asgi.shutdown_lifespans()


def _known(ledger: Ledger) -> dict[str, list[str]]:
    """Path parameter values naming real things: a completed and an open case, an SOP and
    its version, a person with a year of activity."""
    completed = next(c.case_id for c in ledger.list_cases() if c.status == "completed")
    opened = ledger.open_case(
        OpenCase(sop_id=SOP, unit=BIRO, period="2025-Q1", recorded_by=KEPALA_BIRO)
    )
    return {
        "case_id": [str(completed), str(opened.aggregate_id)],
        "sop_id": [SOP],
        "version": [ledger.catalogue().get(SOP).version],
        "nip": [KEPALA_BIRO],
    }


def _operations(app: FastAPI) -> list[APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    found = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in found if operation.label not in NOT_FUZZED]


def _cases(
    operation: APIOperation, mode: GenerationMode, known: dict[str, list[str]]
) -> st.SearchStrategy[Case]:
    """Made-up requests, and (valid ones) aimed at the real cases, SOP or person too."""
    names = [p.name for p in operation.path_parameters if p.name in known]
    made_up = operation.as_strategy(generation_mode=mode)
    if not names or mode is GenerationMode.NEGATIVE:
        return made_up
    real = [
        operation.as_strategy(
            generation_mode=mode, path_parameters=dict(zip(names, values, strict=True))
        )
        for values in itertools.product(*(known[name] for name in names))
    ]
    return st.one_of(*real, made_up)


def _run(strategy: st.SearchStrategy[Case], examples: int, test: Callable[[Case], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        test(case)

    run()


def _cover(operation: APIOperation, test: Callable[[Case], None]) -> None:
    """Schemathesis' coverage phase: deterministic boundary values of every parameter and
    body field, and (negative) one violation of each constraint in turn."""
    schema = operation.schema
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=list(GenerationMode),
        generation_config=schema.config.generation_for(operation=operation),
    ):
        test(case)


def _guarded(operation: APIOperation) -> bool:
    return bool(operation.definition.raw.get("security"))


@pytest.mark.slow
def test_every_operation_answers_as_documented(year: Ledger) -> None:
    token = auth_header(issue_token(year, KEPALA_BIRO, *Scope, expires_in=timedelta(days=365)))
    known = _known(year)

    def call(case: Case) -> None:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        extra = [negative_data_rejection] if negative else []
        case.call_and_validate(headers=token, checks=[*CONFORMANCE, *extra])

    failures: list[str] = []
    with fuzzed_app(year) as app:
        for operation in _operations(app):
            try:
                _cover(operation, call)
            except (Exception, BaseExceptionGroup) as error:  # report every operation
                failures.append(f"{operation.label} [coverage]:\n{error}")
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _run(_cases(operation, mode, known), EXAMPLES, call)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # nothing in it can be invalid
                except (Exception, BaseExceptionGroup) as error:  # report every operation
                    failures.append(f"{operation.label} [{mode}]:\n{error}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_without_a_token_every_guarded_operation_answers_401(year: Ledger) -> None:
    known = _known(year)

    def call(case: Case) -> None:
        response = case.call_and_validate(checks=CONFORMANCE)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == [PROBLEM]
        assert response.headers["www-authenticate"][0].startswith("Bearer")
        assert response.json()["type"].endswith("/problems/unauthenticated")

    with fuzzed_app(year) as app:
        guarded = [operation for operation in _operations(app) if _guarded(operation)]
        assert len(guarded) >= 10
        for operation in guarded:
            _run(_cases(operation, GenerationMode.POSITIVE, known), UNAUTHENTICATED_EXAMPLES, call)


def test_the_openapi_documents_every_answer(ledger: Ledger) -> None:
    """Problems as ``application/problem+json`` with the ``Problem`` model everywhere (also
    FastAPI's own 422), 401/403 wherever the bearer scheme guards, a schema for every JSON
    answer, an example for every request body."""
    schema = create_app(ledger).openapi()
    components = schema["components"]
    assert components["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = components["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}
    assert {"field", "request_id"} <= set(problem["properties"])
    assert "HTTPValidationError" not in components["schemas"]
    problem_content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            for status, response in responses.items():
                if status[0] in "45":
                    assert response["content"] == problem_content, (label, status)
                elif "application/json" in response.get("content", {}):
                    assert response["content"]["application/json"]["schema"], (label, status)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), label
            if "requestBody" in operation:
                assert "400" in responses, label
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert components["schemas"][body["$ref"].rsplit("/", 1)[1]]["examples"], label
    documented = {
        ("post", "/cases"): {"400", "401", "403", "404", "409", "422"},
        ("post", "/cases/{case_id}/actions"): {"400", "401", "403", "404", "409", "412", "422"},
        ("get", "/cases"): {"401", "403", "409", "422", "503"},
        ("get", "/cases/{case_id}"): {"401", "403", "404", "422", "503"},
        ("get", "/cases/{case_id}/events"): {"401", "403", "404", "422", "503"},
        ("get", "/sops/{sop_id}"): {"401", "403", "404", "422"},
        ("get", "/reports/sla"): {"401", "403", "409", "422", "503"},
    }
    for (method, path), statuses in documented.items():
        answered = {s for s in schema["paths"][path][method]["responses"] if s[0] in "45"}
        assert answered == statuses, (method, path)
