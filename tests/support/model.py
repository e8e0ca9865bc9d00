"""A small, independent model of the SOP flow rules, and stores built for property tests.

The model reads only the *data* of an SOP definition (``next``, ``per_unit``, ``returns``,
``decision``, ``segregated_from``, roles) and interprets it with its own rules; it never calls
``ledger.core.case``. The property tests drive the ledger and the model side by side and
require them to agree on every decision and every state.

The rules, as the model states them:

* A case waits at *slots* ``(step, branch)``: one case-level slot ``(step, None)``, or inside
  a per-unit segment one slot per branch that has not finished the segment. Branches that
  finished are *parked* with the time they finished; when the last one finishes, the step
  after the segment (the join) gets the case-level slot, its clock starting at the latest
  finish time.
* A step is done when every listed action is recorded; a slot's clock (``since``) starts when
  the previous step was done (the latest occurred_at among its acts), or when the case opened.
* A return for completion sends the slot back to the target step; a case-level step returning
  into a per-unit segment reopens the named branches (all when none are named) and parks the
  others.
* Segregation of duties: who acted in the latest round of a step (its acts since the slot was
  fresh, or the return) may not act at a step segregated from it. Against a per-unit step the
  same branch's round counts, against a case-level step the case's round; a case-level step
  segregated from a per-unit step checks every branch's round.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ledger.bootstrap import build_ledger
from ledger.core import errors
from ledger.core.sop import Action, SopDefinition
from ledger.demo.org import PEOPLE, UNITS, install_directory, publish_seeds
from ledger.ledger import Ledger
from ledger.settings import Settings
from support.ledgers import FakeClock, store_settings

OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"

Key = tuple[int, str | None]
Refusal = type[errors.LedgerError]


# --- stores ------------------------------------------------------------------------------


@dataclass
class SeededStore:
    """A seeded ledger and the settings of its store (to build more applications on it)."""

    settings: Settings
    ledger: Ledger
    clock: FakeClock


@contextmanager
def seeded_store(backend: str, clock: FakeClock) -> Iterator[SeededStore]:
    """Like ``seeded_ledger``, but also yields the store's settings."""
    with store_settings(backend) as settings:
        ledger = build_ledger(settings, clock)
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            yield SeededStore(settings, ledger, clock)
        finally:
            ledger.close()


@contextmanager
def another_ledger(settings: Settings, clock: FakeClock) -> Iterator[Ledger]:
    """A second, fresh application on the same store (no shared cache)."""
    ledger = build_ledger(settings, clock)
    try:
        yield ledger
    finally:
        ledger.close()


# --- the demo directory, read as plain data ----------------------------------------------


class DemoDirectory:
    """Who holds which role for which unit, from the demo data (roles reach sub-units)."""

    def __init__(self) -> None:
        self.parent = {code: parent for code, _, parent, _ in UNITS}
        self.people = {person.nip: person.roles for person in PEOPLE}

    def lineage(self, unit: str) -> tuple[str, ...]:
        chain: list[str] = []
        current: str | None = unit
        while current is not None:
            chain.append(current)
            current = self.parent.get(current)
        return tuple(chain)

    def children(self, unit: str) -> tuple[str, ...]:
        return tuple(sorted(code for code, parent in self.parent.items() if parent == unit))

    def holds(self, nip: str, roles: tuple[str, ...], unit: str) -> bool:
        reach = self.lineage(unit)
        return any(role in roles and where in reach for role, where in self.people.get(nip, ()))

    def holders(self, roles: tuple[str, ...], unit: str) -> list[str]:
        return sorted(nip for nip in self.people if self.holds(nip, roles, unit))

    def others(self, roles: tuple[str, ...], unit: str) -> list[str]:
        return sorted(nip for nip in self.people if not self.holds(nip, roles, unit))


# --- the flow of one SOP version -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRule:
    number: int
    actions: frozenset[Action]
    listed: tuple[Action, ...]
    roles: tuple[str, ...]
    per_unit: bool
    next: int | None
    decision: bool
    return_targets: tuple[int, ...]
    return_default: int | None
    segregated_from: tuple[int, ...]
    hand_over: tuple[str, int] | None

    def takes(self, action: Action) -> bool:
        if action is Action.RETURN_FOR_COMPLETION:
            return bool(self.return_targets)
        return action in self.actions or (action is Action.APPROVAL and self.decision)


@dataclass(frozen=True)
class Flow:
    sop_id: str
    version: str
    first: int
    steps: Mapping[int, StepRule]

    @classmethod
    def of(cls, definition: SopDefinition) -> Flow:
        rules = {}
        for step in definition.steps:
            rules[step.number] = StepRule(
                number=step.number,
                actions=frozenset(step.actions),
                listed=tuple(step.actions),
                roles=step.roles,
                per_unit=step.per_unit,
                next=step.next,
                decision=step.decision,
                return_targets=step.returns.targets if step.returns else (),
                return_default=step.returns.default if step.returns else None,
                segregated_from=step.segregated_from,
                hand_over=(step.hand_over.sop_id, step.hand_over.step) if step.hand_over else None,
            )
        return cls(definition.sop_id, definition.version, definition.steps[0].number, rules)

    @property
    def has_per_unit(self) -> bool:
        return any(rule.per_unit for rule in self.steps.values())

    def path(self) -> tuple[int, ...]:
        """Step numbers in flow order."""
        order = [self.first]
        while (nxt := self.steps[order[-1]].next) is not None:
            order.append(nxt)
        return tuple(order)


# --- one case ------------------------------------------------------------------------------


@dataclass
class Slot:
    since: datetime
    done: set[Action] = field(default_factory=set)
    latest: datetime | None = None


@dataclass(frozen=True, slots=True)
class Act:
    step: int
    action: Action
    branch: str | None
    actor: str
    at: datetime
    return_to: int | None = None
    return_branches: tuple[str, ...] = ()


class ModelCase:
    """The model's view of one case: slots, parked branches, who did what, status, version."""

    def __init__(self, flow: Flow, branches: tuple[str, ...], opened_at: datetime) -> None:
        self.flow = flow
        self.branches = branches
        self.opened_at = opened_at
        self.status = OPEN
        self.version = 1
        self.slots: dict[Key, Slot] = {(flow.first, None): Slot(opened_at)}
        self.parked: dict[str, datetime] = {}
        self.round_actors: dict[Key, set[str]] = {}

    # --- reading ---

    def awaiting(self) -> tuple[Key, ...]:
        if self.status != OPEN:
            return ()
        rank = {branch: index for index, branch in enumerate(self.branches)}
        return tuple(sorted(self.slots, key=lambda key: -1 if key[1] is None else rank[key[1]]))

    def in_segment(self) -> bool:
        return bool(self.parked) or any(branch is not None for _, branch in self.slots)

    def slot(self, key: Key) -> Slot:
        return self.slots[key]

    def blocked(self, step: int, branch: str | None) -> set[str]:
        """People who may not act at ``step`` (for ``branch``) because of segregation."""
        found: set[str] = set()
        for earlier in self.flow.steps[step].segregated_from:
            if not self.flow.steps[earlier].per_unit:
                found |= self.round_actors.get((earlier, None), set())
            elif branch is not None:
                found |= self.round_actors.get((earlier, branch), set())
            else:
                for each in self.branches:
                    found |= self.round_actors.get((earlier, each), set())
        return found

    def target_of(self, act: Act) -> int | None:
        rule = self.flow.steps[act.step]
        return rule.return_default if act.return_to is None else act.return_to

    def finishes(self, act: Act) -> bool:
        """Whether ``act`` (allowed) completes the last step of the flow."""
        rule = self.flow.steps[act.step]
        if act.action is Action.RETURN_FOR_COMPLETION or rule.next is not None:
            return False
        return self.slots[(act.step, act.branch)].done | {act.action} >= rule.actions

    # --- judging ---

    def judge(self, act: Act, now: datetime) -> Refusal | None:
        """The refusal the flow rules give ``act`` (checked in the ledger's order), or None."""
        if self.status != OPEN:
            return errors.CaseClosedError
        rule = self.flow.steps.get(act.step)
        if rule is None:
            return errors.UnknownStepError
        if not rule.takes(act.action):
            return errors.ActionNotAllowedError
        if rule.per_unit != (act.branch is not None) or (
            act.branch is not None and act.branch not in self.branches
        ):
            return errors.BranchError
        slot = self.slots.get((act.step, act.branch))
        if slot is None:
            join_wait = self.in_segment() and not rule.per_unit
            return errors.JoinIncompleteError if join_wait else errors.StepOrderError
        return self._judge_at_slot(rule, slot, act, now)

    def _judge_at_slot(self, rule: StepRule, slot: Slot, act: Act, now: datetime) -> Refusal | None:
        if act.action in slot.done:
            return errors.ActionAlreadyRecordedError
        if act.at > now or act.at < slot.since:
            return errors.InvalidTimeError
        if act.action is Action.RETURN_FOR_COMPLETION and not self._return_ok(rule, act):
            return errors.InvalidReturnError
        if act.actor in self.blocked(act.step, act.branch):
            return errors.SegregationOfDutiesError
        return None

    def _return_ok(self, rule: StepRule, act: Act) -> bool:
        target = self.target_of(act)
        if target not in rule.return_targets:
            return False
        if any(branch not in self.branches for branch in act.return_branches):
            return False
        into_segment = not rule.per_unit and self.flow.steps[target].per_unit
        return into_segment or not act.return_branches

    # --- applying ---

    def apply(self, act: Act) -> None:
        """Fold an allowed act (and the completion it may cause) into the model."""
        rule = self.flow.steps[act.step]
        key = (act.step, act.branch)
        slot = self.slots[key]
        self.version += 1
        if act.action is Action.RETURN_FOR_COMPLETION:
            self.round_actors[key] = {act.actor}
            self._send_back(rule, act)
            return
        if not slot.done:
            self.round_actors[key] = set()
        self.round_actors[key].add(act.actor)
        slot.done.add(act.action)
        slot.latest = act.at if slot.latest is None else max(slot.latest, act.at)
        if slot.done >= rule.actions:
            del self.slots[key]
            self._move_on(rule, act.branch, slot.latest)

    def _send_back(self, rule: StepRule, act: Act) -> None:
        target = self.target_of(act)
        assert target is not None
        del self.slots[(act.step, act.branch)]
        if rule.per_unit or not self.flow.steps[target].per_unit:
            self.slots[(target, act.branch)] = Slot(act.at)
            return
        reopened = act.return_branches or self.branches
        self.slots = {(target, b): Slot(act.at) for b in self.branches if b in reopened}
        self.parked = {b: act.at for b in self.branches if b not in reopened}

    def _move_on(self, rule: StepRule, branch: str | None, at: datetime) -> None:
        nxt = rule.next
        if nxt is None:
            self.status = COMPLETED
            self.version += 1  # case.completed is saved with the last act
            return
        if self.flow.steps[nxt].per_unit:
            for each in self.branches if branch is None else (branch,):
                self.slots[(nxt, each)] = Slot(at)
            return
        if branch is None:
            self.slots[(nxt, None)] = Slot(at)
            return
        self.parked[branch] = at
        if not any(b is not None for _, b in self.slots):
            joined = max(self.parked.values())
            self.parked = {}
            self.slots[(nxt, None)] = Slot(joined)

    def cancel(self) -> None:
        self.status = CANCELLED
        self.version += 1
