"""What the read routes answer, as models for the OpenAPI document.

The handlers build their JSON themselves (times already in WIB, report bodies already
hashed), so these models document the answer rather than re-serialise it: a route declares
``response_model=None, responses=ok(Model)``. The schema-driven fuzz test checks every
answer against them. Times are RFC 3339 with the +07:00 offset.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

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
