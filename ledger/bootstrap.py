"""The composition root: the one place that turns settings into stores and services."""

from __future__ import annotations

from ledger.application import Clock, LedgerStore, utc_now
from ledger.ledger import Ledger
from ledger.persistence.stores import eventsourcing_env, pending_migrations, upgrade
from ledger.settings import Settings


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
