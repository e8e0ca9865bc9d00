"""Waiting for new events without busy reading: PostgreSQL ``NOTIFY``, SQLite polling.

The library's PostgreSQL recorder sends ``NOTIFY ledger_events`` with every append;
SQLite has no such signal, so its waiters poll the head. :class:`LogWaiter` blocks a
thread (the webhook dispatcher); :class:`HeadWatcher` is one thread per process that
wakes any number of asyncio tasks (the event streams) without holding a worker thread
per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import psycopg

from ledger.persistence.stores import POSTGRES_EVENTS_TABLE

log = logging.getLogger(__name__)


class LogWaiter:
    """Blocks until new events may be there (a NOTIFY arrived, or a poll interval passed)."""

    def __init__(self, listen_url: str | None, poll_seconds: float = 0.2) -> None:
        self.listen_url = listen_url
        self.poll_seconds = poll_seconds
        self._conn: psycopg.Connection[object] | None = None

    def listen(self) -> None:
        """Listen before reading, so that no append slips between a read and a wait."""
        if self.listen_url is not None and self._conn is None:
            self._conn = psycopg.connect(self.listen_url, autocommit=True)
            self._conn.execute(f"LISTEN {POSTGRES_EVENTS_TABLE}")

    def wait(self, timeout: float) -> None:
        self.listen()
        if self._conn is None:
            time.sleep(max(0.0, min(timeout, self.poll_seconds)))
            return
        try:
            for _ in self._conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                pass
        except psycopg.Error:  # a dropped listener: reconnect on the next wait
            log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
            self.close()
            time.sleep(min(timeout, 1.0))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class HeadWatcher:
    """Tracks the log head in one background thread and wakes asyncio waiters when it
    moves. Waiting compares positions (state, not edges), so no wake-up can be missed."""

    def __init__(self, head: Callable[[], int], waiter: LogWaiter) -> None:
        self._read_head = head
        self._waiter = waiter
        self._head = 0
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._waiter.listen()
            self._head = self._read_head()
            self._thread = threading.Thread(target=self._run, name="feed-head", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._waiter.wait(1.0)
                self._advance(self._read_head())
            except Exception:  # keep watching; the streams fall back to their timeouts
                log.exception("head watcher failed to read the log head")
                self._stop.wait(1.0)
        self._waiter.close()

    def _advance(self, head: int) -> None:
        if head <= self._head:
            return
        self._head = head
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            waiting = list(self._waiting)
        for loop, event in waiting:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(event.set)

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until the head is past ``position`` (True), ``timeout`` passes or the
        watcher stops (False). Start the watcher first, off the event loop (it connects)."""
        if self._thread is None and not self.stopped:
            await asyncio.to_thread(self.start)
        loop = asyncio.get_running_loop()
        entry = (loop, asyncio.Event())
        deadline = loop.time() + timeout
        with self._lock:
            self._waiting.add(entry)
        try:
            while not self.stopped:
                entry[1].clear()  # before the check: a wake-up after it is not lost
                if self._head > position:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(entry[1].wait(), remaining)
                except TimeoutError:
                    return self._head > position
            return self._head > position
        finally:
            with self._lock:
                self._waiting.discard(entry)

    def reopen(self) -> None:
        """Allow watching again after :meth:`stop` (an app whose lifespan starts again)."""
        self._stop.clear()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None
        self._wake()
