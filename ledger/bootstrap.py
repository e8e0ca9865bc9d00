"""The composition root: the one place that turns settings into stores and services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from ledger.access_service import Authenticator
from ledger.application import Clock, LedgerStore, utc_now
from ledger.calendars import load_calendar
from ledger.core.workcal import WorkCalendar
from ledger.feed.reader import FeedReader
from ledger.feed.service import Feed
from ledger.feed.waiting import LogWaiter
from ledger.integrity.checkpointer import Checkpointer
from ledger.integrity.keys import load_signer
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger
from ledger.oidc import JwksCache, OidcConfig, OidcVerifier
from ledger.persistence.stores import eventsourcing_env, pending_migrations, upgrade
from ledger.settings import Settings
from ledger.webhooks.dispatcher import Dispatcher, DispatcherThread
from ledger.webhooks.policy import RetryPolicy, Targets
from ledger.webhooks.sender import HttpSender
from ledger.webhooks.service import Webhooks
from ledger.webhooks.store import SubscriptionStore, open_subscription_store
from ledger.webhooks.subscriptions import Subscriptions
from projections.case_views import CaseViews
from projections.casefold import FoldEnv
from projections.runner import Runner
from projections.source import LogSource
from projections.tables import ALL as ALL_TABLES
from projections.tables import SLA as SLA_TABLE
from projections.tables import Table
from projections.viewstore.base import ViewStore
from projections.viewstore.postgres import PostgresViewStore
from projections.viewstore.sqlite import SqliteViewStore


class SchemaNotReadyError(RuntimeError):
    """The store's schema is missing or behind: run ``sop-ledger db upgrade`` first."""


def upgrade_schema(settings: Settings) -> list[str]:
    """Create or migrate the schema (the only code path that runs DDL), as the schema
    owner (``migration_database_url``) when the service itself runs as ``ledger_app``."""
    if settings.migration_database_url:
        settings = settings.model_copy(update={"database_url": settings.migration_database_url})

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


def build_authenticator(settings: Settings, ledger: Ledger) -> Authenticator:
    """API tokens always; OIDC JWTs too when an issuer and its JWKS are configured."""
    if not settings.oidc_enabled:
        return Authenticator(ledger)
    config = OidcConfig(
        issuer=settings.oidc_issuer or "",
        audience=settings.oidc_audience or "",
        jwks_url=settings.oidc_jwks_url or "",
        nip_claim=settings.oidc_nip_claim,
        scopes_claim=settings.oidc_scopes_claim,
    )
    verifier = OidcVerifier(config, JwksCache(config.jwks_url), ledger.person, ledger.clock)
    return Authenticator(ledger, verifier)


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


def report_runners(
    settings: Settings, ledger: Ledger, calendar: WorkCalendar | None = None
) -> Callable[[ViewStore, datetime | None], Runner]:
    """Runners that replay the log into a report's throw-away store (SLA view only)."""
    fixed = calendar or load_work_calendar(settings)

    def make_runner(store: ViewStore, as_of: datetime | None) -> Runner:
        return build_runner(
            settings, ledger, store=store, calendar=fixed, table_set=(SLA_TABLE,), as_of=as_of
        )

    return make_runner


def build_feed(settings: Settings, ledger: Ledger) -> Feed:
    """The event feed of ``ledger``; streams wait on NOTIFY (PostgreSQL) or poll (SQLite)."""
    return Feed.over(ledger, settings.database_url)


def open_integrity(settings: Settings) -> IntegrityStore:
    """The Merkle tree, checkpoints and signing keys, in the ledger's own database."""
    return IntegrityStore(settings.ledger_target)


def build_checkpointer(
    settings: Settings, store: IntegrityStore, clock: Clock = utc_now
) -> Checkpointer | None:
    """The service's checkpoint signer; None when told never to sign (interval 0) or
    when this host holds no signing key (``sop-ledger keys generate`` makes one)."""
    if settings.checkpoint_interval_seconds <= 0 or not settings.key_path.exists():
        return None
    signer = load_signer(settings.key_path)
    return Checkpointer(
        store, signer, settings.checkpoint_origin, settings.checkpoint_interval_seconds, clock
    )


def open_webhook_store(settings: Settings) -> SubscriptionStore:
    """Subscriptions live in the ledger's own database (migration 2)."""
    return open_subscription_store(
        settings.database_url or str(settings.sqlite_path), settings.webhook_concurrency + 1
    )


def build_dispatcher(
    settings: Settings, ledger: Ledger, store: SubscriptionStore | None = None
) -> Dispatcher:
    policy = RetryPolicy(
        base_seconds=settings.webhook_retry_base_seconds,
        cap_seconds=settings.webhook_retry_max_seconds,
        max_attempts=settings.webhook_max_attempts,
    )
    return Dispatcher(
        store or open_webhook_store(settings),
        FeedReader(ledger.store.recorder),
        HttpSender(settings.webhook_timeout_seconds, webhook_targets(settings)),
        policy,
    )


def build_webhooks(settings: Settings, ledger: Ledger, *, in_process: bool = True) -> Webhooks:
    """Subscriptions for the HTTP service; with ``in_process``, a dispatcher thread too."""
    store = open_webhook_store(settings)
    worker = None
    if in_process:
        worker = DispatcherThread(
            build_dispatcher(settings, ledger, store),
            LogWaiter(settings.database_url),
            concurrency=settings.webhook_concurrency,
        )
    subscriptions = Subscriptions(store, ledger, ledger.max_position, webhook_targets(settings))
    return Webhooks(subscriptions, worker)


def webhook_targets(settings: Settings) -> Targets:
    """Where webhooks may go: public addresses and the networks the operator allows."""
    return Targets.of(settings.webhook_allowed_networks)
