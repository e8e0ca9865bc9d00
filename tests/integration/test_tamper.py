"""The tamper suite: whatever a DBA (or anyone with the database file) changes behind the
ledger's back, ``verify`` finds it, at the right position and of the right kind; an
untouched store verifies clean. Both stores; the tampering goes around the append-only
triggers the way an attacker with full rights would (dropping them on SQLite, replica
mode on PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from ledger.application import utc_now
from ledger.bootstrap import build_ledger, upgrade_schema
from ledger.commands import OpenCase
from ledger.core import checkpoint as notes
from ledger.demo.org import BIRO, DINAS, install_directory, publish_seeds
from ledger.integrity.keys import generate_key
from ledger.integrity.schema import APP_ROLE, APPEND_ONLY, CHECKPOINTS, EVENTS_SQLITE, HASHES, NODES
from ledger.integrity.store import IntegrityStore
from ledger.integrity.verify import Kind, Report, verify_store
from support.ledgers import FakeClock, PostgresUnavailable, store_settings
from support.model import SeededStore, seeded_store
from support.walk import complete_step

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
ORIGIN = "test.sop-ledger/tamper"


@pytest.fixture
def sealed(
    backend: str, clock: FakeClock, tmp_path: Any
) -> Iterator[tuple[SeededStore, IntegrityStore]]:
    """A store with two cases under way and a signed checkpoint over everything."""
    try:
        with seeded_store(backend, clock) as seeded:
            ledger = seeded.ledger
            for period in ("2024-Q2", "2024-Q3"):
                opened = ledger.open_case(
                    OpenCase(sop_id=B, unit=DINAS, period=period, occurred_at=clock.now)
                )
                for step in (1, 2, 3):
                    complete_step(ledger, opened.aggregate_id, step, at=clock.advance(minutes=5))
            store = IntegrityStore(seeded.settings.ledger_target)
            try:
                signer = generate_key(store, tmp_path / "key", ORIGIN, utc_now)
                assert store.checkpoint(signer, ORIGIN, utc_now) is not None
                seeded_signer[0] = signer
                yield seeded, store
            finally:
                store.close()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


seeded_signer: list[notes.Signer] = []
seeded_signer.append(notes.Signer.from_text(notes.generate_signer("placeholder")[0]))


@contextmanager
def attacker(seeded: SeededStore) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Raw SQL with the append-only triggers out of the way; ``?`` placeholders."""
    url = seeded.settings.database_url
    if url is None:
        with closing(sqlite3.connect(seeded.settings.sqlite_path, isolation_level=None)) as conn:
            triggers = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ]
            for name in triggers:
                conn.execute(f"DROP TRIGGER {name}")

            def run_sqlite(sql: str, *params: Any) -> list[tuple[Any, ...]]:
                return list(conn.execute(sql, params).fetchall())

            yield run_sqlite
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")

        def run_pg(sql: str, *params: Any) -> list[tuple[Any, ...]]:
            cur = conn.execute(sql.replace("?", "%s").encode(), params)
            return list(cur.fetchall()) if cur.description else []

        yield run_pg


def events_table(seeded: SeededStore) -> tuple[str, str]:
    if seeded.settings.database_url is None:
        return EVENTS_SQLITE, "rowid"
    return "ledger_events", "notification_id"


def case_positions(seeded: SeededStore, sql: Callable[..., list[tuple[Any, ...]]]) -> list[int]:
    """Positions of the events of the first case opened (act events of one case)."""
    table, position = events_table(seeded)
    rows = sql(
        f"SELECT {position}, originator_id FROM {table} WHERE topic = 'case.opened' "
        f"ORDER BY {position} LIMIT 1"
    )
    case = rows[0][1]
    return [
        r[0]
        for r in sql(
            f"SELECT {position} FROM {table} WHERE originator_id = ? ORDER BY {position}", case
        )
    ]


def check(store: IntegrityStore, kind: Kind, position: int | None) -> Report:
    report = verify_store(store)
    assert not report.ok
    first = report.first
    assert first is not None
    assert (first.kind, first.position) == (kind, position), report.as_json()
    return report


def test_an_untouched_store_verifies_clean(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    report = verify_store(store)
    assert report.ok, report.as_json()
    assert report.events == report.leaves == seeded.ledger.max_position()
    assert report.verified_size == report.leaves
    assert report.checkpoints == 1


def test_a_changed_payload_byte(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        target = case_positions(seeded, sql)[2]
        (state,) = sql(f"SELECT state FROM {table} WHERE {position} = ?", target)[0]
        changed = bytes(state).replace(b'"recorded_by":"', b'"recorded_by":"X', 1)
        assert changed != bytes(state)
        sql(f"UPDATE {table} SET state = ? WHERE {position} = ?", changed, target)
    report = check(store, Kind.CHANGED, target)
    assert any(p.kind is Kind.ROOT for p in report.problems)


def test_a_re_sealed_change_still_breaks_the_case_chain_and_the_signed_root(
    sealed: tuple[SeededStore, IntegrityStore],
) -> None:
    """A forger who knows the leaf format re-hashes the changed event: its next event's
    chain no longer matches, and the signed root differs."""
    from ledger.core.eventhash import canonical_event, leaf_hash

    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        positions = case_positions(seeded, sql)
        target, following = positions[2], positions[3]
        row = sql(
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            f"WHERE {position} = ?",
            target,
        )[0]
        changed = bytes(row[3]).replace(b'"recorded_by":"', b'"recorded_by":"X', 1)
        previous = sql(f"SELECT leaf_hash FROM {HASHES} WHERE position = ?", positions[1])[0][0]
        case_id = str(row[0]) if len(str(row[0])) == 36 else str(__import__("uuid").UUID(row[0]))
        forged = leaf_hash(
            canonical_event(target, case_id, row[1], row[2], changed, bytes(previous))
        )
        sql(f"UPDATE {table} SET state = ? WHERE {position} = ?", changed, target)
        sql(f"UPDATE {HASHES} SET leaf_hash = ? WHERE position = ?", forged, target)
    report = check(store, Kind.CHANGED, following)
    assert any(p.kind is Kind.ROOT for p in report.problems)


def test_a_deleted_event(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        target = case_positions(seeded, sql)[3]
        sql(f"DELETE FROM {table} WHERE {position} = ?", target)
    check(store, Kind.MISSING, target)


def test_a_deleted_event_and_its_leaf(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        positions = case_positions(seeded, sql)
        target = positions[3]
        sql(f"DELETE FROM {table} WHERE {position} = ?", target)
        sql(f"DELETE FROM {HASHES} WHERE position = ?", target)
    report = verify_store(store)
    first = report.first
    assert first is not None
    assert first.kind is Kind.MISSING
    assert first.position is not None
    assert target < first.position <= positions[4]


def test_a_forged_event_inserted(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        head = seeded.ledger.max_position()
        row = sql(
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            f"WHERE {position} = ?",
            case_positions(seeded, sql)[-1],
        )[0]
        sql(
            f"INSERT INTO {table} ({position}, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            head + 1,
            row[0],
            row[1] + 1,
            row[2],
            row[3],
        )
    check(store, Kind.INSERTED, head + 1)


def test_two_events_swapped(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    with attacker(seeded) as sql:
        positions = case_positions(seeded, sql)
        first, second = positions[2], positions[3]
        columns = "originator_id, originator_version, topic, state"
        one = sql(f"SELECT {columns} FROM {table} WHERE {position} = ?", first)[0]
        two = sql(f"SELECT {columns} FROM {table} WHERE {position} = ?", second)[0]
        update = (
            f"UPDATE {table} SET originator_version = ?, topic = ?, state = ? WHERE {position} = ?"
        )
        sql(update, one[1] + 1_000_000, one[2], one[3], first)
        sql(update, one[1], one[2], one[3], second)
        sql(update, two[1], two[2], two[3], first)
    check(store, Kind.REORDERED, first)


def test_the_tail_truncated(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    head = seeded.ledger.max_position()
    with attacker(seeded) as sql:
        sql(f"DELETE FROM {table} WHERE {position} > ?", head - 3)
        sql(f"DELETE FROM {HASHES} WHERE position > ?", head - 3)
    check(store, Kind.TRUNCATED, head - 2)


def test_a_replaced_checkpoint(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    latest = store.latest_checkpoint()
    assert latest is not None
    lines = latest.note.split("\n")
    lines[2] = "A" * 43 + "="  # another root, the old signature
    with attacker(seeded) as sql:
        sql(
            f"UPDATE {CHECKPOINTS} SET note = ? WHERE tree_size = ?",
            "\n".join(lines),
            latest.tree_size,
        )
    check(store, Kind.FORGED, None)


def test_a_checkpoint_signed_with_another_key(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    latest = store.latest_checkpoint()
    assert latest is not None
    other = notes.Signer.from_text(notes.generate_signer(ORIGIN)[0])
    head, _ = notes.open_checkpoint(latest.note.encode(), [seeded_signer[0].verifier()])
    forged = notes.sign_checkpoint(head, other).decode()
    with attacker(seeded) as sql:
        sql(f"UPDATE {CHECKPOINTS} SET note = ? WHERE tree_size = ?", forged, latest.tree_size)
    check(store, Kind.UNKNOWN_KEY, None)


def test_verify_reports_every_checkpoint_and_new_events_beyond_the_last(
    sealed: tuple[SeededStore, IntegrityStore], clock: FakeClock
) -> None:
    seeded, store = sealed
    first_size = seeded.ledger.max_position()
    case = seeded.ledger.open_case(
        OpenCase(sop_id=A, unit=BIRO, period="2024-Q4", occurred_at=clock.now)
    )
    complete_step(seeded.ledger, case.aggregate_id, 1, at=clock.advance(minutes=1))
    assert store.checkpoint(seeded_signer[0], ORIGIN, utc_now) is not None
    report = verify_store(store)
    assert report.ok, report.as_json()
    assert report.checkpoints == 2
    assert report.verified_size == seeded.ledger.max_position() > first_size


def test_the_database_refuses_edits(sealed: tuple[SeededStore, IntegrityStore]) -> None:
    seeded, store = sealed
    table, position = events_table(seeded)
    url = seeded.settings.database_url
    for target in (table, *APPEND_ONLY):
        key = {table: position, HASHES: "leaf_index", NODES: "level", CHECKPOINTS: "tree_size"}
        key = key.get(target, "id")
        for statement in (f"UPDATE {target} SET {key} = {key}", f"DELETE FROM {target}"):
            if url is None:
                with closing(sqlite3.connect(seeded.settings.sqlite_path)) as conn:
                    before = conn.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
                    if before == 0:
                        continue
                    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                        conn.execute(statement)
            else:
                with psycopg.connect(url) as conn:
                    count = conn.execute(f"SELECT count(*) FROM {target}".encode()).fetchone()
                    if count is None or count[0] == 0:
                        continue
                    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                        conn.execute(statement.encode())
        if url is not None:
            with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"TRUNCATE {target}".encode())
    assert verify_store(store).ok


def _unused(_: datetime = datetime(2024, 1, 1, tzinfo=UTC)) -> None:
    pass


@pytest.mark.postgres
def test_the_service_role_appends_and_reads_but_cannot_change_the_ledger(clock: FakeClock) -> None:
    """``db upgrade`` runs as the owner; the service runs as ``ledger_app`` (INSERT and
    SELECT on the ledger's tables only): it records and reads, and UPDATE, DELETE and
    TRUNCATE are refused by the server's privileges before any trigger runs."""
    try:
        settings_cm = store_settings("postgres")
        settings = settings_cm.__enter__()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        owner_url = settings.database_url
        assert owner_url is not None
        app_url = make_conninfo(owner_url, user=APP_ROLE)
        service = settings.model_copy(
            update={"database_url": app_url, "migration_database_url": owner_url}
        )
        assert upgrade_schema(service) == []  # as the owner: nothing pending
        ledger = build_ledger(service, clock)
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            opened = ledger.open_case(
                OpenCase(sop_id=B, unit=DINAS, period="2024-Q3", occurred_at=clock.now)
            )
            complete_step(ledger, opened.aggregate_id, 1, at=clock.advance(minutes=5))
            assert ledger.case(opened.aggregate_id).version >= 2
        finally:
            ledger.close()
        with psycopg.connect(app_url, autocommit=True) as conn:
            user = conn.execute("SELECT current_user").fetchone()
            assert user == (APP_ROLE,)
            for statement in (
                "UPDATE ledger_events SET topic = topic",
                "DELETE FROM ledger_events",
                "TRUNCATE ledger_events",
                f"UPDATE {HASHES} SET leaf_hash = leaf_hash",
                f"DELETE FROM {CHECKPOINTS}",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(statement.encode())
        store = IntegrityStore(owner_url)
        try:
            assert verify_store(store).ok
        finally:
            store.close()
    finally:
        settings_cm.__exit__(None, None, None)
