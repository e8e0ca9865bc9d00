"""Building real ledgers for tests: a fresh store per test on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.bootstrap import build_ledger, upgrade_schema
from ledger.demo.org import install_directory, publish_seeds
from ledger.demo.year import SimClock
from ledger.ledger import Ledger
from ledger.settings import Settings
from support.pg_server import PostgresUnavailable, drop_database, ensure_postgres, fresh_database

BACKENDS = ("sqlite", "postgres")


@dataclass
class FakeClock:
    """The server clock, under the test's control."""

    now: datetime = field(default_factory=lambda: datetime(2024, 10, 1, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class PostgresRequiredError(RuntimeError):
    pass


def postgres_url() -> str:
    """The test server's URL; a failure when CI requires PostgreSQL, else a skip reason."""
    try:
        return ensure_postgres()
    except PostgresUnavailable as error:
        if os.environ.get("LEDGER_REQUIRE_POSTGRES") or os.environ.get("CI"):
            raise PostgresRequiredError(str(error)) from error
        raise


@contextmanager
def store_settings(backend: str) -> Iterator[Settings]:
    """Settings of a brand-new, upgraded store of the given backend."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger-test-") as directory:
            settings = Settings(data_dir=Path(directory), database_url=None)
            upgrade_schema(settings)
            yield settings
        return
    url = fresh_database(postgres_url())
    try:
        settings = Settings(database_url=url, pool_size=2)
        upgrade_schema(settings)
        yield settings
    finally:
        drop_database(url)


@contextmanager
def seeded_ledger(backend: str, clock: FakeClock | None = None) -> Iterator[Ledger]:
    """A ledger with the seed SOPs published and the demo directory installed."""
    with store_settings(backend) as settings:
        ledger = build_ledger(settings, clock or FakeClock())
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            yield ledger
        finally:
            ledger.close()


@contextmanager
def year_ledger(backend: str) -> Iterator[tuple[Ledger, SimClock]]:
    """A seeded ledger on the simulated clock a demo year is generated with (skips when
    PostgreSQL is unavailable where it is not required)."""
    clock = SimClock(datetime(2024, 1, 2, tzinfo=UTC))
    try:
        with store_settings(backend) as settings:
            ledger = build_ledger(settings, clock)
            try:
                publish_seeds(ledger)
                install_directory(ledger)
                yield ledger, clock
            finally:
                ledger.close()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")
