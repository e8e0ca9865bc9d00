"""Builds the kind-specific action event from a RecordAction, refusing missing fields."""

from __future__ import annotations

import re
from typing import Any

from ledger.commands import RecordAction
from ledger.core import errors
from ledger.core.events import ACTION_EVENTS, ActionRecorded
from ledger.core.sop import Action

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _require(command: RecordAction, name: str) -> Any:
    value = getattr(command, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise errors.InvalidActionFieldsError(
            f"{command.action} membutuhkan {name} / {command.action} requires {name}",
            field=name,
        )
    return value


def _sha256(command: RecordAction, name: str) -> str:
    value = str(_require(command, name)).lower()
    if not _SHA256.match(value):
        raise errors.InvalidActionFieldsError(
            f"{name} harus SHA-256 heksadesimal (64) / must be a 64-hex-digit SHA-256",
            field=name,
        )
    return value


def check_documents(command: RecordAction) -> None:
    """Every document needs a title and type; a given SHA-256 must be 64 hex digits."""
    for index, document in enumerate(command.documents):
        where = f"documents[{index}]"
        if not document.title.strip() or not document.type.strip():
            raise errors.InvalidActionFieldsError(
                f"{where}: judul dan jenis wajib / title and type are required", field=where
            )
        if document.sha256 is not None and not _SHA256.match(document.sha256):
            raise errors.InvalidActionFieldsError(
                f"{where}.sha256 harus SHA-256 heksadesimal kecil (64) / must be 64 lowercase "
                "hex digits",
                field=f"{where}.sha256",
            )


def kind_fields(command: RecordAction, return_to: int | None) -> dict[str, Any]:
    """The fields only this kind of act has."""
    action = command.action
    if action is Action.RETURN_FOR_COMPLETION:
        return {
            "reason": _require(command, "reason"),
            "target_step": return_to,
            "reopened_branches": command.return_branches,
        }
    if action is Action.SIGNING:
        return {
            "signed_document_sha256": _sha256(command, "signed_document_sha256"),
            "signature_ref": _require(command, "signature_ref"),
        }
    if action is Action.ARCHIVING:
        return _archiving_fields(command)
    if action is Action.ESR_UPLOAD:
        return {
            "uploaded_document_sha256": _sha256(command, "uploaded_document_sha256"),
            "receipt": _require(command, "receipt"),
        }
    if action is Action.MEETING:
        return {"attendees": command.attendees}
    if action is Action.DISTRIBUTION:
        return {"recipients": command.recipients}
    return {}


def _archiving_fields(command: RecordAction) -> dict[str, Any]:
    active = _require(command, "retention_active_years")
    inactive = _require(command, "retention_inactive_years")
    if active < 0 or inactive < 0:
        raise errors.InvalidActionFieldsError(
            "masa retensi tidak boleh negatif / retention years must be >= 0",
            field="retention_active_years",
        )
    return {
        "classification_code": _require(command, "classification_code"),
        "location": _require(command, "location"),
        "retention_active_years": active,
        "retention_inactive_years": inactive,
        "final_disposition": _require(command, "final_disposition"),
    }


def event_class(action: Action) -> type[ActionRecorded]:
    return ACTION_EVENTS[action]
