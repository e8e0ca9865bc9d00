"""Killing the runner mid-batch and restarting never double-counts or skips.

The runner writes each page of events - every view change and the new tracking position -
in one transaction. Two kinds of crash, on SQLite and on PostgreSQL:

* in process: the view store's row writer fails *inside* the commit, after the tracking
  position, the deletes and some inserts of the page were written;
* a real ``SIGKILL`` of ``sop-ledger projections run --once --page-size 50`` while it is
  inside a write transaction (twice), then a restart to the end.

Either way the stored views must be exactly a clean rebuild up to the stored position (the
interrupted page left nothing behind), and after the restart exactly a clean rebuild of the
whole log: every act once in ``activity``, identical SLA (and all other) rows, the tracking
position at the head.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

import projections.viewstore.postgres as pg_views
import projections.viewstore.sqlite as sqlite_views
from ledger.bootstrap import build_ledger, open_view_store
from ledger.core.events import ActionRecorded, CaseCancelled, EntryAnnotated
from ledger.demo.org import install_directory, publish_seeds
from ledger.demo.year import SimClock, generate_year
from ledger.ledger import Ledger
from ledger.settings import Settings
from projections.case_views import NAME
from projections.tables import Table
from projections.viewstore.base import ViewStore
from support.ledgers import BACKENDS, postgres_url, store_settings
from support.pg_server import PostgresUnavailable, drop_database, fresh_database
from support.view_checks import dump_views, log_upto, separate_view_store, tracked_position
from support.views import runner

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PAGE_SIZE = 50
CHILD_APP = "sop-ledger-crash-test"  # application_name of the killed runner's connections

Rows = list[Any]


class Crash(BaseException):
    """The process dying mid-commit (a BaseException, as KeyboardInterrupt would be)."""


# --- ledgers, checks ----------------------------------------------------------------------


@contextmanager
def demo_ledger(backend: str, years: tuple[int, ...]) -> Iterator[tuple[Ledger, Settings]]:
    """A store holding generated demo years (seeds, directory, 12 cases a year)."""
    clock = SimClock(datetime(years[0], 1, 2, tzinfo=UTC))
    try:
        with store_settings(backend) as settings:
            ledger = build_ledger(settings, clock)
            try:
                publish_seeds(ledger)
                install_directory(ledger)
                for offset, year in enumerate(years):
                    generate_year(ledger, clock, year, seed=7 + offset)
                yield ledger, settings
            finally:
                ledger.close()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def year(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """One demo year (about 280 events), shared by this module's in-process tests."""
    with demo_ledger(str(request.param), (2024,)) as (ledger, _):
        yield ledger


def _activity_positions(ledger: Ledger, upto: int | None = None) -> list[int]:
    """Positions of the events that are activity rows (acts, cancellations, annotations)."""
    kinds = (ActionRecorded, CaseCancelled, EntryAnnotated)
    return [p for p, event in log_upto(ledger, upto) if isinstance(event, kinds)]


def _page_ends(ledger: Ledger) -> set[int]:
    """Where a runner reading pages of PAGE_SIZE from zero may stop: every full page's end."""
    positions = [p for p, _ in log_upto(ledger)]
    return {0, *positions[PAGE_SIZE - 1 :: PAGE_SIZE]}


def assert_clean_up_to_stored_position(ledger: Ledger, store: ViewStore) -> int:
    """The views hold exactly the pages before the stored position: a clean rebuild to it."""
    position = tracked_position(store)
    assert position in _page_ends(ledger), f"stopped at {position}, not at the end of a page"
    stored = store.query("SELECT position FROM activity ORDER BY position")
    assert [r["position"] for r in stored] == _activity_positions(ledger, position)
    with separate_view_store(ledger) as clean:
        runner(ledger, clean).catch_up(position)
        assert tracked_position(clean) == position
        assert dump_views(store) == dump_views(clean)
    return position


def assert_complete(ledger: Ledger, store: ViewStore) -> None:
    """Caught up to the head, each act once, and equal to a clean rebuild of the whole log."""
    head = ledger.max_position()
    assert tracked_position(store) == head
    twice = store.query(
        "SELECT position, count(*) AS n FROM activity GROUP BY position HAVING count(*) > 1"
    )
    assert twice == []
    stored = store.query("SELECT position FROM activity ORDER BY position")
    assert [r["position"] for r in stored] == _activity_positions(ledger)
    with separate_view_store(ledger) as clean:
        assert runner(ledger, clean).catch_up() == len(log_upto(ledger))
        assert dump_views(store) == dump_views(clean)


# --- in process: the row writer fails inside the commit -----------------------------------


@contextmanager
def crashing_writes(store: ViewStore, on_write: int) -> Iterator[list[tuple[str, int, int]]]:
    """Make the store's row writer raise :class:`Crash` on its ``on_write``-th non-empty
    write, *after* writing. Yields what the doomed transaction had: (physical table, rows
    just written, rows the table showed inside the transaction)."""
    doomed: list[tuple[str, int, int]] = []
    writes = 0

    def after(table: Table, generation: int, rows: Rows, count: Callable[[str], int]) -> None:
        nonlocal writes
        if not rows:
            return
        writes += 1
        if writes == on_write:
            physical = table.physical(generation)
            doomed.append((physical, len(rows), count(f"SELECT count(*) FROM {physical}")))
            raise Crash(f"killed inside the commit, after writing {len(rows)} rows to {physical}")

    if store.backend == "sqlite":
        real_insert = sqlite_views._insert

        def insert(
            conn: sqlite3.Connection, table: Table, generation: int, rows: list[Any]
        ) -> None:
            real_insert(conn, table, generation, rows)
            after(table, generation, rows, lambda sql: int(conn.execute(sql).fetchone()[0]))

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sqlite_views, "_insert", insert)
            yield doomed
        return

    real_copy = pg_views._copy

    def copy(cur: psycopg.Cursor[Any], table: Table, generation: int, rows: Rows) -> None:
        real_copy(cur, table, generation, rows)

        def count(sql: str) -> int:
            found = cur.execute(sql).fetchone()
            assert found is not None
            return int(found[0])

        after(table, generation, rows, count)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pg_views, "_copy", copy)
        yield doomed


@pytest.mark.parametrize("resume", ["new runner", "same runner"])
@pytest.mark.parametrize("on_write", [1, 9, 30])
def test_a_crash_inside_a_commit_leaves_nothing_and_the_restart_finishes(
    year: Ledger, on_write: int, resume: str
) -> None:
    ledger = year
    head = ledger.max_position()
    with separate_view_store(ledger) as store:  # the ledger is shared: a store of its own
        crashing = runner(ledger, store, page_size=PAGE_SIZE, cache_size=3)
        with crashing_writes(store, on_write) as doomed, pytest.raises(Crash):
            crashing.catch_up()
        ((physical, written, inside),) = doomed
        assert inside >= written > 0, physical  # the page was half written when it crashed
        stopped = assert_clean_up_to_stored_position(ledger, store)
        assert stopped < head
        resumed = runner(ledger, store, page_size=PAGE_SIZE, cache_size=3)
        if resume == "same runner":  # it dropped its folded cases with the failed page
            resumed = crashing
        assert resumed.catch_up() == sum(1 for p, _ in log_upto(ledger) if p > stopped)
        assert_complete(ledger, store)


def test_a_fold_failure_while_the_previous_page_commits_keeps_that_page(year: Ledger) -> None:
    """In a bulk catch-up page N is committed on a thread while page N + 1 folds. If the
    fold fails then, page N still lands (or fails) on its own, the runner knows where the
    views stand, and the same runner carries on from there."""
    ledger = year
    with separate_view_store(ledger) as store:
        crashing = runner(ledger, store, page_size=PAGE_SIZE, cache_size=3)
        real_commit, real_apply = store.commit, crashing.projection.apply
        seen = 0

        def slow_commit(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.3)  # the fold of the next page fails while this one is written
            return real_commit(*args, **kwargs)

        def apply(position: int, event: Any) -> None:
            nonlocal seen
            seen += 1
            if seen == 2 * PAGE_SIZE + 1:
                raise Crash("the fold of the third page failed")
            real_apply(position, event)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(store, "commit", slow_commit)
            patch.setattr(crashing.projection, "apply", apply)
            with pytest.raises(Crash):
                crashing.catch_up()
        stopped = assert_clean_up_to_stored_position(ledger, store)
        second_page_end = sorted(_page_ends(ledger))[2]
        assert stopped == second_page_end  # the page in flight landed
        assert crashing.generation is not None
        assert crashing.generation.position == stopped  # and the runner knows it
        assert crashing.catch_up() == sum(1 for p, _ in log_upto(ledger) if p > stopped)
        assert_complete(ledger, store)


# --- a real kill of the CLI worker --------------------------------------------------------

# The CLI, started as ``python -c``: with CRASH_TEST_WRITE_DELAY set, every row write of a
# commit is followed by a pause *inside* the transaction, so a kill lands mid-batch.
_CHILD = """
import os, sys, time
delay = float(os.environ.get("CRASH_TEST_WRITE_DELAY") or 0)
if delay:
    import projections.viewstore.postgres as pg_views
    import projections.viewstore.sqlite as sqlite_views

    def slowed(write):
        def slow(*args):
            write(*args)
            time.sleep(delay)
        return slow

    pg_views._copy = slowed(pg_views._copy)
    sqlite_views._insert = slowed(sqlite_views._insert)
from ledger.cli import main
main()
"""


@contextmanager
def views_target(backend: str) -> Iterator[str]:
    """Where the worker keeps its views: a SQLite file, or a PostgreSQL database of its own."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="views-crash-") as directory:
            yield str(Path(directory) / "views.sqlite")
        return
    url = fresh_database(postgres_url(), "views_crash")
    try:
        yield url
    finally:
        drop_database(url)


def start_worker(settings: Settings, views: str, *, delay: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env |= {"LEDGER_VIEWS_URL": views, "PGAPPNAME": CHILD_APP}
    if settings.database_url:
        env["LEDGER_DATABASE_URL"] = settings.database_url
    else:
        env["LEDGER_DATA_DIR"] = str(settings.data_dir)
    if delay:
        env["CRASH_TEST_WRITE_DELAY"] = str(delay)
    command = ["projections", "run", "--once", "--page-size", str(PAGE_SIZE)]
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def writing(views: str) -> bool:
    """Is the worker inside a write transaction on the view store right now?"""
    if views.startswith("postgresql://"):
        with psycopg.connect(views, autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND datname = current_database() AND backend_xid IS NOT NULL",
                (CHILD_APP,),
            ).fetchone()
        return found is not None and found[0] > 0
    with closing(sqlite3.connect(views, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked: a writer is inside
            return True
        conn.execute("ROLLBACK")
        return False


def wait_until_gone(views: str) -> None:
    """PostgreSQL ends a killed client's sessions (and its locks) a moment later."""
    if not views.startswith("postgresql://"):
        return
    deadline = time.monotonic() + 20
    with psycopg.connect(views, autocommit=True) as conn:
        while True:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (CHILD_APP,)
            ).fetchone()
            if found is not None and found[0] == 0:
                return
            assert time.monotonic() < deadline, "the killed worker's sessions stay open"
            time.sleep(0.02)


def kill_mid_batch(
    worker: subprocess.Popen[str], store: ViewStore, views: str, after: int, head: int
) -> None:
    """SIGKILL the worker once it has committed past ``after`` and is inside a write."""
    deadline = time.monotonic() + 90
    while True:
        if worker.poll() is not None:
            out, err = worker.communicate()
            pytest.fail(f"the worker ended ({worker.returncode}) before the kill:\n{out}\n{err}")
        live = store.live(NAME)
        position = 0 if live is None else live.position
        if after < position < head and writing(views):
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=30)
            assert worker.returncode == -signal.SIGKILL
            wait_until_gone(views)
            return
        assert time.monotonic() < deadline, f"never caught the worker mid-batch ({position})"
        time.sleep(0.005)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_of_the_worker_mid_batch_then_restart(backend: str) -> None:
    with (
        demo_ledger(backend, (2024, 2025)) as (ledger, settings),
        views_target(backend) as views,
    ):
        head = ledger.max_position()
        store = open_view_store(views)
        try:
            stopped = 0
            for _ in range(2):  # killed twice, each time further on
                worker = start_worker(settings, views, delay=0.02)
                kill_mid_batch(worker, store, views, max(stopped, head // 3), head)
                stopped = assert_clean_up_to_stored_position(ledger, store)
                assert 0 < stopped < head
            worker = start_worker(settings, views, delay=0)
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            assert f"dari posisi/from position {stopped}" in out
            assert f"posisi/position {head}, kepala log/head {head}, tertinggal/lag 0" in out
            assert_complete(ledger, store)
        finally:
            store.close()
