"""python -m bench.feed [--events N] [--postgres-url URL] [--stores sqlite,postgres]

Reading the global log as CloudEvents: the reader alone, and ``GET /events`` pages of 1,000
from a real uvicorn server in its own process (a real token; httpx, the client parsing the
JSON with orjson), over a
store of ``N`` events built from clones of a demo year (bench/bigstore.py). The stores are
this benchmark's own: a SQLite file in a temporary directory and a ``bench_feed_<size>``
database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import psycopg

from bench.bigstore import _fill, size_label, template_events, with_dbname
from bench.stores import postgres_base_url
from ledger.bootstrap import build_ledger
from ledger.commands import IssueToken
from ledger.core.access import Scope
from ledger.feed.reader import FeedReader
from ledger.settings import Settings

PAGE = 1000


@contextmanager
def built_store(backend: str, events: int, base_url: str | None) -> Iterator[Settings]:
    template = template_events()
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-feed-") as directory:
            settings = Settings(data_dir=Path(directory), database_url=None)
            _fill(settings, events, template, None)
            yield settings
        return
    assert base_url is not None
    name = f"bench_feed_{size_label(events)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        settings = Settings(database_url=with_dbname(base_url, name))
        _fill(settings, events, template, None)
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE ledger_events")
        yield settings
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reader_rate(settings: Settings) -> float:
    ledger = build_ledger(settings)
    try:
        reader = FeedReader(ledger.store.recorder)
        started, after, count = time.perf_counter(), 0, 0
        while True:
            page = reader.page(after, PAGE)
            orjson.dumps(page.events)
            count += len(page.events)
            if len(page.events) < PAGE:
                return count / (time.perf_counter() - started)
            after = page.next_after
    finally:
        ledger.close()


_SERVER = """
import sys
import uvicorn
from api.app import create_app
from ledger.bootstrap import build_feed, build_ledger
from ledger.settings import Settings
settings = Settings()
ledger = build_ledger(settings)
app = create_app(ledger, feed=build_feed(settings, ledger))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def http_rate(settings: Settings) -> float:
    """Pages of ``GET /events`` from a server in its own process (its own GIL)."""
    ledger = build_ledger(settings)
    try:
        token = ledger.issue_token(
            IssueToken(nip="198203142006042003", scopes=(Scope.INTEGRATOR,), label="bench")
        ).token
    finally:
        ledger.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LEDGER_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["LEDGER_DATABASE_URL"] = settings.database_url
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            started, url, count = time.perf_counter(), f"/events?limit={PAGE}", 0
            while True:
                response = client.get(url)
                events = orjson.loads(response.content)
                count += len(events)
                if len(events) < PAGE:
                    return count / (time.perf_counter() - started)
                url = response.links["next"]["url"]
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_until_up(base: str) -> None:
    for _ in range(300):
        try:
            httpx.get(f"{base}/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--postgres-url")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.stores.split(","):
        base = postgres_base_url(args.postgres_url) if backend == "postgres" else None
        with built_store(backend, args.events, base) as settings:
            reader = max(reader_rate(settings) for _ in range(3))
            http = max(http_rate(settings) for _ in range(3))
            print(
                f"{backend:<8} {args.events:>9,} events  reader {reader:>9,.0f} ev/s  "
                f"GET /events?limit={PAGE} {http:>9,.0f} ev/s (best of 3)"
            )


if __name__ == "__main__":
    main()
