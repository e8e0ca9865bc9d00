"""The pure fold behind the case views: one case's events in, its executions and papers out.

``apply(view, event, position, env)`` is a plain function of its arguments: the case state
comes from the domain's own :func:`ledger.core.case.evolve`, so the views can never disagree
with the rules that admitted the events. On top of it the fold keeps what the views need and
the domain does not: every *step execution* (per branch, per repetition after a return) with
its clock start, end, deadline and working time on the office calendar, the documents that
were signed or archived, and the ESR upload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from ledger.core.case import CaseState, SopResolver, evolve
from ledger.core.events import (
    ActionRecorded,
    Archived,
    CaseCancelled,
    CaseOpened,
    Document,
    EsrUploaded,
    LedgerEvent,
    ReturnedForCompletion,
    Signed,
)
from ledger.core.records import updated
from ledger.core.sop import Step

Key = tuple[int, str | None]


class Calendar(Protocol):
    """What the fold needs of the work calendar (``ledger.core.workcal.WorkCalendar``)."""

    @property
    def version(self) -> str: ...

    def working_seconds(self, start: datetime, end: datetime) -> int: ...

    def deadline(self, start: datetime, unit: str, amount: int) -> datetime: ...


@dataclass(frozen=True, slots=True)
class FoldEnv:
    resolve: SopResolver
    calendar: Calendar


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of one step in one branch: from its input's arrival to its completion."""

    seq: int
    step: int
    branch: str | None
    repetition: int
    trigger: str  # "input" (the previous step finished) or "return" (sent back to it)
    start: datetime
    deadline: datetime | None
    latest: datetime | None = None
    end: datetime | None = None
    outcome: str = "open"  # open | completed | returned | cancelled
    actor: str | None = None
    role: str | None = None
    capacity: str | None = None
    acting_for: str | None = None
    actors: tuple[str, ...] = ()
    working_seconds: int | None = None
    return_to: int | None = None
    return_reason: str | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class Paper:
    """A signed or archived document, merged across the events that touched it.

    ``key`` is the file's SHA-256, or for a paper without one its type and number (title)."""

    key: str
    sha256: str | None
    title: str
    type: str
    number: str | None
    medium: str
    classification_code: str | None
    step: int
    branch: str | None
    first_at: datetime
    signer: str | None = None
    signer_acting_for: str | None = None
    signature_ref: str | None = None
    signed_at: datetime | None = None
    archived_by: str | None = None
    archived_at: datetime | None = None
    location: str | None = None
    retention_active_years: int | None = None
    retention_inactive_years: int | None = None
    final_disposition: str | None = None
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Upload:
    at: datetime
    by: str
    receipt: str
    sha256: str
    position: int


@dataclass(frozen=True, slots=True)
class CaseView:
    state: CaseState
    executions: tuple[Execution, ...]
    open: Mapping[Key, int]
    papers: Mapping[str, Paper]
    upload: Upload | None
    position: int

    @property
    def case_id(self) -> UUID:
        return self.state.id


def apply(view: CaseView | None, event: LedgerEvent, position: int, env: FoldEnv) -> CaseView:
    """Fold one stored case event (at log ``position``) into the view of its case."""
    if isinstance(event, CaseOpened):
        state = evolve(None, event, env.resolve)
        fresh = CaseView(state, (), {}, {}, None, position)
        return _start_awaiting(fresh, position, env, trigger="input")
    assert view is not None, f"{event.TOPIC} before case.opened"
    before = view.state
    view = updated(view, state=evolve(before, event, env.resolve), position=position)
    if isinstance(event, ActionRecorded):
        view = _acted(view, before, event, position, env)
        view = _papers(view, event)
        if isinstance(event, EsrUploaded):
            view = _uploaded(view, event, position)
        trigger = "return" if isinstance(event, ReturnedForCompletion) else "input"
        return _start_awaiting(view, position, env, trigger)
    if isinstance(event, CaseCancelled):
        return _close_all(view, event.occurred_at, position, env)
    return view


def _acted(
    view: CaseView, before: CaseState, event: ActionRecorded, position: int, env: FoldEnv
) -> CaseView:
    key = (event.step, event.branch)
    index = view.open.get(key)
    if index is None:  # cannot happen for events the core admitted; keep the fold total
        return view
    ex = view.executions[index]
    latest = max(ex.latest or event.occurred_at, event.occurred_at)
    changes: dict[str, object] = {
        "latest": latest,
        "actors": ex.actors if event.actor in ex.actors else (*ex.actors, event.actor),
        "position": position,
        "actor": event.actor,
        "role": event.role,
        "capacity": str(event.capacity),
        "acting_for": event.acting_for,
    }
    if isinstance(event, ReturnedForCompletion):
        changes |= _closing(ex, "returned", event.occurred_at, env)
        changes |= {"return_to": event.target_step, "return_reason": event.reason}
    elif _step_done(before, view.state.sop.by_number[event.step], event):
        changes |= _closing(ex, "completed", latest, env)
    ex = updated(ex, **changes)
    return _put(view, key, index, ex)


def _step_done(before: CaseState, step: Step, event: ActionRecorded) -> bool:
    cursor = before.tracks.get(event.branch) if event.branch is not None else before.main
    done = (cursor.done if cursor is not None else frozenset()) | {event.ACTION}
    return done.issuperset(step.actions)


def _closing(ex: Execution, outcome: str, end: datetime, env: FoldEnv) -> dict[str, object]:
    used = env.calendar.working_seconds(ex.start, end)
    return {"outcome": outcome, "end": end, "working_seconds": used}


def _put(view: CaseView, key: Key, index: int, ex: Execution) -> CaseView:
    executions = (*view.executions[:index], ex, *view.executions[index + 1 :])
    still_open = dict(view.open)
    if ex.outcome != "open":
        del still_open[key]
    return updated(view, executions=executions, open=still_open)


def _start_awaiting(view: CaseView, position: int, env: FoldEnv, trigger: str) -> CaseView:
    """Open an execution for every (step, branch) the case now waits on without one."""
    state = view.state
    waiting = [key for key in state.awaiting if key not in view.open]
    if not waiting:
        return view
    executions, still_open = list(view.executions), dict(view.open)
    for step_no, branch in waiting:
        cursor = state.tracks[branch] if branch is not None else state.main
        assert cursor is not None
        standard = state.sop.by_number[step_no].time
        deadline = (
            env.calendar.deadline(cursor.since, str(standard.unit), standard.amount)
            if standard is not None
            else None
        )
        repetition = 1 + sum(1 for e in executions if (e.step, e.branch) == (step_no, branch))
        still_open[(step_no, branch)] = len(executions)
        executions.append(
            Execution(
                seq=len(executions) + 1,
                step=step_no,
                branch=branch,
                repetition=repetition,
                trigger=trigger if repetition > 1 else "input",
                start=cursor.since,
                deadline=deadline,
                position=position,
            )
        )
    return updated(view, executions=tuple(executions), open=still_open)


def _close_all(view: CaseView, at: datetime, position: int, env: FoldEnv) -> CaseView:
    executions = list(view.executions)
    for index in view.open.values():
        ex = executions[index]
        executions[index] = updated(ex, position=position, **_closing(ex, "cancelled", at, env))
    return updated(view, executions=tuple(executions), open={})


def _papers(view: CaseView, event: ActionRecorded) -> CaseView:
    if not isinstance(event, Signed | Archived):
        return view
    papers = dict(view.papers)
    for doc in _documents(event):
        key = doc.sha256 or f"{doc.type}:{doc.number or doc.title}"
        paper = papers.get(key) or Paper(
            key=key,
            sha256=doc.sha256,
            title=doc.title,
            type=doc.type,
            number=doc.number,
            medium=str(doc.medium),
            classification_code=doc.classification_code,
            step=event.step,
            branch=event.branch,
            first_at=event.occurred_at,
        )
        paper = updated(paper, events=(*paper.events, str(event.event_id)))
        if isinstance(event, Signed):
            paper = _signed(paper, event)
        if isinstance(event, Archived):
            paper = _archived(paper, event)
        papers[key] = paper
    return updated(view, papers=papers)


def _documents(event: Signed | Archived) -> tuple[Document, ...]:
    """The event's documents; a signed file not among them is indexed by its hash alone."""
    docs = event.documents
    if isinstance(event, Signed) and event.signed_document_sha256 not in {d.sha256 for d in docs}:
        signed = Document(
            title="(dokumen yang ditandatangani / signed document)",
            type="signed",
            sha256=event.signed_document_sha256,
        )
        docs = (*docs, signed)
    return docs


def _signed(paper: Paper, event: Signed) -> Paper:
    return updated(
        paper,
        signer=event.actor,
        signer_acting_for=event.acting_for,
        signature_ref=event.signature_ref,
        signed_at=event.occurred_at,
    )


def _archived(paper: Paper, event: Archived) -> Paper:
    return updated(
        paper,
        classification_code=paper.classification_code or event.classification_code,
        archived_by=event.actor,
        archived_at=event.occurred_at,
        location=event.location,
        retention_active_years=event.retention_active_years,
        retention_inactive_years=event.retention_inactive_years,
        final_disposition=str(event.final_disposition),
    )


def _uploaded(view: CaseView, event: EsrUploaded, position: int) -> CaseView:
    upload = Upload(
        event.occurred_at, event.actor, event.receipt, event.uploaded_document_sha256, position
    )
    return updated(view, upload=upload)
