"""The case state machine: what may happen next, and how an event changes a case.

Two plain functions carry the rules: :func:`check_action` refuses an act that breaks the
SOP's order (it never looks at a store or a clock: ``now`` is an argument), and
:func:`evolve` folds one stored event into the state. Replaying a case therefore needs only
its events and the exact SOP version it was opened under.

A case is a set of *cursors*: one for the case-level step it is at, or, inside a per-unit
segment, one per branch (organisational unit). A cursor knows which step it is at, which of
that step's acts are done and when the step's input arrived (its clock start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ledger.core import errors
from ledger.core.events import (
    ActionRecorded,
    CaseCancelled,
    CaseCompleted,
    CaseOpened,
    EntryAnnotated,
    LedgerEvent,
    ReturnedForCompletion,
)
from ledger.core.records import updated
from ledger.core.sop import Action, SopDefinition, Step


class CaseStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one track stands; ``step`` is None once a branch has finished its segment."""

    step: int | None
    done: frozenset[Action]
    since: datetime
    latest: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingReturn:
    """The case was returned for completion at ``from_step`` and is being redone."""

    from_step: int
    to_step: int
    branch: str | None
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseState:
    id: UUID
    version: int
    sop: SopDefinition
    unit: str
    period: str
    branches: tuple[str, ...]
    opened_at: datetime
    attempt: int
    status: CaseStatus
    main: Cursor | None
    tracks: Mapping[str, Cursor]
    actors: Mapping[tuple[int, str | None], frozenset[str]]
    pending_return: PendingReturn | None
    event_ids: frozenset[UUID]
    finished_at: datetime | None = None

    @property
    def awaiting(self) -> tuple[tuple[int, str | None], ...]:
        """The (step, branch) pairs that may act next."""
        if self.status is not CaseStatus.OPEN:
            return ()
        if self.main is not None:
            return () if self.main.step is None else ((self.main.step, None),)
        return tuple(
            (cursor.step, branch)
            for branch, cursor in self.tracks.items()
            if cursor.step is not None
        )

    @property
    def flow_finished(self) -> bool:
        """The last step is done (the case.completed event follows in the same save)."""
        return self.main is not None and self.main.step is None


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """What the core needs to judge an act; the application adds identity and documents."""

    step: int
    action: Action
    branch: str | None
    actor: str
    occurred_at: datetime
    return_to: int | None = None
    return_branches: tuple[str, ...] = ()


SopResolver = Callable[[str, str], SopDefinition]


# --- rules -------------------------------------------------------------------------------


def check_open(sop: SopDefinition, branches: tuple[str, ...]) -> None:
    """A SOP with per-unit steps needs at least one branch; one without takes none."""
    needs = any(step.per_unit for step in sop.steps)
    if needs and not branches:
        raise errors.BranchError(
            f"SOP {sop.sop_id} punya langkah per unit: sebutkan unit cabang / "
            "has per-unit steps: name the branch units",
            field="branches",
        )
    if not needs and branches:
        raise errors.BranchError(
            f"SOP {sop.sop_id} tidak punya langkah per unit / has no per-unit steps",
            field="branches",
        )
    if len(set(branches)) != len(branches):
        raise errors.BranchError("unit cabang ganda / duplicate branch units", field="branches")


def check_action(state: CaseState, request: ActionRequest, now: datetime) -> Step:
    """Refuse ``request`` with a specific error, or return the step it acts on."""
    _check_open_status(state)
    step = _known_step(state.sop, request)
    cursor = _cursor_for(state, step, request.branch)
    _check_order(state, step, request.branch, cursor)
    if request.action in cursor.done:
        raise errors.ActionAlreadyRecordedError(
            f"{request.action} sudah dicatat pada langkah {step.number} / already recorded",
            field="action",
        )
    _check_time(state, cursor, request.occurred_at, now)
    if request.action is Action.RETURN_FOR_COMPLETION:
        check_return(state, step, request)
    _check_segregation(state, step, request)
    return step


def _check_open_status(state: CaseState) -> None:
    if state.status is not CaseStatus.OPEN or state.flow_finished:
        raise errors.CaseClosedError(
            f"kasus {state.id} berstatus {state.status} / case is {state.status}: "
            "nothing more may be recorded",
        )


def _known_step(sop: SopDefinition, request: ActionRequest) -> Step:
    step = sop.step(request.step)
    if step is None:
        raise errors.UnknownStepError(
            f"SOP {sop.sop_id} v{sop.version} tidak punya langkah {request.step} / "
            f"has no step {request.step}",
            field="step",
        )
    if not step.accepts(request.action):
        allowed = ", ".join(_accepted(step))
        raise errors.ActionNotAllowedError(
            f"langkah {step.number} tidak menerima {request.action} / step {step.number} "
            f"does not take {request.action} (takes: {allowed})",
            field="action",
        )
    return step


def _accepted(step: Step) -> list[str]:
    return [str(action) for action in Action if step.accepts(action)]


def _cursor_for(state: CaseState, step: Step, branch: str | None) -> Cursor:
    if not step.per_unit:
        if branch is not None:
            raise errors.BranchError(
                f"langkah {step.number} bukan langkah per unit: jangan isi cabang / "
                f"step {step.number} is case-level: no branch",
                field="branch",
            )
        return state.main or Cursor(None, frozenset(), state.opened_at)
    if branch is None:
        raise errors.BranchError(
            f"langkah {step.number} dijalankan per unit: isi cabang / "
            f"step {step.number} runs per unit: name the branch ({', '.join(state.branches)})",
            field="branch",
        )
    if branch not in state.branches:
        raise errors.BranchError(
            f"{branch!r} bukan cabang kasus ini / is not a branch of this case "
            f"({', '.join(state.branches)})",
            field="branch",
        )
    return state.tracks.get(branch) or Cursor(None, frozenset(), state.opened_at)


def _check_order(state: CaseState, step: Step, branch: str | None, cursor: Cursor) -> None:
    if cursor.step == step.number:
        return
    if state.main is None and not step.per_unit:
        pending = sorted(b for b, c in state.tracks.items() if c.step is not None)
        raise errors.JoinIncompleteError(
            f"langkah {step.number} menunggu cabang / step {step.number} waits for branches: "
            f"{', '.join(pending)}",
            field="step",
        )
    where = f"cabang {branch} " if branch else ""
    expected = _describe_awaiting(state)
    raise errors.StepOrderError(
        f"{where}langkah {step.number} tidak sesuai urutan / step {step.number} out of order; "
        f"expected: {expected}",
        field="step",
    )


def _describe_awaiting(state: CaseState) -> str:
    parts = [f"{s}" if b is None else f"{s} ({b})" for s, b in state.awaiting]
    return ", ".join(parts) or "nothing"


def _check_time(state: CaseState, cursor: Cursor, occurred_at: datetime, now: datetime) -> None:
    if occurred_at.tzinfo is None:
        raise errors.InvalidTimeError("occurred_at harus berzona waktu / must be timezone-aware")
    if occurred_at > now:
        raise errors.InvalidTimeError(
            f"occurred_at {occurred_at.isoformat()} di masa depan / is in the future",
            field="occurred_at",
        )
    if occurred_at < cursor.since:
        raise errors.InvalidTimeError(
            f"occurred_at {occurred_at.isoformat()} sebelum masukan langkah tersedia "
            f"({cursor.since.isoformat()}) / before the step's input arrived",
            field="occurred_at",
        )


def check_return(state: CaseState, step: Step, request: ActionRequest) -> None:
    """The target must be one the step may return to; reopened branches must be real."""
    rule = step.returns
    assert rule is not None  # guaranteed by Step.accepts
    target = rule.default if request.return_to is None else request.return_to
    if target not in rule.targets:
        raise errors.InvalidReturnError(
            f"langkah {step.number} hanya bisa dikembalikan ke {list(rule.targets)} / "
            f"may only return to {list(rule.targets)}, not {target}",
            field="return_to",
        )
    unknown = [b for b in request.return_branches if b not in state.branches]
    target_step = state.sop.by_number[target]
    if unknown or (request.return_branches and (step.per_unit or not target_step.per_unit)):
        raise errors.InvalidReturnError(
            "return_branches hanya untuk pengembalian ke langkah per unit, dengan cabang "
            f"kasus ini / only for returns to a per-unit step, naming this case's branches "
            f"(unknown: {unknown})",
            field="return_branches",
        )


def _check_segregation(state: CaseState, step: Step, request: ActionRequest) -> None:
    for earlier in step.segregated_from:
        if request.actor in _actors_of(state, earlier, request.branch):
            raise errors.SegregationOfDutiesError(
                f"{request.actor} mengerjakan langkah {earlier}, tidak boleh juga langkah "
                f"{step.number} / did step {earlier} and may not also do step {step.number}",
                field="actor",
            )


def _actors_of(state: CaseState, step: int, branch: str | None) -> frozenset[str]:
    """Who did ``step`` in this branch; for a per-unit step seen from a case-level one (a
    join validating every branch's work), who did it in any branch."""
    if not state.sop.by_number[step].per_unit:
        return state.actors.get((step, None), frozenset())
    if branch is not None:
        return state.actors.get((step, branch), frozenset())
    return frozenset().union(*(state.actors.get((step, b), frozenset()) for b in state.branches))


def resolve_return_target(step: Step, return_to: int | None) -> int:
    assert step.returns is not None
    return step.returns.default if return_to is None else return_to


# --- evolution ---------------------------------------------------------------------------


def evolve(state: CaseState | None, event: LedgerEvent, resolve: SopResolver) -> CaseState:
    """Fold one event into the case state (``state`` is None before ``case.opened``)."""
    if isinstance(event, CaseOpened):
        return _opened(event, resolve(event.sop_id, event.sop_version))
    assert state is not None, f"{event.TOPIC} before case.opened"
    state = updated(
        state,
        version=event.originator_version,
        event_ids=state.event_ids | {event.event_id},
    )
    if isinstance(event, ReturnedForCompletion):
        return _returned(state, event)
    if isinstance(event, ActionRecorded):
        return _acted(state, event)
    if isinstance(event, CaseCompleted):
        return updated(state, status=CaseStatus.COMPLETED, finished_at=event.occurred_at)
    if isinstance(event, CaseCancelled):
        return updated(state, status=CaseStatus.CANCELLED, finished_at=event.occurred_at)
    if isinstance(event, EntryAnnotated):
        return state
    raise TypeError(f"a case cannot hold {event.TOPIC}")


def _opened(event: CaseOpened, sop: SopDefinition) -> CaseState:
    first = sop.chain[0]
    return CaseState(
        id=event.originator_id,
        version=event.originator_version,
        sop=sop,
        unit=event.unit,
        period=event.period,
        branches=event.branches,
        opened_at=event.occurred_at,
        attempt=event.attempt,
        status=CaseStatus.OPEN,
        main=Cursor(first, frozenset(), event.occurred_at),
        tracks={},
        actors={},
        pending_return=None,
        event_ids=frozenset({event.event_id}),
    )


def _note_actor(state: CaseState, event: ActionRecorded, fresh: bool) -> CaseState:
    key = (event.step, event.branch)
    before = frozenset() if fresh else state.actors.get(key, frozenset())
    return updated(state, actors={**state.actors, key: before | {event.actor}})


def _acted(state: CaseState, event: ActionRecorded) -> CaseState:
    step = state.sop.by_number[event.step]
    cursor = state.tracks[event.branch] if event.branch is not None else state.main
    assert cursor is not None
    state = _note_actor(state, event, fresh=not cursor.done)
    done = cursor.done | {event.ACTION}
    latest = max(cursor.latest or event.occurred_at, event.occurred_at)
    if not done.issuperset(step.actions):
        return _set_cursor(state, event.branch, updated(cursor, done=done, latest=latest))
    return _advance(state, step, event.branch, latest)


def _set_cursor(state: CaseState, branch: str | None, cursor: Cursor) -> CaseState:
    if branch is None:
        return updated(state, main=cursor)
    return updated(state, tracks={**state.tracks, branch: cursor})


def _advance(state: CaseState, step: Step, branch: str | None, at: datetime) -> CaseState:
    nxt = step.next
    if branch is None:
        state = _clear_return_if_back(state, nxt, None)
        if nxt is not None and state.sop.by_number[nxt].per_unit:
            tracks = {b: Cursor(nxt, frozenset(), at) for b in state.branches}
            return updated(state, main=None, tracks=tracks)
        return updated(state, main=Cursor(nxt, frozenset(), at))
    if nxt is not None and state.sop.by_number[nxt].per_unit:
        state = _clear_return_if_back(state, nxt, branch)
        return _set_cursor(state, branch, Cursor(nxt, frozenset(), at))
    state = _set_cursor(state, branch, Cursor(None, frozenset(), at))
    if any(c.step is not None for c in state.tracks.values()):
        return state
    state = _clear_return_if_back(state, nxt, None)
    joined_at = max(c.since for c in state.tracks.values())
    return updated(state, main=Cursor(nxt, frozenset(), joined_at), tracks={})


def _clear_return_if_back(state: CaseState, reached: int | None, branch: str | None) -> CaseState:
    """The return is settled when the track it came from is back at the returning step."""
    pending = state.pending_return
    if pending is not None and reached == pending.from_step and pending.branch == branch:
        return updated(state, pending_return=None)
    return state


def _returned(state: CaseState, event: ReturnedForCompletion) -> CaseState:
    step = state.sop.by_number[event.step]
    target = state.sop.by_number[event.target_step]
    state = _note_actor(state, event, fresh=True)
    pending = PendingReturn(
        step.number, target.number, event.branch, event.reason, event.occurred_at
    )
    state = updated(state, pending_return=pending)
    fresh = Cursor(target.number, frozenset(), event.occurred_at)
    if step.per_unit or not target.per_unit:
        return _set_cursor(state, event.branch, fresh)
    reopened = event.reopened_branches or state.branches
    tracks = {
        b: fresh if b in reopened else Cursor(None, frozenset(), event.occurred_at)
        for b in state.branches
    }
    return updated(state, main=None, tracks=tracks)
