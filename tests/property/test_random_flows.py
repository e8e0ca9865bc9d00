"""Random SOP flows and random acts: the pure core against an independent reference acceptor.

A strategy builds random but valid SOP definition *mappings* (the form of a catalogue file):
2-8 steps chained by ``next`` and listed in a shuffled order, a few roles, per-unit segments
(never first or last, each followed by its join), returns to earlier steps (from inside a
segment only to the same segment), decision steps, segregation of duties and 1-2 actions per
step. ``definition_from_mapping`` turns them into definitions; a random mix of awaited and
arbitrary acts is then judged by ``check_action`` and by the reference acceptor of
``support.model``, which must agree on every verdict (down to the refusal's type) and, for
every accepted act, on the state ``evolve`` reaches. The core is pure, so this runs many
examples in both profiles.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core import errors
from ledger.core.case import ActionRequest, CaseState, check_action, evolve
from ledger.core.events import ACTION_EVENTS, Capacity, CaseCompleted, CaseOpened, LedgerEvent
from ledger.core.sop import Action, SopDefinition
from ledger.core.sop_schema import definition_from_mapping, definition_to_mapping
from support.model import COMPLETED, OPEN, Act, Flow, ModelCase, Refusal

SOURCE = "generated"
ROLE_CODES = ("kepala", "sekretaris", "staf", "tim_sakip")
PLAIN_ACTIONS = (
    *("disposition", "draft", "submission", "validation"),
    *("signing", "meeting", "distribution"),
)
BRANCHES = ("unit-a", "unit-b", "unit-c")
ACTORS = ("p1", "p2", "p3", "p4")  # few, so that segregation of duties bites now and then
T0 = datetime(2024, 7, 1, 1, 0, tzinfo=UTC)
TIMES = ("15 menit", "60 menit", "1 jam", "2 Jam", "1 hari", "3 Hari")

PURE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

IDENTITY: dict[str, Any] = {
    "agency": ["Pemerintah Provinsi Sumatera Barat", "Biro Uji"],
    "number": "065/ /UJI-2024",
    "name": {"id": "SOP Uji Acak", "en": "Random test SOP"},
    "created": "Januari 2024",
    "effective": "2024-01-11",
    "approver": {"title": "Kepala Biro", "name": "Nama Pejabat", "nip": "19730513 199703 2 005"},
    "record_keeping": "",
    "frequency": "quarterly",
    "source_file": "generated.txt",
}


# --- random definitions ------------------------------------------------------------------


def _segments(per_unit: list[bool]) -> list[int | None]:
    """The segment (run of consecutive per-unit positions) of each position, or None."""
    found: list[int | None] = []
    current = 0
    for index, flag in enumerate(per_unit):
        if flag and not (index and per_unit[index - 1]):
            current += 1
        found.append(current if flag else None)
    return found


@st.composite
def _time(draw: st.DrawFn) -> Any:
    raw = draw(st.sampled_from(TIMES))
    if not draw(st.booleans()):
        return raw
    amount, word = raw.split()
    minutes = {"menit": 1, "jam": 60}.get(word.lower())
    unit = "minutes" if minutes else "working_days"
    return {"raw": raw, "unit": unit, "amount": int(amount) * (minutes or 1)}


@st.composite
def _step(
    draw: st.DrawFn,
    position: int,
    *,
    numbers: list[int],
    roles: list[str],
    per_unit: list[bool],
    segments: list[int | None],
) -> dict[str, Any]:
    number = numbers[position]
    earlier = list(range(position))
    if per_unit[position]:
        back = [j for j in earlier if segments[j] == segments[position]]
    else:
        back = earlier
    step: dict[str, Any] = {
        "number": number,
        "text": {"id": f"Langkah {number}", "en": f"Step {number}"},
        "time": draw(_time()),
        "next": numbers[position + 1] if position + 1 < len(numbers) else None,
    }
    decision = False
    if back and draw(st.integers(0, 2)) == 0:
        targets = draw(st.lists(st.sampled_from(back), min_size=1, max_size=3, unique=True))
        step["returns"] = {
            "targets": [numbers[j] for j in targets],
            "default": numbers[draw(st.sampled_from(targets))],
            "inferred": draw(st.booleans()),
        }
        decision = draw(st.booleans())
    if decision:
        step["decision"] = True
        step["actions"] = ["approval"]
    else:
        step["actions"] = draw(
            st.lists(st.sampled_from(PLAIN_ACTIONS), min_size=1, max_size=2, unique=True)
        )
    accountable = draw(st.sampled_from(roles))
    step["accountable"] = accountable
    others = [code for code in roles if code != accountable]
    lanes = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
    if lanes or draw(st.booleans()):
        step["roles"] = [accountable, *lanes]
    free = [code for code in others if code not in lanes]
    if free and draw(st.booleans()):
        step["participants"] = draw(st.lists(st.sampled_from(free), min_size=1, unique=True))
    if per_unit[position] or draw(st.booleans()):
        step["per_unit"] = per_unit[position]
    if earlier and draw(st.integers(0, 2)) == 0:
        chosen = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=2, unique=True))
        step["segregated_from"] = [numbers[j] for j in chosen]
    if draw(st.booleans()):
        step["inputs"], step["outputs"] = ["Disposisi"], ["Laporan"]
    return step


@st.composite
def sop_mappings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid SOP definition mapping with a random flow."""
    size = draw(st.integers(2, 8))
    numbers = draw(st.lists(st.integers(1, 40), min_size=size, max_size=size, unique=True))
    roles = draw(st.lists(st.sampled_from(ROLE_CODES), min_size=1, max_size=3, unique=True))
    per_unit = [False, *draw(st.lists(st.booleans(), min_size=size - 2, max_size=size - 2)), False]
    segments = _segments(per_unit)
    steps = [
        draw(_step(i, numbers=numbers, roles=roles, per_unit=per_unit, segments=segments))
        for i in range(size)
    ]
    if draw(st.integers(0, 3)) == 0:
        steps[-1]["hand_over"] = {"sop_id": "generated.next-sop", "step": 1}
    listing = [0, *draw(st.permutations(range(1, size)))]
    identity = dict(IDENTITY)
    if draw(st.booleans()):
        identity |= {"revised": "2024-01-10", "warning": "Hati-hati", "legal_basis": ["Pergub"]}
    mapping: dict[str, Any] = {
        "sop_id": f"generated.sop-{size}",
        "version": draw(st.sampled_from(["2024-01-11", "1", "v2"])),
        "identity": identity,
        "roles": [
            {"code": code, "name": {"id": code.title(), "en": code}, "inferred": index % 2 == 1}
            for index, code in enumerate(roles)
        ],
        "steps": [steps[i] for i in listing],
    }
    if draw(st.booleans()):
        mapping["inferences"] = [{"field": "steps[0].roles", "choice": "x", "reason": "uji"}]
    return mapping


# --- driving the pure core -----------------------------------------------------------------


def _stamp(case_id: UUID, version: int, now: datetime) -> dict[str, Any]:
    return {
        "originator_id": case_id,
        "originator_version": version,
        "event_id": uuid4(),
        "recorded_at": now,
        "recorded_by": "tester",
        "correlation_id": uuid4(),
        "causation_id": None,
    }


def _opened(definition: SopDefinition, branches: tuple[str, ...]) -> CaseOpened:
    return CaseOpened(
        **_stamp(uuid4(), 1, T0),
        sop_id=definition.sop_id,
        sop_version=definition.version,
        sop_hash=definition.content_hash,
        unit="unit",
        period="2024-Q3",
        branches=branches,
        occurred_at=T0,
        attempt=1,
    )


def _kind_fields(act: Act, target: int | None) -> dict[str, Any]:
    fields: dict[Action, dict[str, Any]] = {
        Action.RETURN_FOR_COMPLETION: {
            "reason": "kurang lengkap",
            "target_step": target,
            "reopened_branches": act.return_branches,
        },
        Action.SIGNING: {"signed_document_sha256": "0" * 64, "signature_ref": "TTE-1"},
        Action.MEETING: {"attendees": ("p9",)},
        Action.DISTRIBUTION: {"recipients": ("Bagian",)},
    }
    return fields.get(act.action, {})


def _event(state: CaseState, act: Act, now: datetime, target: int | None) -> LedgerEvent:
    return ACTION_EVENTS[act.action](
        **_stamp(state.id, state.version + 1, now),
        step=act.step,
        branch=act.branch,
        actor=act.actor,
        role="kepala",
        capacity=Capacity.DEFINITIF,
        acting_for=None,
        occurred_at=act.at,
        documents=(),
        note=None,
        handed_over_from=None,
        **_kind_fields(act, target),
    )


def _verdict(state: CaseState, act: Act, now: datetime) -> Refusal | None:
    request = ActionRequest(
        act.step, act.action, act.branch, act.actor, act.at, act.return_to, act.return_branches
    )
    try:
        check_action(state, request, now)
    except errors.LedgerError as error:
        return type(error)
    return None


def _assert_same(state: CaseState, model: ModelCase) -> None:
    assert state.awaiting == model.awaiting()
    assert state.status.value == model.status
    assert state.version == model.version
    for step, branch in model.awaiting():
        cursor = state.main if branch is None else state.tracks[branch]
        assert cursor is not None
        slot = model.slot((step, branch))
        assert (cursor.step, cursor.since, cursor.done) == (step, slot.since, frozenset(slot.done))


def _when(data: st.DataObject, since: datetime, now: datetime) -> datetime:
    span = int((now - since).total_seconds() // 60)
    offset = data.draw(st.sampled_from([0, span, -1]))
    if offset < 0:
        offset = data.draw(st.integers(0, max(span, 0)))
    return since + timedelta(minutes=offset)


def _awaited_act(data: st.DataObject, model: ModelCase, now: datetime) -> Act:
    """An act at an awaited slot: a remaining action or a return, by a random actor."""
    key = data.draw(st.sampled_from(model.awaiting()))
    rule, slot = model.flow.steps[key[0]], model.slot(key)
    choices = [action for action in rule.listed if action not in slot.done]
    if rule.return_targets:
        choices.append(Action.RETURN_FOR_COMPLETION)
    action = data.draw(st.sampled_from(choices))
    return_to: int | None = None
    reopen: tuple[str, ...] = ()
    if action is Action.RETURN_FOR_COMPLETION:
        return_to = data.draw(st.sampled_from((None, *rule.return_targets)))
        target = rule.return_default if return_to is None else return_to
        assert target is not None
        if not rule.per_unit and model.flow.steps[target].per_unit:
            count = data.draw(st.integers(0, len(model.branches)))
            reopen = tuple(data.draw(st.permutations(model.branches))[:count])
    actor = data.draw(st.sampled_from(ACTORS))
    return Act(key[0], action, key[1], actor, _when(data, slot.since, now), return_to, reopen)


def _any_act(data: st.DataObject, model: ModelCase, now: datetime) -> Act:
    """An arbitrary (step, action, branch) triple, time, actor and return fields."""
    numbers = [*model.flow.steps, 99]
    places = (None, *model.branches, "elsewhere")
    return Act(
        step=data.draw(st.sampled_from(numbers)),
        action=data.draw(st.sampled_from(list(Action))),
        branch=data.draw(st.sampled_from(places)),
        actor=data.draw(st.sampled_from(ACTORS)),
        at=data.draw(
            st.sampled_from([now, now + timedelta(minutes=5), T0 - timedelta(minutes=1)])
            | st.builds(lambda m: T0 + timedelta(minutes=m), st.integers(0, 7 * 24 * 60))
        ),
        return_to=data.draw(st.sampled_from((None, *numbers))),
        return_branches=tuple(
            data.draw(st.lists(st.sampled_from(places[1:]), max_size=2, unique=True))
        ),
    )


def _near_miss(data: st.DataObject, model: ModelCase, now: datetime) -> Act:
    """An awaited act with one thing changed: step, action, branch, time or return fields."""
    act = _awaited_act(data, model, now)
    slot = model.slot((act.step, act.branch))
    numbers = [*model.flow.steps, 99]
    places = (None, *model.branches, "elsewhere")
    minutes = st.integers(1, 600).map(lambda m: timedelta(minutes=m))
    change = data.draw(
        st.sampled_from(["step", "action", "again", "branch", "early", "late", "back", "reopen"])
    )
    if change == "step":  # another step, with an action it takes and a fitting branch
        other = model.flow.steps[data.draw(st.sampled_from(list(model.flow.steps)))]
        fitting = model.branches if other.per_unit else (None,)
        return replace(
            act,
            step=other.number,
            action=data.draw(st.sampled_from(other.listed)),
            branch=data.draw(st.sampled_from(fitting)),
        )
    if change == "action":
        return replace(act, action=data.draw(st.sampled_from(list(Action))))
    if change == "again" and slot.done:
        return replace(act, action=data.draw(st.sampled_from(sorted(slot.done))))
    if change == "branch":
        return replace(act, branch=data.draw(st.sampled_from(places)))
    if change == "early":
        return replace(act, at=slot.since - data.draw(minutes))
    if change == "late":
        return replace(act, at=now + data.draw(minutes))
    back = replace(act, action=Action.RETURN_FOR_COMPLETION)
    if change == "back":
        return replace(back, return_to=data.draw(st.sampled_from((None, *numbers))))
    reopen = data.draw(st.lists(st.sampled_from(places[1:]), min_size=1, max_size=2, unique=True))
    return replace(back, return_branches=tuple(reopen))


@PURE
@given(mapping=sop_mappings(), data=st.data())
def test_core_accepts_exactly_what_the_reference_acceptor_accepts(
    mapping: dict[str, Any], data: st.DataObject
) -> None:
    definition = definition_from_mapping(mapping, SOURCE)
    flow = Flow.of(definition)
    branches: tuple[str, ...] = ()
    if flow.has_per_unit:
        count = data.draw(st.sampled_from([1, 2, 3]))
        branches = tuple(data.draw(st.permutations(BRANCHES))[:count])
    state = evolve(None, _opened(definition, branches), lambda *_: definition)
    model = ModelCase(flow, branches, T0)
    now = T0
    for _ in range(data.draw(st.integers(1, 70))):
        now += timedelta(minutes=data.draw(st.sampled_from([0, 1, 30, 600])))
        kind = data.draw(st.sampled_from(["awaited"] * 6 + ["near miss"] * 3 + ["any"]))
        if model.status != OPEN:
            kind = "any"
        make = {"awaited": _awaited_act, "near miss": _near_miss, "any": _any_act}[kind]
        act = make(data, model, now)
        expected = model.judge(act, now)
        assert _verdict(state, act, now) is expected, act
        if model.status != OPEN:
            break  # one act on the completed case is enough
        if expected is not None:
            continue
        state = evolve(state, _event(state, act, now, model.target_of(act)), lambda *_: definition)
        model.apply(act)
        if model.status == COMPLETED:
            assert state.flow_finished
            state = evolve(
                state,
                CaseCompleted(**_stamp(state.id, state.version + 1, now), occurred_at=act.at),
                lambda *_: definition,
            )
        _assert_same(state, model)


# --- the definition format -------------------------------------------------------------------


@PURE
@given(mapping=sop_mappings())
def test_definition_round_trips_through_its_mapping(mapping: dict[str, Any]) -> None:
    definition = definition_from_mapping(mapping, SOURCE)
    written = definition_to_mapping(definition)
    again = definition_from_mapping(written, SOURCE)
    assert again == definition
    assert again.content_hash == definition.content_hash
    assert definition_to_mapping(again) == written
    assert definition_from_mapping(json.loads(json.dumps(written)), SOURCE) == definition


@PURE
@given(mapping=sop_mappings())
def test_generated_flow_is_the_intended_chain(mapping: dict[str, Any]) -> None:
    """The generator's own promise: listing order is not flow order, segments never start
    or end the flow, and every return goes back within its segment."""
    definition = definition_from_mapping(mapping, SOURCE)
    flow = Flow.of(definition)
    assert definition.chain == flow.path()
    assert len(definition.chain) == len(definition.steps)
    assert not flow.steps[flow.path()[0]].per_unit
    assert not flow.steps[flow.path()[-1]].per_unit
    for step in definition.steps:
        if step.returns and step.per_unit:
            assert set(step.returns.targets) <= set(definition.segment_of[step.number])


# --- regressions: defects these properties found, fixed -----------------------------------


def _tiny_definition(steps: list[dict[str, Any]]) -> SopDefinition:
    full = []
    for index, step in enumerate(steps, start=1):
        full.append(
            {
                "number": index,
                "text": {"id": f"Langkah {index}", "en": f"Step {index}"},
                "accountable": "kepala",
                "time": "1 jam",
                "next": index + 1 if index < len(steps) else None,
            }
            | step
        )
    mapping = {
        "sop_id": "generated.tiny",
        "version": "1",
        "identity": IDENTITY,
        "roles": [{"code": "kepala", "name": {"id": "Kepala", "en": "Head"}}],
        "steps": full,
    }
    return definition_from_mapping(mapping, SOURCE)


def _run(definition: SopDefinition, branches: tuple[str, ...], acts: list[Act]) -> CaseState:
    state = evolve(None, _opened(definition, branches), lambda *_: definition)
    now = T0 + timedelta(days=1)
    for act in acts:
        check_action(state, ActionRequest(act.step, act.action, act.branch, act.actor, act.at), now)
        state = evolve(state, _event(state, act, now, None), lambda *_: definition)
    return state


def test_segregation_from_a_per_unit_step_binds_the_join_step() -> None:
    try:
        definition = _tiny_definition(
            [
                {"actions": ["disposition"]},
                {"actions": ["draft"], "per_unit": True},
                {"actions": ["validation"], "segregated_from": [2]},
            ]
        )
    except errors.DefinitionError:
        return  # refusing such a definition would be a fix as well
    at = T0 + timedelta(hours=1)
    state = _run(
        definition,
        ("unit-a", "unit-b"),
        [
            Act(1, Action.DISPOSITION, None, "p1", at),
            Act(2, Action.DRAFT, "unit-a", "p2", at),
            Act(2, Action.DRAFT, "unit-b", "p3", at),
        ],
    )
    request = ActionRequest(3, Action.VALIDATION, None, "p2", at)
    with pytest.raises(errors.SegregationOfDutiesError):
        check_action(state, request, T0 + timedelta(days=1))


def test_the_next_step_cannot_predate_an_act_of_the_step_before() -> None:
    definition = _tiny_definition(
        [{"actions": ["draft", "distribution"]}, {"actions": ["validation"]}]
    )
    state = _run(
        definition,
        (),
        [
            Act(1, Action.DRAFT, None, "p1", T0 + timedelta(hours=3)),
            Act(1, Action.DISTRIBUTION, None, "p1", T0 + timedelta(hours=2)),
        ],
    )
    request = ActionRequest(2, Action.VALIDATION, None, "p2", T0 + timedelta(hours=2, minutes=30))
    with pytest.raises(errors.InvalidTimeError):
        check_action(state, request, T0 + timedelta(days=1))
