"""The tamper-evidence tables (migration 3) and the database's refusal to edit the ledger.

Every event gets a row in ``ledger_event_hashes`` in the transaction that appends it: its
leaf index in the global Merkle tree (contiguous from 0, in log order, whatever gaps the
position sequence has), and its RFC 9162 leaf hash over the canonical form of
:mod:`ledger.core.eventhash`, which names the previous leaf of the same aggregate (the
per-case hash chain), written by the appending recorder (:mod:`ledger.integrity.recorders`);
events stored before this migration are sealed by it, in log order
(:mod:`ledger.integrity.backfill`). Interior Merkle nodes and signed checkpoints are
written later by the checkpointer. Triggers refuse UPDATE, DELETE and TRUNCATE on all of
these tables and on the events table, for every role, the owner included; on PostgreSQL the
service's own role (``ledger_app``) is granted only INSERT and SELECT on them as well.
"""

from __future__ import annotations

EVENTS_PG = "ledger_events"
EVENTS_SQLITE = "stored_events"
HASHES = "ledger_event_hashes"
NODES = "ledger_merkle_nodes"
CHECKPOINTS = "ledger_checkpoints"
KEYS = "ledger_signing_keys"
APPEND_ONLY = (HASHES, NODES, CHECKPOINTS, KEYS)
APP_ROLE = "ledger_app"
NAME = "tamper evidence: leaf hashes, Merkle nodes, checkpoints, keys, append-only tables"
REFUSED = "buku besar hanya dapat ditambah / the ledger is append-only"


def _tables(  # noqa: PLR0917
    uuid: str, time: str, bigint: str, blob: str, serial: str, chain_index: str
) -> tuple[str, ...]:
    """The leaf rows are keyed by position (on SQLite the rowid itself), with one more
    index on the leaf index. PostgreSQL's trigger finds a case's previous leaf through
    ``chain_index`` (one probe, whatever plan the trigger cached); SQLite's recorder
    remembers it, or else goes through the events table's own key, so there each append
    maintains one index fewer."""
    return (
        f"CREATE TABLE {HASHES} (position {bigint} PRIMARY KEY, "
        f"leaf_index {bigint} NOT NULL UNIQUE, originator_id {uuid} NOT NULL, "
        f"originator_version INTEGER NOT NULL, leaf_hash {blob} NOT NULL{chain_index})",
        f"CREATE TABLE {NODES} (level INTEGER NOT NULL, idx {bigint} NOT NULL, "
        f"hash {blob} NOT NULL, PRIMARY KEY (level, idx))",
        f"CREATE TABLE {CHECKPOINTS} (tree_size {bigint} PRIMARY KEY, root_hash {blob} NOT NULL, "
        f"signed_at {time} NOT NULL, key_name TEXT NOT NULL, note TEXT NOT NULL)",
        f"CREATE TABLE {KEYS} (id {serial} PRIMARY KEY, verifier_key TEXT NOT NULL, "
        f"name TEXT NOT NULL, status TEXT NOT NULL, at {time} NOT NULL)",
    )


_PG_NEXT_LEAF = f"""
CREATE FUNCTION ledger_next_leaf() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ledger.next_leaf',
        (SELECT COALESCE(max(leaf_index) + 1, 0) FROM {HASHES})::text, true);
    RETURN NULL;
END $$
"""

_PG_SEAL = f"""
CREATE FUNCTION ledger_seal_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
    next_index bigint := current_setting('ledger.next_leaf')::bigint;
BEGIN
    PERFORM set_config('ledger.next_leaf', (next_index + 1)::text, true);
    SELECT leaf_hash INTO previous FROM {HASHES}
     WHERE originator_id = NEW.originator_id AND originator_version = NEW.originator_version - 1;
    INSERT INTO {HASHES} (position, leaf_index, originator_id, originator_version, leaf_hash)
    VALUES (NEW.notification_id, next_index, NEW.originator_id, NEW.originator_version,
        sha256('\\x00'::bytea
            || convert_to('{{"case_id":"' || NEW.originator_id::text || '","payload":', 'UTF8')
            || NEW.state
            || convert_to(',"position":' || NEW.notification_id
                || ',"previous":' || COALESCE('"' || encode(previous, 'hex') || '"', 'null')
                || ',"topic":' || to_json(NEW.topic)::text
                || ',"version":' || NEW.originator_version || '}}', 'UTF8')));
    RETURN NULL;
END $$
"""

_PG_REFUSE = f"""
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSED}: % on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$
"""

_PG_LOCK = f"""
CREATE FUNCTION ledger_lock_events() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
BEGIN
    LOCK TABLE {EVENTS_PG} IN EXCLUSIVE MODE;
END $$
"""

_PG_ROLE = f"""
DO $$
BEGIN
    CREATE ROLE {APP_ROLE} LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
"""


def _pg_refusals() -> tuple[str, ...]:
    statements = []
    for table in (EVENTS_PG, *APPEND_ONLY):
        statements += [
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        ]
    return tuple(statements)


def _pg_grants() -> tuple[str, ...]:
    """What the service role may do: read and append the ledger, lock it for an append
    (through ``ledger_lock_events``, since LOCK ... EXCLUSIVE needs UPDATE rights), and
    run the webhook tables. Nothing in the ledger itself can be changed or removed."""
    ledger_tables = ", ".join((EVENTS_PG, *APPEND_ONLY))
    return (
        _PG_ROLE,
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON {ledger_tables} TO {APP_ROLE}",
        f"GRANT USAGE ON SEQUENCE {EVENTS_PG}_notification_id_seq, {KEYS}_id_seq TO {APP_ROLE}",
        f"GRANT SELECT ON ledger_schema_migrations TO {APP_ROLE}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_subscriptions, webhook_positions, "
        f"webhook_deliveries TO {APP_ROLE}",
        "REVOKE ALL ON FUNCTION ledger_lock_events() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION ledger_lock_events() TO {APP_ROLE}",
    )


POSTGRES_DDL: tuple[str, ...] = (
    f"LOCK TABLE {EVENTS_PG} IN EXCLUSIVE MODE",  # no append until the backfill is done
    *_tables(
        "uuid",
        "timestamptz",
        "bigint",
        "bytea",
        "bigserial",
        ", UNIQUE (originator_id, originator_version)",
    ),
    _PG_NEXT_LEAF,
    f"CREATE TRIGGER {EVENTS_PG}_next_leaf BEFORE INSERT ON {EVENTS_PG} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_next_leaf()",
    _PG_SEAL,
    f"CREATE TRIGGER {EVENTS_PG}_seal AFTER INSERT ON {EVENTS_PG} "
    "FOR EACH ROW EXECUTE FUNCTION ledger_seal_event()",
    _PG_REFUSE,
    *_pg_refusals(),
    _PG_LOCK,
    *_pg_grants(),
)


def _sqlite_refusals() -> tuple[str, ...]:
    statements = []
    for table in (EVENTS_SQLITE, *APPEND_ONLY):
        for operation in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: {operation} on {table}'); END"
            )
    return tuple(statements)


SQLITE_DDL: tuple[str, ...] = (
    *_tables("TEXT", "TEXT", "INTEGER", "BLOB", "INTEGER", ""),
    *_sqlite_refusals(),
)
