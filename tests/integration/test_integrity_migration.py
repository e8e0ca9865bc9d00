"""Migration 3 on a store that already holds events: every one is sealed, in log order,
exactly as the recorders seal new ones, so the whole history verifies and is provable."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.application import LedgerStore, utc_now
from ledger.bootstrap import upgrade_schema
from ledger.commands import OpenCase
from ledger.core import merkle
from ledger.core.checkpoint import Signer, generate_signer, open_checkpoint
from ledger.demo.org import DINAS, install_directory, publish_seeds
from ledger.integrity.store import IntegrityStore
from ledger.integrity.verify import verify_store
from ledger.ledger import Ledger
from ledger.persistence import stores
from ledger.persistence.stores import eventsourcing_env
from ledger.settings import Settings
from support.ledgers import FakeClock, PostgresUnavailable, postgres_url
from support.pg_server import drop_database, fresh_database
from support.walk import complete_step

B = "dinas-bmcktr.pengukuran-kinerja"
PLAIN = {
    "sqlite": "eventsourcing.sqlite:SQLiteApplicationRecorder",
    "postgres": "eventsourcing.postgres:PostgresApplicationRecorder",
}


@contextmanager
def empty_settings(backend: str) -> Iterator[Settings]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger-test-") as directory:
            yield Settings(data_dir=Path(directory), database_url=None)
        return
    try:
        url = fresh_database(postgres_url())
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        yield Settings(database_url=url, pool_size=2)
    finally:
        drop_database(url)


def test_migration_3_seals_the_events_already_there(
    backend: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with empty_settings(backend) as settings:
        migrations = "SQLITE_MIGRATIONS" if backend == "sqlite" else "POSTGRES_MIGRATIONS"
        everything = getattr(stores, migrations)
        with monkeypatch.context() as before_3:
            before_3.setattr(stores, migrations, everything[:2])
            upgrade_schema(settings)
        env = eventsourcing_env(settings) | {"APPLICATION_RECORDER_TOPIC": PLAIN[backend]}
        old = Ledger(LedgerStore(env=env), clock)
        try:
            publish_seeds(old)
            install_directory(old)
            for period in ("2024-Q2", "2024-Q3"):
                case = old.open_case(OpenCase(sop_id=B, unit=DINAS, period=period))
                for step in (1, 2):
                    complete_step(old, case.aggregate_id, step, at=clock.advance(minutes=5))
            events = old.max_position()
        finally:
            old.close()
        assert upgrade_schema(settings) == [everything[2].name]
        store = IntegrityStore(settings.ledger_target)
        try:
            assert store.sealed_size() == events
            signer = Signer.from_text(generate_signer("test.sop-ledger/backfill")[0])
            store.add_key(signer.verifier(), "active", utc_now())
            head = store.checkpoint(signer, "test.sop-ledger/backfill", utc_now)
            assert head is not None
            assert head.tree_size == events
            report = verify_store(store)
            assert report.ok, report.as_json()
            assert report.verified_size == events
            checkpoint, _ = open_checkpoint(head.note.encode(), [signer.verifier()])
            leaf, size, proof = store.inclusion(1)
            assert merkle.verify_inclusion(
                leaf.leaf_index, size, leaf.leaf_hash, proof, checkpoint.root_hash
            )
        finally:
            store.close()
