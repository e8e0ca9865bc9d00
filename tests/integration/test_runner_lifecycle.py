"""The runner's life on both stores: lag, live following, one worker per projection, a
second writer refused, and a new view version built beside the live one then switched in."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from ledger.calendars import default_calendar
from ledger.commands import OpenCase
from ledger.core.workcal import DayOff, WorkCalendar
from ledger.demo.org import DINAS
from ledger.ledger import Ledger
from projections.runner import RunnerBusyError
from projections.viewstore.base import ConcurrentRunnerError
from support.ledgers import FakeClock
from support.views import runner, view_store
from support.walk import complete_step

WIB = ZoneInfo("Asia/Jakarta")
B = "dinas-bmcktr.pengukuran-kinerja"


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=WIB)


def open_b(ledger: Ledger, clock: FakeClock) -> UUID:
    clock.now = wib(9, 30, 17)
    case_id = ledger.open_case(
        OpenCase(sop_id=B, unit=DINAS, period="2024-Q3", occurred_at=wib(9, 2, 8))
    ).aggregate_id
    complete_step(ledger, case_id, 1, at=wib(9, 2, 9))
    return case_id


def status_version(store_query: list[dict[str, object]]) -> object:
    return store_query[0]["version"] if store_query else None


def test_lag_is_the_distance_to_the_head(ledger: Ledger, clock: FakeClock) -> None:
    open_b(ledger, clock)
    with view_store(ledger) as store:
        r = runner(ledger, store, page_size=7)
        r.prepare()
        before = r.progress()
        assert (before.position, before.lag) == (0, ledger.max_position())
        r.catch_up()
        after = r.progress()
        assert (after.position, after.lag) == (ledger.max_position(), 0)


def test_a_bulk_catch_up_commits_beside_the_fold_and_a_short_one_inline(
    ledger: Ledger, clock: FakeClock
) -> None:
    """Pages of a long backlog are committed on the writer thread while the next page
    folds, where the store allows it (PostgreSQL; SQLite commits inline); a catch-up
    within one page (live following) always commits on the caller's thread."""
    open_b(ledger, clock)
    head = ledger.max_position()
    with view_store(ledger) as store:
        r = runner(ledger, store, page_size=7)
        real_commit = store.commit
        threads: list[str] = []

        def commit(*args: object, **kwargs: object) -> object:
            threads.append(threading.current_thread().name)
            return real_commit(*args, **kwargs)  # type: ignore[arg-type]

        store.commit = commit  # type: ignore[method-assign]
        assert r.catch_up(upto=head - 3) == head - 3
        assert len(threads) == -(-(head - 3) // 7)
        caller = threading.current_thread().name
        beside = [name.startswith("projection-write") for name in threads]
        assert beside == [store.commits_beside_fold] * len(threads)
        assert store.commits_beside_fold == (store.backend == "postgres")
        assert all(name.startswith("projection-write") or name == caller for name in threads)
        threads.clear()
        assert r.catch_up() == 3
        assert threads == [caller]
        assert r.progress().lag == 0


def test_follow_applies_new_events_without_being_asked(ledger: Ledger, clock: FakeClock) -> None:
    case_id = open_b(ledger, clock)
    with view_store(ledger) as store:
        r = runner(ledger, store)
        r.prepare()
        stop = threading.Event()
        thread = threading.Thread(target=r.follow, args=(stop, 0.2))
        thread.start()
        try:
            complete_step(ledger, case_id, 2, at=wib(9, 2, 10))
            target = ledger.max_position()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                live = store.live(r.projection.name)
                if live is not None and live.position >= target:
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(timeout=10)
        rows = store.query("SELECT version FROM case_status WHERE case_id = ?", [str(case_id)])
        assert status_version(rows) == ledger.case(case_id).version
        steps = store.query("SELECT step FROM case_open_steps WHERE case_id = ?", [str(case_id)])
        assert [s["step"] for s in steps] == [3]


def test_one_worker_per_projection(ledger: Ledger, clock: FakeClock) -> None:
    open_b(ledger, clock)
    with view_store(ledger) as store:
        first, second = runner(ledger, store), runner(ledger, store)
        with store.lock(first.projection.name) as held:
            assert held
            with pytest.raises(RunnerBusyError):
                second.run_locked(threading.Event())
        with store.lock(first.projection.name) as held_again:
            assert held_again  # released when the first worker stopped


def test_a_second_writer_on_the_same_generation_is_refused(
    ledger: Ledger, clock: FakeClock
) -> None:
    case_id = open_b(ledger, clock)
    with view_store(ledger) as store:
        first, second = runner(ledger, store), runner(ledger, store)
        first.prepare()
        second.prepare()
        first.catch_up()
        complete_step(ledger, case_id, 2, at=wib(9, 2, 10))
        with pytest.raises(ConcurrentRunnerError):
            second.catch_up()  # still believes the position is 0
        activity = store.query("SELECT count(*) AS n FROM activity")[0]["n"]
        assert activity == 1  # step 1's act once; nothing applied twice


def test_a_new_calendar_builds_beside_the_live_views_then_switches(
    ledger: Ledger, clock: FakeClock
) -> None:
    case_id = open_b(ledger, clock)
    complete_step(ledger, case_id, 2, at=wib(9, 3, 10))  # Mon 2 Sep 09:00 -> Tue 3 Sep 10:00
    base = default_calendar()
    decree = DayOff(date(2024, 9, 2), "Libur daerah (uji) / local day off (test)", "decree")
    changed = WorkCalendar(replace(base.data, days_off=(*base.data.days_off, decree)))
    assert changed.version != base.version
    query = "SELECT working_seconds FROM sla_executions WHERE case_id = ? AND step = 2"
    with view_store(ledger) as store:
        old = runner(ledger, store, calendar=base)
        old.prepare()
        old.catch_up()
        # Mon 09:00-16:00 less the break = 6 h, Tue 07:30-10:00 = 2.5 h
        assert store.query(query, [str(case_id)])[0]["working_seconds"] == 8.5 * 3600

        new = runner(ledger, store, calendar=changed, page_size=2)
        building = new.prepare()
        assert building.state == "building"
        assert building.number == old.generation.number + 1  # type: ignore[union-attr]
        # while it builds, the live views still show the old figures
        assert store.query(query, [str(case_id)])[0]["working_seconds"] == 8.5 * 3600
        new.catch_up()
        assert new.generation is not None
        assert new.generation.state == "live"
        # Monday is now a day off: only Tue 07:30-10:00 counts
        assert store.query(query, [str(case_id)])[0]["working_seconds"] == 2.5 * 3600
        states = {g.number: g.state for g in store.generations(new.projection.name)}
        assert states == {building.number - 1: "retired", building.number: "live"}
