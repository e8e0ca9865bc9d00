"""Plausible commands for any awaited step: who acts (from the demo directory), what papers."""

from __future__ import annotations

import hashlib
from datetime import datetime

from ledger.commands import RecordAction
from ledger.core.case import CaseState
from ledger.core.events import Document, FinalDisposition, Medium
from ledger.core.sop import Action, Step
from ledger.demo.org import PEOPLE


def actor_for(step: Step, unit: str, lineage: tuple[str, ...]) -> str:
    """The first demo person holding one of the step's roles for ``unit`` (or above it)."""
    for role in step.roles:
        for candidate in (unit, *lineage):
            for person in PEOPLE:
                if (role, candidate) in person.roles:
                    return person.nip
    raise LookupError(f"no demo person for step {step.number} roles {step.roles} in {unit}")


def document_for(state: CaseState, step: Step, branch: str | None) -> Document:
    title = step.outputs[0] if step.outputs else step.text.id
    body = f"{state.sop.sop_id}|{state.unit}|{state.period}|{step.number}|{branch}|{title}"
    return Document(
        title=title,
        type="naskah_dinas",
        number=f"{state.period}/{step.number}/{branch or state.unit}",
        sha256=hashlib.sha256(body.encode()).hexdigest(),
        medium=Medium.ELECTRONIC,
        classification_code="000.8.6.3",
    )


def command_for(
    state: CaseState,
    step: int,
    action: Action,
    branch: str | None,
    *,
    occurred_at: datetime,
    actor: str,
    **extra: object,
) -> RecordAction:
    """A complete RecordAction for ``action`` at ``step``, kind-specific fields filled in."""
    definition = state.sop.by_number[step]
    document = document_for(state, definition, branch)
    fields: dict[str, object] = {
        "case_id": state.id,
        "step": step,
        "action": action,
        "branch": branch,
        "actor": actor,
        "occurred_at": occurred_at,
        "documents": (document,),
        "recorded_by": actor,
    }
    fields.update(_kind_fields(action, document))
    fields.update(extra)
    return RecordAction(**fields)  # type: ignore[arg-type]


def _kind_fields(action: Action, document: Document) -> dict[str, object]:
    digest = document.sha256 or ""
    if action is Action.SIGNING:
        return {"signed_document_sha256": digest, "signature_ref": f"BSrE-TTE-{digest[:12]}"}
    if action is Action.ARCHIVING:
        return {
            "classification_code": "000.8.6.3",
            "location": "Arsip Sub Bagian Tata Usaha, lemari 2",
            "retention_active_years": 2,
            "retention_inactive_years": 3,
            "final_disposition": FinalDisposition.PERMANENT,
        }
    if action is Action.ESR_UPLOAD:
        return {"uploaded_document_sha256": digest, "receipt": f"ESR-{digest[:10].upper()}"}
    if action is Action.RETURN_FOR_COMPLETION:
        return {"reason": "Data dukung belum lengkap / supporting data incomplete"}
    return {}
