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
    ├── ActionRejectedError        an action breaks an SOP rule (subclasses name the rule)
    ├── AccessError
    │   ├── UnauthenticatedError   no, malformed, unknown, expired or revoked credentials
    │   ├── ForbiddenError         the caller holds none of the scopes an operation needs
    │   ├── UnknownTokenError      no API token with that id
    │   ├── TokenRequestError      a token asked for with unknown scopes or a bad lifetime
    │   └── KeysUnavailableError   the identity provider's signing keys cannot be loaded
    ├── InvalidFeedQueryError      a bad feed position, event type or Last-Event-ID
    ├── InvalidSubscriptionError   a webhook URL, event type, SOP, unit or start refused
    ├── SubscriptionNotFoundError  no such subscription (or someone else's)
    ├── DeliveryNotFoundError
    ├── DeliveryStateError         redelivery of a delivery that is not failed
    └── WebhooksUnavailableError   the service runs without a subscription store

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

    @property
    def extensions(self) -> dict[str, object]:
        return {} if self.current_version is None else {"current_version": self.current_version}


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


class AccessError(LedgerError):
    """Who may call: authentication and scopes (API tokens, OIDC)."""

    code = "access-error"
    title_id = "Kesalahan akses"
    title_en = "Access error"


class UnauthenticatedError(AccessError):
    """The caller presented no usable credentials; ``reason`` says which way it failed."""

    code = "unauthenticated"
    title_id = "Tidak terautentikasi"
    title_en = "Unauthenticated"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="Authorization")
        self.reason = reason  # missing | malformed | unknown | expired | revoked | invalid

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value (RFC 6750): no error code when none was sent."""
        if self.reason == "missing":
            return 'Bearer realm="sop-ledger"'
        return 'Bearer realm="sop-ledger", error="invalid_token"'


class ForbiddenError(AccessError):
    """Authenticated, but without any of the scopes the operation needs."""

    code = "forbidden"
    title_id = "Akses ditolak"
    title_en = "Forbidden"


class UnknownTokenError(AccessError):
    code = "unknown-token"
    title_id = "Token tidak ditemukan"
    title_en = "Token not found"


class TokenRequestError(AccessError):
    code = "invalid-token-request"
    title_id = "Permintaan token tidak valid"
    title_en = "Invalid token request"


class KeysUnavailableError(AccessError):
    """The OIDC signing keys (JWKS) could not be fetched: the server's problem, not the
    caller's, so not a 401."""

    code = "identity-keys-unavailable"
    title_id = "Kunci penyedia identitas tidak tersedia"
    title_en = "Identity provider keys unavailable"


# --- feed and webhook subscriptions (other systems) -------------------------------------


class InvalidFeedQueryError(LedgerError):
    """A feed or stream query is malformed: a bad position, limit or event type."""

    code = "invalid-feed-query"
    title_id = "Permintaan umpan peristiwa tidak valid"
    title_en = "Invalid event feed query"


class InvalidSubscriptionError(LedgerError):
    """A webhook subscription request is malformed (URL, event types, SOP or unit)."""

    code = "invalid-subscription"
    title_id = "Langganan tidak valid"
    title_en = "Invalid subscription"


class SubscriptionNotFoundError(LedgerError):
    """No such subscription, or not one the caller may see."""

    code = "subscription-not-found"
    title_id = "Langganan tidak ditemukan"
    title_en = "Subscription not found"


class DeliveryNotFoundError(LedgerError):
    code = "delivery-not-found"
    title_id = "Pengiriman tidak ditemukan"
    title_en = "Delivery not found"


class DeliveryStateError(LedgerError):
    """Only failed deliveries of an enabled subscription can be redelivered."""

    code = "delivery-not-redeliverable"
    title_id = "Pengiriman tidak dapat dikirim ulang"
    title_en = "Delivery cannot be redelivered"


class WebhooksUnavailableError(LedgerError):
    """This service runs without a subscription store."""

    code = "webhooks-unavailable"
    title_id = "Layanan langganan tidak tersedia"
    title_en = "Subscriptions unavailable"
