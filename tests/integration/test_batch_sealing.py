"""Big batches are sealed like single appends: every event of an append statement gets its
leaf, in log order and without a gap, chained to its case's previous leaf whether that one
was stored earlier or sits earlier in the same batch (PostgreSQL's seal trigger; SQLite's
sealing recorder). A set-based seal of the whole statement was tried and measured: it
made single-event appends slower, so the seal stays per row (bench/integrity.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.application import utc_now
from ledger.bootstrap import build_ledger
from ledger.core.events import LedgerEvent
from ledger.demo.org import install_directory, publish_seeds
from ledger.demo.year import SimClock, generate_year
from ledger.integrity.keys import generate_key
from ledger.integrity.schema import HASHES
from ledger.integrity.store import IntegrityStore
from ledger.integrity.verify import verify_store
from support.ledgers import FakeClock, PostgresUnavailable, store_settings
from support.view_checks import log_upto

ORIGIN = "test.sop-ledger/batches"


@pytest.fixture(scope="module")
def demo_events() -> list[LedgerEvent]:
    """A demo year's events (seeds, directory, 12 cases), in log order."""
    clock = SimClock(datetime(2024, 1, 2, tzinfo=UTC))
    with store_settings("sqlite") as settings:
        ledger = build_ledger(settings, clock)
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            generate_year(ledger, clock, 2024, seed=7)
            return [event for _, event in log_upto(ledger)]
        finally:
            ledger.close()


@pytest.fixture
def target(backend: str, clock: FakeClock) -> Iterator[Any]:
    try:
        with store_settings(backend) as settings:
            ledger = build_ledger(settings, clock)
            try:
                yield settings, ledger
            finally:
                ledger.close()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


def test_two_big_batches_seal_every_event_chained_within_and_across_them(
    demo_events: list[LedgerEvent], target: Any, tmp_path: Any
) -> None:
    settings, ledger = target
    cut = len(demo_events) * 2 // 5
    first, second = demo_events[:cut], demo_events[cut:]
    in_first = {e.originator_id for e in first}
    per_case = Counter(e.originator_id for e in second)
    assert any(per_case[case] >= 3 and case in in_first for case in per_case)  # both kinds
    assert any(per_case[case] >= 3 and case not in in_first for case in per_case)

    ledger.store.append(first)
    ledger.store.append(second)

    store = IntegrityStore(settings.ledger_target)
    try:
        with store.transaction() as tx:
            rows = tx.rows(f"SELECT leaf_index FROM {HASHES} ORDER BY position")
        assert [r[0] for r in rows] == list(range(len(demo_events)))  # log order, no gap
        signer = generate_key(store, tmp_path / "key", ORIGIN, utc_now)
        head = store.checkpoint(signer, ORIGIN, utc_now)
        assert head is not None
        assert head.tree_size == len(demo_events)
        report = verify_store(store)  # recomputes every leaf in Python, chain included
        assert report.ok, report.as_json()
        assert report.verified_size == len(demo_events)
    finally:
        store.close()


def test_two_writers_on_one_sqlite_file_keep_the_leaves_contiguous(
    demo_events: list[LedgerEvent], clock: FakeClock, tmp_path: Any
) -> None:
    """Each sealing recorder remembers where its own last commit left the log and skips
    the leaf-index query when its next append follows directly; appends by another
    process in between must make it read the index again, never reuse one."""
    with store_settings("sqlite") as settings:
        first, second = build_ledger(settings, clock), build_ledger(settings, clock)
        try:
            events, turn = list(demo_events), 0
            sizes = [1, 1, 3, 1, 7, 2, 1, 1, 5]
            while events:
                size = sizes[turn % len(sizes)]
                writer = first if turn % 3 else second  # runs of two, then a switch
                writer.store.append(events[:size])
                events, turn = events[size:], turn + 1
        finally:
            first.close()
            second.close()
        store = IntegrityStore(settings.ledger_target)
        try:
            with store.transaction() as tx:
                rows = tx.rows(f"SELECT leaf_index FROM {HASHES} ORDER BY position")
            assert [r[0] for r in rows] == list(range(len(demo_events)))
            signer = generate_key(store, tmp_path / "key", ORIGIN, utc_now)
            assert store.checkpoint(signer, ORIGIN, utc_now) is not None
            report = verify_store(store)
            assert report.ok, report.as_json()
            assert report.verified_size == len(demo_events)
        finally:
            store.close()


def test_an_append_that_follows_the_writers_own_last_one_skips_the_index_query(
    demo_events: list[LedgerEvent], clock: FakeClock
) -> None:
    with store_settings("sqlite") as settings:
        ledger = build_ledger(settings, clock)
        try:
            statements: list[str] = []
            recorder = ledger.store.recorder
            real = recorder.datastore.transaction

            @contextmanager
            def traced(*args: Any, **kwargs: Any) -> Iterator[Any]:
                with real(*args, **kwargs) as cursor:
                    cursor.sqlite_cursor.connection.set_trace_callback(statements.append)
                    try:
                        yield cursor
                    finally:
                        cursor.sqlite_cursor.connection.set_trace_callback(None)

            recorder.datastore.transaction = traced  # type: ignore[method-assign]
            ledger.store.append(demo_events[:2])
            ledger.store.append(demo_events[2:3])
            ledger.store.append(demo_events[3:5])
        finally:
            ledger.close()
    asked = [s for s in statements if "max(leaf_index)" in s]
    assert len(asked) == 1  # the first append only: the next two follow it directly
