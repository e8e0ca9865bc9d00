"""A simulated year of SOP runs: four quarters of A (handing over to C) for the bureau and B
for the agency, acted in office hours (WIB), with late steps, returns for completion and paper
records entered days later by the clerk.

Acts of all cases go through one priority queue ordered by *recording* time, and the server
clock is set to each act's recording time before the ledger is called, so ``recorded_at``
never goes backwards across the log while ``occurred_at`` keeps the natural time.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from ledger.commands import OpenCase, RecordAction
from ledger.core.case import CaseState
from ledger.core.clock import WIB, as_utc
from ledger.core.events import Medium
from ledger.core.sop import Action, SopDefinition, Step, TimeUnit
from ledger.demo.acts import actor_for, command_for, document_for
from ledger.demo.org import BIRO, DINAS, PEOPLE
from ledger.ledger import Ledger

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
CLERK = "PTT2023001"
OPENS = time(7, 30)
DAY_MINUTES = 450  # 37.5 working hours a week over five days
LATE_ODDS, PAPER_ODDS = 0.15, 0.05
RETURN_ODDS = {A: 1 / 4, B: 1 / 3, C: 1 / 4}
Progress = Callable[[int, int], None]


class SimClock:
    """The server clock of a simulation: it only moves forward, when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = as_utc(now)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        if as_utc(moment) < self.now:
            raise ValueError(f"clock may not go back from {self.now} to {moment}")
        self.now = as_utc(moment)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    cases: int
    events: int
    returns: int
    late_steps: int
    back_dated: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class _Return:
    to: int
    branches: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Act:
    case_id: UUID
    step: int
    action: Action
    branch: str | None
    actor: str
    occurred_at: datetime
    paper: bool
    back: _Return | None = None


# --- office hours (WIB) -----------------------------------------------------------------


def _closing(day: date) -> time:
    return time(16, 30) if day.weekday() == 4 else time(16, 0)


def _next_open(moment: datetime) -> datetime:
    """The first office instant at or after ``moment``, in WIB."""
    local, day = moment.astimezone(WIB), moment.astimezone(WIB).date()
    while day.weekday() > 4 or local >= datetime.combine(day, _closing(day), WIB):
        day += timedelta(days=1)
        local = max(local, datetime.combine(day, OPENS, WIB))
    return max(local, datetime.combine(day, OPENS, WIB))


def office_add(moment: datetime, minutes: float) -> datetime:
    """``moment`` plus ``minutes`` of office time (UTC)."""
    at, left = _next_open(moment), timedelta(minutes=minutes)
    while at + left > (end := datetime.combine(at.date(), _closing(at.date()), WIB)):
        left -= end - at
        at = _next_open(end)
    return (at + left).astimezone(UTC).replace(microsecond=0)


def working_days_later(moment: datetime, days: int) -> datetime:
    """The same office time ``days`` working days later (clamped to closing time)."""
    local = moment.astimezone(WIB)
    day = local.date()
    while days:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return min(datetime.combine(day, local.time(), WIB), datetime.combine(day, _closing(day), WIB))


def _standard_minutes(step: Step) -> int:
    per = DAY_MINUTES if step.time.unit is TimeUnit.WORKING_DAYS else 1
    return step.time.amount * per


def _acts_between(sop: SopDefinition, first: int, last: int, width: int) -> int:
    steps = sop.chain[sop.rank[first] : sop.rank[last] + 1]
    return sum(
        len(s.actions) * (width if s.per_unit else 1) for s in map(sop.by_number.get, steps) if s
    )


# --- the simulation -----------------------------------------------------------------------


@dataclass
class _Year:
    ledger: Ledger
    clock: SimClock
    rng: random.Random
    progress: Progress | None
    returns: dict[tuple[str, str], dict[tuple[int, str | None], _Return]] = field(
        default_factory=dict
    )
    queue: list[tuple[datetime, int, OpenCase | _Act]] = field(default_factory=list)
    pending: dict[tuple[UUID, str | None], list[_Act]] = field(default_factory=dict)
    queued: set[tuple[UUID, str | None]] = field(default_factory=set)
    cases: set[UUID] = field(default_factory=set)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("late", "paper", "ret"), 0)
    )
    total: int = 0
    done: int = 0
    seq: int = 0

    def push(self, at: datetime, item: OpenCase | _Act) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, item))
        if isinstance(item, _Act):
            self.queued.add((item.case_id, item.branch))

    def plan_quarter(self, year: int, quarter: int, forced: dict[str, int]) -> None:
        period = f"{year}-Q{quarter}"
        for sop_id in (A, B, C):
            self.returns[(sop_id, period)] = self.plan_returns(sop_id, quarter == forced[sop_id])
            self.total += self.expected_acts(sop_id, period)
        month, y = (3 * quarter + 1, year) if quarter < 4 else (1, year + 1)
        for sop_id, unit in ((A, BIRO), (B, DINAS)):
            day = date(y, month, 1) + timedelta(days=self.rng.randrange(12))
            at = office_add(datetime.combine(day, OPENS, WIB), self.rng.uniform(15, 150))
            head = actor_for(self.sop(sop_id).by_number[1], unit, (unit,))
            self.push(
                at,
                OpenCase(sop_id=sop_id, unit=unit, period=period, occurred_at=at, recorded_by=head),
            )

    def plan_returns(self, sop_id: str, forced: bool) -> dict[tuple[int, str | None], _Return]:
        if not forced and self.rng.random() >= RETURN_ODDS[sop_id]:
            return {}
        if sop_id == B:
            return {(7, None): _Return(4, (self.rng.choice(self.children(DINAS)),))}
        if sop_id == C:
            return {(5, None): _Return(4)}
        shape = self.rng.choice(("5", "7", "5+7"))
        plan: dict[tuple[int, str | None], _Return] = {}
        if "5" in shape:
            plan[(5, self.rng.choice(self.children(BIRO)))] = _Return(4)
        if "7" in shape:
            plan[(7, None)] = _Return(6)
        return plan

    def expected_acts(self, sop_id: str, period: str) -> int:
        """How many acts the case will take (progress total): opening, steps, returns, redos."""
        sop, width = self.sop(sop_id), len(self.children(BIRO if sop_id != B else DINAS))
        first = sop.chain[1] if sop_id == C else sop.chain[0]
        count = (sop_id != C) + _acts_between(sop, first, sop.last_step, width)
        for (step, branch), back in self.returns[(sop_id, period)].items():
            before = sop.chain[sop.rank[step] - 1]
            wide = 1 if branch is not None else len(back.branches) or width
            count += 1 + _acts_between(sop, back.to, before, wide)
        return count

    def sop(self, sop_id: str) -> SopDefinition:
        return self.ledger.catalogue().get(sop_id)

    def children(self, unit: str) -> tuple[str, ...]:
        return self.ledger.org_chart().children(unit)

    def run(self) -> None:
        while self.queue:
            at, _, item = heapq.heappop(self.queue)
            self.clock.set(at)
            if isinstance(item, OpenCase):
                self.advance(self.ledger.open_case(item).aggregate_id, at)
            else:
                self.record(item, at)
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, max(self.total, self.done))

    def record(self, act: _Act, at: datetime) -> None:
        track = (act.case_id, act.branch)
        self.queued.discard(track)
        self.pending[track].pop(0)
        self.ledger.record_action(self.command(act))
        self.counts["paper"] += act.paper
        self.counts["ret"] += act.back is not None
        self.advance(act.case_id, at)
        state = self.ledger.case(act.case_id)
        handover = state.sop.by_number[act.step].hand_over
        if handover is not None:
            target = self.ledger.case_for(handover.sop_id, state.unit, state.period)
            if target is not None:
                self.advance(target.id, at)

    def advance(self, case_id: UUID, after: datetime) -> None:
        """Queue the next act of every track of the case that is not already queued."""
        self.cases.add(case_id)
        state = self.ledger.case(case_id)
        for step, branch in state.awaiting:
            track = (case_id, branch)
            if track in self.queued:
                continue
            if not self.pending.get(track):
                self.pending[track] = self.visit(state, step, branch)
            act = self.pending[track][0]
            self.push(self.recording_time(act, after), act)

    def visit(self, state: CaseState, number: int, branch: str | None) -> list[_Act]:
        """The acts of one pass through a step, spread over a drawn duration."""
        step = state.sop.by_number[number]
        cursor = state.main if branch is None else state.tracks[branch]
        assert cursor is not None
        back = self.returns.get((state.sop.sop_id, state.period), {}).pop((number, branch), None)
        actions = (Action.RETURN_FOR_COMPLETION,) if back else step.actions
        minutes, actor = self.duration(step), self.actor(step, branch or state.unit)
        return [
            _Act(state.id, number, action, branch, actor, at, self.rng.random() < PAPER_ODDS, back)
            for action, at in zip(
                actions, self.times(cursor.since, minutes, len(actions)), strict=True
            )
        ]

    def times(self, since: datetime, minutes: float, count: int) -> list[datetime]:
        return [office_add(since, minutes * (i + 1) / count) for i in range(count)]

    def duration(self, step: Step) -> float:
        """Office minutes the step takes: mostly within its standard, sometimes 1.5-3x."""
        late = self.rng.random() < LATE_ODDS
        self.counts["late"] += late
        factor = self.rng.uniform(1.5, 3.0) if late else self.rng.uniform(0.25, 0.95)
        return _standard_minutes(step) * factor

    def actor(self, step: Step, unit: str) -> str:
        """A holder of the step's role in the unit itself if there is one, else above it."""
        for lineage in ((unit,), self.ledger.org_chart().lineage(unit)):
            holders = [
                p.nip for p in PEOPLE for r, u in p.roles if r in step.roles and u in lineage
            ]
            if holders:
                return self.rng.choice(sorted(set(holders)))
        return actor_for(step, unit, self.ledger.org_chart().lineage(unit))

    def recording_time(self, act: _Act, after: datetime) -> datetime:
        """When the act reaches the ledger: at once, or 1-4 working days later from paper;
        never before the case's previous act was recorded."""
        natural = act.occurred_at
        if act.paper:
            later = working_days_later(act.occurred_at, self.rng.randint(1, 4))
            natural = office_add(later, self.rng.uniform(0, 60))
        return natural if natural >= after else office_add(after, self.rng.uniform(2, 30))

    def command(self, act: _Act) -> RecordAction:
        state = self.ledger.case(act.case_id)
        step = state.sop.by_number[act.step]
        extra: dict[str, object] = {}
        if act.back is not None:
            extra.update(return_to=act.back.to, return_branches=act.back.branches)
        if act.action is Action.MEETING:
            extra["attendees"] = self.attendees(step, state.unit)
        if act.action is Action.DISTRIBUTION:
            extra["recipients"] = state.branches or self.children(state.unit)
        if act.paper:
            paper = replace(document_for(state, step, act.branch), medium=Medium.PAPER)
            extra.update(recorded_by=CLERK, documents=(paper,), note="Dicatat dari arsip kertas")
        return command_for(
            state,
            act.step,
            act.action,
            act.branch,
            occurred_at=act.occurred_at,
            actor=act.actor,
            **extra,
        )

    def attendees(self, step: Step, unit: str) -> tuple[str, ...]:
        units = {unit, *self.children(unit)}
        roles = {*step.roles, *step.participants}
        return tuple(p.nip for p in PEOPLE if any(r in roles and u in units for r, u in p.roles))


def generate_year(
    ledger: Ledger,
    clock: SimClock,
    year: int = 2024,
    *,
    seed: int = 7,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill a ready store (upgraded, seeds published, directory installed) with a year."""
    if datetime(year + 1, 4, 1, tzinfo=UTC) > datetime.now(UTC):
        raise ValueError(f"{year} is not over yet: a demo year must lie in the past")
    sim = _Year(ledger, clock, random.Random(seed), progress)
    forced = {sop_id: sim.rng.randrange(1, 5) for sop_id in (A, B, C)}
    before = ledger.max_position()
    for quarter in range(1, 5):
        sim.plan_quarter(year, quarter, forced)
    first = min(at for at, _, _ in sim.queue)
    if clock.now > first:
        raise ValueError(f"the clock ({clock.now}) is already past the year's first act")
    sim.run()
    return DemoSummary(
        cases=len(sim.cases),
        events=ledger.max_position() - before,
        returns=sim.counts["ret"],
        late_steps=sim.counts["late"],
        back_dated=sim.counts["paper"],
        first=first,
        last=clock.now,
    )
