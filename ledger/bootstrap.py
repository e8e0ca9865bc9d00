"""The composition root: the one place that turns settings into stores and services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ledger.application import Clock, LedgerStore, utc_now
from ledger.calendars import load_calendar
from ledger.core.workcal import WorkCalendar
from ledger.ledger import Ledger
from ledger.persistence.stores import eventsourcing_env, pending_migrations, upgrade
from ledger.settings import Settings
from projections.case_views import CaseViews
from projections.casefold import FoldEnv
from projections.runner import Runner
from projections.source import LogSource
from projections.tables import ALL as ALL_TABLES
from projections.tables import Table
from projections.viewstore.base import ViewStore
from projections.viewstore.postgres import PostgresViewStore
from projections.viewstore.sqlite import SqliteViewStore


class SchemaNotReadyError(RuntimeError):
    """The store's schema is missing or behind: run ``sop-ledger db upgrade`` first."""


def upgrade_schema(settings: Settings) -> list[str]:
    """Create or migrate the schema (the only code path that runs DDL)."""

    def create_library_tables() -> None:
        LedgerStore(env=eventsourcing_env(settings, create_table=True)).close()

    return upgrade(settings, create_library_tables)


def build_ledger(
    settings: Settings, clock: Clock = utc_now, *, check_schema: bool = True
) -> Ledger:
    """A Ledger on the configured store; refuses to start on a store that is not upgraded."""
    if check_schema and pending_migrations(settings):
        raise SchemaNotReadyError(
            f"skema {settings.backend} belum siap / schema not ready: "
            "run `sop-ledger db upgrade` first"
        )
    store = LedgerStore(env=eventsourcing_env(settings))
    return Ledger(store, clock, settings.cache_size)


def open_view_store(target: str) -> ViewStore:
    """A view store on a postgresql:// URL or at a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresViewStore(target)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    return SqliteViewStore(target)


def load_work_calendar(settings: Settings) -> WorkCalendar:
    return load_calendar(settings.calendar_file, settings.calendar_overrides)


def build_runner(
    settings: Settings,
    ledger: Ledger,
    *,
    store: ViewStore | None = None,
    calendar: WorkCalendar | None = None,
    table_set: Sequence[Table] = ALL_TABLES,
    as_of: datetime | None = None,
    page_size: int = 5_000,
) -> Runner:
    """The projection runner over ``ledger``'s log, writing to the configured view store."""
    env = FoldEnv(ledger.sop_version, calendar or load_work_calendar(settings))
    source = LogSource(ledger, as_of=as_of, listen_url=settings.database_url)
    views = CaseViews(env, source.history, table_set)
    return Runner(
        source, store or open_view_store(settings.views_target), views, page_size=page_size
    )
