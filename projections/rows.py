"""Pure mapping from folded views and events to table rows (tuples in column order)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger.core.case import CaseStatus
from ledger.core.clock import as_wib
from ledger.core.events import (
    ActionRecorded,
    CaseCancelled,
    EntryAnnotated,
    LedgerEvent,
    PersonRegistered,
    RoleAssigned,
    UnitRegistered,
)
from ledger.core.sop import Action
from projections import tables
from projections.casefold import CaseView, Execution, Paper

Row = tuple[Any, ...]


_PICKERS: dict[str, Callable[[dict[str, Any]], Row]] = {}


def _row(table: tables.Table, values: dict[str, Any]) -> Row:
    """``values`` as a tuple in the table's column order (one C-level itemgetter)."""
    pick = _PICKERS.get(table.name)
    if pick is None:
        pick = _PICKERS[table.name] = operator.itemgetter(*table.column_names)
    return pick(values)


def quarter_of(moment: datetime) -> str:
    local = as_wib(moment)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def status_row(view: CaseView) -> Row:
    state = view.state
    pending = state.pending_return
    open_execs = [view.executions[i] for i in view.open.values()]
    dues = [e.deadline for e in open_execs if e.deadline is not None]
    acts = [e.latest for e in view.executions if e.latest is not None]
    return _row(
        tables.CASE_STATUS,
        {
            "case_id": str(state.id),
            "sop_id": state.sop.sop_id,
            "sop_version": state.sop.version,
            "unit": state.unit,
            "period": state.period,
            "branches": ",".join(state.branches),
            "status": str(state.status),
            "attempt": state.attempt,
            "opened_at": state.opened_at,
            "finished_at": state.finished_at,
            "version": state.version,
            "position": view.position,
            "returned": int(pending is not None),
            "return_from": pending.from_step if pending else None,
            "return_to": pending.to_step if pending else None,
            "return_branch": pending.branch if pending else None,
            "return_reason": pending.reason if pending else None,
            "returned_at": pending.at if pending else None,
            "open_steps": len(open_execs),
            "next_due_at": min(dues) if dues else None,
            "last_act_at": max(acts) if acts else None,
        },
    )


def open_step_rows(view: CaseView) -> list[Row]:
    state = view.state
    if state.status is not CaseStatus.OPEN:
        return []
    rows = []
    for index in sorted(view.open.values()):
        ex = view.executions[index]
        step = state.sop.by_number[ex.step]
        rows.append(
            _row(
                tables.OPEN_STEPS,
                {
                    "case_id": str(state.id),
                    "sop_id": state.sop.sop_id,
                    "unit": state.unit,
                    "period": state.period,
                    "step": ex.step,
                    "branch": ex.branch,
                    "roles": ",".join(step.roles),
                    "holder_unit": ex.branch or state.unit,
                    "repetition": ex.repetition,
                    "since": ex.start,
                    "due_at": ex.deadline,
                },
            )
        )
    return rows


def sla_row(view: CaseView, ex: Execution) -> Row:
    state = view.state
    standard = state.sop.by_number[ex.step].time
    met = None
    if ex.end is not None and ex.deadline is not None and ex.outcome != "cancelled":
        met = int(ex.end <= ex.deadline)
    return _row(
        tables.SLA,
        {
            "case_id": str(state.id),
            "seq": ex.seq,
            "sop_id": state.sop.sop_id,
            "sop_version": state.sop.version,
            "unit": state.unit,
            "branch": ex.branch,
            "period": state.period,
            "step": ex.step,
            "repetition": ex.repetition,
            "trigger": ex.trigger,
            "start_at": ex.start,
            "end_at": ex.end,
            "deadline": ex.deadline,
            "standard_unit": str(standard.unit) if standard else None,
            "standard_amount": standard.amount if standard else None,
            "standard_raw": standard.raw if standard else None,
            "working_seconds": ex.working_seconds,
            "met": met,
            "outcome": ex.outcome,
            "actor": ex.actor,
            "role": ex.role,
            "capacity": ex.capacity,
            "acting_for": ex.acting_for,
            "actors": ",".join(ex.actors),
            "return_to": ex.return_to,
            "return_reason": ex.return_reason,
            "quarter": quarter_of(ex.end) if ex.end is not None else None,
            "position": ex.position,
        },
    )


def archive_rows(view: CaseView) -> list[Row]:
    return [_archive_row(view, paper) for paper in view.papers.values()]


def _archive_row(view: CaseView, paper: Paper) -> Row:
    state = view.state
    return _row(
        tables.ARCHIVE,
        {
            "case_id": str(state.id),
            "doc_key": paper.key,
            "sha256": paper.sha256,
            "classification_code": paper.classification_code,
            "number": paper.number,
            "type": paper.type,
            "title": paper.title,
            "period": state.period,
            "unit": paper.branch or state.unit,
            "sop_id": state.sop.sop_id,
            "step": paper.step,
            "branch": paper.branch,
            "signer": paper.signer,
            "signer_acting_for": paper.signer_acting_for,
            "signature_ref": paper.signature_ref,
            "signed_at": paper.signed_at,
            "archived_by": paper.archived_by,
            "archived_at": paper.archived_at,
            "medium": paper.medium,
            "location": paper.location,
            "retention_active_years": paper.retention_active_years,
            "retention_inactive_years": paper.retention_inactive_years,
            "final_disposition": paper.final_disposition,
            "first_at": paper.first_at,
            "events": ",".join(paper.events),
        },
    )


def esr_rows(view: CaseView) -> list[Row]:
    """One register row per case of an SOP that uploads to ESR: pending until it does."""
    state = view.state
    if not any(Action.ESR_UPLOAD in step.actions for step in state.sop.steps):
        return []
    upload = view.upload
    status = "uploaded" if upload else "pending"
    if upload is None and state.status is CaseStatus.CANCELLED:
        status = "cancelled"
    return [
        _row(
            tables.ESR,
            {
                "case_id": str(state.id),
                "unit": state.unit,
                "period": state.period,
                "sop_id": state.sop.sop_id,
                "status": status,
                "uploaded_at": upload.at if upload else None,
                "uploaded_by": upload.by if upload else None,
                "receipt": upload.receipt if upload else None,
                "sha256": upload.sha256 if upload else None,
                "position": upload.position if upload else None,
            },
        )
    ]


def activity_row(view: CaseView, event: LedgerEvent, position: int) -> Row | None:
    """Who did what, when, where, in which capacity; None for events nobody 'did'.
    Built as a tuple in ACTIVITY's column order: it runs once per event."""
    state = view.state
    if isinstance(event, ActionRecorded):
        branch, step, actor = event.branch, event.step, event.actor
        role, capacity, acting_for = event.role, str(event.capacity), event.acting_for
    elif isinstance(event, CaseCancelled | EntryAnnotated):
        branch, step, actor, role, capacity, acting_for = None, None, event.actor, None, None, None
    else:
        return None
    return (
        position,
        str(event.event_id),
        str(state.id),
        state.sop.sop_id,
        state.unit,
        branch,
        step,
        event.TOPIC,
        actor,
        role,
        capacity,
        acting_for,
        event.occurred_at,
        event.recorded_at,
    )


def directory_row(event: LedgerEvent) -> tuple[tables.Table, Row] | None:
    if isinstance(event, UnitRegistered):
        return tables.UNITS, (event.code, event.name, event.parent, event.kind)
    if isinstance(event, PersonRegistered):
        return tables.PEOPLE, (event.nip, event.name, str(event.employee_type))
    if isinstance(event, RoleAssigned):
        row = (
            str(event.assignment_id),
            event.nip,
            event.role,
            event.unit,
            event.valid_from,
            event.valid_until,
            str(event.capacity),
            event.acting_for,
            event.decree,
        )
        return tables.ROLE_HOLDERS, row
    return None
