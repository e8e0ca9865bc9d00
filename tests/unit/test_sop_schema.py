"""The definition schema: building, refusing, writing back and hashing SOP definitions."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.catalogue import load_seeds
from ledger.core.errors import DefinitionError
from ledger.core.sop import Action, HandOver, ReturnRule, SopDefinition, Step, Text, TimeUnit
from ledger.core.sop_schema import (
    content_hash,
    definition_from_mapping,
    definition_to_mapping,
    parse_time,
)

SOURCE = "catalogue/test-sop.yaml"
DELETE = object()


def _step(number: int, accountable: str, actions: list[str], time: str, **extra: Any) -> Any:
    step = {
        "number": number,
        "text": {"id": f"Langkah {number}", "en": f"Step {number}"},
        "accountable": accountable,
        "actions": actions,
        "inputs": ["Disposisi"],
        "outputs": ["Laporan"],
        "time": time,
        "next": number + 1,
    }
    return step | extra


# 1 order; 2-3 per unit (3 reviews 2); 4 joins; 5 decides and hands over.
BASE: dict[str, Any] = {
    "sop_id": "test.sop-kecil",
    "version": "2024-01-01",
    "identity": {
        "agency": ["Pemerintah Provinsi Sumatera Barat", "Biro Uji"],
        "number": "001/UJI/2024",
        "name": {"id": "SOP Uji", "en": "Test SOP"},
        "created": "Januari 2024",
        "revised": None,
        "effective": "2024-01-02",
        "approver": {"title": "Kepala Biro", "name": "Budi", "nip": "19730513 199703 2 005"},
        "record_keeping": "Elektronik",
        "frequency": "quarterly",
        "source_file": "uji.txt",
    },
    "roles": [
        {"code": "head", "name": {"id": "Kepala", "en": "Head"}},
        {"code": "unit_head", "name": {"id": "Kepala Bagian", "en": "Section head"}},
        {"code": "clerk", "name": {"id": "Staf", "en": "Clerk"}, "inferred": True},
    ],
    "steps": [
        _step(1, "head", ["disposition"], "60 menit"),
        _step(2, "unit_head", ["draft"], "3 Hari", per_unit=True),
        _step(
            3,
            "unit_head",
            ["validation"],
            "1 jam",
            per_unit=True,
            returns={"targets": [2], "default": 2},
            segregated_from=[2],
        ),
        _step(4, "clerk", ["draft", "submission"], "2 Jam", roles=["clerk", "head"]),
        _step(
            5,
            "head",
            ["approval"],
            "30 Menit",
            next=None,
            decision=True,
            participants=["clerk"],
            returns={"targets": [4, 2], "default": 4, "inferred": True},
            hand_over={"sop_id": "test.sop-lanjutan", "step": 1},
        ),
    ],
    "inferences": [{"field": "roles[2]", "choice": "clerk", "reason": "Lane mark lost."}],
}


def _path(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path)]


def mutated(*changes: tuple[str, object]) -> dict[str, Any]:
    """A deep copy of BASE with ``(path, value)`` changes; DELETE removes the key."""
    data = copy.deepcopy(BASE)
    for path, value in changes:
        *parents, last = _path(path)
        target: Any = data
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


def step_of(defn: SopDefinition, number: int) -> Step:
    step = defn.step(number)
    assert step is not None
    return step


def refusal(data: Any) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        definition_from_mapping(data, SOURCE)
    return caught.value


# --------------------------------------------------------------------------- building


def test_base_mapping_builds_the_definition() -> None:
    defn = definition_from_mapping(BASE, SOURCE)

    assert defn.sop_id == "test.sop-kecil"
    assert defn.identity.effective == date(2024, 1, 2)
    assert defn.identity.revised is None
    assert defn.chain == (1, 2, 3, 4, 5)
    assert defn.segment_of == {2: (2, 3), 3: (2, 3)}
    assert step_of(defn, 3).returns == ReturnRule(targets=(2,), default=2, inferred=False)
    assert step_of(defn, 5).hand_over == HandOver("test.sop-lanjutan", 1)
    assert step_of(defn, 5).actions == (Action.APPROVAL,)
    assert defn.roles[2].inferred is True
    assert defn.roles[0].inferred is False


def test_roles_default_to_the_accountable() -> None:
    defn = definition_from_mapping(BASE, SOURCE)

    assert step_of(defn, 1).roles == ("head",)
    assert step_of(defn, 4).roles == ("clerk", "head")


def test_optional_step_keys_take_their_defaults() -> None:
    step = definition_from_mapping(BASE, SOURCE).step(1)

    assert step is not None
    assert step.participants == ()
    assert step.per_unit is False
    assert step.decision is False
    assert step.returns is None
    assert step.hand_over is None
    assert step.segregated_from == ()
    assert step.roles_inferred is False


def test_returned_definition_carries_its_content_hash() -> None:
    defn = definition_from_mapping(BASE, SOURCE)

    assert defn.content_hash == content_hash(defn)
    assert re.fullmatch(r"[0-9a-f]{64}", defn.content_hash)


def test_dates_may_come_parsed_by_yaml_or_as_iso_text() -> None:
    as_text = definition_from_mapping(BASE, SOURCE)
    as_dates = definition_from_mapping(
        mutated(("identity.effective", date(2024, 1, 2)), ("identity.revised", date(2024, 1, 1))),
        SOURCE,
    )

    assert as_dates.identity.effective == as_text.identity.effective
    assert as_dates.identity.revised == date(2024, 1, 1)


@pytest.mark.parametrize(
    ("raw", "unit", "amount"),
    [
        ("60 menit", TimeUnit.MINUTES, 60),
        ("2 Menit", TimeUnit.MINUTES, 2),
        ("1 jam", TimeUnit.MINUTES, 60),
        ("2 Jam", TimeUnit.MINUTES, 120),
        ("3 Hari", TimeUnit.WORKING_DAYS, 3),
        ("1 hari", TimeUnit.WORKING_DAYS, 1),
        ("2 HARI", TimeUnit.WORKING_DAYS, 2),
    ],
)
def test_time_standards_are_normalised(raw: str, unit: TimeUnit, amount: int) -> None:
    assert parse_time(raw) == (unit, amount)
    step = definition_from_mapping(mutated(("steps[0].time", raw)), SOURCE).step(1)
    assert step is not None
    assert (step.time.raw, step.time.unit, step.time.amount) == (raw, unit, amount)


@pytest.mark.parametrize("raw", ["1,5 jam", "sejam", "60", "60 detik", "jam 2", "2 minggu", ""])
def test_other_time_texts_are_refused(raw: str) -> None:
    assert parse_time(raw) is None
    error = refusal(mutated(("steps[0].time", raw)))
    assert error.field == "steps[0].time"


def test_time_in_written_back_form_is_accepted() -> None:
    data = mutated(("steps[0].time", {"raw": "60 menit", "unit": "minutes", "amount": 60}))

    assert definition_from_mapping(data, SOURCE) == definition_from_mapping(BASE, SOURCE)


# --------------------------------------------------------------------------- refusals

REFUSALS: list[tuple[str, list[tuple[str, object]], str, str]] = [
    # (case, changes, field, words in the problem)
    ("unknown top-level key", [("titel", "x")], "titel", "unknown key"),
    ("typo in a step key", [("steps[0].acountable", "head")], "steps[0].acountable", "accountable"),
    ("unknown identity key", [("identity.nomor", "1")], "identity.nomor", "unknown key"),
    ("unknown role key", [("roles[1].kode", "x")], "roles[1].kode", "unknown key"),
    ("missing top-level key", [("version", DELETE)], "version", "missing"),
    ("missing identity key", [("identity.effective", DELETE)], "identity.effective", "missing"),
    ("missing step key", [("steps[1].time", DELETE)], "steps[1].time", "missing"),
    ("missing step next", [("steps[4].next", DELETE)], "steps[4].next", "missing"),
    (
        "missing approver key",
        [("identity.approver.nip", DELETE)],
        "identity.approver.nip",
        "missing",
    ),
    ("missing text language", [("steps[2].text.en", DELETE)], "steps[2].text.en", "missing"),
    ("steps not a list", [("steps", {"1": "x"})], "steps", "list"),
    ("identity not a mapping", [("identity", "Biro")], "identity", "mapping"),
    ("step not a mapping", [("steps[1]", "draft")], "steps[1]", "mapping"),
    ("text not a mapping", [("steps[0].text", "Memerintahkan")], "steps[0].text", "mapping"),
    ("number as text", [("steps[0].number", "1")], "steps[0].number", "whole number"),
    ("number as bool", [("steps[0].number", True)], "steps[0].number", "whole number"),
    ("flag as text", [("steps[1].per_unit", "yes")], "steps[1].per_unit", "true or false"),
    ("role flag as number", [("roles[0].inferred", 1)], "roles[0].inferred", "true or false"),
    ("input not text", [("steps[0].inputs", [1])], "steps[0].inputs[0]", "text"),
    ("time as number", [("steps[0].time", 60)], "steps[0].time", "text"),
    ("empty step text", [("steps[0].text.id", "  ")], "steps[0].text.id", "empty"),
    ("empty step list", [("steps", [])], "steps", "empty"),
    ("empty role list", [("roles", [])], "roles", "empty"),
    ("empty actions", [("steps[0].actions", [])], "steps[0].actions", "empty"),
    ("empty agency", [("identity.agency", [])], "identity.agency", "empty"),
    ("empty step roles", [("steps[3].roles", [])], "steps[3].roles", "empty"),
    ("sop_id upper case", [("sop_id", "Test.SOP")], "sop_id", "lowercase"),
    ("sop_id underscore", [("sop_id", "test_sop")], "sop_id", "lowercase"),
    ("sop_id trailing dot", [("sop_id", "test.")], "sop_id", "lowercase"),
    ("empty version", [("version", "")], "version", "empty"),
    ("unquoted date version", [("version", date(2024, 1, 1))], "version", "quote"),
    ("day-month-year date", [("identity.effective", "02-01-2024")], "identity.effective", "ISO"),
    ("impossible date", [("identity.effective", "2023-02-30")], "identity.effective", "calendar"),
    (
        "date and time",
        [("identity.revised", datetime(2024, 1, 1, 8, tzinfo=UTC))],
        "identity.revised",
        "ISO",
    ),
    ("duplicate role code", [("roles[2].code", "head")], "roles[2].code", "twice"),
    ("bad role code", [("roles[0].code", "Kepala Biro")], "roles[0].code", "role code"),
    ("duplicate step number", [("steps[2].number", 2)], "steps[2].number", "already steps[1]"),
    ("zero step number", [("steps[0].number", 0)], "steps[0].number", "positive"),
    ("negative step number", [("steps[0].number", -1)], "steps[0].number", "positive"),
    ("unknown accountable", [("steps[0].accountable", "boss")], "steps[0].accountable", "boss"),
    ("unknown step role", [("steps[3].roles", ["clerk", "typist"])], "steps[3].roles[1]", "typist"),
    (
        "unknown participant",
        [("steps[4].participants", ["auditor"])],
        "steps[4].participants[0]",
        "auditor",
    ),
    ("roles without accountable", [("steps[3].roles", ["head"])], "steps[3].roles", "clerk"),
    ("duplicate step role", [("steps[3].roles", ["clerk", "clerk"])], "steps[3].roles[1]", "twice"),
    (
        "participant also a role",
        [("steps[4].participants", ["head"])],
        "steps[4].participants[0]",
        "already",
    ),
    ("unknown action", [("steps[0].actions", ["approve"])], "steps[0].actions[0]", "not an action"),
    ("action not text", [("steps[0].actions", [3])], "steps[0].actions[0]", "not an action"),
    (
        "duplicate action",
        [("steps[1].actions", ["draft", "draft"])],
        "steps[1].actions[1]",
        "twice",
    ),
    (
        "return listed as action",
        [("steps[2].actions", ["validation", "return_for_completion"])],
        "steps[2].actions[1]",
        "implied",
    ),
    (
        "approval on a plain step",
        [("steps[3].actions", ["approval"])],
        "steps[3].actions[0]",
        "implied",
    ),
    (
        "time unit mismatch",
        [("steps[0].time", {"raw": "1 jam", "unit": "working_days", "amount": 60})],
        "steps[0].time.unit",
        "minutes",
    ),
    (
        "time amount mismatch",
        [("steps[0].time", {"raw": "1 jam", "unit": "minutes", "amount": 1})],
        "steps[0].time.amount",
        "60",
    ),
    ("next pointing nowhere", [("steps[1].next", 9)], "steps[1].next", "does not exist"),
    ("next as text", [("steps[1].next", "3")], "steps[1].next", "whole number"),
    ("unreachable step", [("steps[0].next", 3)], "steps[1]", "cannot be reached"),
    ("loop without exit", [("steps[4].next", 1)], "steps[4].next", "loop without exit"),
    ("step pointing at itself", [("steps[3].next", 4)], "steps[3].next", "loop without exit"),
    (
        "return to a missing step",
        [("steps[4].returns.targets", [4, 9])],
        "steps[4].returns.targets[1]",
        "does not exist",
    ),
    (
        "return forwards",
        [("steps[3].returns", {"targets": [5], "default": 5})],
        "steps[3].returns.targets[0]",
        "does not come before",
    ),
    (
        "return to itself",
        [("steps[3].returns", {"targets": [4], "default": 4})],
        "steps[3].returns.targets[0]",
        "does not come before",
    ),
    (
        "default not a target",
        [("steps[4].returns.default", 1)],
        "steps[4].returns.default",
        "not one of",
    ),
    ("no return targets", [("steps[4].returns.targets", [])], "steps[4].returns.targets", "empty"),
    (
        "return out of a segment",
        [("steps[2].returns", {"targets": [1], "default": 1})],
        "steps[2].returns.targets[0]",
        "per-unit segment",
    ),
    ("decision without returns", [("steps[4].returns", None)], "steps[4].returns", "decision"),
    (
        "decision with more acts",
        [("steps[4].actions", ["approval", "signing"])],
        "steps[4].actions",
        "exactly [approval]",
    ),
    (
        "decision without approval",
        [("steps[4].actions", ["signing"])],
        "steps[4].actions",
        "exactly [approval]",
    ),
    ("per-unit first step", [("steps[0].per_unit", True)], "steps[0].per_unit", "first step"),
    ("per-unit last step", [("steps[4].per_unit", True)], "steps[4].per_unit", "join"),
    (
        "segregated from a missing step",
        [("steps[2].segregated_from", [9])],
        "steps[2].segregated_from[0]",
        "does not exist",
    ),
    (
        "segregated from a later step",
        [("steps[2].segregated_from", [4])],
        "steps[2].segregated_from[0]",
        "does not come before",
    ),
    (
        "segregated from itself",
        [("steps[2].segregated_from", [3])],
        "steps[2].segregated_from[0]",
        "does not come before",
    ),
    (
        "hand-over before the end",
        [("steps[3].hand_over", {"sop_id": "x.y", "step": 1})],
        "steps[3].hand_over",
        "last step",
    ),
    (
        "hand-over to step 0",
        [("steps[4].hand_over.step", 0)],
        "steps[4].hand_over.step",
        "positive",
    ),
    (
        "hand-over bad sop_id",
        [("steps[4].hand_over.sop_id", "X Y")],
        "steps[4].hand_over.sop_id",
        "SOP id",
    ),
    (
        "hand-over missing step",
        [("steps[4].hand_over.step", DELETE)],
        "steps[4].hand_over.step",
        "missing",
    ),
    (
        "inference without reason",
        [("inferences[0].reason", DELETE)],
        "inferences[0].reason",
        "missing",
    ),
    ("inference choice not text", [("inferences[0].choice", 3)], "inferences[0].choice", "text"),
    (
        "inference unknown key",
        [("inferences[0].confidence", "high")],
        "inferences[0].confidence",
        "unknown key",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [pytest.param(changes, field, words, id=case) for case, changes, field, words in REFUSALS],
)
def test_malformed_definitions_are_refused(
    changes: list[tuple[str, object]], field: str, words: str
) -> None:
    error = refusal(mutated(*changes))

    assert error.field == field
    assert error.source == SOURCE
    assert str(error).startswith(f"{SOURCE}: {field}: ")
    assert words in error.problem


def test_typo_gets_a_suggestion() -> None:
    error = refusal(mutated(("steps[0].acountable", "head")))

    assert "Did you mean 'accountable'?" in error.problem


def test_top_level_must_be_a_mapping() -> None:
    error = refusal(["sop_id"])

    assert error.field == "(top level)"
    assert SOURCE in str(error)


# --------------------------------------------------------------------------- round trip, hash


def _seeds() -> list[SopDefinition]:
    return load_seeds()


@pytest.mark.parametrize("defn", _seeds(), ids=lambda defn: defn.sop_id)
def test_seed_round_trips_through_its_mapping(defn: SopDefinition) -> None:
    mapping = definition_to_mapping(defn)
    via_json = json.loads(json.dumps(mapping, ensure_ascii=False))

    again = definition_from_mapping(via_json, "round-trip")

    assert again == defn
    assert again.content_hash == defn.content_hash


def test_base_round_trips_through_its_mapping() -> None:
    defn = definition_from_mapping(BASE, SOURCE)

    assert definition_from_mapping(definition_to_mapping(defn), SOURCE) == defn


def test_mapping_is_json_safe_and_canonical() -> None:
    mapping = definition_to_mapping(definition_from_mapping(BASE, SOURCE))

    assert mapping["identity"]["effective"] == "2024-01-02"
    assert mapping["steps"][0]["time"] == {"raw": "60 menit", "unit": "minutes", "amount": 60}
    assert mapping["steps"][0]["actions"] == ["disposition"]
    assert mapping["steps"][4]["returns"] == {"targets": [4, 2], "default": 4, "inferred": True}
    assert "content_hash" not in mapping
    assert json.loads(json.dumps(mapping)) == mapping


def test_content_hash_is_sha256_of_the_canonical_json() -> None:
    defn = definition_from_mapping(BASE, SOURCE)
    canonical = json.dumps(
        definition_to_mapping(defn), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )

    assert content_hash(defn) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_content_hash_is_stable() -> None:
    first = [defn.content_hash for defn in load_seeds()]
    second = [defn.content_hash for defn in load_seeds()]

    assert first == second
    assert len(set(first)) == 3
    assert definition_from_mapping(BASE, "a.yaml").content_hash == (
        definition_from_mapping(copy.deepcopy(BASE), "b.yaml").content_hash
    )


@pytest.mark.parametrize("defn", _seeds(), ids=lambda defn: defn.sop_id)
def test_content_hash_changes_with_any_step_text(defn: SopDefinition) -> None:
    for index, step in enumerate(defn.steps):
        for text in (
            Text(step.text.id + ".", step.text.en),
            Text(step.text.id, step.text.en + "."),
        ):
            steps = (*defn.steps[:index], replace(step, text=text), *defn.steps[index + 1 :])
            assert content_hash(replace(defn, steps=steps)) != defn.content_hash


def test_content_hash_changes_with_the_time_standard_text() -> None:
    defn = definition_from_mapping(BASE, SOURCE)
    other = definition_from_mapping(mutated(("steps[1].time", "3 hari")), SOURCE)

    assert other.content_hash != defn.content_hash
