"""The ledger workload: seeded ledger, many open cases, and every act they need, in order.

Cases alternate between SOP C (biro-org.evaluasi-kinerja-internal: 7 case-level steps, 10
acts) on the Biro and its sections, and SOP B (dinas-bmcktr.pengukuran-kinerja: a per-unit
step for each of the 4 bidang, 19 acts) on the Dinas, each for its own period. The acts are
interleaved round-robin across the cases; each case's acts occur a minute apart, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from ledger.bootstrap import build_ledger, upgrade_schema
from ledger.catalogue.loader import load_seeds
from ledger.commands import OpenCase, RecordAction
from ledger.core.case import CaseState
from ledger.demo.acts import actor_for, command_for
from ledger.demo.org import BIRO, DINAS, UNITS, install_directory, publish_seeds
from ledger.ledger import Ledger
from ledger.settings import Settings

SOP_C = "biro-org.evaluasi-kinerja-internal"
SOP_B = "dinas-bmcktr.pengukuran-kinerja"
C_UNITS = (BIRO, f"{BIRO}.kelembagaan", f"{BIRO}.reformasi", f"{BIRO}.tatalaksana")
OPENED_AT = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
SERVER_START = datetime(2024, 10, 1, 1, 0, tzinfo=UTC)
ACT_GAP = timedelta(minutes=1)
CLOCK_TICK = timedelta(milliseconds=1)


@dataclass
class FakeClock:
    """The server clock: a fixed aware UTC time, advanced by the benchmark loop."""

    now: datetime = SERVER_START

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += CLOCK_TICK


def seeded_ledger(settings: Settings, clock: FakeClock) -> Ledger:
    """An upgraded store with the seed SOPs published and the demo directory installed."""
    upgrade_schema(settings)
    ledger = build_ledger(settings, clock)
    publish_seeds(ledger)
    install_directory(ledger)
    return ledger


def _period(index: int) -> str:
    return f"{2000 + index // 4}-Q{index % 4 + 1}"


def _case_keys() -> Iterator[tuple[str, str, str]]:
    """(sop, unit, period) of distinct cases: two C cases, then one B case, and so on."""
    c_count = b_count = 0
    while True:
        for _ in range(2):
            yield SOP_C, C_UNITS[c_count % len(C_UNITS)], _period(c_count // len(C_UNITS))
            c_count += 1
        yield SOP_B, DINAS, _period(b_count)
        b_count += 1


@cache
def acts_per_case(sop_id: str) -> int:
    """How many acts a case of ``sop_id`` takes (per-unit steps once per branch)."""
    sop = next(d for d in load_seeds() if d.sop_id == sop_id)
    unit = DINAS if sop_id == SOP_B else C_UNITS[0]
    branches = sum(1 for _, _, parent, _ in UNITS if parent == unit)
    return sum(len(s.actions) * (branches if s.per_unit else 1) for s in sop.steps)


def cases_for(total_acts: int) -> list[tuple[str, str, str]]:
    """The (sop, unit, period) of the cases opened for ``total_acts`` acts."""
    keys: list[tuple[str, str, str]] = []
    planned = 0
    for key in _case_keys():
        if planned >= total_acts:
            return keys
        keys.append(key)
        planned += acts_per_case(key[0])
    raise AssertionError("unreachable")


def _acts(ledger: Ledger, state: CaseState) -> list[RecordAction]:
    """Every act of the case's SOP, step by step (each branch in turn on per-unit steps)."""
    chart = ledger.org_chart()
    commands: list[RecordAction] = []
    at = state.opened_at
    for step in state.sop.steps:
        for branch in state.branches if step.per_unit else (None,):
            unit = branch or state.unit
            actor = actor_for(step, unit, chart.lineage(unit))
            for action in step.actions:
                at += ACT_GAP
                commands.append(
                    command_for(state, step.number, action, branch, occurred_at=at, actor=actor)
                )
    return commands


def round_robin(queues: list[list[RecordAction]], limit: int) -> list[RecordAction]:
    """The first ``limit`` commands, taking the next act of each case in turn."""
    out: list[RecordAction] = []
    depth = 0
    while len(out) < limit:
        row = [queue[depth] for queue in queues if depth < len(queue)]
        if not row:
            break
        out.extend(row)
        depth += 1
    return out[:limit]


def open_cases(ledger: Ledger, total_acts: int) -> tuple[int, list[RecordAction]]:
    """Open enough cases for ``total_acts`` acts; returns (cases opened, acts round-robin)."""
    queues: list[list[RecordAction]] = []
    for sop_id, unit, period in cases_for(total_acts):
        opened = ledger.open_case(
            OpenCase(sop_id=sop_id, unit=unit, period=period, occurred_at=OPENED_AT)
        )
        acts = _acts(ledger, ledger.case(opened.aggregate_id))
        assert len(acts) == acts_per_case(sop_id), (sop_id, len(acts))
        queues.append(acts)
    return len(queues), round_robin(queues, total_acts)
