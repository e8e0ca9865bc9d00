"""Webhooks never call into the ledger host's own network unless the operator allows it.

A host *name* is checked when a delivery resolves it, against every address it resolves
to, and the connection goes to the address that was checked: ``localhost`` (a name, so
it passes registration) is refused by default, the receiver gets nothing, and the refusal
is an attempt that failed with a message naming the address and the setting.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ledger.bootstrap import webhook_targets
from ledger.settings import Settings
from ledger.webhooks.policy import Targets
from ledger.webhooks.sender import HttpSender
from support.webhooks import LOOPBACK, receiving


def test_a_name_resolving_to_loopback_is_not_called_by_default() -> None:
    with receiving() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        outcome = HttpSender(timeout_seconds=5)(url, b"{}", {"webhook-id": "msg_1"})
        assert outcome.status is None
        assert not outcome.ok
        assert outcome.error is not None
        assert "not a public address" in outcome.error
        assert "LEDGER_WEBHOOK_ALLOWED_NETWORKS" in outcome.error
        assert receiver.all() == []


def test_an_allowed_network_is_called_with_the_host_name_kept() -> None:
    with receiving() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        sender = HttpSender(timeout_seconds=5, targets=Targets.of(LOOPBACK))
        outcome = sender(url, b"{}", {"webhook-id": "msg_2"})
        assert outcome.ok, outcome.describe()
        (arrived,) = receiver.all()
        assert arrived.headers["host"].startswith("localhost:")
        assert arrived.headers["webhook-id"] == "msg_2"


def test_an_unresolvable_host_is_a_failed_attempt_not_a_crash() -> None:
    outcome = HttpSender(timeout_seconds=5)("http://no-such-host.invalid/hook", b"{}", {})
    assert outcome.status is None
    assert outcome.error is not None


def test_the_setting_takes_cidrs_and_names_a_bad_one() -> None:
    settings = Settings(database_url=None, webhook_allowed_networks=["10.20.0.0/16", "::1"])
    targets = webhook_targets(settings)
    assert len(targets.allowed) == 2
    named = r"LEDGER_WEBHOOK_ALLOWED_NETWORKS: '10\.300\.0\.0/16'"
    with pytest.raises(ValidationError, match=named):
        Settings(database_url=None, webhook_allowed_networks=["10.300.0.0/16"])
