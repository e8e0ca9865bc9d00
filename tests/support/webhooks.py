"""Webhook plumbing for tests: a real HTTP receiver, and stores beside a test ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import UUID

import orjson

from ledger.commands import OpenCase
from ledger.ledger import Ledger
from ledger.settings import Settings
from support.views import ledger_url

LOOPBACK = ["127.0.0.0/8"]  # the test receivers listen here


def settings_of(ledger: Ledger, **overrides: object) -> Settings:
    """Settings naming the test ledger's own store (its SQLite file or PostgreSQL URL);
    webhooks may reach loopback receivers unless ``overrides`` say otherwise."""
    overrides = {"webhook_allowed_networks": LOOPBACK, **overrides}
    url = ledger_url(ledger)
    if url is not None:
        return Settings(database_url=url, pool_size=2, **overrides)
    dbname = Path(str(ledger.store.env.get("SQLITE_DBNAME")))
    return Settings(data_dir=dbname.parent, database_url=None, **overrides)


@dataclass(frozen=True)
class Received:
    """One POST as it arrived: lower-case headers and the raw body."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.monotonic() on arrival

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, object]:
        loaded: dict[str, object] = orjson.loads(self.body)
        return loaded


class Receiver:
    """An HTTP server on 127.0.0.1 (random port) recording every POST. ``script`` gives the
    status to answer each request with, in order; afterwards ``default`` is answered."""

    def __init__(self, default: int = 204) -> None:
        self.default = default
        self.script: list[int] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self.script.extend(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._next_status()
                headers = {k.lower(): v for k, v in self.headers.items()}
                arrived = Received(self.path, headers, body, status, time.monotonic())
                receiver._record(arrived)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def ok(self) -> list[Received]:
        """The requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def eventually(check: Callable[[], bool], timeout: float = 20.0, every: float = 0.05) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


@contextmanager
def receiving(default: int = 204) -> Iterator[Receiver]:
    with Receiver(default) as receiver:
        yield receiver


B_SOP, B_UNIT = "dinas-bmcktr.pengukuran-kinerja", "dinas-bmcktr"
A_SOP, A_UNIT = "biro-org.pengukuran-kinerja", "biro-org"
PERIODS = tuple(f"{year}-Q{q}" for year in range(2015, 2025) for q in range(1, 5))


def open_cases(ledger: Ledger, count: int, sop: str = B_SOP, unit: str = B_UNIT) -> list[UUID]:
    """``count`` new cases of ``sop`` for ``unit`` (one ``case.opened`` event each), in
    periods no earlier case of that SOP and unit used."""
    taken = {c.period for c in ledger.list_cases() if c.sop_id == sop and c.unit == unit}
    free = [p for p in PERIODS if p not in taken][:count]
    assert len(free) == count, "out of periods"
    return [
        ledger.open_case(OpenCase(sop_id=sop, unit=unit, period=period)).aggregate_id
        for period in free
    ]
