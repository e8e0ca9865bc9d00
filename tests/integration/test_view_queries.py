"""The read API's cheap paths give what the plain ones give, on both stores.

* ``sla_summary`` counts and ranks in SQL; it must equal :func:`queries.summarise` over the
  fetched rows for every grouping and filter, with ties, NULL times, unjudged and open
  executions, NULL group keys and group sizes on both sides of every rounding of a rank.
* The status board resolves who must act for a whole page in one query; the holders must be
  those a query per open step finds.
* After a rebuild the planner statistics of the new tables exist (ANALYZE ran), and only
  bulk catch-ups and switches pay for it.
* A bulk catch-up freezes what survives each page from the garbage collector and makes
  young collections rare, and restores both at the end; a small one leaves it alone.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from ledger.commands import OpenCase
from ledger.demo.org import BIRO, DINAS
from ledger.ledger import Ledger
from projections import queries, tables
from projections.runner import Runner
from projections.viewstore.base import Changes, ViewStore
from support.ledgers import FakeClock
from support.views import runner, view_store
from support.walk import complete_step

WIB = ZoneInfo("Asia/Jakarta")
A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
FAR = datetime(2026, 1, 1, tzinfo=UTC)
OUTCOMES = ("completed", "completed", "returned", "cancelled", "open")


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=WIB)


def _sla_rows(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Synthetic executions per case: groups of 1-23 rows, small value range (ties)."""
    by_case: dict[str, list[tuple[Any, ...]]] = {}
    for number in range(60):
        case_id = f"case-{number:03d}"
        rows = []
        for seq in range(1, rng.randint(1, 23) + 1):
            outcome = rng.choice(OUTCOMES)
            values: dict[str, Any] = dict.fromkeys(tables.SLA.column_names)
            values |= {
                "case_id": case_id,
                "seq": seq,
                "sop_id": rng.choice(("sop-a", "sop-b", None)),
                "unit": rng.choice(("u1", "u2")),
                "step": rng.choice((1, 2, 10)),  # 10 sorts between 1 and 2 as text
                "role": rng.choice(("kabag", "jf", None)),
                "actor": f"1990{rng.randint(0, 50):02d}",  # small groups by person
                "quarter": rng.choice(("2024-Q3", "2024-Q4", None)),
                "outcome": outcome,
                "working_seconds": rng.choice((None, 0, 60, 60, 1800, 5400, 27000)),
                "met": None if outcome == "open" else rng.choice((None, 0, 1, 1)),
            }
            rows.append(tuple(values[name] for name in tables.SLA.column_names))
        by_case[case_id] = rows
    return by_case


def _load_sla(store: ViewStore, by_case: dict[str, list[tuple[Any, ...]]]) -> None:
    generation = store.create_generation("figures", "test", (tables.SLA,), live=True)
    changes = Changes()
    for case_id, rows in by_case.items():
        changes.replace(tables.SLA, case_id, rows)
    store.commit(generation, (tables.SLA,), changes, 1, 0)


def test_sla_summary_in_sql_equals_summarise_over_the_rows(ledger: Ledger) -> None:
    with view_store(ledger) as store:
        _load_sla(store, _sla_rows(random.Random(5)))
        sizes: set[int] = set()
        for quarter in ("2024-Q3", "2024-Q4", "2025-Q1"):
            for by, keys in queries.GROUPINGS.items():
                for sop_id, unit in ((None, None), ("sop-a", None), ("sop-b", "u2")):
                    rows = queries.sla_executions(store, quarter=quarter, sop_id=sop_id, unit=unit)
                    expected = queries.summarise(rows, keys)
                    found = queries.sla_summary(store, quarter, by=by, sop_id=sop_id, unit=unit)
                    assert found == expected, (quarter, by, sop_id, unit)
                    sizes |= {g["executions"] for g in found}
    assert len(sizes) > 20
    assert min(sizes) == 1
    assert max(sizes) > 80


def _statements(store: ViewStore) -> list[str]:
    """Record every query the store runs from now on."""
    seen: list[str] = []
    inner = store.query

    def counted(text: str, params: Any = ()) -> list[dict[str, Any]]:
        seen.append(text)
        return inner(text, params)

    setattr(store, "query", counted)  # noqa: B010 (instance attribute, not the class's)
    return seen


def _open_three(ledger: Ledger, clock: FakeClock) -> None:
    """Open steps of three SOPs: one in Biro, one in Dinas, three per-unit branches."""
    clock.now = FAR
    late = _open(ledger, C, BIRO, wib(11, 26, 7, 30))
    for step, at in ((1, wib(11, 26, 8)), (2, wib(11, 26, 8, 30)), (3, wib(11, 26, 9, 30))):
        complete_step(ledger, late, step, at=at)
    _open(ledger, B, DINAS, wib(11, 28, 10, 25))
    branches = _open(ledger, A, BIRO, wib(11, 25, 8))
    complete_step(ledger, branches, 1, at=wib(11, 25, 8, 30))
    complete_step(ledger, branches, 2, at=wib(11, 25, 9))
    for unit in ledger.case(branches).branches:
        complete_step(ledger, branches, 3, unit, at=wib(11, 25, 10))


def _open(ledger: Ledger, sop_id: str, unit: str, at: datetime) -> UUID:
    command = OpenCase(sop_id=sop_id, unit=unit, period="2024-Q4", occurred_at=at)
    return ledger.open_case(command).aggregate_id


def _holders_one_by_one(
    store: ViewStore, ledger: Ledger, roles: list[str], unit: str, now: datetime
) -> list[dict[str, Any]]:
    """The holders of one open step, by a query of its own (the reference)."""
    lineage = ledger.org_chart().lineage(unit)
    marks_r, marks_u = ",".join("?" * len(roles)), ",".join("?" * len(lineage))
    return store.query(
        "SELECT h.nip, p.name, h.role, h.unit, h.capacity, h.acting_for "
        "FROM role_holders h LEFT JOIN people p ON p.nip = h.nip "
        f"WHERE h.role IN ({marks_r}) AND h.unit IN ({marks_u}) AND h.valid_from <= ? "
        "AND (h.valid_until IS NULL OR h.valid_until > ?) "
        "ORDER BY h.role, h.nip, h.unit, h.assignment_id",
        [*roles, *lineage, now, now],
    )


def test_the_board_resolves_holders_for_a_whole_page_in_one_query(
    ledger: Ledger, clock: FakeClock
) -> None:
    _open_three(ledger, clock)
    now = wib(12, 2, 8)
    with view_store(ledger) as store:
        runner(ledger, store).catch_up()
        seen = _statements(store)
        board = queries.cases(store, now=now, overdue=True)
        statements = list(seen)
        steps = [s for c in board for s in c["open"]]
        assert len(board) == 3
        assert len(steps) == 5
        # status page, its open steps, the unit tree, the holders: not one per open step
        assert len(statements) == 4
        assert sum("role_holders" in s for s in statements) == 1
        for step in steps:
            unit = step["branch"] or next(c["unit"] for c in board if step in c["open"])
            expected = _holders_one_by_one(store, ledger, step["roles"], unit, now)
            assert step["holders"] == expected
            assert expected, step
        assert queries.cases(store, now=now, overdue=False) == []


def _analyzed(store: ViewStore, generation: int) -> set[str]:
    """The tables of a generation that have planner statistics."""
    names = {t.physical(generation) for t in tables.ALL}
    if store.backend == "postgres":
        rows = store.query(
            "SELECT relname AS name FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND last_analyze IS NOT NULL"
        )
    elif store.query("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"):
        rows = store.query("SELECT DISTINCT tbl AS name FROM sqlite_stat1")
    else:
        rows = []
    return {r["name"] for r in rows} & names


def test_a_rebuild_leaves_planner_statistics(ledger: Ledger, clock: FakeClock) -> None:
    _open_three(ledger, clock)
    with view_store(ledger) as store:
        r = runner(ledger, store)
        generation = r.prepare().number
        assert _analyzed(store, generation) == set()
        r.catch_up()
        filled = {t.physical(generation) for t in (tables.CASE_STATUS, tables.SLA, tables.UNITS)}
        assert filled <= _analyzed(store, generation)


def _spy(r: Runner, calls: list[str], *names: str) -> None:
    for name in names:
        inner: Callable[..., Any] = getattr(r.store, name)

        def spied(*args: Any, _inner: Callable[..., Any] = inner, _name: str = name) -> Any:
            calls.append(_name)
            return _inner(*args)

        setattr(r.store, name, spied)


def test_only_bulk_catch_ups_and_switches_analyze(ledger: Ledger, clock: FakeClock) -> None:
    _open_three(ledger, clock)
    head = ledger.max_position()
    with view_store(ledger) as store:
        calls: list[str] = []
        live = runner(ledger, store, page_size=5)
        live.analyze_after = 10**9
        _spy(live, calls, "analyze", "switch")
        live.catch_up(upto=head - 12)
        assert calls == ["analyze"]  # from zero: a rebuild
        live.catch_up(upto=head - 9)
        assert live.catch_up(upto=head - 9) == 0
        assert calls == ["analyze"]  # a few events on a live generation: left to autovacuum
        live.analyze_after = 5
        live.catch_up(upto=head - 3)
        assert calls == ["analyze", "analyze"]  # a backlog of analyze_after events or more
        calls.clear()
        other = runner(ledger, store, table_set=(tables.SLA,), page_size=5)  # new version
        other.catch_up()
        assert calls == ["analyze", "switch"]  # built from zero, analyzed, then switched in


def test_a_switch_after_a_restart_analyzes_first(ledger: Ledger, clock: FakeClock) -> None:
    _open_three(ledger, clock)
    with view_store(ledger) as store:
        runner(ledger, store).catch_up()
        calls: list[str] = []
        switch = store.switch

        def dies(*args: Any) -> Any:
            raise RuntimeError("killed before the switch")

        setattr(store, "switch", dies)  # noqa: B010 (instance attribute)
        with pytest.raises(RuntimeError):
            runner(ledger, store, table_set=(tables.SLA,)).catch_up()
        setattr(store, "switch", switch)  # noqa: B010
        restarted = runner(ledger, store, table_set=(tables.SLA,))
        assert restarted.prepare().state == "building"
        _spy(restarted, calls, "analyze", "switch")
        assert restarted.catch_up() == 0
        assert calls == ["analyze", "switch"]


def _gc_states(r: Runner) -> list[tuple[int, int]]:
    """(frozen objects, young-collection threshold) each time the runner flushes a page."""
    states: list[tuple[int, int]] = []
    inner = r.projection.flush

    def flush() -> Any:
        states.append((gc.get_freeze_count(), gc.get_threshold()[0]))
        return inner()

    setattr(r.projection, "flush", flush)  # noqa: B010 (instance attribute)
    return states


def test_a_bulk_catch_up_keeps_the_collector_off_survivors_then_restores_it(
    ledger: Ledger, clock: FakeClock
) -> None:
    _open_three(ledger, clock)
    head = ledger.max_position()
    threshold = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with view_store(ledger) as store:
        bulk = runner(ledger, store, page_size=10)
        during = _gc_states(bulk)
        bulk.catch_up(upto=head - 4)
        assert len(during) > 2
        assert min(frozen for frozen, _ in during) > 0  # survivors are out of the walks
        assert {young for _, young in during} == {50_000}  # young collections are rare
        assert (gc.get_freeze_count(), gc.get_threshold()) == (0, threshold)  # handed back
        small = _gc_states(bulk)
        bulk.catch_up()
        assert small == [(0, threshold[0])]  # a page or less: the collector is left alone
