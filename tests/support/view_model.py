"""A small reference model of the read views: the plain log in, the expected rows out.

It is written from the rules (DOMAIN.md section 4), not from the projection code, and must
not import ``projections.casefold``, ``projections.rows`` or ``projections.case_views``. The
case state comes from the domain's own :func:`ledger.core.case.evolve` (which steps a case
waits on, and since when); everything the views add on top is worked out here:

* A step *execution* is one run of one step in one branch. It starts when the case begins to
  wait on that (step, branch) - at the waiting cursor's ``since`` - and one is started for
  every awaited (step, branch) that has none open, in the order the case lists them.
* Every act on an execution makes its actor the execution's actor. When the acts recorded
  on it cover all of the step's required actions it is *completed*, at the latest
  ``occurred_at`` among them. A return for completion ends it as *returned* at the return's
  own ``occurred_at``; the executions the return starts have the trigger ``return``.
  Cancelling the case ends every open execution as *cancelled* at the cancellation's time.
* Working seconds are ``calendar.working_seconds(start, end)``; the deadline is the step's
  time standard from the start on the calendar; ``met`` is ``end <= deadline`` for an
  execution that ended other than by cancellation.
* Activity: one row per act, cancellation and annotation, at its log position.
* ESR register: a case of an SOP with an ESR upload is ``uploaded`` once uploaded, else
  ``cancelled`` when cancelled, else ``pending``.
* Archive: one entry per document of a signing or archiving act, keyed by its SHA-256 (for
  a paper without one: ``type:number``, or ``type:title`` without a number); the signed
  file of a signing act is an entry of its own when it is not among the act's documents.
* Role holders: one row per assignment; ending it sets ``valid_until``.

The rows are named tuples whose fields are the views' column names, so
:func:`stored_views` can read the same shape back from any view store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from ledger.core.case import CaseState, CaseStatus, SopResolver, evolve
from ledger.core.events import (
    ActionRecorded,
    Archived,
    CaseCancelled,
    CaseOpened,
    EntryAnnotated,
    EsrUploaded,
    LedgerEvent,
    ReturnedForCompletion,
    RoleAssigned,
    RoleEnded,
    Signed,
)
from ledger.core.sop import Action

Key = tuple[int, str | None]


class Calendar(Protocol):
    def working_seconds(self, start: datetime, end: datetime) -> int: ...

    def deadline(self, start: datetime, unit: str, amount: int) -> datetime: ...


class Store(Protocol):
    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]: ...


# --- the rows -----------------------------------------------------------------------------


class StatusRow(NamedTuple):
    case_id: str
    sop_id: str
    unit: str
    period: str
    attempt: int
    status: str
    opened_at: datetime
    finished_at: datetime | None
    version: int
    position: int
    returned: int
    return_from: int | None
    return_to: int | None
    open_steps: int


class SlaRow(NamedTuple):
    case_id: str
    seq: int
    step: int
    branch: str | None
    repetition: int
    trigger: str
    start_at: datetime
    end_at: datetime | None
    deadline: datetime
    outcome: str
    actor: str | None
    working_seconds: int | None
    met: int | None
    return_to: int | None


class ActivityRow(NamedTuple):
    position: int
    case_id: str
    kind: str
    actor: str
    step: int | None
    branch: str | None
    occurred_at: datetime


class EsrRow(NamedTuple):
    case_id: str
    status: str
    uploaded_at: datetime | None
    receipt: str | None


class ArchiveRow(NamedTuple):
    case_id: str
    doc_key: str
    signer: str | None
    signed_at: datetime | None
    archived_by: str | None
    archived_at: datetime | None


class RoleRow(NamedTuple):
    assignment_id: str
    nip: str
    role: str
    unit: str
    valid_until: datetime | None


@dataclass(frozen=True)
class Views:
    """The compared content of the views, each table keyed as the views key it."""

    case_status: dict[str, StatusRow]
    sla: dict[str, list[SlaRow]]  # per case, in execution order (seq)
    activity: list[ActivityRow]  # in log order
    esr: dict[str, EsrRow]
    archive: dict[tuple[str, str], ArchiveRow]
    role_holders: dict[str, RoleRow]


# --- the model ---------------------------------------------------------------------------


@dataclass
class _Execution:
    step: int
    branch: str | None
    repetition: int
    trigger: str
    start: datetime
    deadline: datetime
    done: set[Action] = field(default_factory=set)
    latest: datetime | None = None
    actor: str | None = None
    end: datetime | None = None
    outcome: str = "open"
    working_seconds: int | None = None
    return_to: int | None = None


@dataclass
class _Case:
    state: CaseState
    position: int
    executions: list[_Execution] = field(default_factory=list)
    open: dict[Key, _Execution] = field(default_factory=dict)
    upload: EsrUploaded | None = None


class ViewModel:
    """Feed it the log in order with :meth:`apply`; read the expected views with
    :meth:`views`."""

    def __init__(self, resolve: SopResolver, calendar: Calendar) -> None:
        self.resolve = resolve
        self.calendar = calendar
        self.cases: dict[UUID, _Case] = {}
        self.activity: list[ActivityRow] = []
        self.archive: dict[tuple[str, str], ArchiveRow] = {}
        self.roles: dict[str, RoleRow] = {}

    def apply(self, position: int, event: LedgerEvent) -> None:
        if isinstance(event, RoleAssigned):
            key = str(event.assignment_id)
            self.roles[key] = RoleRow(key, event.nip, event.role, event.unit, event.valid_until)
        elif isinstance(event, RoleEnded):
            key = str(event.assignment_id)
            self.roles[key] = self.roles[key]._replace(valid_until=event.valid_until)
        elif isinstance(event, CaseOpened):
            case = _Case(evolve(None, event, self.resolve), position)
            self.cases[event.originator_id] = case
            self._start_awaited(case, by_return=False)
        elif event.TOPIC.startswith("case.") or isinstance(event, EntryAnnotated):
            self._case_event(self.cases[event.originator_id], position, event)

    def _case_event(self, case: _Case, position: int, event: LedgerEvent) -> None:
        case.state = evolve(case.state, event, self.resolve)
        case.position = position
        if isinstance(event, ActionRecorded):
            self._act(case, event)
            self._papers(case, event)
            if isinstance(event, EsrUploaded):
                case.upload = event
            self._start_awaited(case, by_return=isinstance(event, ReturnedForCompletion))
            self._activity(
                position,
                event,
                event.actor,
                event.occurred_at,
                step=event.step,
                branch=event.branch,
            )
        elif isinstance(event, CaseCancelled):
            for execution in case.open.values():
                self._end(execution, "cancelled", event.occurred_at)
            case.open.clear()
            self._activity(position, event, event.actor, event.occurred_at)
        elif isinstance(event, EntryAnnotated):
            self._activity(position, event, event.actor, event.occurred_at)

    def _act(self, case: _Case, event: ActionRecorded) -> None:
        key = (event.step, event.branch)
        execution = case.open.pop(key)  # the ledger admits acts only on awaited steps
        execution.actor = event.actor
        if isinstance(event, ReturnedForCompletion):
            self._end(execution, "returned", event.occurred_at)
            execution.return_to = event.target_step
            return
        execution.done.add(event.ACTION)
        execution.latest = max(execution.latest or event.occurred_at, event.occurred_at)
        required = set(case.state.sop.by_number[event.step].actions)
        if execution.done >= required:
            self._end(execution, "completed", execution.latest)
        else:
            case.open[key] = execution

    def _end(self, execution: _Execution, outcome: str, at: datetime) -> None:
        execution.outcome = outcome
        execution.end = at
        execution.working_seconds = self.calendar.working_seconds(execution.start, at)

    def _start_awaited(self, case: _Case, *, by_return: bool) -> None:
        state = case.state
        for step_no, branch in state.awaiting:
            if (step_no, branch) in case.open:
                continue
            cursor = state.main if branch is None else state.tracks[branch]
            assert cursor is not None
            standard = state.sop.by_number[step_no].time
            earlier = [e for e in case.executions if (e.step, e.branch) == (step_no, branch)]
            execution = _Execution(
                step=step_no,
                branch=branch,
                repetition=len(earlier) + 1,
                trigger="return" if by_return else "input",
                start=cursor.since,
                deadline=self.calendar.deadline(cursor.since, str(standard.unit), standard.amount),
            )
            case.executions.append(execution)
            case.open[(step_no, branch)] = execution

    def _papers(self, case: _Case, event: ActionRecorded) -> None:
        if not isinstance(event, Signed | Archived):
            return
        keys = [d.sha256 or f"{d.type}:{d.number or d.title}" for d in event.documents]
        if isinstance(event, Signed) and event.signed_document_sha256 not in keys:
            keys.append(event.signed_document_sha256)
        case_id = str(case.state.id)
        for key in keys:
            row = self.archive.get((case_id, key)) or ArchiveRow(
                case_id, key, None, None, None, None
            )
            if isinstance(event, Signed):
                row = row._replace(signer=event.actor, signed_at=event.occurred_at)
            else:
                row = row._replace(archived_by=event.actor, archived_at=event.occurred_at)
            self.archive[(case_id, key)] = row

    def _activity(
        self,
        position: int,
        event: LedgerEvent,
        actor: str,
        occurred_at: datetime,
        *,
        step: int | None = None,
        branch: str | None = None,
    ) -> None:
        self.activity.append(
            ActivityRow(
                position, str(event.originator_id), event.TOPIC, actor, step, branch, occurred_at
            )
        )

    # --- reading -------------------------------------------------------------------------

    def views(self) -> Views:
        return Views(
            case_status={str(i): _status(c) for i, c in self.cases.items()},
            sla={str(i): _sla(c) for i, c in self.cases.items()},
            activity=list(self.activity),
            esr={str(i): _esr(c) for i, c in self.cases.items() if _uploads_to_esr(c)},
            archive=dict(self.archive),
            role_holders=dict(self.roles),
        )


def _status(case: _Case) -> StatusRow:
    state, pending = case.state, case.state.pending_return
    return StatusRow(
        case_id=str(state.id),
        sop_id=state.sop.sop_id,
        unit=state.unit,
        period=state.period,
        attempt=state.attempt,
        status=str(state.status),
        opened_at=state.opened_at,
        finished_at=state.finished_at,
        version=state.version,
        position=case.position,
        returned=int(pending is not None),
        return_from=pending.from_step if pending else None,
        return_to=pending.to_step if pending else None,
        open_steps=len(case.open),
    )


def _sla(case: _Case) -> list[SlaRow]:
    rows = []
    for seq, e in enumerate(case.executions, start=1):
        met = None
        if e.end is not None and e.outcome != "cancelled":
            met = int(e.end <= e.deadline)
        rows.append(
            SlaRow(
                case_id=str(case.state.id),
                seq=seq,
                step=e.step,
                branch=e.branch,
                repetition=e.repetition,
                trigger=e.trigger,
                start_at=e.start,
                end_at=e.end,
                deadline=e.deadline,
                outcome=e.outcome,
                actor=e.actor,
                working_seconds=e.working_seconds,
                met=met,
                return_to=e.return_to,
            )
        )
    return rows


def _uploads_to_esr(case: _Case) -> bool:
    return any(Action.ESR_UPLOAD in step.actions for step in case.state.sop.steps)


def _esr(case: _Case) -> EsrRow:
    upload = case.upload
    if upload is not None:
        return EsrRow(str(case.state.id), "uploaded", upload.occurred_at, upload.receipt)
    status = "cancelled" if case.state.status is CaseStatus.CANCELLED else "pending"
    return EsrRow(str(case.state.id), status, None, None)


def expected_views(
    log: Iterable[tuple[int, LedgerEvent]], resolve: SopResolver, calendar: Calendar
) -> Views:
    """The views as the model says they must be after ``log`` (in log order)."""
    model = ViewModel(resolve, calendar)
    for position, event in log:
        model.apply(position, event)
    return model.views()


# --- the same shape, read back from a view store -------------------------------------------


def _select(store: Store, row: type[Any], table: str, order: str) -> list[Any]:
    fields: tuple[str, ...] = row._fields
    found = store.query(f"SELECT {', '.join(fields)} FROM {table} ORDER BY {order}")
    return [row(**{name: record[name] for name in fields}) for record in found]


def stored_views(store: Store) -> Views:
    """What the live views of ``store`` hold, in the model's shape."""
    sla: dict[str, list[SlaRow]] = {}
    for row in _select(store, SlaRow, "sla_executions", "case_id, seq"):
        sla.setdefault(row.case_id, []).append(row)
    statuses = _select(store, StatusRow, "case_status", "case_id")
    for case_id in (r.case_id for r in statuses):
        sla.setdefault(case_id, [])
    return Views(
        case_status={r.case_id: r for r in statuses},
        sla=sla,
        activity=_select(store, ActivityRow, "activity", "position"),
        esr={r.case_id: r for r in _select(store, EsrRow, "esr_register", "case_id")},
        archive={
            (r.case_id, r.doc_key): r
            for r in _select(store, ArchiveRow, "archive_entries", "case_id, doc_key")
        },
        role_holders={
            r.assignment_id: r for r in _select(store, RoleRow, "role_holders", "assignment_id")
        },
    )
