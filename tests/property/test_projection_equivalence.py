"""Incremental catch-up, rebuild from zero and a small reference model give identical views.

A Hypothesis state machine drives the real ledger (SQLite and PostgreSQL) through valid and
invalid acts on cases of the three seed SOPs - parallel branches, returns for completion
(into a per-unit segment too), the A.8 = C.1 hand-over, back-dated acts and cancellations,
annotations, batches that land whole or not at all, role assignments that start and end -
and interleaves catch-ups of ONE long-lived projection runner, reading the log in pages of
three events and keeping only two folded cases in memory (so cases are put aside and
refolded from the event store all the time), sometimes only up to some position, sometimes
after a restart of the runner.

Whenever it checks, and at the end, three things must agree exactly:

1. the views the long-lived runner built incrementally;
2. a fresh runner's rebuild from zero into a separate, new view store (every column of
   every table);
3. the reference model of ``support.view_model`` over the same log prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.calendars import default_calendar
from ledger.commands import AnnotateEntry, AssignRole, CancelCase, EndRole, OpenCase, RecordAction
from ledger.core import errors
from ledger.core.case import CaseState, CaseStatus, Cursor
from ledger.core.events import Document, Medium
from ledger.core.sop import Action, Step
from ledger.demo.acts import command_for
from ledger.demo.org import BIRO, DINAS, holder
from ledger.ledger import Ledger
from projections.runner import Runner
from support.ledgers import BACKENDS, FakeClock, postgres_url, seeded_ledger
from support.model import DemoDirectory
from support.pg_server import PostgresUnavailable
from support.view_checks import dump_views, log_upto, separate_view_store, tracked_position
from support.view_model import expected_views, stored_views
from support.views import runner, view_store

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
SOPS = (A, B, C)
UNIT = {A: BIRO, B: DINAS, C: BIRO}
HEAD = {BIRO: holder("kepala_biro", BIRO), DINAS: holder("kepala_dinas", DINAS)}
PERIODS = ("2024-Q3", "2024-TW3", "2024-Q2")  # TW3 is Q3 written the other way
DIRECTORY = DemoDirectory()
STRANGER_NIP = "199912312020121009"  # well-formed, not in the directory
SPARE_ROLE = "analis_kinerja"  # a role no step asks for: assigning it changes no verdict

PAGE_SIZE = 3  # tiny pages: many commits, page ends inside multi-event saves
CACHE_SIZE = 2  # tiny cache: cases are put aside and refolded from the store

# A machine run is heavier than the case machine's (it rebuilds views as it goes): a third
# of the profile's examples (8 in dev, 20 in ci), 30 steps each.
MACHINE_SETTINGS = settings(
    max_examples=max(5, settings().max_examples // 3),
    stateful_step_count=30,
    deadline=None,
)

T = TypeVar("T")


def _period(raw: str) -> str:
    return raw.replace("TW", "Q")


def _cursor(state: CaseState, branch: str | None) -> Cursor:
    cursor = state.main if branch is None else state.tracks[branch]
    assert cursor is not None
    return cursor


def _blocked(state: CaseState, step: Step, branch: str | None) -> set[str]:
    """Who may not act at ``step`` (segregation of duties), as the domain defines it."""
    found: set[str] = set()
    for earlier in step.segregated_from:
        if not state.sop.by_number[earlier].per_unit:
            found |= state.actors.get((earlier, None), frozenset())
        elif branch is not None:
            found |= state.actors.get((earlier, branch), frozenset())
        else:
            for each in state.branches:
                found |= state.actors.get((earlier, each), frozenset())
    return found


class ProjectionMachine(RuleBasedStateMachine):
    def __init__(self, backend: str) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.calendar = default_calendar()
        self._resources = ExitStack()
        try:
            self.ledger: Ledger = self._resources.enter_context(seeded_ledger(backend, self.clock))
            self.views = self._resources.enter_context(view_store(self.ledger))
        except BaseException:
            self._resources.close()
            raise
        self.runner = self._runner()
        self.assignments: list[tuple[str, str]] = []  # (nip, assignment id) still running

    def _runner(self) -> Runner:
        return runner(self.ledger, self.views, page_size=PAGE_SIZE, cache_size=CACHE_SIZE)

    def teardown(self) -> None:
        try:
            head = self.ledger.max_position()
            self.runner.catch_up()
            assert tracked_position(self.views) == head
            assert self.runner.progress().lag == 0
            self._check_against_rebuild_and_model()
        finally:
            self._resources.close()

    # --- helpers -----------------------------------------------------------------------

    def _states(self, wanted: Callable[[CaseState], bool]) -> list[CaseState]:
        cases = sorted(self.ledger.list_cases(), key=lambda c: c.position)
        states = [self.ledger.case(c.case_id) for c in cases]
        return [s for s in states if wanted(s)]

    def _draw_case(self, data: st.DataObject, wanted: Callable[[CaseState], bool]) -> CaseState:
        found = self._states(wanted)
        return found[data.draw(st.integers(0, len(found) - 1), label="case")]

    def _expect(self, expected: type[errors.LedgerError] | None, call: Callable[[], T]) -> T | None:
        """Run a command: refused exactly as expected (leaving the log as it was), or
        accepted (adding to the log)."""
        before = self.ledger.max_position()
        refusal: errors.LedgerError | None = None
        result: T | None = None
        try:
            result = call()
        except errors.LedgerError as error:
            refusal = error
        if refusal is not None:
            assert expected is not None, f"refused ({refusal!r}), expected to be accepted"
            assert type(refusal) is expected, f"expected {expected.__name__}, got {refusal!r}"
            assert self.ledger.max_position() == before, "a refusal changed the log"
            return None
        assert expected is None, f"accepted, expected {expected.__name__}"
        assert self.ledger.max_position() > before
        return result

    def _draw_time(self, data: st.DataObject, since: datetime) -> datetime:
        """Now, or back-dated to any minute since ``since``."""
        now = self.clock.now
        span = int((now - since).total_seconds() // 60)
        how = data.draw(st.sampled_from(["now", "since", "between"]), label="when")
        if how == "now" or span <= 0:
            return now
        if how == "since":
            return since
        return since + timedelta(minutes=data.draw(st.integers(0, span), label="minutes"))

    def _documents(self, data: st.DataObject, state: CaseState, step: int) -> dict[str, Any]:
        """The act's papers: the default hashed one, a paper one without a hash, none."""
        kind = data.draw(st.sampled_from(["default", "paper", "none", "two"]), label="papers")
        paper = Document(
            title=f"Naskah langkah {step}",
            type="nota_dinas",
            number=f"{state.period}/{step}/kertas",
            medium=Medium.PAPER,
        )
        untitled = Document(title="Lampiran", type="lampiran")
        if kind == "paper":
            return {"documents": (paper,)}
        if kind == "none":
            return {"documents": ()}
        if kind == "two":
            return {"documents": (paper, untitled)}
        return {}

    def _valid_command(
        self, data: st.DataObject, state: CaseState, key: tuple[int, str | None]
    ) -> RecordAction:
        """An act the case awaits at ``key``: a remaining action, an approval at a decision
        step, or a return for completion where the step allows one."""
        number, branch = key
        step = state.sop.by_number[number]
        cursor = _cursor(state, branch)
        choices = [a for a in step.actions if a not in cursor.done]
        if step.decision and Action.APPROVAL not in (*cursor.done, *choices):
            choices.append(Action.APPROVAL)
        if step.returns is not None:  # a return one time in three: most cases still finish
            choices = [*choices, *choices, Action.RETURN_FOR_COMPLETION]
        action = data.draw(st.sampled_from(choices), label="action")
        extra: dict[str, Any] = self._documents(data, state, number)
        if action is Action.RETURN_FOR_COMPLETION:
            assert step.returns is not None
            target = data.draw(st.sampled_from([None, *step.returns.targets]), label="return to")
            into = state.sop.by_number[step.returns.default if target is None else target]
            reopened: tuple[str, ...] = ()
            if not step.per_unit and into.per_unit:
                reopened = tuple(
                    data.draw(
                        st.lists(st.sampled_from(state.branches), unique=True), label="reopen"
                    )
                )
            extra |= {"return_to": target, "return_branches": reopened}
        holders = DIRECTORY.holders(step.roles, branch or state.unit)
        allowed = [nip for nip in holders if nip not in _blocked(state, step, branch)]
        actor = data.draw(st.sampled_from(allowed), label="actor")
        # A hand-over act (A.8) is also the next SOP's first act: keep it at "now" so that it
        # is never before that case's own opening.
        at = self.clock.now if step.hand_over else self._draw_time(data, cursor.since)
        return command_for(state, number, action, branch, occurred_at=at, actor=actor, **extra)

    # --- opening, acting ---------------------------------------------------------------------

    @initialize(data=st.data())
    def open_first_cases(self, data: st.DataObject) -> None:
        """Every run starts with one to three open cases, some with only some branches."""
        first = st.lists(st.sampled_from(SOPS), min_size=1, max_size=3, unique=True)
        for sop_id in data.draw(first, label="first cases"):
            self.open_case(sop_id, PERIODS[0], data)

    @rule(sop_id=st.sampled_from(SOPS), raw_period=st.sampled_from(PERIODS), data=st.data())
    def open_case(self, sop_id: str, raw_period: str, data: st.DataObject) -> None:
        unit = UNIT[sop_id]
        branches: tuple[str, ...] | None = None
        if sop_id != C:
            children = DIRECTORY.children(unit)
            some = st.lists(st.sampled_from(children), min_size=1, unique=True).map(tuple)
            branches = data.draw(st.one_of(st.none(), some), label="branches")
        back = data.draw(st.sampled_from([0, 0, 45, 600, 3 * 24 * 60]), label="opened ago")
        live = self.ledger.case_for(sop_id, unit, _period(raw_period))
        expected = None
        if live is not None and live.status is not CaseStatus.CANCELLED:
            expected = errors.CaseAlreadyOpenError
        command = OpenCase(
            sop_id=sop_id,
            unit=unit,
            period=raw_period,
            branches=branches,
            occurred_at=self.clock.now - timedelta(minutes=back),
        )
        self._expect(expected, lambda: self.ledger.open_case(command))

    @precondition(lambda self: bool(self._states(lambda s: bool(s.awaiting))))
    @rule(data=st.data(), count=st.sampled_from([1, 4, 12, 40]))
    def act_on_one_case(self, data: st.DataObject, count: int) -> None:
        """Up to ``count`` acts that one case awaits (40 finish most cases)."""
        case_id = self._draw_case(data, lambda s: bool(s.awaiting)).id
        for _ in range(count):
            state = self.ledger.case(case_id)
            if not state.awaiting:
                return
            self._act(data, state)

    @precondition(lambda self: bool(self._states(lambda s: bool(s.awaiting))))
    @rule(data=st.data(), count=st.sampled_from([2, 6, 20]))
    def act_across_cases(self, data: st.DataObject, count: int) -> None:
        """``count`` acts, each on any case that awaits one (pages then mix cases)."""
        for _ in range(count):
            waiting = self._states(lambda s: bool(s.awaiting))
            if not waiting:
                return
            self._act(data, waiting[data.draw(st.integers(0, len(waiting) - 1), label="case")])

    def _act(self, data: st.DataObject, state: CaseState) -> None:
        pause = data.draw(st.sampled_from([0, 5, 50, 240, 1500]), label="pause")
        self.clock.advance(minutes=pause)
        key = data.draw(st.sampled_from(state.awaiting), label="slot")
        command = self._valid_command(data, state, key)
        self._expect(None, partial(self.ledger.record_action, command))
        if data.draw(st.integers(0, 3), label="catch up now") == 0:
            self.catch_up(data)

    @precondition(lambda self: bool(self._states(lambda s: bool(s.awaiting))))
    @rule(data=st.data(), spoil=st.booleans())
    def record_batch(self, data: st.DataObject, spoil: bool) -> None:
        """One act on each of up to three cases in one transaction; a spoiled last act (in
        the future) must leave none of them stored."""

        def batchable(state: CaseState) -> bool:
            return any(not state.sop.by_number[n].hand_over for n, _ in state.awaiting)

        found = self._states(batchable)
        if not found:
            return
        chosen = data.draw(
            st.lists(st.sampled_from(found), min_size=1, max_size=3, unique_by=lambda s: s.id),
            label="cases",
        )
        commands = []
        for state in chosen:
            keys = [k for k in state.awaiting if not state.sop.by_number[k[0]].hand_over]
            key = data.draw(st.sampled_from(keys), label="slot")
            commands.append(self._valid_command(data, state, key))
        expected = None
        if spoil:
            late = self.clock.now + timedelta(minutes=data.draw(st.integers(1, 600)))
            commands[-1] = replace(commands[-1], occurred_at=late)
            expected = errors.InvalidTimeError
        before = self.ledger.max_position()
        refusal: errors.LedgerError | None = None
        try:
            self.ledger.record_batch(commands)
        except errors.LedgerError as error:
            refusal = error
        if expected is None:
            assert refusal is None, f"the batch was refused: {refusal!r}"
            assert self.ledger.max_position() >= before + len(commands)
            return
        assert type(refusal) is expected, f"expected {expected.__name__}, got {refusal!r}"
        assert refusal.batch_index == len(commands) - 1
        assert self.ledger.max_position() == before

    # --- refusals ----------------------------------------------------------------------------

    @precondition(lambda self: bool(self._states(lambda s: True)))
    @rule(
        data=st.data(),
        kind=st.sampled_from(
            [
                "future",
                "before_input",
                "unknown_actor",
                "wrong_actor",
                "out_of_order",
                "already_recorded",
                "stale",
                "closed",
                "cancel_closed",
            ]
        ),
    )
    def refused(self, data: st.DataObject, kind: str) -> None:
        """A command that breaks exactly one rule: refused as such, nothing stored."""
        if kind in ("closed", "cancel_closed"):
            closed = self._states(lambda s: s.status is not CaseStatus.OPEN)
            if not closed:
                return
            state = closed[data.draw(st.integers(0, len(closed) - 1), label="case")]
            if kind == "cancel_closed":
                cancel = CancelCase(case_id=state.id, actor=HEAD[state.unit], reason="Salah")
                self._expect(errors.CaseClosedError, lambda: self.ledger.cancel_case(cancel))
                return
            first = state.sop.steps[0]
            command = command_for(
                state,
                first.number,
                first.actions[0],
                None,
                occurred_at=self.clock.now,
                actor=HEAD[state.unit],
            )
            self._expect(errors.CaseClosedError, lambda: self.ledger.record_action(command))
            return
        waiting = self._states(lambda s: bool(s.awaiting))
        if kind == "already_recorded":
            waiting = [s for s in waiting if any(_cursor(s, b).done for _, b in s.awaiting)]
        if not waiting:
            return
        state = waiting[data.draw(st.integers(0, len(waiting) - 1), label="case")]
        keys = state.awaiting
        if kind == "already_recorded":
            keys = tuple(k for k in keys if _cursor(state, k[1]).done)
        key = data.draw(st.sampled_from(keys), label="slot")
        command = self._valid_command(data, state, key)
        step = state.sop.by_number[key[0]]
        expected, spoiled = self._spoil(data, state, key, step, kind)
        if expected is None:
            return
        bad = replace(command, **spoiled)
        self._expect(expected, lambda: self.ledger.record_action(bad))

    def _spoil(
        self,
        data: st.DataObject,
        state: CaseState,
        key: tuple[int, str | None],
        step: Step,
        kind: str,
    ) -> tuple[type[errors.LedgerError] | None, dict[str, Any]]:
        cursor = _cursor(state, key[1])
        unit = key[1] or state.unit
        if kind == "future":
            late = self.clock.now + timedelta(minutes=data.draw(st.integers(1, 600)))
            return errors.InvalidTimeError, {"occurred_at": late}
        if kind == "before_input":
            early = cursor.since - timedelta(minutes=data.draw(st.sampled_from([1, 60, 1440])))
            return errors.InvalidTimeError, {"occurred_at": early}
        if kind == "unknown_actor":
            return errors.DirectoryError, {"actor": STRANGER_NIP}
        if kind == "wrong_actor":
            actor = data.draw(st.sampled_from(DIRECTORY.others(step.roles, unit)), label="who")
            if actor in _blocked(state, step, key[1]):  # checked before the role
                return errors.SegregationOfDutiesError, {"actor": actor}
            return errors.RoleNotHeldError, {"actor": actor}
        if kind == "stale":
            off = data.draw(st.sampled_from([-1, 1]), label="off by")
            return errors.StaleVersionError, {"expected_version": state.version + off}
        if kind == "already_recorded":
            action = data.draw(st.sampled_from(sorted(cursor.done)), label="again")
            return errors.ActionAlreadyRecordedError, {"action": action}
        assert kind == "out_of_order"
        slots = [
            (s.number, b)
            for s in state.sop.steps
            for b in (state.branches if s.per_unit else (None,))
            if (s.number, b) not in state.awaiting
        ]
        number, branch = data.draw(st.sampled_from(slots), label="wrong slot")
        wrong = state.sop.by_number[number]
        joining = state.main is None and not wrong.per_unit
        expected = errors.JoinIncompleteError if joining else errors.StepOrderError
        fields = {"step": number, "branch": branch, "action": wrong.actions[0]}
        fields["actor"] = DIRECTORY.holders(wrong.roles, branch or state.unit)[0]
        return expected, fields

    # --- cancelling, annotating, directory, time ----------------------------------------------

    @precondition(lambda self: bool(self._states(lambda s: s.status is CaseStatus.OPEN)))
    @rule(data=st.data())
    def cancel_case(self, data: st.DataObject) -> None:
        """Cancel an open case, possibly back-dated to before its open steps began."""
        state = self._draw_case(data, lambda s: s.status is CaseStatus.OPEN)
        command = CancelCase(
            case_id=state.id,
            actor=HEAD[state.unit],
            reason="Dibatalkan: salah periode",
            occurred_at=self._draw_time(data, state.opened_at),
            expected_version=state.version,
        )
        self._expect(None, lambda: self.ledger.cancel_case(command))

    @precondition(lambda self: bool(self._states(lambda s: True)))
    @rule(data=st.data())
    def annotate(self, data: st.DataObject) -> None:
        state = self._draw_case(data, lambda s: True)
        target = data.draw(st.sampled_from(sorted(state.event_ids, key=str)), label="target")
        command = AnnotateEntry(
            case_id=state.id,
            target_event_id=target,
            actor=HEAD[state.unit],
            kind=data.draw(st.sampled_from(["remark", "correction"]), label="kind"),
            text="Nomor surat salah ketik",
        )
        self._expect(None, lambda: self.ledger.annotate(command))

    @rule(
        data=st.data(),
        nip=st.sampled_from(sorted(DIRECTORY.people)),
        unit=st.sampled_from([BIRO, DINAS]),
    )
    def directory_change(self, data: st.DataObject, nip: str, unit: str) -> None:
        """Assign a spare role to someone, or end such an assignment."""
        end_one = bool(self.assignments) and data.draw(st.booleans(), label="end one")
        if end_one:
            index = data.draw(st.integers(0, len(self.assignments) - 1), label="assignment")
            holder_nip, assignment = self.assignments.pop(index)
            (found,) = [
                a
                for a in self._person(holder_nip).assignments
                if str(a.assignment_id) == assignment
            ]
            end = EndRole(
                nip=holder_nip,
                assignment_id=found.assignment_id,
                valid_until=self.clock.now + timedelta(days=1),
            )
            self._expect(None, partial(self.ledger.end_role, end))
            return
        known = {a.assignment_id for a in self._person(nip).assignments}
        assign = AssignRole(
            nip=nip, role=SPARE_ROLE, unit=unit, valid_from=self.clock.now - timedelta(days=1)
        )
        self._expect(None, partial(self.ledger.assign_role, assign))
        (new,) = [a for a in self._person(nip).assignments if a.assignment_id not in known]
        self.assignments.append((nip, str(new.assignment_id)))

    def _person(self, nip: str) -> Any:
        person = self.ledger.person(nip)
        assert person is not None
        return person

    @rule(minutes=st.integers(1, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # --- the projection ------------------------------------------------------------------------

    @rule(data=st.data())
    def catch_up(self, data: st.DataObject) -> None:
        """Catch up to the head, or only to some position on the way there; sometimes in a
        new runner first (a restart: empty cache, carrying on from the stored position)."""
        before, head = tracked_position(self.views), self.ledger.max_position()
        if data.draw(st.integers(0, 7), label="restart") == 0:
            self.runner = self._runner()
            generation = self.runner.prepare()
            assert (generation.state, generation.position) == ("live", before)
        target = data.draw(st.one_of(st.just(head), st.integers(before, head)), label="upto")
        applied = self.runner.catch_up(target)
        assert applied == sum(1 for p, _ in log_upto(self.ledger, target) if p > before)
        assert tracked_position(self.views) == max(before, target)

    @precondition(lambda self: tracked_position(self.views) > 0)
    @rule(rebuild=st.booleans())
    def views_agree(self, rebuild: bool) -> None:
        """The views so far agree with the model (and with a rebuild from zero)."""
        if rebuild:
            self._check_against_rebuild_and_model()
            return
        position = tracked_position(self.views)
        expected = expected_views(
            log_upto(self.ledger, position), self.ledger.sop_version, self.calendar
        )
        _assert_same(stored_views(self.views), expected)

    def _check_against_rebuild_and_model(self) -> None:
        position = tracked_position(self.views)
        with separate_view_store(self.ledger) as other:
            fresh = runner(self.ledger, other)
            assert fresh.catch_up(position) == len(log_upto(self.ledger, position))
            assert tracked_position(other) == position
            rebuilt = dump_views(other)
            assert dump_views(self.views) == rebuilt
            expected = expected_views(
                log_upto(self.ledger, position), self.ledger.sop_version, self.calendar
            )
            _assert_same(stored_views(other), expected)
            _assert_same(stored_views(self.views), expected)


def _assert_same(observed: Any, expected: Any) -> None:
    """Table by table, so that a failure names the table and the first differing key."""
    for name in ("case_status", "sla", "activity", "esr", "archive", "role_holders"):
        got, want = getattr(observed, name), getattr(expected, name)
        if got == want:
            continue
        if isinstance(want, dict):
            keys = sorted(set(got) | set(want), key=repr)
            key = next(k for k in keys if got.get(k) != want.get(k))
            raise AssertionError(
                f"{name}[{key}]:\n  views: {got.get(key)}\n  model: {want.get(key)}"
            )
        index = next(
            (i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
            min(len(got), len(want)),
        )
        raise AssertionError(
            f"{name} row {index} ({len(got)} vs {len(want)} rows):\n"
            f"  views: {got[index] if index < len(got) else None}\n"
            f"  model: {want[index] if index < len(want) else None}"
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_incremental_rebuild_and_model_agree(backend: str) -> None:
    if backend == "postgres":
        try:
            postgres_url()
        except PostgresUnavailable as error:
            pytest.skip(f"PostgreSQL unavailable: {error}")
    run_state_machine_as_test(lambda: ProjectionMachine(backend), settings=MACHINE_SETTINGS)
