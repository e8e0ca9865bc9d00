"""Commands on cases: open, record an act, cancel, annotate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from ledger import ids
from ledger.commands import AnnotateEntry, CancelCase, OpenCase, RecordAction, Recorded
from ledger.core import errors
from ledger.core.case import (
    ActionRequest,
    CaseState,
    CaseStatus,
    check_action,
    check_open,
    evolve,
    resolve_return_target,
)
from ledger.core.clock import as_utc
from ledger.core.directory import Assignment, Person
from ledger.core.events import (
    ActionRecorded,
    Capacity,
    CaseCancelled,
    CaseCompleted,
    CaseOpened,
    EntryAnnotated,
    LedgerEvent,
)
from ledger.core.idempotency import Claim
from ledger.core.periods import Quarter
from ledger.core.sop import Action, SopDefinition, Step
from ledger.handlers.action_events import check_documents, event_class, kind_fields
from ledger.handlers.idempotency import IdempotentRequests

MAX_ATTEMPTS = 50


class CaseCommands(IdempotentRequests):
    # --- open ----------------------------------------------------------------------------

    def open_case(self, command: OpenCase, claim: Claim | None = None) -> Recorded:
        """Open a case; with ``claim``, a retry of the same request returns the first result."""
        if (earlier := self.earlier_result(claim)) is not None:
            return earlier
        now = self.clock()
        occurred_at = self._occurred(command.occurred_at, now, None)
        period = str(Quarter.parse(command.period))
        sop = self.catalogue().get(command.sop_id, command.sop_version, occurred_at.date())
        event = self._opening_event(command, sop, period, occurred_at, now)
        try:
            return self.save(
                self.with_claim([event], claim, now),
                lambda: errors.CaseAlreadyOpenError(
                    f"kasus {sop.sop_id} {command.unit} {period} baru saja dibuka / was just opened"
                ),
            )
        except errors.CaseAlreadyOpenError:
            if (earlier := self.earlier_result(claim)) is not None:
                return earlier
            raise

    def _opening_event(
        self,
        command: OpenCase,
        sop: SopDefinition,
        period: str,
        at: datetime,
        now: datetime,
        *,
        causation: UUID | None = None,
    ) -> CaseOpened:
        chart = self.org_chart(refresh=True)
        if command.unit not in chart.units:
            raise errors.DirectoryError(
                f"unit {command.unit!r} tidak dikenal / unknown unit", field="unit"
            )
        branches = self._branches(command, sop)
        check_open(sop, branches)
        case_id, attempt = self._free_case_id(sop.sop_id, command.unit, period)
        return CaseOpened(
            originator_id=case_id,
            originator_version=1,
            sop_id=sop.sop_id,
            sop_version=sop.version,
            sop_hash=sop.content_hash,
            unit=command.unit,
            period=period,
            branches=branches,
            occurred_at=at,
            attempt=attempt,
            **self.stamp(command, now, causation),
        )

    def _branches(self, command: OpenCase, sop: SopDefinition) -> tuple[str, ...]:
        if not any(step.per_unit for step in sop.steps):
            return command.branches or ()
        children = self.org_chart().children(command.unit)
        branches = children if command.branches is None else command.branches
        strangers = [b for b in branches if b not in children]
        if strangers:
            raise errors.BranchError(
                f"cabang {strangers} bukan sub-unit dari {command.unit} / "
                f"are not sub-units of {command.unit}",
                field="branches",
            )
        return tuple(branches)

    def _free_case_id(self, sop_id: str, unit: str, period: str) -> tuple[UUID, int]:
        """The id of the next attempt; refused while an open or completed case exists."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            case_id = ids.case_id(sop_id, unit, period, attempt)
            existing = self.find_case(case_id)
            if existing is None:
                return case_id, attempt
            if existing.status is not CaseStatus.CANCELLED:
                raise errors.CaseAlreadyOpenError(
                    f"{sop_id} untuk {unit} periode {period} sudah ada (kasus {case_id}, "
                    f"{existing.status}) / already exists",
                    field="period",
                )
        raise errors.CaseAlreadyOpenError("terlalu banyak pembatalan / too many cancellations")

    def case_for(
        self, sop_id: str, unit: str, period: str, pending: Mapping[UUID, CaseState] | None = None
    ) -> CaseState | None:
        """The live (or last) case for this SOP, unit and period (``pending``: states a batch
        has planned but not stored yet, which win over the store)."""
        found = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            case_id = ids.case_id(sop_id, unit, period, attempt)
            state = (pending or {}).get(case_id) or self.find_case(case_id)
            if state is None:
                return found
            found = state
        return found

    # --- record --------------------------------------------------------------------------

    def record_action(self, command: RecordAction, claim: Claim | None = None) -> Recorded:
        """Record one act; with ``claim``, a retry of the same request returns the first
        result and never stores a second event."""
        if (earlier := self.earlier_result(claim)) is not None:
            return earlier
        try:
            state, actor = self.case_and_person(command.case_id, command.actor)
            now = self.clock()
            events, after = self._plan(command, state, now, actor)
            recorded = self.save(self.with_claim(events, claim, now), lambda: _stale(state))
        except errors.LedgerError:
            # a concurrent duplicate may have stored the act (and moved the case) meanwhile
            if (earlier := self.earlier_result(claim)) is not None:
                return earlier
            raise
        self.remember(state.id, after)
        return recorded

    def record_batch(
        self, commands: list[RecordAction], claims: list[Claim | None] | None = None
    ) -> list[Recorded]:
        """Several acts in one transaction: all are stored, or none (a burst of paper records,
        or concurrent requests grouped by the service). Each is judged on the state the
        earlier ones leave; a refusal names the command's index in ``error.batch_index``.
        ``claims`` (aligned with ``commands``) are stored with their groups; callers look up
        earlier results first (``earlier_result``)."""
        now = self.clock()
        states, people = self.cases_and_people(
            [c.case_id for c in commands], [c.actor for c in commands]
        )
        planned: list[list[LedgerEvent]] = []
        for index, command in enumerate(commands):
            try:
                state = states.get(command.case_id) or self.case(command.case_id)
                events, _ = self._plan(
                    command, state, now, people.get(command.actor), pending=states
                )
            except errors.LedgerError as error:
                error.batch_index = index
                raise
            planned.append(self.with_claim(events, claims[index] if claims else None, now))
            states[state.id] = state
            for event in events:
                base = states.get(event.originator_id)
                if base is None and not isinstance(event, CaseOpened):
                    base = self.case(event.originator_id)
                states[event.originator_id] = evolve(base, event, self.sop_version)
        recorded = self.save_many(planned, lambda: _stale(next(iter(states.values()))))
        for case_id, state in states.items():
            self.remember(case_id, state)
        return recorded

    def _plan(
        self,
        command: RecordAction,
        state: CaseState,
        now: datetime,
        actor: Person | None = None,
        *,
        pending: Mapping[UUID, CaseState] | None = None,
    ) -> tuple[list[LedgerEvent], CaseState]:
        """The events one act produces and the case state after them, or the rule it breaks."""
        state = self._expect(state, command.expected_version)
        occurred_at = self._occurred(command.occurred_at, now, state)
        request = ActionRequest(
            command.step,
            command.action,
            command.branch,
            command.actor,
            occurred_at,
            command.return_to,
            command.return_branches,
        )
        step = check_action(state, request, now)
        event = self._action_event(command, state, step, occurred_at, now, actor=actor)
        return self._consequences(command, state, event, now, pending)

    def _action_event(
        self,
        command: RecordAction,
        state: CaseState,
        step: Step,
        at: datetime,
        now: datetime,
        *,
        actor: Person | None,
    ) -> ActionRecorded:
        check_documents(command)
        unit = command.branch or state.unit
        role, capacity, acting_for = self._capacity(command, step, unit, at, actor)
        return_to = (
            resolve_return_target(step, command.return_to)
            if command.action is Action.RETURN_FOR_COMPLETION
            else None
        )
        return event_class(command.action)(
            originator_id=state.id,
            originator_version=state.version + 1,
            step=step.number,
            branch=command.branch,
            actor=command.actor,
            role=role,
            capacity=capacity,
            acting_for=acting_for,
            occurred_at=at,
            documents=command.documents,
            note=command.note,
            handed_over_from=None,
            **kind_fields(command, return_to),
            **self.stamp(command, now),
        )

    def _capacity(
        self, command: RecordAction, step: Step, unit: str, at: datetime, known: Person | None
    ) -> tuple[str, Capacity, str | None]:
        """Which role the actor acted in, in which capacity, for whom - or RoleNotHeldError."""
        roles = self._roles(command, step)
        fresh = known is not None and known.nip == command.actor
        actor = known if fresh and known is not None else self.require_person(command.actor)
        chart = self.chart_with(unit)
        if command.acting_for is None:
            held = actor.holding(roles, unit, at, chart)
            if held is None:
                raise _role_not_held(actor, roles, unit, at)
            return held.role, held.capacity, held.acting_for
        principal = self.require_person(command.acting_for, field="acting_for")
        held = principal.holding(roles, unit, at, chart)
        if held is None:
            raise _role_not_held(principal, roles, unit, at)
        if not _in_organisation(actor, unit, at, chart.lineage(unit)):
            raise errors.RoleNotHeldError(
                f"{actor.nip} tidak bertugas di {unit} pada {at.isoformat()}, tidak bisa "
                f"bertindak a.n. {principal.nip} / holds no post there to act on behalf",
                field="acting_for",
            )
        return held.role, Capacity.AN, principal.nip

    @staticmethod
    def _roles(command: RecordAction, step: Step) -> tuple[str, ...]:
        if command.role is None:
            return step.roles
        if command.role not in step.roles:
            raise errors.RoleNotHeldError(
                f"peran {command.role!r} bukan pelaksana langkah {step.number} / is not a lane "
                f"of step {step.number} ({', '.join(step.roles)})",
                field="role",
            )
        return (command.role,)

    def _consequences(
        self,
        command: RecordAction,
        state: CaseState,
        event: ActionRecorded,
        now: datetime,
        pending: Mapping[UUID, CaseState] | None,
    ) -> tuple[list[LedgerEvent], CaseState]:
        """The act plus derived events saved with it: completion, and the hand-over to the
        next SOP; with the case's state after them."""
        after = evolve(state, event, self.sop_version)
        if not after.flow_finished:
            return [event], after
        completed = CaseCompleted(
            originator_id=state.id,
            originator_version=event.originator_version + 1,
            occurred_at=event.occurred_at,
            **self.stamp(command, now, event.event_id),
        )
        after = evolve(after, completed, self.sop_version)
        return [event, completed, *self._hand_over(command, state, event, now, pending)], after

    def _hand_over(
        self,
        command: RecordAction,
        state: CaseState,
        event: ActionRecorded,
        now: datetime,
        pending: Mapping[UUID, CaseState] | None,
    ) -> list[LedgerEvent]:
        """A.8 is C.1: the same act opens the next SOP's case and completes its first step.

        Exactly once: the target case id is deterministic, so a second attempt finds the
        step already done (or the case already open at a later step) and adds nothing.
        """
        handover = state.sop.by_number[event.step].hand_over
        if handover is None:
            return []
        target_sop = self.catalogue().get(handover.sop_id, on=event.occurred_at.date())
        target = self.case_for(target_sop.sop_id, state.unit, state.period, pending)
        events: list[LedgerEvent] = []
        if target is None or target.status is CaseStatus.CANCELLED:
            opening = OpenCase(
                sop_id=target_sop.sop_id,
                unit=state.unit,
                period=state.period,
                sop_version=target_sop.version,
                recorded_by=command.recorded_by,
                correlation_id=event.correlation_id,
            )
            opened = self._opening_event(
                opening, target_sop, state.period, event.occurred_at, now, causation=event.event_id
            )
            events.append(opened)
            target = evolve(None, opened, self.sop_version)
        if target.status is not CaseStatus.OPEN or target.awaiting != ((handover.step, None),):
            return events
        request = ActionRequest(handover.step, event.ACTION, None, event.actor, event.occurred_at)
        check_action(target, request, now)
        events.append(
            replace(
                event,
                originator_id=target.id,
                originator_version=target.version + 1,
                step=handover.step,
                **self.stamp(command, now, event.event_id),
                handed_over_from=event.event_id,
            )
        )
        return events

    # --- cancel / annotate -----------------------------------------------------------------

    def cancel_case(self, command: CancelCase) -> Recorded:
        state = self._expect(self.case(command.case_id), command.expected_version)
        if state.status is not CaseStatus.OPEN:
            raise errors.CaseClosedError(f"kasus sudah {state.status} / case is {state.status}")
        if not command.reason.strip():
            raise errors.CaseError("alasan pembatalan wajib / a reason is required", field="reason")
        self.require_person(command.actor)
        now = self.clock()
        event = CaseCancelled(
            originator_id=state.id,
            originator_version=state.version + 1,
            occurred_at=self._occurred(command.occurred_at, now, state),
            actor=command.actor,
            reason=command.reason.strip(),
            **self.stamp(command, now),
        )
        return self.save([event], lambda: _stale(state))

    def annotate(self, command: AnnotateEntry) -> Recorded:
        """A correction or remark about an earlier event; allowed even after completion."""
        state = self._expect(self.case(command.case_id), command.expected_version)
        if command.target_event_id not in state.event_ids:
            raise errors.UnknownEventError(
                f"peristiwa {command.target_event_id} bukan milik kasus ini / "
                "is not an event of this case",
                field="target_event_id",
            )
        if command.kind not in ("correction", "remark") or not command.text.strip():
            raise errors.InvalidActionFieldsError(
                "kind harus correction atau remark, dan text wajib / kind must be correction or "
                "remark, text required",
                field="kind",
            )
        self.require_person(command.actor)
        now = self.clock()
        event = EntryAnnotated(
            originator_id=state.id,
            originator_version=state.version + 1,
            target_event_id=command.target_event_id,
            kind=command.kind,
            text=command.text.strip(),
            actor=command.actor,
            occurred_at=self._occurred(command.occurred_at, now, None),
            documents=command.documents,
            **self.stamp(command, now),
        )
        return self.save([event], lambda: _stale(state))

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _expect(state: CaseState, expected: int | None) -> CaseState:
        if expected is not None and expected != state.version:
            raise errors.StaleVersionError(
                f"versi kasus {state.version}, bukan {expected} / case is at version "
                f"{state.version}, not {expected}",
                current_version=state.version,
            )
        return state

    @staticmethod
    def _occurred(given: datetime | None, now: datetime, state: CaseState | None) -> datetime:
        at = now if given is None else as_utc(given, "occurred_at")
        if at > now:
            raise errors.InvalidTimeError(
                f"occurred_at {at.isoformat()} di masa depan / is in the future",
                field="occurred_at",
            )
        if state is not None and at < state.opened_at:
            raise errors.InvalidTimeError(
                f"occurred_at {at.isoformat()} sebelum kasus dibuka ({state.opened_at.isoformat()})"
                " / before the case was opened",
                field="occurred_at",
            )
        return at


def _stale(state: CaseState) -> errors.LedgerError:
    return errors.StaleVersionError(
        f"kasus {state.id} diubah bersamaan / changed concurrently (was at version "
        f"{state.version}); reload and retry",
        current_version=None,
    )


def _role_not_held(
    person: Person, roles: tuple[str, ...], unit: str, at: datetime
) -> errors.RoleNotHeldError:
    return errors.RoleNotHeldError(
        f"{person.nip} ({person.name}) tidak memegang peran {'/'.join(roles)} untuk {unit} pada "
        f"{at.isoformat()} / did not hold that role for that unit at that time",
        field="actor",
    )


def _in_organisation(person: Person, unit: str, at: datetime, lineage: tuple[str, ...]) -> bool:
    held: list[Assignment] = [a for a in person.roles_at(at) if a.unit in lineage]
    return bool(held)
