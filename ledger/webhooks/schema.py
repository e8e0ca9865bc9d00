"""The webhook tables (migration 2), in the ledger's own database.

A subscription's tracked log position has a table of its own: it is the one fact that says
what was delivered, written by the dispatcher alone. ``webhook_deliveries`` holds only the
attempts worth seeing: deliveries being retried, failed ones, redeliveries.
"""

from __future__ import annotations

SUBSCRIPTIONS = "webhook_subscriptions"
POSITIONS = "webhook_positions"
DELIVERIES = "webhook_deliveries"


def _ddl(uuid: str, time: str, bigint: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE {SUBSCRIPTIONS} (id {uuid} PRIMARY KEY, owner TEXT NOT NULL, "
        "url TEXT NOT NULL, types TEXT NOT NULL, sop_id TEXT, unit TEXT, description TEXT, "
        f"secret TEXT NOT NULL, created_at {time} NOT NULL, disabled_at {time}, "
        "disabled_reason TEXT)",
        f"CREATE INDEX {SUBSCRIPTIONS}_owner ON {SUBSCRIPTIONS} (owner)",
        f"CREATE TABLE {POSITIONS} (subscription_id {uuid} PRIMARY KEY "
        f"REFERENCES {SUBSCRIPTIONS} (id) ON DELETE CASCADE, position {bigint} NOT NULL)",
        f"CREATE TABLE {DELIVERIES} (id {uuid} PRIMARY KEY, subscription_id {uuid} NOT NULL "
        f"REFERENCES {SUBSCRIPTIONS} (id) ON DELETE CASCADE, position {bigint} NOT NULL, "
        "event_id TEXT NOT NULL, event_type TEXT NOT NULL, status TEXT NOT NULL, "
        "attempts INTEGER NOT NULL, last_status INTEGER, last_error TEXT, "
        f"next_attempt_at {time}, created_at {time} NOT NULL, updated_at {time} NOT NULL, "
        "UNIQUE (subscription_id, position))",
        f"CREATE INDEX {DELIVERIES}_status ON {DELIVERIES} (status, subscription_id)",
    )


SQLITE_DDL = _ddl("TEXT", "TEXT", "INTEGER")
POSTGRES_DDL = _ddl("uuid", "timestamptz", "bigint")
NAME = "webhook subscriptions, positions and deliveries"
