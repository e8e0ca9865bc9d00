"""The real ledger, on SQLite and on PostgreSQL, driven beside an independent model.

A Hypothesis state machine opens cases of the three seed SOPs, records valid and invalid acts,
cancels cases and moves the clock. The model (``support.model``) predicts, for every command,
whether the ledger accepts it - and if not, which refusal it gives - and how many events an
accepted one stores. After every step the ledger's cases must look as the model says; every
so often (and at the end) a fresh application on the same store must replay the same states,
and every stored act must be a path of the SOP flow by the model's rules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import ids
from ledger.commands import CancelCase, OpenCase, RecordAction
from ledger.core import errors
from ledger.core.events import (
    ActionRecorded,
    CaseCancelled,
    CaseCompleted,
    CaseOpened,
    Document,
    FinalDisposition,
    LedgerEvent,
    ReturnedForCompletion,
)
from ledger.core.sop import Action
from ledger.demo.org import BIRO, DINAS
from support.ledgers import FakeClock
from support.model import (
    CANCELLED,
    COMPLETED,
    OPEN,
    Act,
    DemoDirectory,
    Flow,
    Key,
    ModelCase,
    Refusal,
    StepRule,
    another_ledger,
    seeded_store,
)
from support.walk import act, complete_step

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
SOPS = (A, B, C)
UNIT = {A: BIRO, B: DINAS, C: BIRO}
PERIODS = ("2024-Q3", "2024-TW3", "2024-Q2")  # TW3 is Q3 written the other way
DIRECTORY = DemoDirectory()
STRANGER_NIP = "199912312020121009"  # well-formed, not in the directory
SHA = "5" * 64

T = TypeVar("T")

# The dev profile runs 25 examples per test, ci 60: this slower machine runs 4/5 of that
# (about 25 s for both stores in dev, 45 s in ci).
MACHINE_SETTINGS = settings(
    max_examples=max(8, settings.default.max_examples * 4 // 5),
    stateful_step_count=50,
    deadline=None,
)


def _period(raw: str) -> str:
    return raw.replace("TW", "Q")


def _kind_fields(action: Action) -> dict[str, Any]:
    if action is Action.SIGNING:
        return {"signed_document_sha256": SHA, "signature_ref": "BSrE-TTE-1"}
    if action is Action.ARCHIVING:
        return {
            "classification_code": "000.8.6.3",
            "location": "Lemari 2",
            "retention_active_years": 2,
            "retention_inactive_years": 3,
            "final_disposition": FinalDisposition.PERMANENT,
        }
    if action is Action.ESR_UPLOAD:
        return {"uploaded_document_sha256": SHA, "receipt": "ESR-1"}
    if action is Action.RETURN_FOR_COMPLETION:
        return {"reason": "Data dukung belum lengkap"}
    if action is Action.MEETING:
        return {"attendees": ("198509092010011001",)}
    if action is Action.DISTRIBUTION:
        return {"recipients": ("Bagian Kelembagaan",)}
    return {}


def _act_of(command: RecordAction, now: datetime) -> Act:
    return Act(
        command.step,
        command.action,
        command.branch,
        command.actor,
        command.occurred_at or now,
        command.return_to,
        command.return_branches,
    )


def _act_of_event(event: ActionRecorded) -> Act:
    if isinstance(event, ReturnedForCompletion):
        back: tuple[int | None, tuple[str, ...]] = (event.target_step, event.reopened_branches)
    else:
        back = (None, ())
    return Act(event.step, event.ACTION, event.branch, event.actor, event.occurred_at, *back)


class CaseMachine(RuleBasedStateMachine):
    def __init__(self, backend: str) -> None:
        super().__init__()
        self.clock = FakeClock()
        self._resources = ExitStack()
        self.store = self._resources.enter_context(seeded_store(backend, self.clock))
        self.ledger = self.store.ledger
        self.flows = {sop.sop_id: Flow.of(sop) for sop in self.ledger.list_sops()}
        self.cases: dict[UUID, ModelCase] = {}
        self.home: dict[UUID, tuple[str, str]] = {}  # case -> (unit, period)
        self.attempts: dict[tuple[str, str, str], list[UUID]] = {}
        self.last_refusal: errors.LedgerError | None = None

    def teardown(self) -> None:
        try:
            if self.cases:
                self._check_fresh_replay()
        finally:
            self._resources.close()

    # --- helpers -----------------------------------------------------------------------

    def _ids(self, wanted: Callable[[ModelCase], bool]) -> list[UUID]:
        return sorted((i for i, case in self.cases.items() if wanted(case)), key=str)

    def _app_versions(self) -> dict[UUID, int]:
        return {case_id: self.ledger.case(case_id).version for case_id in self.cases}

    def _run(self, expected: Refusal | None, stored: int, call: Callable[[], T]) -> T | None:
        """Run a command; the ledger must refuse exactly as the model expects, a refusal must
        leave the store as it was, and an accepted command must store ``stored`` events."""
        before, versions = self.ledger.max_position(), self._app_versions()
        refusal: errors.LedgerError | None = None
        try:
            result = call()
        except errors.LedgerError as error:
            refusal = error
        self.last_refusal = refusal
        if refusal is not None:
            assert expected is not None, f"the ledger refused ({refusal!r}); the model accepts"
            assert type(refusal) is expected, f"expected {expected.__name__}, got {refusal!r}"
            assert self.ledger.max_position() == before, "a refusal changed the log"
            assert self._app_versions() == versions, "a refusal changed a case"
            return None
        assert expected is None, f"the ledger accepted; the model expects {expected.__name__}"
        assert self.ledger.max_position() == before + stored
        return result

    def _new_case(self, flow: Flow, unit: str, period: str, branches: Sequence[str]) -> UUID:
        key = (flow.sop_id, unit, period)
        attempt = len(self.attempts.get(key, [])) + 1
        case_id = ids.case_id(flow.sop_id, unit, period, attempt)
        self.attempts.setdefault(key, []).append(case_id)
        self.home[case_id] = (unit, period)
        return case_id

    def _live_case(self, sop_id: str, unit: str, period: str) -> UUID | None:
        found = self.attempts.get((sop_id, unit, period))
        return found[-1] if found else None

    def _draw_case(self, data: st.DataObject, wanted: Callable[[ModelCase], bool]) -> UUID:
        return data.draw(st.sampled_from(self._ids(wanted)), label="case")

    # --- opening -------------------------------------------------------------------------

    def _branch_choice(self, flow: Flow, unit: str) -> st.SearchStrategy[tuple[str, ...] | None]:
        children = DIRECTORY.children(unit)
        subsets = st.permutations(children).flatmap(
            lambda order: st.integers(1, len(order)).map(lambda k: tuple(order[:k]))
        )
        odd = st.sampled_from([(), (children[0], children[0]), ("setda",), children[:1]])
        if not flow.has_per_unit:
            return st.one_of(st.none(), st.none(), st.just(()), odd)
        return st.one_of(st.none(), st.none(), st.none(), subsets, odd)

    def _expect_open(
        self, flow: Flow, unit: str, period: str, given: tuple[str, ...] | None
    ) -> tuple[Refusal | None, tuple[str, ...]]:
        children = DIRECTORY.children(unit)
        if not flow.has_per_unit:
            chosen = given or ()
            if chosen:
                return errors.BranchError, chosen
        else:
            chosen = children if given is None else given
            bad = not chosen or len(set(chosen)) < len(chosen)
            if bad or any(branch not in children for branch in chosen):
                return errors.BranchError, chosen
        earlier = self.attempts.get((flow.sop_id, unit, period), [])
        if any(self.cases[case_id].status != CANCELLED for case_id in earlier):
            return errors.CaseAlreadyOpenError, chosen
        return None, chosen

    @rule(sop_id=st.sampled_from(SOPS), raw_period=st.sampled_from(PERIODS), data=st.data())
    def open_case(self, sop_id: str, raw_period: str, data: st.DataObject) -> None:
        flow, unit, period = self.flows[sop_id], UNIT[sop_id], _period(raw_period)
        given = data.draw(self._branch_choice(flow, unit), label="branches")
        expected, branches = self._expect_open(flow, unit, period, given)
        command = OpenCase(sop_id=sop_id, unit=unit, period=raw_period, branches=given)
        recorded = self._run(expected, 1, lambda: self.ledger.open_case(command))
        if recorded is None:
            return
        case_id = self._new_case(flow, unit, period, branches)
        assert recorded.aggregate_id == case_id
        self.cases[case_id] = ModelCase(flow, branches, self.clock.now)

    # --- recording -----------------------------------------------------------------------

    def _expect_record(self, case_id: UUID, command: RecordAction) -> tuple[Refusal | None, int]:
        """The model's verdict on ``command`` and how many events it stores if accepted."""
        case, now = self.cases[case_id], self.clock.now
        act = _act_of(command, now)
        if command.expected_version is not None and command.expected_version != case.version:
            return errors.StaleVersionError, 0
        if act.at > now or act.at < case.opened_at:
            return errors.InvalidTimeError, 0
        refusal = case.judge(act, now)
        if refusal is not None:
            return refusal, 0
        rule_ = case.flow.steps[act.step]
        if act.actor not in DIRECTORY.people:
            return errors.DirectoryError, 0
        if not DIRECTORY.holds(act.actor, rule_.roles, act.branch or self.home[case_id][0]):
            return errors.RoleNotHeldError, 0
        if act.action is Action.RETURN_FOR_COMPLETION and not (command.reason or "").strip():
            return errors.InvalidActionFieldsError, 0
        if not case.finishes(act):
            return None, 1
        if rule_.hand_over is None:
            return None, 2
        refusal, handed = self._expect_hand_over(case_id, act)
        return refusal, 2 + handed

    def _expect_hand_over(self, case_id: UUID, act: Act) -> tuple[Refusal | None, int]:
        """A.8 is C.1: open C (unless open or done) and record C.1 when C waits for it."""
        hand_over = self.cases[case_id].flow.steps[act.step].hand_over
        assert hand_over is not None
        target_id = self._live_case(hand_over[0], *self.home[case_id])
        if target_id is None or self.cases[target_id].status == CANCELLED:
            return None, 2
        target = self.cases[target_id]
        if target.awaiting() != ((hand_over[1], None),):
            return None, 0
        step_act = Act(hand_over[1], act.action, None, act.actor, act.at)
        refusal = target.judge(step_act, self.clock.now)
        return refusal, 0 if refusal else 1

    def _apply_record(self, case_id: UUID, command: RecordAction) -> None:
        case = self.cases[case_id]
        act = _act_of(command, self.clock.now)
        finishing = case.finishes(act)
        case.apply(act)
        hand_over = case.flow.steps[act.step].hand_over
        if not finishing or hand_over is None:
            return
        unit, period = self.home[case_id]
        target_id = self._live_case(hand_over[0], unit, period)
        if target_id is None or self.cases[target_id].status == CANCELLED:
            flow = self.flows[hand_over[0]]
            target_id = self._new_case(flow, unit, period, ())
            self.cases[target_id] = ModelCase(flow, (), act.at)
        target = self.cases[target_id]
        if target.awaiting() == ((hand_over[1], None),):
            target.apply(Act(hand_over[1], act.action, None, act.actor, act.at))

    def _record(self, command: RecordAction) -> Refusal | None:
        expected, stored = self._expect_record(command.case_id, command)
        recorded = self._run(expected, stored, lambda: self.ledger.record_action(command))
        if recorded is not None:
            self._apply_record(command.case_id, command)
            assert recorded.version == self.cases[command.case_id].version
        return expected

    def _command(
        self, case_id: UUID, key: Key, action: Action, fields: dict[str, Any] | None = None
    ) -> RecordAction:
        case = self.cases[case_id]
        step, branch = key
        rule_ = case.flow.steps[step]
        holders = DIRECTORY.holders(rule_.roles, branch or self.home[case_id][0])
        allowed = [nip for nip in holders if nip not in case.blocked(step, branch)]
        base: dict[str, Any] = {
            "case_id": case_id,
            "step": step,
            "action": action,
            "branch": branch,
            "actor": (allowed or holders)[0],
            "occurred_at": self.clock.now,
            "documents": (Document(title=f"Langkah {step}", type="naskah_dinas", sha256=SHA),),
            "recorded_by": "tester",
        }
        fields = fields or {}
        final_action = fields.get("action", action)
        return RecordAction(**(_kind_fields(final_action) | base | fields))

    def _draw_time(self, data: st.DataObject, since: datetime) -> datetime:
        now = self.clock.now
        if since >= now:
            return now
        span = int((now - since).total_seconds() // 60)
        offset = data.draw(st.sampled_from([0, span, -1]), label="when")
        if offset < 0:
            offset = data.draw(st.integers(0, span), label="minutes after input")
        return min(now, since + timedelta(minutes=offset))

    @precondition(lambda self: any(case.awaiting() for case in self.cases.values()))
    @rule(data=st.data(), count=st.integers(1, 16))
    def record_valid_acts(self, data: st.DataObject, count: int) -> None:
        """Work on one case for a while: ``count`` acts the flow awaits (by the model)."""
        case_id = self._draw_case(data, lambda case: bool(case.awaiting()))
        case = self.cases[case_id]
        for _ in range(count):
            if not case.awaiting():
                return
            self.clock.advance(minutes=data.draw(st.sampled_from([0, 0, 7, 95]), label="pause"))
            if data.draw(st.integers(1, 4), label="probe") == 1:
                self._record_invalid(data, [case_id])
            key = data.draw(st.sampled_from(case.awaiting()), label="slot")
            fields = self._valid(data, case_id, key)
            self._record(self._command(case_id, key, self._first_remaining(case_id, key), fields))

    def _valid(self, data: st.DataObject, case_id: UUID, key: Key) -> dict[str, Any]:
        """The fields of an act the model expects at ``key``: a remaining action (sometimes a
        return for completion), someone holding the role, a time after the step's input."""
        case = self.cases[case_id]
        rule_, slot = case.flow.steps[key[0]], case.slot(key)
        remaining = [action for action in rule_.listed if action not in slot.done]
        odds = 2 if rule_.decision else 5  # a decision refuses half the time, a review 1 in 5
        send_back = bool(rule_.return_targets) and data.draw(st.integers(1, odds)) == 1
        fields: dict[str, Any] = {
            "action": Action.RETURN_FOR_COMPLETION
            if send_back
            else data.draw(st.sampled_from(remaining), label="action"),
            "occurred_at": self._draw_time(data, slot.since),
        }
        holders = DIRECTORY.holders(rule_.roles, key[1] or self.home[case_id][0])
        allowed = [nip for nip in holders if nip not in case.blocked(*key)] or holders
        fields["actor"] = data.draw(st.sampled_from(allowed), label="actor")
        if data.draw(st.booleans(), label="with expected_version"):
            fields["expected_version"] = case.version
        if send_back:
            fields |= self._draw_return(data, case, key)
        return fields

    def _draw_return(self, data: st.DataObject, case: ModelCase, key: Key) -> dict[str, Any]:
        rule_ = case.flow.steps[key[0]]
        return_to = data.draw(st.sampled_from((None, *rule_.return_targets)), label="return_to")
        target = rule_.return_default if return_to is None else return_to
        assert target is not None
        if rule_.per_unit or not case.flow.steps[target].per_unit:
            return {"return_to": return_to}
        chosen = data.draw(st.lists(st.sampled_from(case.branches), unique=True), label="reopen")
        return {"return_to": return_to, "return_branches": tuple(chosen)}

    # --- batches -------------------------------------------------------------------------

    @precondition(lambda self: any(case.awaiting() for case in self.cases.values()))
    @rule(data=st.data(), count=st.integers(2, 6))
    def record_batch(self, data: st.DataObject, count: int) -> None:
        """Several acts in one transaction, judged in order on the state the earlier ones
        leave: all are stored, or none and the refusal names the failing command."""
        saved = copy.deepcopy((self.cases, self.home, self.attempts))
        commands: list[RecordAction] = []
        versions: list[int] = []
        expected: Refusal | None = None
        stored = 0
        for _ in range(count):
            candidates = self._ids(lambda case: bool(case.awaiting()))
            if not candidates:
                break
            case_id = data.draw(st.sampled_from(candidates), label="case")
            key = data.draw(st.sampled_from(self.cases[case_id].awaiting()), label="slot")
            if data.draw(st.integers(1, 5), label="spoil") == 1:
                kind = data.draw(st.sampled_from(self._invalid_kinds(self.cases[case_id], key)))
                fields = self._spoil(data, case_id, key, kind)
            else:
                fields = self._valid(data, case_id, key)
            command = self._command(case_id, key, self._first_remaining(case_id, key), fields)
            commands.append(command)
            expected, events = self._expect_record(case_id, command)
            if expected is not None:
                break
            self._apply_record(case_id, command)
            versions.append(self.cases[case_id].version)
            stored += events
        self.cases, self.home, self.attempts = saved
        if not commands:
            return
        recorded = self._run(expected, stored, lambda: self.ledger.record_batch(commands))
        if recorded is None:
            assert self.last_refusal is not None
            assert self.last_refusal.batch_index == len(commands) - 1
            return
        for command in commands:
            self._apply_record(command.case_id, command)
        assert [r.version for r in recorded] == versions

    def _first_remaining(self, case_id: UUID, key: Key) -> Action:
        case = self.cases[case_id]
        done = case.slot(key).done
        return next(a for a in case.flow.steps[key[0]].listed if a not in done)

    # --- invalid acts --------------------------------------------------------------------

    def _invalid_kinds(self, case: ModelCase, key: Key) -> list[str]:
        rule_, slot = case.flow.steps[key[0]], case.slot(key)
        kinds = ["unknown_step", "wrong_step", "not_accepted", "wrong_actor", "unknown_actor"]
        kinds += ["future", "before_input", "stale", "branch"]
        if rule_.per_unit and self._idle_branches(case, key[0]):
            kinds.append("other_branch")
        if slot.done:
            kinds.append("already_recorded")
        if case.blocked(*key):
            kinds.append("segregation")
        if rule_.return_targets:
            kinds += ["return_target", "return_branches", "return_reason"]
        return kinds

    @precondition(lambda self: any(case.awaiting() for case in self.cases.values()))
    @rule(data=st.data(), count=st.integers(1, 4))
    def record_invalid_acts(self, data: st.DataObject, count: int) -> None:
        """Acts that break one rule each: the ledger must refuse them as the model says."""
        for _ in range(count):
            self._record_invalid(data, self._ids(lambda case: bool(case.awaiting())))

    def _record_invalid(self, data: st.DataObject, case_ids: list[UUID]) -> None:
        """Spoil an act awaited by one of ``case_ids`` (drawing the kind of fault first, so
        that rare ones such as segregation get their turn)."""
        where: dict[str, list[tuple[UUID, Key]]] = {}
        for some_id in case_ids:
            for some_key in self.cases[some_id].awaiting():
                for some_kind in self._invalid_kinds(self.cases[some_id], some_key):
                    where.setdefault(some_kind, []).append((some_id, some_key))
        kind = data.draw(st.sampled_from(sorted(where)), label="kind")
        case_id, key = data.draw(st.sampled_from(where[kind]), label="where")
        case = self.cases[case_id]
        rule_, slot = case.flow.steps[key[0]], case.slot(key)
        action = next(a for a in rule_.listed if a not in slot.done)
        command = self._command(case_id, key, action, self._spoil(data, case_id, key, kind))
        expected = self._record(command)
        assert expected is not None, f"the {kind} act should be invalid: {command}"

    def _spoil(self, data: st.DataObject, case_id: UUID, key: Key, kind: str) -> dict[str, Any]:
        """The fields that make an otherwise valid act at ``key`` invalid in the way ``kind``
        names (the expected refusal comes from the model, not from the kind)."""
        case, now = self.cases[case_id], self.clock.now
        step, branch = key
        rule_, slot = case.flow.steps[step], case.slot(key)
        unit = branch or self.home[case_id][0]
        draw = data.draw
        spoilers: dict[str, Callable[[], dict[str, Any]]] = {
            "unknown_step": lambda: {"step": 99},
            "wrong_step": lambda: self._wrong_step(data, case),
            "not_accepted": lambda: {
                "action": draw(st.sampled_from([a for a in Action if not rule_.takes(a)]))
            },
            "wrong_actor": lambda: {
                "actor": draw(st.sampled_from(DIRECTORY.others(rule_.roles, unit)))
            },
            "unknown_actor": lambda: {"actor": STRANGER_NIP},
            "future": lambda: {"occurred_at": now + timedelta(minutes=draw(st.integers(1, 600)))},
            "before_input": lambda: {
                "occurred_at": slot.since
                - timedelta(minutes=draw(st.sampled_from([1, 1, 60, 24 * 60])))
            },
            "stale": lambda: {"expected_version": case.version + draw(st.sampled_from([-1, 1]))},
            "branch": lambda: {"branch": draw(self._bad_branches(case, rule_.per_unit))},
            "other_branch": lambda: {
                "branch": draw(st.sampled_from(self._idle_branches(case, step)))
            },
            "already_recorded": lambda: {"action": draw(st.sampled_from(sorted(slot.done)))},
            "segregation": lambda: {
                "actor": draw(st.sampled_from(sorted(case.blocked(step, branch))))
            },
            "return_target": lambda: {
                "action": Action.RETURN_FOR_COMPLETION,
                "return_to": draw(
                    st.sampled_from(
                        [n for n in (*case.flow.steps, 99) if n not in rule_.return_targets]
                    )
                ),
            },
            "return_branches": lambda: {
                "action": Action.RETURN_FOR_COMPLETION,
                **self._bad_reopen(data, case, rule_),
            },
            "return_reason": lambda: {
                "action": Action.RETURN_FOR_COMPLETION,
                "reason": draw(st.sampled_from(["", "  "])),
            },
        }
        return spoilers[kind]()

    @staticmethod
    def _idle_branches(case: ModelCase, step: int) -> list[str]:
        """Branches of the case that are not waiting at ``step``."""
        return [b for b in case.branches if (step, b) not in case.slots]

    @staticmethod
    def _bad_branches(case: ModelCase, per_unit: bool) -> st.SearchStrategy[str | None]:
        if per_unit:
            return st.sampled_from([None, "setda", f"{case.branches[0]}.x"])
        return st.sampled_from(["setda", *DIRECTORY.children(BIRO), *DIRECTORY.children(DINAS)])

    def _wrong_step(self, data: st.DataObject, case: ModelCase) -> dict[str, Any]:
        slots = [
            (number, branch)
            for number, rule_ in sorted(case.flow.steps.items())
            for branch in (case.branches if rule_.per_unit else (None,))
            if (number, branch) not in case.slots
        ]
        step, branch = data.draw(st.sampled_from(slots), label="wrong slot")
        return {"step": step, "branch": branch, "action": case.flow.steps[step].listed[0]}

    def _bad_reopen(self, data: st.DataObject, case: ModelCase, rule_: StepRule) -> dict[str, Any]:
        """Reopened branches where none may be named, or naming no branch of the case."""
        into_segment = [
            t for t in rule_.return_targets if not rule_.per_unit and case.flow.steps[t].per_unit
        ]
        elsewhere = [t for t in rule_.return_targets if t not in into_segment]
        options: list[dict[str, Any]] = [
            {"return_to": t, "return_branches": (f"{BIRO}.none",)} for t in into_segment
        ]
        if case.branches:
            options += [{"return_to": t, "return_branches": case.branches[:1]} for t in elsewhere]
        if not options:
            options = [{"return_to": rule_.return_targets[0], "return_branches": ("setda",)}]
        return data.draw(st.sampled_from(options), label="reopen")

    @precondition(lambda self: any(case.status != OPEN for case in self.cases.values()))
    @rule(data=st.data())
    def act_on_closed_case(self, data: st.DataObject) -> None:
        case_id = self._draw_case(data, lambda case: case.status != OPEN)
        flow = self.cases[case_id].flow
        key = (flow.first, None)
        action = data.draw(st.sampled_from(flow.steps[flow.first].listed))
        expected = self._record(self._command(case_id, key, action))
        assert expected is errors.CaseClosedError

    # --- cancelling, time ----------------------------------------------------------------

    @precondition(lambda self: bool(self.cases))
    @rule(data=st.data(), how=st.sampled_from(["ok", "stale", "no_reason", "nobody"]))
    def cancel_case(self, data: st.DataObject, how: str) -> None:
        case_id = self._draw_case(data, lambda case: True)
        case = self.cases[case_id]
        head = DIRECTORY.holders(("kepala_biro", "kepala_dinas"), self.home[case_id][0])[0]
        command = CancelCase(
            case_id=case_id,
            actor=STRANGER_NIP if how == "nobody" else head,
            reason=" " if how == "no_reason" else "Dibatalkan: salah periode",
            expected_version=case.version + 1 if how == "stale" else case.version,
        )
        expected: Refusal | None = None
        if how == "stale":
            expected = errors.StaleVersionError
        elif case.status != OPEN:
            expected = errors.CaseClosedError
        elif how == "no_reason":
            expected = errors.CaseError
        elif how == "nobody":
            expected = errors.DirectoryError
        if self._run(expected, 1, lambda: self.ledger.cancel_case(command)) is not None:
            case.cancel()

    @rule(minutes=st.integers(1, 3 * 24 * 60))
    def advance_clock(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # --- what must always hold -----------------------------------------------------------

    @invariant()
    def cases_look_as_the_model_says(self) -> None:
        for case_id, case in self.cases.items():
            state = self.ledger.case(case_id)
            assert state.awaiting == case.awaiting(), case_id
            assert state.status.value == case.status, case_id
            assert state.version == case.version, case_id
            assert state.branches == case.branches, case_id
            for step, branch in case.awaiting():
                cursor = state.main if branch is None else state.tracks[branch]
                assert cursor is not None
                slot = case.slot((step, branch))
                assert (cursor.step, cursor.since, cursor.done) == (
                    step,
                    slot.since,
                    frozenset(slot.done),
                )

    @precondition(lambda self: bool(self.cases))
    @rule()
    def fresh_application_agrees(self) -> None:
        self._check_fresh_replay()

    def _check_fresh_replay(self) -> None:
        """A fresh application replays the same state, and the stored acts follow the flow."""
        with another_ledger(self.store.settings, self.clock) as fresh:
            for case_id in self.cases:
                live, replayed = self.ledger.case(case_id), fresh.case(case_id)
                for name in ("awaiting", "status", "version", "pending_return", "branches"):
                    assert getattr(replayed, name) == getattr(live, name), (case_id, name)
                assert replayed == live, case_id
                self._replay_through_model(case_id, list(fresh.store.events.get(case_id)))

    def _replay_through_model(self, case_id: UUID, events: list[LedgerEvent]) -> None:
        opened = events[0]
        assert isinstance(opened, CaseOpened)
        model = ModelCase(self.flows[opened.sop_id], opened.branches, opened.occurred_at)
        for event in events[1:]:
            if isinstance(event, CaseCompleted):
                assert model.status == COMPLETED
                assert event.originator_version == model.version
                continue
            assert event.originator_version == model.version + 1
            if isinstance(event, ActionRecorded):
                act = _act_of_event(event)
                assert model.judge(act, event.recorded_at) is None, (case_id, event)
                model.apply(act)
            else:
                assert isinstance(event, CaseCancelled), event
                model.cancel()
        live = self.cases[case_id]
        assert (model.awaiting(), model.status, model.version) == (
            live.awaiting(),
            live.status,
            live.version,
        )


@pytest.mark.parametrize(
    "store_backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_ledger_agrees_with_the_model(store_backend: str) -> None:
    run_state_machine_as_test(
        lambda: CaseMachine(store_backend),
        settings=MACHINE_SETTINGS,
    )


def test_a_return_stays_pending_until_its_own_branch_is_back() -> None:
    clock = FakeClock()
    with seeded_store("sqlite", clock) as built:
        ledger = built.ledger
        case_id = ledger.open_case(OpenCase(sop_id=A, unit=BIRO, period="2024-Q3")).aggregate_id
        returned, other, _ = ledger.case(case_id).branches
        for step in (1, 2):
            complete_step(ledger, case_id, step, at=clock.advance(hours=1))
        for step in (3, 4):
            complete_step(ledger, case_id, step, returned, at=clock.advance(hours=1))
        act(ledger, case_id, 5, Action.RETURN_FOR_COMPLETION, returned, at=clock.advance(hours=1))
        assert ledger.case(case_id).pending_return is not None
        for step in (3, 4):  # another branch reaches step 5 for the first time
            complete_step(ledger, case_id, step, other, at=clock.advance(hours=1))
        state = ledger.case(case_id)
        assert (4, returned) in state.awaiting  # still redoing its draft
        assert state.pending_return is not None
        assert state.pending_return.branch == returned
