"""What the read routes answer, as models for the OpenAPI document.

The handlers build their JSON themselves (times already in WIB, report bodies already
hashed), so these models document the answer rather than re-serialise it: a route declares
``response_model=None, responses=ok(Model)``. The schema-driven fuzz test checks every
answer against them. Times are RFC 3339 with the +07:00 offset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Time = AwareDatetime


def ok(model: object, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a route, documented by ``model`` (for ``responses=``)."""
    return {200: {"model": model, "description": description}}


class Open(BaseModel):
    """A record that may carry more fields than listed (events, report groups)."""

    model_config = ConfigDict(extra="allow")


# --- operations --------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class ProjectionProgress(BaseModel):
    generation: int
    state: str
    position: int
    lag: int
    in_process: bool
    error: str | None


class Readiness(BaseModel):
    status: Literal["ready"]
    position: int
    projections: dict[str, ProjectionProgress] | None = None


# --- SOPs --------------------------------------------------------------------------------


class Bilingual(BaseModel):
    id: str
    en: str


class SopSummary(BaseModel):
    sop_id: str
    version: str
    number: str
    name: Bilingual
    content_hash: str


class SopDefinitionOut(BaseModel):
    """An SOP version as published (the YAML format of ``ledger/catalogue/seeds``)."""

    sop_id: str
    version: str
    identity: dict[str, Any]
    roles: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    inferences: list[dict[str, Any]]
    content_hash: str


# --- cases -------------------------------------------------------------------------------


class Holder(BaseModel):
    nip: str
    name: str | None
    role: str
    unit: str
    capacity: str | None
    acting_for: str | None


class OpenStep(BaseModel):
    step: int
    branch: str | None
    roles: list[str]
    repetition: int | None
    since: Time | None
    due_at: Time | None
    overdue: bool
    holders: list[Holder]


class BoardRow(BaseModel):
    """One case on the status board (read models)."""

    case_id: UUID
    sop_id: str
    sop_version: str
    unit: str
    period: str
    branches: str | None
    status: Literal["open", "completed", "cancelled"]
    attempt: int | None
    opened_at: Time | None
    finished_at: Time | None
    version: int
    position: int
    returned: bool
    return_from: int | None
    return_to: int | None
    return_branch: str | None
    return_reason: str | None
    returned_at: Time | None
    open_steps: int | None
    next_due_at: Time | None
    last_act_at: Time | None
    open: list[OpenStep]
    overdue: bool


class CasePage(BaseModel):
    items: list[BoardRow]
    limit: int
    offset: int
    next: str | None
    views_position: int


class Awaited(BaseModel):
    step: int
    branch: str | None


class CaseOut(BaseModel):
    """A case from its own events, with its board row when the read models have it."""

    id: UUID
    version: int
    sop_id: str
    sop_version: str
    unit: str
    period: str
    branches: list[str]
    status: Literal["open", "completed", "cancelled"]
    opened_at: Time
    awaiting: list[Awaited]
    returned_for_completion: bool
    board: BoardRow | None


class TimelineEvent(Open):
    """A stored event: its wire name, log position and every field of its type."""

    position: int
    type: str
    schema_version: int
    version: int
    event_id: UUID
    recorded_at: Time
    recorded_by: str | None
    originator_id: UUID


class Timeline(BaseModel):
    case_id: UUID
    events: list[TimelineEvent]


# --- reports -----------------------------------------------------------------------------


class SlaManifest(Open):
    report: Literal["sla"]
    period: str
    as_of: Time | None
    grouped_by: str
    filters: dict[str, str | None]
    source: str
    log_position: int
    log_read_upto: int
    sop_versions: list[str]
    calendar_version: str
    software_version: str
    quarter_rule: str
    percentiles: str


class SlaGroup(Open):
    """The figures of one group; its key fields (``sop_id``, ``step``, ...) come first."""

    executions: int
    completed: int
    returned: int
    cancelled: int
    met: int
    breached: int
    compliance_pct: float | None
    median_seconds: int | None
    p90_seconds: int | None


class SlaExecution(Open):
    case_id: UUID
    seq: int
    sop_id: str
    unit: str
    step: int
    start_at: Time | None
    end_at: Time | None
    deadline: Time | None
    working_seconds: int | None
    met: bool | None
    outcome: str | None
    quarter: str | None
    position: int | None


class SlaReportOut(BaseModel):
    """``content_sha256`` covers manifest, groups and executions (ADR 0005)."""

    manifest: SlaManifest
    content_sha256: str
    groups: list[SlaGroup]
    executions: list[SlaExecution]


class ArchiveEntry(BaseModel):
    case_id: UUID
    doc_key: str
    sha256: str | None
    classification_code: str | None
    number: str | None
    type: str | None
    title: str | None
    period: str | None
    unit: str | None
    sop_id: str | None
    step: int | None
    branch: str | None
    signer: str | None
    signer_acting_for: str | None
    signature_ref: str | None
    signed_at: Time | None
    archived_by: str | None
    archived_at: Time | None
    medium: str | None
    location: str | None
    retention_active_years: int | None
    retention_inactive_years: int | None
    final_disposition: str | None
    first_at: Time | None
    events: str | None


class ArchivePage(BaseModel):
    items: list[ArchiveEntry]
    views_position: int


class ActivityRow(BaseModel):
    position: int
    event_id: UUID
    case_id: UUID
    sop_id: str | None
    unit: str | None
    branch: str | None
    step: int | None
    kind: str
    actor: str
    role: str | None
    capacity: str | None
    acting_for: str | None
    occurred_at: Time
    recorded_at: Time


class Activity(BaseModel):
    nip: str
    items: list[ActivityRow]
    views_position: int


class EsrRow(BaseModel):
    case_id: UUID
    unit: str
    period: str
    sop_id: str | None
    status: Literal["uploaded", "pending", "cancelled"]
    uploaded_at: Time | None
    uploaded_by: str | None
    receipt: str | None
    sha256: str | None
    position: int | None


class EsrRegister(BaseModel):
    period: str
    uploaded: list[EsrRow]
    pending: list[EsrRow]
    cancelled: list[EsrRow]
    units_without_case: list[str]
    views_position: int


# --- ledger proofs -----------------------------------------------------------------------
# The examples are one coherent set: a 226-leaf tree, the note signed by the example key
# (whose seed is SHA-256("openapi example only"), so never trust it), the audit path of
# leaf 41 and the consistency proof from 200 leaves, all of which verify.

Base64Hash = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$", description="base64")]
_EXAMPLE_ORIGIN = "sop-ledger.sumbarprov.go.id/ledger"
_EXAMPLE_ROOT = "IQB7NookQ8Lj8zFwMrpxIRkEAWOJpKFhulBvIrf4Rck="
EXAMPLE_NOTE = (
    f"{_EXAMPLE_ORIGIN}\n226\n{_EXAMPLE_ROOT}\ntime 2024-12-31T09:00:00Z\n\n"
    f"\u2014 {_EXAMPLE_ORIGIN} M1MtG3gJoDn5Wdbsho6/HUaTNcRJhERRgryywO+KtWSmm3OIfDkdz5X8fVu6"
    "RxIJpj5C9O2fb19qBxIphd4HVRxBWQA=\n"
)
_EXAMPLE_KEY = f"{_EXAMPLE_ORIGIN}+33532d1b+AaS+SSUcBCO7Yc4d220mnK+PZNTqTIUxvVMYb8wjgXZA"
_EXAMPLE_INCLUSION = [
    "LueINyUYGQpqtTnLsgMx3xBA8hhG47qDbCaa7pB8iUw=",
    "jyTmDZEPGpYcLYkl+l85TpS5f6yLbsb0VxFQcfwVu7s=",
    "GBsPLDQ0G1SeUpLnpjqyIXrM7QDpe4fLLyoTXVsbCaY=",
    "rF42taICQPv2KCCJFtX9j2LiCxOC3Z31W1ReQdxIAlw=",
    "bsBP3n1+LGMt8/lCAW9OqimQOANILwcgW7JkLI5tbhI=",
    "4876b8TKhILBJvOR8mH41qp5Iedjr48vg411w8S5peM=",
    "x2p1zBtb0I6V4swAhUjBr65iGVwgWsjH7tg0dZwQDdk=",
    "5iC+JFTwFttQhklTMUdlbCaRBQdxQk2aKYf1+ka4tfc=",
]
_EXAMPLE_CONSISTENCY = [
    "qO7wenG3spKS/5wkVnVWGQ677mUeKKYovynwIvWoBro=",
    "o9Z4tVanl+mMHfbOzBJnsupJ4UzmQnhz/4K9tW4L/qI=",
    "5bmwkgodi769/4Vk6fW4MnGxy4DS9UyBtPO33e8UMe8=",
    "EsVCu76p8/6JEaiIv7BTeTf76gTdO4j2DDJfYDaRkwc=",
    "SvW+g6U1iC73WylYCCk6lGf0FaQcNkVWybb+LmDS4XY=",
    "7CkE2BbYsI+9N3Og6+W75nfroVfyizW+g7jO/Cl/4VM=",
]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class CheckpointOut(BaseModel):
    """A signed tree head: its fields, and the signed note itself (C2SP tlog-checkpoint)."""

    model_config = _examples(
        {
            "tree_size": 226,
            "root_hash": _EXAMPLE_ROOT,
            "signed_at": "2024-12-31T16:00:00+07:00",
            "key_name": _EXAMPLE_ORIGIN,
            "note": EXAMPLE_NOTE,
        }
    )

    tree_size: int = Field(ge=0, description="leaves (sealed events) under the root")
    root_hash: Base64Hash = Field(description="RFC 9162 root, base64")
    signed_at: Time = Field(description="when it was signed (the note's `time` line)")
    key_name: str = Field(description="the name of the key that signed it")
    note: str = Field(description="the signed note, byte for byte: verify it with GET /ledger/keys")


class SigningKeyOut(BaseModel):
    """A checkpoint verifier key: pin it, and check notes and evidence bundles with it."""

    model_config = _examples(
        {
            "verifier_key": _EXAMPLE_KEY,
            "name": _EXAMPLE_ORIGIN,
            "key_id": "33532d1b",
            "status": "active",
            "since": "2024-01-02T08:00:00+07:00",
        }
    )

    verifier_key: str = Field(description="C2SP signed-note verifier key `<name>+<id>+<key>`")
    name: str
    key_id: str = Field(pattern=r"^[0-9a-f]{8}$", description="4-byte key ID, hex")
    status: Literal["active", "retired"] = Field(
        description="retired keys signed older checkpoints, which keep verifying with them"
    )
    since: Time = Field(description="when the key got this status")


class InclusionProofOut(BaseModel):
    """RFC 9162 section 2.1.3 audit path of one event's leaf in a signed tree."""

    model_config = _examples(
        {
            "position": 42,
            "leaf_index": 41,
            "tree_size": 226,
            "leaf_hash": "aed9f5e8dedf580817cc0d9a2c1bba0cfffe9fc607e6caedc8011cfc80fe0dd4",
            "proof": _EXAMPLE_INCLUSION,
            "root_hash": _EXAMPLE_ROOT,
            "checkpoint": EXAMPLE_NOTE,
        }
    )

    position: int = Field(ge=1, description="the event's log position")
    leaf_index: int = Field(ge=0, description="its leaf in the Merkle tree")
    tree_size: int = Field(ge=1)
    leaf_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256(0x00 || canonical)")
    proof: list[Base64Hash] = Field(description="sibling hashes, leaf upwards")
    root_hash: Base64Hash = Field(description="root of `tree_size` leaves")
    checkpoint: str | None = Field(
        description="the signed note of this tree size, when one was signed"
    )


class ConsistencyProofOut(BaseModel):
    """RFC 9162 section 2.1.4 proof that the tree of `first` leaves is a prefix of the tree
    of `second` leaves (empty when `first` is 0 or equals `second`)."""

    model_config = _examples(
        {
            "first": 200,
            "second": 226,
            "proof": _EXAMPLE_CONSISTENCY,
            "first_root": "4vB6nPZQJrooLLKG1nO1ZHh6ZHhVda0aqnRGjaAtYWE=",
            "second_root": _EXAMPLE_ROOT,
        }
    )

    first: int = Field(ge=0)
    second: int = Field(ge=0)
    proof: list[Base64Hash]
    first_root: Base64Hash
    second_root: Base64Hash
