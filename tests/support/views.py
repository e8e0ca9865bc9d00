"""Projection plumbing for tests: a view store beside a test ledger, and a runner over it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from ledger.bootstrap import open_view_store
from ledger.calendars import default_calendar
from ledger.core.workcal import WorkCalendar
from ledger.ledger import Ledger
from projections.case_views import CaseViews
from projections.casefold import FoldEnv
from projections.runner import Runner
from projections.source import LogSource
from projections.tables import ALL, Table
from projections.viewstore.base import ViewStore


def ledger_url(ledger: Ledger) -> str | None:
    """The PostgreSQL URL a test ledger runs on; None for SQLite."""
    env = ledger.store.env
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        return None
    return (
        f"postgresql://{env.get('POSTGRES_USER')}@{env.get('POSTGRES_HOST')}:"
        f"{env.get('POSTGRES_PORT')}/{env.get('POSTGRES_DBNAME')}"
    )


@contextmanager
def view_store(ledger: Ledger) -> Iterator[ViewStore]:
    """A brand-new view store that shares nothing with any other: on SQLite a file of its
    own; on PostgreSQL a schema of its own in the ledger's database (its connections'
    ``search_path``), so two stores never share generations or SQL views."""
    url = ledger_url(ledger)
    if url is None:
        with tempfile.TemporaryDirectory(prefix="views-test-") as directory:
            store = open_view_store(str(Path(directory) / "views.sqlite"))
            try:
                yield store
            finally:
                store.close()
        return
    schema = f"views_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in url else "?"
    store = open_view_store(f"{url}{separator}options={quote(f'-csearch_path={schema}')}")
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def runner(
    ledger: Ledger,
    store: ViewStore,
    *,
    calendar: WorkCalendar | None = None,
    table_set: Sequence[Table] = ALL,
    as_of: datetime | None = None,
    page_size: int = 5_000,
    cache_size: int = 5_000,
) -> Runner:
    source = LogSource(ledger, as_of=as_of, listen_url=ledger_url(ledger))
    env = FoldEnv(ledger.sop_version, calendar or default_calendar())
    views = CaseViews(env, source.history, table_set, cache_size=cache_size)
    return Runner(source, store, views, page_size=page_size)
