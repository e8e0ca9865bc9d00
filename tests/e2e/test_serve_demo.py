"""``sop-ledger serve`` on a fresh machine: it prepares the embedded store, makes the
checkpoint signing key, signs a first checkpoint and prints tokens that open the API and
the key that verifies it (uvicorn replaced by a test client so the command returns)."""

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
from ledger.core.checkpoint import Verifier, open_checkpoint
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger

TOKEN = re.compile(r"sopl_[0-9a-f]{16}_[A-Za-z0-9_-]+")
VERIFIER = re.compile(r"^  (sop-ledger\.local/ledger\+[0-9a-f]{8}\+\S+)$", re.MULTILINE)


@pytest.mark.slow
def test_serve_prepares_an_empty_store_and_prints_a_working_token_per_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    issued: list[list[str]] = []
    answers: list[tuple[int, int, list[int]]] = []
    notes: list[str] = []

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
        signed = client.get(
            "/ledger/checkpoint", headers={"Authorization": f"Bearer {issued[-1][0]}"}
        )
        assert signed.status_code == 200, signed.text
        notes.append(signed.text)

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
    key_file = tmp_path / "data" / "keys" / "checkpoint.key"
    assert key_file.read_text().startswith("PRIVATE+KEY+sop-ledger.local/ledger+")
    printed = [VERIFIER.findall(output) for output in outputs]
    assert len(printed[0]) == 1
    assert printed[0] == printed[1]  # the restart keeps the key
    verifier = Verifier.from_text(printed[0][0])
    store = IntegrityStore(str(tmp_path / "data" / "ledger.sqlite"))
    try:
        assert [(k.verifier_key, k.status) for k in store.signing_keys()] == [
            (verifier.to_text(), "active")
        ]
        demo_checkpoint = store.checkpoints()[0]
    finally:
        store.close()
    assert demo_checkpoint.tree_size > 200  # signed over the demo year
    assert "checkpoint ditandatangani / signed" in first
    head, names = open_checkpoint(notes[0].encode(), [verifier])
    assert (head.size, head.root_hash) == (demo_checkpoint.tree_size, demo_checkpoint.root_hash)
    assert names == [verifier.name]
