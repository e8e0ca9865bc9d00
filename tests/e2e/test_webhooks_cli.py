"""``sop-ledger webhooks run``: the dispatcher as its own worker process (``--once``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ledger.bootstrap import open_webhook_store, webhook_targets
from ledger.cli import main
from ledger.ledger import Ledger
from ledger.webhooks.subscriptions import NewSubscription, Subscriptions
from support.webhooks import LOOPBACK, open_cases, receiving, settings_of

OPENED = "id.go.sumbarprov.sop.case.opened.v1"


def test_run_once_delivers_what_is_due_then_exits(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(ledger)
    monkeypatch.setenv("LEDGER_WEBHOOK_ALLOWED_NETWORKS", json.dumps(LOOPBACK))
    if settings.database_url:
        monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
        monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    store = open_webhook_store(settings)
    try:
        with receiving() as receiver:
            subscriptions = Subscriptions(
                store, ledger, ledger.max_position, webhook_targets(settings)
            )
            sub = subscriptions.create(
                "198203142006042003", NewSubscription(url=receiver.url, types=[OPENED])
            )
            open_cases(ledger, 2)
            first = CliRunner().invoke(main, ["webhooks", "run", "--once"])
            assert first.exit_code == 0, first.output
            assert len(receiver.ok()) == 2
            again = CliRunner().invoke(main, ["webhooks", "run", "--once"])
            assert "delivery steps: 0" in again.output
            assert len(receiver.all()) == 2
        current = store.get(sub.id)
        assert current is not None
        assert current.position == ledger.max_position()
    finally:
        store.close()
