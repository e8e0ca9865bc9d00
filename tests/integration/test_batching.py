"""Group commit (both stores): acts queued together are stored in one transaction, a refused
act fails alone, and a repeated idempotency key shares its first request's outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest

from ledger.batching import CommandBatcher
from ledger.commands import OpenCase, RecordAction, Recorded
from ledger.core import errors
from ledger.core.idempotency import IdempotencyKeyError, claim
from ledger.core.sop import Action
from ledger.demo.acts import command_for
from ledger.demo.org import BIRO, DINAS, holder
from ledger.ledger import Ledger
from support.ledgers import FakeClock

C = "biro-org.evaluasi-kinerja-internal"
KEPALA_BIRO = holder("kepala_biro", BIRO)


def _first_acts(ledger: Ledger, clock: FakeClock, count: int) -> list[RecordAction]:
    """Step 1 of ``count`` fresh cases (one per quarter)."""
    acts = []
    for index in range(count):
        period = f"{2020 + index // 4}-Q{index % 4 + 1}"
        opened = OpenCase(sop_id=C, unit=BIRO, period=period, occurred_at=clock.now)
        case = ledger.case(ledger.open_case(opened).aggregate_id)
        acts.append(
            command_for(case, 1, Action.DISPOSITION, None, occurred_at=clock.now, actor=KEPALA_BIRO)
        )
    return acts


def _concurrently(calls: list[Callable[[], Recorded]]) -> list[Recorded | Exception]:
    results: list[Recorded | Exception] = [Exception("not run")] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # the test inspects each outcome
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def batcher(ledger: Ledger) -> CommandBatcher:
    started = CommandBatcher(ledger)
    started.start()
    yield started  # type: ignore[misc]
    started.stop()


def test_a_refused_act_fails_alone(
    ledger: Ledger, clock: FakeClock, batcher: CommandBatcher
) -> None:
    acts = _first_acts(ledger, clock, 6)
    clock.advance(hours=1)
    wrong = RecordAction(case_id=acts[0].case_id, step=3, action=Action.MEETING, actor=KEPALA_BIRO)
    outcomes = _concurrently([lambda a=a: batcher.record(a) for a in [*acts, wrong]])
    assert isinstance(outcomes[-1], errors.StepOrderError)
    assert outcomes[-1].batch_index is None
    stored = outcomes[:-1]
    assert all(isinstance(r, Recorded) for r in stored)
    for act in acts:
        assert ledger.case(act.case_id).version == 2
    assert batcher.batches >= 1


def test_repeated_key_in_one_batch_shares_the_outcome(
    ledger: Ledger, clock: FakeClock, batcher: CommandBatcher
) -> None:
    act = _first_acts(ledger, clock, 1)[0]
    same = claim(KEPALA_BIRO, "k-1", {"act": 1})
    other = claim(KEPALA_BIRO, "k-1", {"act": 2})
    outcomes = _concurrently(
        [lambda: batcher.record(act, same)] * 5 + [lambda: batcher.record(act, other)]
    )
    stored = [o for o in outcomes if isinstance(o, Recorded)]
    refused = [o for o in outcomes if isinstance(o, IdempotencyKeyError)]
    # whichever request claimed the key first wins; the other request's copies are refused
    winner_is_same = isinstance(outcomes[0], Recorded)
    assert (len(stored), len(refused)) == ((5, 1) if winner_is_same else (1, 5)), outcomes
    assert len({r.event_id for r in stored}) == 1
    assert ledger.case(act.case_id).version == 2


def test_unstarted_batcher_records_directly(ledger: Ledger, clock: FakeClock) -> None:
    act = _first_acts(ledger, clock, 1)[0]
    recorded = CommandBatcher(ledger).record(act)
    assert recorded.version == 2
    assert isinstance(recorded.aggregate_id, UUID)
    assert DINAS  # the demo directory is installed
