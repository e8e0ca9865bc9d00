"""The views as the service sees them: a store to query and, in-process, a runner thread.

``sop-ledger serve`` follows the log in a background thread unless the views are kept by a
separate worker (``sop-ledger projections run``); either way the lag is a number the
service reports. If another worker already holds the projection, the thread only watches.
"""

from __future__ import annotations

import logging
import threading

from projections.runner import Progress, Runner
from projections.viewstore.base import Generation

log = logging.getLogger(__name__)


class ViewService:
    def __init__(self, runner: Runner, *, in_process: bool = True) -> None:
        self.runner = runner
        self.store = runner.store
        self.in_process = in_process
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.in_process or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self.store.lock(self.runner.projection.name) as held:
                if not held:
                    log.info("projection held by another worker; serving its views")
                    return
                self.runner.prepare()
                self.runner.follow(self._stop, idle_wait=0.5)
        except BaseException as error:  # the service stays up; readyz reports it
            log.exception("projection runner stopped")
            self.error = error

    def progress(self) -> Progress:
        live = self.live()
        head = self.runner.source.head()
        if live is None:
            return Progress(self.runner.projection.name, 0, "missing", 0, head)
        return Progress(live.projection, live.number, live.state, live.position, head)

    def live(self) -> Generation | None:
        """The generation queries answer from (None before the first build)."""
        return self.store.live(self.runner.projection.name)

    @property
    def calendar_version(self) -> str:
        return self.runner.projection.env.calendar.version

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.runner.source.close()
        self.store.close()
