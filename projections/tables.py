"""The read-model tables: columns, the column a batch replaces rows by, and the indexes.

One description serves both stores: :mod:`projections.viewstore` turns it into SQLite or
PostgreSQL DDL. Tables are created per *generation* (``case_status__g2``) so a new version
of the views can be built beside the live one; a plain SQL view with the table's own name
(``case_status``) points at the live generation, for the service and for anyone with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT, INT, TIME = "text", "int", "time"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]
    scope: str | None  # a batch deletes rows by this column, then inserts; None: append-only
    indexes: tuple[tuple[str, ...], ...] = ()
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(name for name, _ in self.columns))

    def physical(self, generation: int) -> str:
        return f"{self.name}__g{generation}"


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """``"a:text b:int c:time"`` -> (("a", "text"), ...); keeps the tables readable."""
    return tuple((name, kind) for name, kind in (part.split(":") for part in spec.split()))


CASE_STATUS = Table(
    "case_status",
    _cols(
        "case_id:text sop_id:text sop_version:text unit:text period:text branches:text "
        "status:text attempt:int opened_at:time finished_at:time version:int position:int "
        "returned:int return_from:int return_to:int return_branch:text return_reason:text "
        "returned_at:time open_steps:int next_due_at:time last_act_at:time"
    ),
    scope="case_id",
    indexes=(
        ("case_id",),
        ("sop_id", "period"),
        ("unit", "period"),
        ("status",),
        ("period",),
        ("next_due_at",),  # the overdue board: the few open cases among all
    ),
)

OPEN_STEPS = Table(
    "case_open_steps",
    _cols(
        "case_id:text sop_id:text unit:text period:text step:int branch:text roles:text "
        "holder_unit:text repetition:int since:time due_at:time"
    ),
    scope="case_id",
    indexes=(("case_id",), ("due_at",), ("holder_unit",)),
)

SLA = Table(
    "sla_executions",
    _cols(
        "case_id:text seq:int sop_id:text sop_version:text unit:text branch:text period:text "
        "step:int repetition:int trigger:text start_at:time end_at:time deadline:time "
        "standard_unit:text standard_amount:int standard_raw:text working_seconds:int "
        "met:int outcome:text actor:text role:text capacity:text acting_for:text actors:text "
        "return_to:int return_reason:text quarter:text position:int"
    ),
    scope="case_id",
    indexes=(
        ("case_id",),
        ("quarter", "sop_id", "unit"),
        ("quarter", "actor"),
        ("quarter", "role"),
    ),
)

ARCHIVE = Table(
    "archive_entries",
    _cols(
        "case_id:text doc_key:text sha256:text classification_code:text number:text "
        "type:text title:text period:text unit:text sop_id:text step:int branch:text "
        "signer:text signer_acting_for:text signature_ref:text signed_at:time "
        "archived_by:text archived_at:time medium:text location:text "
        "retention_active_years:int retention_inactive_years:int final_disposition:text "
        "first_at:time events:text"
    ),
    scope="case_id",
    indexes=(
        ("case_id",),
        ("sha256",),
        ("classification_code",),
        ("number",),
        ("period", "unit"),
        ("signer",),
        ("type",),
    ),
)

ACTIVITY = Table(
    "activity",
    _cols(
        "position:int event_id:text case_id:text sop_id:text unit:text branch:text step:int "
        "kind:text actor:text role:text capacity:text acting_for:text occurred_at:time "
        "recorded_at:time"
    ),
    scope=None,
    indexes=(("actor", "occurred_at"), ("role", "occurred_at"), ("case_id",), ("position",)),
)

ESR = Table(
    "esr_register",
    _cols(
        "case_id:text unit:text period:text sop_id:text status:text uploaded_at:time "
        "uploaded_by:text receipt:text sha256:text position:int"
    ),
    scope="case_id",
    indexes=(("case_id",), ("period", "unit")),
)

UNITS = Table(
    "units", _cols("code:text name:text parent:text kind:text"), scope="code", indexes=(("code",),)
)

PEOPLE = Table(
    "people", _cols("nip:text name:text employee_type:text"), scope="nip", indexes=(("nip",),)
)

ROLE_HOLDERS = Table(
    "role_holders",
    _cols(
        "assignment_id:text nip:text role:text unit:text valid_from:time valid_until:time "
        "capacity:text acting_for:text decree:text"
    ),
    scope="assignment_id",
    indexes=(("assignment_id",), ("role", "unit"), ("nip",)),
)

ALL = (CASE_STATUS, OPEN_STEPS, SLA, ARCHIVE, ACTIVITY, ESR, UNITS, PEOPLE, ROLE_HOLDERS)
BY_NAME = {table.name: table for table in ALL}
