"""The HTTP service for tests: the real app on a test ledger, its views kept in-process,
and a walker that records SOP acts through ``POST /cases/{id}/actions`` with real tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.auth import Scope
from api.schemas import action_body
from ledger.core.sop import Action
from ledger.demo.acts import command_for
from ledger.ledger import Ledger
from projections.service import ViewService
from support.auth import auth_header, issue_token
from support.views import runner, view_store
from support.walk import actor


@contextmanager
def api_client(ledger: Ledger, *, read_wait_seconds: float = 5.0) -> Iterator[TestClient]:
    """The app with its lifespan running (group-commit batcher, projection thread)."""
    with view_store(ledger) as store:
        views = ViewService(runner(ledger, store, page_size=500))
        app = create_app(ledger, views, read_wait_seconds=read_wait_seconds)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client


class HttpWalker:
    """Records acts over HTTP as the demo person who holds the step's role."""

    def __init__(self, client: TestClient, ledger: Ledger) -> None:
        self.client = client
        self.ledger = ledger
        self._tokens: dict[tuple[str, tuple[Scope, ...]], str] = {}

    def headers(self, nip: str, *scopes: Scope) -> dict[str, str]:
        wanted = scopes or (Scope.OFFICIAL,)
        key = (nip, wanted)
        if key not in self._tokens:
            self._tokens[key] = issue_token(
                self.ledger, nip, *wanted, expires_in=timedelta(days=365)
            )
        return auth_header(self._tokens[key])

    def act_body(
        self,
        case_id: UUID,
        step: int,
        action: Action,
        branch: str | None,
        at: datetime,
        **extra: Any,
    ) -> dict[str, Any]:
        state = self.ledger.case(case_id)
        command = command_for(state, step, action, branch, occurred_at=at, actor="0" * 18, **extra)
        return action_body(command)

    def act(
        self,
        case_id: UUID,
        step: int,
        action: Action,
        branch: str | None = None,
        *,
        at: datetime,
        by: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        who = by or actor(self.ledger, case_id, step, branch)
        return self.client.post(
            f"/cases/{case_id}/actions",
            json=self.act_body(case_id, step, action, branch, at, **extra),
            headers={**self.headers(who), **(headers or {})},
        )

    def complete_step(
        self, case_id: UUID, step: int, branch: str | None = None, *, at: datetime
    ) -> list[Response]:
        """Every act the step requires, in order; each must be stored (201)."""
        actions = self.ledger.case(case_id).sop.by_number[step].actions
        responses = []
        for action in actions:
            response = self.act(case_id, step, action, branch, at=at)
            assert response.status_code == 201, response.text
            responses.append(response)
        return responses

    def open(self, sop_id: str, unit: str, period: str, at: datetime, nip: str) -> UUID:
        response = self.client.post(
            "/cases",
            json={"sop_id": sop_id, "unit": unit, "period": period, "occurred_at": at.isoformat()},
            headers=self.headers(nip),
        )
        assert response.status_code == 201, response.text
        return UUID(response.json()["id"])
