"""Fresh stores per scenario: a temp dir for SQLite, a new database for PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import cast

from bench.model import SQLITE
from ledger.settings import Settings

ENV_URL = "LEDGER_BENCH_DATABASE_URL"
_TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"


def _pg_server() -> ModuleType:
    """The test suite's server helper (tests/support/pg_server.py), imported by path."""
    if str(_TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(_TESTS_DIR))
    return importlib.import_module("support.pg_server")


def postgres_base_url(given: str | None) -> str:
    """--postgres-url, else $LEDGER_BENCH_DATABASE_URL, else the test suite's server."""
    url = given or os.environ.get(ENV_URL)
    if url:
        return url
    ensure = cast(Callable[[], str], _pg_server().ensure_postgres)
    return ensure()


@contextmanager
def fresh_postgres(base_url: str) -> Iterator[str]:
    """A brand-new, empty database on ``base_url``'s server, dropped afterwards."""
    server = _pg_server()
    create = cast(Callable[[str, str], str], server.fresh_database)
    drop = cast(Callable[[str], None], server.drop_database)
    url = create(base_url, "ledger_bench")
    try:
        yield url
    finally:
        drop(url)


@contextmanager
def fresh_settings(store: str, base_url: str | None) -> Iterator[Settings]:
    """Ledger settings (defaults otherwise) pointing at a brand-new empty store."""
    if store == SQLITE:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as directory:
            yield Settings(data_dir=Path(directory), database_url=None)
        return
    if base_url is None:
        raise ValueError("a PostgreSQL scenario needs a server URL")
    with fresh_postgres(base_url) as url:
        yield Settings(database_url=url)
