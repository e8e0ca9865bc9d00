"""Store selection and schema migrations for SQLite (embedded) and PostgreSQL.

Running services never create tables: ``sop-ledger db upgrade`` does, once, under a lock
(an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), because several processes
creating tables at once fail. ``POSTGRES_ENABLE_DB_FUNCTIONS`` is forced off: without the
table lock its inserts take, followers of the log can miss events under concurrency.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ledger.integrity import schema as integrity_schema
from ledger.integrity.backfill import seal_existing_postgres, seal_existing_sqlite
from ledger.settings import Settings
from ledger.webhooks import schema as webhook_schema

SQLITE_EVENTS_TABLE = "stored_events"
POSTGRES_EVENTS_TABLE = "ledger_events"
MIGRATIONS_TABLE = "ledger_schema_migrations"
_ADVISORY_LOCK_KEY = 0x5E0_1ED6E2


def eventsourcing_env(settings: Settings, *, create_table: bool = False) -> dict[str, str]:
    """The eventsourcing library's configuration, built only from our settings."""
    env = {
        "CREATE_TABLE": "y" if create_table else "n",
    }
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "ledger.integrity.recorders:SealingSQLiteRecorder",
            "SQLITE_DBNAME": str(settings.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        }
        return env
    params = conninfo_to_dict(settings.database_url)
    env |= {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "ledger.integrity.recorders:SealingPostgresRecorder",
        "POSTGRES_DBNAME": str(params.get("dbname") or params.get("user") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
    return env


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    then: Callable[[Any], None] | None = None  # a step SQL cannot do, on the connection


SQLITE_MIGRATIONS = (
    Migration(
        1,
        "recorded_at column and index",
        (
            f"ALTER TABLE {SQLITE_EVENTS_TABLE} ADD COLUMN recorded_at TEXT GENERATED ALWAYS AS "
            "(json_extract(CAST(state AS TEXT), '$.recorded_at')) VIRTUAL",
            f"CREATE INDEX IF NOT EXISTS {SQLITE_EVENTS_TABLE}_recorded_at "
            f"ON {SQLITE_EVENTS_TABLE} (recorded_at)",
        ),
    ),
    Migration(2, webhook_schema.NAME, webhook_schema.SQLITE_DDL),
    Migration(3, integrity_schema.NAME, integrity_schema.SQLITE_DDL, then=seal_existing_sqlite),
)

POSTGRES_MIGRATIONS = (
    Migration(
        1,
        "recorded_at column and index",
        (
            "CREATE OR REPLACE FUNCTION ledger_recorded_at(state bytea) RETURNS timestamptz "
            "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
            "$$ SELECT (convert_from(state, 'UTF8')::jsonb ->> 'recorded_at')::timestamptz $$",
            f"ALTER TABLE {POSTGRES_EVENTS_TABLE} ADD COLUMN IF NOT EXISTS recorded_at "
            "timestamptz GENERATED ALWAYS AS (ledger_recorded_at(state)) STORED",
            f"CREATE INDEX IF NOT EXISTS {POSTGRES_EVENTS_TABLE}_recorded_at "
            f"ON {POSTGRES_EVENTS_TABLE} (recorded_at)",
        ),
    ),
    Migration(2, webhook_schema.NAME, webhook_schema.POSTGRES_DDL),
    Migration(3, integrity_schema.NAME, integrity_schema.POSTGRES_DDL, then=seal_existing_postgres),
)


def upgrade(settings: Settings, create_library_tables: Callable[[], None]) -> list[str]:
    """Create the library's tables, then apply our pending migrations; returns their names."""
    if settings.database_url is None:
        return _upgrade_sqlite(settings, create_library_tables)
    return _upgrade_postgres(settings.database_url, create_library_tables)


def _upgrade_sqlite(settings: Settings, create_library_tables: Callable[[], None]) -> list[str]:
    create_library_tables()
    connection = sqlite3.connect(settings.sqlite_path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        done = {row[0] for row in connection.execute(f"SELECT version FROM {MIGRATIONS_TABLE}")}
        applied = []
        for migration in SQLITE_MIGRATIONS:
            if migration.version in done:
                continue
            for statement in migration.statements:
                connection.execute(statement)
            if migration.then is not None:
                migration.then(connection)
            connection.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
            applied.append(migration.name)
        connection.execute("COMMIT")
        return applied
    finally:
        connection.close()


def _upgrade_postgres(url: str, create_library_tables: Callable[[], None]) -> list[str]:
    with psycopg.connect(url, autocommit=True) as lock_connection:
        lock_connection.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,))
        try:
            create_library_tables()
            return _apply_postgres_migrations(url)
        finally:
            lock_connection.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))


def _apply_postgres_migrations(url: str) -> list[str]:
    applied = []
    with psycopg.connect(url) as connection:
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = connection.execute(f"SELECT version FROM {MIGRATIONS_TABLE}").fetchall()
        done = {row[0] for row in rows}
        for migration in POSTGRES_MIGRATIONS:
            if migration.version in done:
                continue
            for statement in migration.statements:
                connection.execute(statement.encode())
            if migration.then is not None:
                migration.then(connection)
            connection.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.name)
    return applied


def pending_migrations(settings: Settings) -> int:
    """How many migrations are not applied yet (0 means the schema is current)."""
    migrations = SQLITE_MIGRATIONS if settings.database_url is None else POSTGRES_MIGRATIONS
    try:
        done = _applied_versions(settings)
    except (sqlite3.Error, psycopg.Error):
        return len(migrations) + 1
    return sum(1 for m in migrations if m.version not in done)


def _applied_versions(settings: Settings) -> set[int]:
    query = f"SELECT version FROM {MIGRATIONS_TABLE}"
    if settings.database_url is None:
        if not settings.sqlite_path.exists():
            raise sqlite3.OperationalError("no database file")
        lite = sqlite3.connect(settings.sqlite_path)
        try:
            return {row[0] for row in lite.execute(query)}
        finally:
            lite.close()
    with psycopg.connect(settings.database_url) as connection:
        return {row[0] for row in connection.execute(query.encode()).fetchall()}
