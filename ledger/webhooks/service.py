"""Webhooks as the HTTP service holds them: the subscriptions, and in-process delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.webhooks.dispatcher import DispatcherThread
from ledger.webhooks.subscriptions import Subscriptions


@dataclass
class Webhooks:
    """``worker`` is None when a separate ``sop-ledger webhooks run`` delivers."""

    subscriptions: Subscriptions
    worker: DispatcherThread | None = None

    def observe(self, outcome: Callable[[str], None]) -> None:
        """Tell ``outcome`` each in-process delivery attempt's result (metrics)."""
        if self.worker is not None:
            self.worker.dispatcher.observe = outcome

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.subscriptions.store.close()
