"""The service's checkpointer: a thread that signs a checkpoint every interval while new
events were sealed, so the signed tree head never lags the log by more than one interval.

A failed round is logged and retried at the next tick; the service keeps answering (a
database hiccup must not take the HTTP API down). One lock orders the thread's rounds
and on-demand signing (``POST /ledger/checkpoints``) within the process; across
processes the store's own write lock does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from ledger.application import utc_now
from ledger.core.checkpoint import Signer
from ledger.integrity.store import IntegrityStore, StoredCheckpoint

log = logging.getLogger(__name__)


class Checkpointer:
    """Signs checkpoints of ``store`` with ``signer`` under ``origin``."""

    def __init__(
        self,
        store: IntegrityStore,
        signer: Signer,
        origin: str,
        interval_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.signer = signer
        self.origin = origin
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.last_error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sign_now(self, *, force: bool = False) -> StoredCheckpoint | None:
        """The checkpoint just signed, or None when no event came since the last one (and
        not ``force``). Errors propagate: the caller asked for this one."""
        with self._lock:
            return self.store.checkpoint(self.signer, self.origin, self.clock, force=force)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop ticking and wait for a round under way to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._tick()

    def _tick(self) -> None:
        try:
            made = self.sign_now()
        except Exception as error:  # logged, retried next tick; the service stays up
            log.exception("checkpoint signing failed")
            self.last_error = error
            return
        self.last_error = None
        if made is not None:
            log.info(
                "checkpoint signed",
                extra={"tree_size": made.tree_size, "key_name": made.key_name},
            )
