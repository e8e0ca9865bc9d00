"""Walking cases through their SOP with the demo directory's people."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.commands import Recorded
from ledger.core.sop import Action
from ledger.demo.acts import actor_for, command_for
from ledger.ledger import Ledger


def actor(ledger: Ledger, case_id: UUID, step: int, branch: str | None) -> str:
    state = ledger.case(case_id)
    unit = branch or state.unit
    return actor_for(state.sop.by_number[step], unit, ledger.org_chart().lineage(unit))


def act(
    ledger: Ledger,
    case_id: UUID,
    step: int,
    action: Action,
    branch: str | None = None,
    *,
    at: datetime,
    by: str | None = None,
    **extra: object,
) -> Recorded:
    state = ledger.case(case_id)
    who = by or actor(ledger, case_id, step, branch)
    command = command_for(state, step, action, branch, occurred_at=at, actor=who, **extra)
    return ledger.record_action(command)


def complete_step(
    ledger: Ledger, case_id: UUID, step: int, branch: str | None = None, *, at: datetime
) -> list[Recorded]:
    """Record every act the step requires, in its listed order."""
    state = ledger.case(case_id)
    actions = state.sop.by_number[step].actions
    return [act(ledger, case_id, step, action, branch, at=at) for action in actions]
