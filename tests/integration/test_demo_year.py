"""A generated demo year: complete cases, returns, late paper records, a monotonic server clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import pytest

from ledger.core.clock import as_wib
from ledger.core.events import ActionRecorded, ReturnedForCompletion
from ledger.demo.year import CLERK, A, B, C, DemoSummary, generate_year
from ledger.ledger import Ledger
from support.ledgers import year_ledger


def generated(backend: str, seed: int = 7) -> DemoSummary:
    with year_ledger(backend) as (ledger, clock):
        seen: list[tuple[int, int]] = []
        summary = generate_year(ledger, clock, seed=seed, progress=lambda d, t: seen.append((d, t)))
        assert seen[-1][0] == seen[-1][1] == len(seen)
        check_log(ledger, summary)
        return summary


def check_log(ledger: Ledger, summary: DemoSummary) -> None:
    cases = {c.case_id: c.sop_id for c in ledger.list_cases()}
    assert summary.cases == len(cases) == 12
    assert sorted(cases.values()) == sorted([A, B, C] * 4)
    assert all(c.status == "completed" for c in ledger.list_cases())
    log = [event for _, event in ledger.read_log()]
    assert summary.events == len(log) - sum(1 for e in log if e.originator_id not in cases)
    stamps = [e.recorded_at for e in log]
    assert stamps == sorted(stamps)
    acts = [e for e in log if isinstance(e, ActionRecorded)]
    check_returns(acts, cases, summary)
    check_paper(acts, summary)
    check_hand_over(acts, cases)
    assert all(in_office(e.occurred_at) and in_office(e.recorded_at) for e in acts)


def check_returns(acts: list[ActionRecorded], cases: dict[UUID, str], summary: DemoSummary) -> None:
    returns = [e for e in acts if isinstance(e, ReturnedForCompletion)]
    assert len(returns) == summary.returns
    assert {cases[e.originator_id] for e in returns} == {A, B, C}


def check_paper(acts: list[ActionRecorded], summary: DemoSummary) -> None:
    paper = [e for e in acts if e.recorded_by == CLERK]
    assert summary.back_dated > 0
    assert len(paper) >= summary.back_dated
    for event in paper:
        assert event.actor != CLERK
        assert event.recorded_at - event.occurred_at >= timedelta(days=1)
        assert event.documents[0].medium == "paper"


def check_hand_over(acts: list[ActionRecorded], cases: dict[UUID, str]) -> None:
    for case_id in (c for c, sop_id in cases.items() if sop_id == C):
        first = next(e for e in acts if e.originator_id == case_id)
        assert first.step == 1
        assert first.handed_over_from is not None


def in_office(moment: datetime) -> bool:
    local = as_wib(moment)
    closing = time(16, 30) if local.weekday() == 4 else time(16, 0)
    return local.weekday() < 5 and time(7, 30) <= local.time() <= closing


def test_a_year_on_sqlite_is_complete_and_deterministic() -> None:
    first = generated("sqlite")
    again = generated("sqlite")
    assert first == again
    assert first.late_steps > 0
    assert first.first.year == 2024
    assert first.last < datetime(2025, 3, 1, tzinfo=UTC)
    assert generated("sqlite", seed=8) != first


@pytest.mark.postgres
def test_a_year_on_postgres() -> None:
    summary = generated("postgres")
    assert summary.cases == 12
