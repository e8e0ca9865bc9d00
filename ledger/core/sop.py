"""SOP definitions as frozen, versioned data.

A definition is what a published SOP document says, plus the choices the project had to make
where the source lost information (lane marks, the B.7 return arrow). Those choices are kept
as :class:`Inference` records and flagged on the roles and steps they touch, so that every
reader can see which facts are the document's and which are ours.

The flow is a chain of steps (``next``) with two additions: *per-unit* segments, where each
organisational unit (branch) runs the steps on its own and the step after the segment joins
them, and *returns for completion*, backward edges from a review gate or decision step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property


class Action(StrEnum):
    """The event vocabulary of SOP acts (DOMAIN.md section 3)."""

    DISPOSITION = "disposition"
    DRAFT = "draft"
    SUBMISSION = "submission"
    VALIDATION = "validation"
    APPROVAL = "approval"
    RETURN_FOR_COMPLETION = "return_for_completion"
    SIGNING = "signing"
    MEETING = "meeting"
    DISTRIBUTION = "distribution"
    ARCHIVING = "archiving"
    ESR_UPLOAD = "esr_upload"


class TimeUnit(StrEnum):
    MINUTES = "minutes"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True, slots=True)
class Text:
    """A text in Indonesian as in the source (``id``) and in English (``en``)."""

    id: str
    en: str


@dataclass(frozen=True, slots=True)
class Approver:
    title: str
    name: str
    nip: str


@dataclass(frozen=True, slots=True)
class Identity:
    """The identity block of an SOP AP (PermenPAN-RB 35/2012)."""

    agency: tuple[str, ...]
    number: str
    name: Text
    created: str
    revised: date | None
    effective: date
    approver: Approver
    legal_basis: tuple[str, ...]
    qualifications: tuple[str, ...]
    related_sops: tuple[str, ...]
    equipment: tuple[str, ...]
    warning: str | None
    record_keeping: str
    frequency: str
    source_file: str


@dataclass(frozen=True, slots=True)
class Role:
    """A lane (Pelaksana column); ``inferred`` when the source lost its marks."""

    code: str
    name: Text
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class TimeStandard:
    """The Mutu Baku time: the source text and its normalised amount."""

    raw: str
    unit: TimeUnit
    amount: int

    @property
    def minutes(self) -> int | None:
        return self.amount if self.unit is TimeUnit.MINUTES else None


@dataclass(frozen=True, slots=True)
class ReturnRule:
    """Where a review gate or decision may send the case back for completion."""

    targets: tuple[int, ...]
    default: int
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class HandOver:
    """This step's act is also the first step of another SOP (A.8 is C.1)."""

    sop_id: str
    step: int


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    text: Text
    accountable: str
    roles: tuple[str, ...]
    participants: tuple[str, ...]
    actions: tuple[Action, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    time: TimeStandard
    next: int | None
    per_unit: bool = False
    decision: bool = False
    returns: ReturnRule | None = None
    hand_over: HandOver | None = None
    segregated_from: tuple[int, ...] = ()
    roles_inferred: bool = False

    def accepts(self, action: Action) -> bool:
        """Whether ``action`` may be recorded at this step at all."""
        if action in self.actions:
            return True
        if action is Action.RETURN_FOR_COMPLETION:
            return self.returns is not None
        return action is Action.APPROVAL and self.decision


@dataclass(frozen=True, slots=True)
class Inference:
    """A fact the source lost and the project chose; kept visible and configurable."""

    field: str
    choice: str
    reason: str


@dataclass(frozen=True)
class SopDefinition:
    """One published version of one SOP."""

    sop_id: str
    version: str
    identity: Identity
    roles: tuple[Role, ...]
    steps: tuple[Step, ...]
    inferences: tuple[Inference, ...] = ()
    content_hash: str = field(default="", compare=False)

    @cached_property
    def by_number(self) -> dict[int, Step]:
        return {step.number: step for step in self.steps}

    def step(self, number: int) -> Step | None:
        return self.by_number.get(number)

    @cached_property
    def chain(self) -> tuple[int, ...]:
        """Step numbers in flow order, following ``next`` from the first step."""
        order: list[int] = []
        current: int | None = self.steps[0].number
        while current is not None and current not in order:
            order.append(current)
            current = self.by_number[current].next
        return tuple(order)

    @cached_property
    def rank(self) -> dict[int, int]:
        """Position of each step in the chain (for comparing 'earlier' and 'later')."""
        return {number: index for index, number in enumerate(self.chain)}

    @cached_property
    def segment_of(self) -> dict[int, tuple[int, ...]]:
        """For each per-unit step, the whole run of consecutive per-unit steps it is in."""
        segments: dict[int, tuple[int, ...]] = {}
        run: list[int] = []
        for number in (*self.chain, None):
            if number is not None and self.by_number[number].per_unit:
                run.append(number)
                continue
            for member in run:
                segments[member] = tuple(run)
            run = []
        return segments

    @property
    def last_step(self) -> int:
        return self.chain[-1]
