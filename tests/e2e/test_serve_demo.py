"""``sop-ledger serve`` on a fresh machine: it prepares the embedded store and prints tokens
that open the API (uvicorn replaced by a test client so the command returns)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.cli import main
from ledger.cli import serve as serve_module
from ledger.ledger import Ledger

TOKEN = re.compile(r"sopl_[0-9a-f]{16}_[A-Za-z0-9_-]+")


@pytest.mark.slow
def test_serve_prepares_an_empty_store_and_prints_a_working_token_per_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    issued: list[list[str]] = []
    answers: list[tuple[int, int, list[int]]] = []

    def keep_tokens(ledger: Ledger, base_url: str) -> list[str]:
        issued.append(print_demo_tokens(ledger, base_url))
        return issued[-1]

    def fake_uvicorn_run(app: FastAPI, **_options: Any) -> None:
        client = TestClient(app)
        statuses = [
            client.get("/sops", headers={"Authorization": f"Bearer {t}"}).status_code
            for t in issued[-1]
        ]
        answers.append(
            (client.get("/healthz").status_code, client.get("/sops").status_code, statuses)
        )

    print_demo_tokens = serve_module.print_demo_tokens
    monkeypatch.setattr(serve_module, "print_demo_tokens", keep_tokens)
    monkeypatch.setattr("uvicorn.run", fake_uvicorn_run)
    runner = CliRunner()
    outputs = []
    for _ in range(2):  # a restart reuses the store and issues fresh tokens
        result = runner.invoke(main, ["serve", "--projections", "external"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    first, second = outputs
    assert "12 kasus/cases" in first
    assert "demo year" not in second
    for scope, nip, _ in serve_module.DEMO_HOLDERS:
        assert re.search(rf"{scope.value}\s+NIP {nip}", second)
    assert f'curl -H "Authorization: Bearer {issued[0][0]}" http://127.0.0.1:8000/sops' in first
    assert [len(i) for i in issued] == [5, 5]
    assert set(TOKEN.findall(first)) == set(issued[0])
    assert set(issued[0]).isdisjoint(issued[1])
    assert answers == [(200, 401, [200] * 5)] * 2
