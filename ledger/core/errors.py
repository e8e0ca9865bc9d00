"""Domain errors: every refusal has its own type, a stable code and a bilingual message.

Hierarchy::

    LedgerError
    ├── DefinitionError            an SOP definition file is malformed or inconsistent
    ├── SopVersionConflictError    different content re-published under an existing version
    ├── UnknownSopError            no such SOP id / version in the catalogue
    ├── DirectoryError             NIP layout, unknown person / unit, bad role assignment
    ├── CaseError
    │   ├── CaseAlreadyOpenError   same SOP + unit + period opened twice
    │   ├── CaseNotFoundError
    │   ├── CaseClosedError        anything after completion or cancellation
    │   └── StaleVersionError      optimistic concurrency: expected version is not current
    └── ActionRejectedError        an action breaks an SOP rule (subclasses name the rule)

The HTTP layer maps ``code`` to problem types; the CLI prints ``str(error)``.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal the ledger gives; nothing has been written when raised."""

    code = "ledger-error"
    title_id = "Kesalahan ledger"
    title_en = "Ledger error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.batch_index: int | None = None


class DefinitionError(LedgerError):
    """An SOP definition is malformed or inconsistent; names the file, field and problem."""

    code = "invalid-sop-definition"
    title_id = "Definisi SOP tidak valid"
    title_en = "Invalid SOP definition"

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"{source}: {field}: {problem}", field=field)
        self.source = source
        self.problem = problem


class CalendarError(DefinitionError):
    """A work calendar file is malformed; names the file, field and problem."""

    code = "invalid-calendar"
    title_id = "Kalender kerja tidak valid"
    title_en = "Invalid work calendar"


class SopVersionConflictError(LedgerError):
    """Different content was offered under an already published SOP version."""

    code = "sop-version-conflict"
    title_id = "Versi SOP sudah diterbitkan dengan isi berbeda"
    title_en = "SOP version already published with different content"


class UnknownSopError(LedgerError):
    """The SOP id or version is not in the catalogue."""

    code = "unknown-sop"
    title_id = "SOP tidak dikenal"
    title_en = "Unknown SOP"


class DirectoryError(LedgerError):
    """A person, unit or role assignment is invalid or unknown."""

    code = "directory-error"
    title_id = "Kesalahan direktori pegawai"
    title_en = "Directory error"


class InvalidNipError(DirectoryError):
    """A NIP does not follow the 18-digit civil-servant layout."""

    code = "invalid-nip"
    title_id = "NIP tidak valid"
    title_en = "Invalid NIP"


class CaseError(LedgerError):
    """A case-level refusal."""

    code = "case-error"
    title_id = "Kesalahan kasus"
    title_en = "Case error"


class CaseAlreadyOpenError(CaseError):
    """The same SOP, unit and period already has an open or completed case."""

    code = "case-already-open"
    title_id = "Kasus sudah dibuka"
    title_en = "Case already open"


class CaseNotFoundError(CaseError):
    """No case with that id."""

    code = "case-not-found"
    title_id = "Kasus tidak ditemukan"
    title_en = "Case not found"


class CaseClosedError(CaseError):
    """The case is completed or cancelled: nothing more may be recorded."""

    code = "case-closed"
    title_id = "Kasus sudah selesai atau dibatalkan"
    title_en = "Case is completed or cancelled"


class StaleVersionError(CaseError):
    """The expected version is not the current one (someone else recorded first)."""

    code = "stale-version"
    title_id = "Versi kasus sudah berubah"
    title_en = "Case version is stale"

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message, field="expected_version")
        self.current_version = current_version


class ActionRejectedError(LedgerError):
    """An action breaks a rule of the SOP; subclasses name which."""

    code = "action-rejected"
    title_id = "Tindakan ditolak"
    title_en = "Action rejected"


class UnknownStepError(ActionRejectedError):
    code = "unknown-step"
    title_id = "Langkah tidak dikenal"
    title_en = "Unknown step"


class ActionNotAllowedError(ActionRejectedError):
    """The action kind is not one this step takes."""

    code = "action-not-allowed"
    title_id = "Jenis tindakan tidak sesuai langkah"
    title_en = "Action not allowed at this step"


class BranchError(ActionRejectedError):
    """Branch missing for a per-unit step, given for a case-level step, or unknown."""

    code = "invalid-branch"
    title_id = "Cabang (unit) tidak sesuai"
    title_en = "Invalid branch"


class StepOrderError(ActionRejectedError):
    """The step is not the one the flow expects now (for that branch)."""

    code = "step-order"
    title_id = "Urutan langkah tidak sesuai SOP"
    title_en = "Step out of order"


class JoinIncompleteError(StepOrderError):
    """A join step was attempted while some branches have not finished."""

    code = "join-incomplete"
    title_id = "Belum semua bagian menyelesaikan langkahnya"
    title_en = "Not every branch has finished"


class ActionAlreadyRecordedError(ActionRejectedError):
    code = "action-already-recorded"
    title_id = "Tindakan sudah dicatat untuk langkah ini"
    title_en = "Action already recorded for this step"


class InvalidReturnError(ActionRejectedError):
    """A return for completion names a target the step may not return to."""

    code = "invalid-return"
    title_id = "Pengembalian untuk dilengkapi tidak valid"
    title_en = "Invalid return for completion"


class InvalidTimeError(ActionRejectedError):
    """occurred_at is in the future, before the case opened, or before the step's input."""

    code = "invalid-occurred-at"
    title_id = "Waktu kejadian tidak valid"
    title_en = "Invalid occurrence time"


class RoleNotHeldError(ActionRejectedError):
    """The actor did not hold the step's role in that unit at occurred_at."""

    code = "role-not-held"
    title_id = "Pelaksana tidak memegang peran langkah ini"
    title_en = "Actor does not hold the step's role"


class SegregationOfDutiesError(ActionRejectedError):
    """The same person would validate or sign what they drafted."""

    code = "segregation-of-duties"
    title_id = "Pemisahan tugas dilanggar"
    title_en = "Segregation of duties violated"


class InvalidActionFieldsError(ActionRejectedError):
    """A kind-specific field is missing or malformed (e.g. signing without a hash)."""

    code = "invalid-action-fields"
    title_id = "Data tindakan tidak lengkap atau salah"
    title_en = "Missing or malformed action fields"


class UnknownEventError(ActionRejectedError):
    """An annotation points at an event this case does not have."""

    code = "unknown-event"
    title_id = "Peristiwa yang dirujuk tidak ada"
    title_en = "Referenced event does not exist"
