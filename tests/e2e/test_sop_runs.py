"""Whole SOP runs on both stores: A then C through the hand-over, and B with a return."""

from __future__ import annotations

import pytest

from ledger import ids
from ledger.commands import OpenCase
from ledger.core import errors
from ledger.core.case import CaseStatus
from ledger.core.events import CaseOpened, DispositionGiven, ReturnedForCompletion
from ledger.core.sop import Action
from ledger.demo.org import BIRO, DINAS
from ledger.ledger import Ledger
from support.ledgers import FakeClock
from support.walk import act, complete_step

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"


def _open(ledger: Ledger, sop_id: str, unit: str, clock: FakeClock) -> OpenCase:
    return OpenCase(sop_id=sop_id, unit=unit, period="2024-Q3", occurred_at=clock.now)


def test_a_then_c_through_the_hand_over(ledger: Ledger, clock: FakeClock) -> None:
    case_a = ledger.open_case(_open(ledger, A, BIRO, clock)).aggregate_id
    branches = ledger.case(case_a).branches
    assert branches == (f"{BIRO}.kelembagaan", f"{BIRO}.reformasi", f"{BIRO}.tatalaksana")
    at = clock.advance(hours=1)
    complete_step(ledger, case_a, 1, at=at)
    complete_step(ledger, case_a, 2, at=clock.advance(hours=1))
    for step in (3, 4, 5):
        for branch in branches:
            complete_step(ledger, case_a, step, branch, at=clock.advance(hours=1))
    assert ledger.case(case_a).awaiting == ((6, None),)
    complete_step(ledger, case_a, 6, at=clock.advance(hours=2))
    complete_step(ledger, case_a, 7, at=clock.advance(hours=2))
    handover_at = clock.advance(hours=1)
    recorded = complete_step(ledger, case_a, 8, at=handover_at)[0]

    state_a = ledger.case(case_a)
    assert state_a.status is CaseStatus.COMPLETED
    case_c = ids.case_id(C, BIRO, "2024-Q3", 1)
    state_c = ledger.case(case_c)
    assert state_c.awaiting == ((2, None),)
    assert state_c.opened_at == handover_at
    c_events = list(ledger.store.events.get(case_c))
    assert [type(e) for e in c_events] == [CaseOpened, DispositionGiven]
    assert c_events[1].handed_over_from == recorded.event_id
    a_events = list(ledger.store.events.get(case_a))
    act_a8, completed = a_events[-2], a_events[-1]
    assert act_a8.event_id == recorded.event_id
    assert completed.causation_id == c_events[1].causation_id == act_a8.event_id
    assert act_a8.correlation_id == completed.correlation_id == c_events[1].correlation_id
    assert c_events[1].occurred_at == handover_at

    with pytest.raises(errors.CaseClosedError):
        act(ledger, case_a, 8, Action.DISPOSITION, at=clock.advance(minutes=5))
    with pytest.raises(errors.CaseAlreadyOpenError):
        ledger.open_case(OpenCase(sop_id=C, unit=BIRO, period="2024-Q3"))
    assert len(list(ledger.store.events.get(case_c))) == 2

    for step in range(2, 8):
        complete_step(ledger, case_c, step, at=clock.advance(hours=2))
    assert ledger.case(case_c).status is CaseStatus.COMPLETED


def test_b_with_a_return_at_step_7(ledger: Ledger, clock: FakeClock) -> None:
    case_b = ledger.open_case(_open(ledger, B, DINAS, clock)).aggregate_id
    branches = ledger.case(case_b).branches
    assert len(branches) == 4
    for step in (1, 2, 3):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    for branch in branches:
        complete_step(ledger, case_b, 4, branch, at=clock.advance(hours=1))
    for step in (5, 6):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    back = act(
        ledger,
        case_b,
        7,
        Action.RETURN_FOR_COMPLETION,
        at=clock.advance(hours=1),
        return_branches=(branches[1],),
    )
    state = ledger.case(case_b)
    assert state.pending_return is not None
    assert state.pending_return.to_step == 4
    assert state.awaiting == ((4, branches[1]),)
    stored = list(ledger.store.events.get(case_b))[-1]
    assert isinstance(stored, ReturnedForCompletion)
    assert (stored.target_step, stored.reopened_branches) == (4, (branches[1],))
    assert stored.event_id == back.event_id

    with pytest.raises(errors.JoinIncompleteError):
        complete_step(ledger, case_b, 5, at=clock.advance(minutes=10))
    complete_step(ledger, case_b, 4, branches[1], at=clock.advance(hours=3))
    for step in (5, 6, 7, 8, 9):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    final = ledger.case(case_b)
    assert final.status is CaseStatus.COMPLETED
    assert final.pending_return is None
    assert final.finished_at == clock.now
