"""The shipped seed SOPs, and the loader's refusals of broken definition files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ledger.catalogue import load_file, load_seeds, seed_paths
from ledger.core.errors import DefinitionError
from ledger.core.sop import Action, HandOver, ReturnRule, SopDefinition, Step, TimeUnit
from ledger.core.sop_schema import definition_to_mapping

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
BROKEN = Path(__file__).parent.parent / "fixtures" / "broken_sops"


@pytest.fixture(scope="module")
def seeds() -> dict[str, SopDefinition]:
    return {defn.sop_id: defn for defn in load_seeds()}


def _step(defn: SopDefinition, number: int) -> Step:
    step = defn.step(number)
    assert step is not None
    return step


def _inference_fields(defn: SopDefinition) -> set[str]:
    return {inference.field for inference in defn.inferences}


def test_seed_files_are_found_sorted_by_name() -> None:
    assert [path.name for path in seed_paths()] == [
        f"{C}.yaml",
        f"{A}.yaml",
        f"{B}.yaml",
    ]


def test_the_three_seeds_load_with_their_versions(seeds: dict[str, SopDefinition]) -> None:
    assert {sop_id: defn.version for sop_id, defn in seeds.items()} == {
        A: "2023-04-06",
        B: "2024-01-11",
        C: "2023-04-06",
    }
    assert {defn.identity.source_file for defn in seeds.values()} == {
        "000_19717d2e56ca85a1.txt",
        "003_a03b36acecb814a9.txt",
        "004_adadbe856acb4591.txt",
    }


def test_seed_identities(seeds: dict[str, SopDefinition]) -> None:
    a, b, c = seeds[A].identity, seeds[B].identity, seeds[C].identity

    assert a.number == c.number == "065/ /ORG-2023"
    assert a.approver.nip == "19730513 199703 2 005"
    assert b.number == "150 / SOP - BMCKTR / 2024"
    assert b.revised is None
    assert b.effective.isoformat() == "2024-01-11"
    assert b.warning is not None
    assert b.warning.startswith("Jika SOP tidak dilaksanakan")
    assert a.warning is None
    assert {a.frequency, b.frequency, c.frequency} == {"quarterly"}


def test_chains(seeds: dict[str, SopDefinition]) -> None:
    assert seeds[A].chain == (1, 2, 3, 4, 5, 6, 7, 8)
    assert seeds[B].chain == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert seeds[C].chain == (1, 2, 3, 4, 5, 6, 7)


def test_per_unit_segments(seeds: dict[str, SopDefinition]) -> None:
    assert seeds[A].segment_of == {3: (3, 4, 5), 4: (3, 4, 5), 5: (3, 4, 5)}
    assert seeds[B].segment_of == {4: (4,)}
    assert seeds[C].segment_of == {}


def test_joins_follow_the_segments(seeds: dict[str, SopDefinition]) -> None:
    assert _step(seeds[A], 6).per_unit is False
    assert _step(seeds[A], 6).actions == (Action.DRAFT, Action.SUBMISSION)
    assert _step(seeds[B], 5).per_unit is False
    assert _step(seeds[B], 4).roles == ("sekretaris", "bidang")
    assert _step(seeds[B], 4).accountable == "bidang"


def test_b7_is_a_decision_returning_to_step_4_by_default(
    seeds: dict[str, SopDefinition],
) -> None:
    step = _step(seeds[B], 7)

    assert step.decision is True
    assert step.actions == (Action.APPROVAL,)
    assert step.returns == ReturnRule(targets=(4, 5), default=4, inferred=True)
    assert step.accountable == "kepala_dinas"
    assert step.participants == ("sekretaris", "tim_sakip")
    assert step.accepts(Action.APPROVAL)
    assert step.accepts(Action.RETURN_FOR_COMPLETION)


def test_review_gates_return_for_completion(seeds: dict[str, SopDefinition]) -> None:
    assert _step(seeds[A], 5).returns == ReturnRule((4,), 4, inferred=True)
    assert _step(seeds[A], 5).segregated_from == (4,)
    assert _step(seeds[A], 7).returns == ReturnRule((6,), 6, inferred=True)
    assert _step(seeds[C], 5).returns == ReturnRule((4,), 4, inferred=True)
    assert _step(seeds[C], 6).returns == ReturnRule((4, 5), 4, inferred=True)
    assert _step(seeds[C], 6).actions == (Action.SIGNING,)
    assert not _step(seeds[A], 4).accepts(Action.RETURN_FOR_COMPLETION)


def test_a8_hands_over_to_c1(seeds: dict[str, SopDefinition]) -> None:
    a8, c1 = _step(seeds[A], 8), _step(seeds[C], 1)

    assert a8.hand_over == HandOver(sop_id=C, step=1)
    assert seeds[A].last_step == 8
    assert (a8.accountable, a8.actions, a8.outputs) == (c1.accountable, c1.actions, c1.outputs)
    assert a8.time.minutes == c1.time.minutes == 60


@pytest.mark.parametrize(
    ("sop_id", "number", "unit", "amount"),
    [
        (A, 1, TimeUnit.MINUTES, 60),
        (A, 2, TimeUnit.MINUTES, 60),
        (A, 3, TimeUnit.MINUTES, 180),
        (A, 4, TimeUnit.WORKING_DAYS, 3),
        (A, 6, TimeUnit.WORKING_DAYS, 2),
        (B, 1, TimeUnit.MINUTES, 10),
        (B, 6, TimeUnit.MINUTES, 30),
        (B, 9, TimeUnit.MINUTES, 2),
        (C, 5, TimeUnit.WORKING_DAYS, 1),
    ],
)
def test_time_standards_are_normalised(
    seeds: dict[str, SopDefinition], sop_id: str, number: int, unit: TimeUnit, amount: int
) -> None:
    time = _step(seeds[sop_id], number).time

    assert (time.unit, time.amount) == (unit, amount)


def test_time_standards_keep_the_source_text(seeds: dict[str, SopDefinition]) -> None:
    assert _step(seeds[A], 4).time.raw == "3 Hari"
    assert _step(seeds[A], 4).time.minutes is None
    assert _step(seeds[B], 9).time.raw == "2 Menit"
    assert _step(seeds[B], 9).time.minutes == 2


def test_b9_requires_esr_upload_and_archiving(seeds: dict[str, SopDefinition]) -> None:
    step = _step(seeds[B], 9)

    assert step.actions == (Action.ESR_UPLOAD, Action.ARCHIVING)
    assert step.accountable == "subag_perencanaan"
    assert "esr.menpan.go.id" in step.text.id


def test_roles_are_inferred_in_a_and_c_but_named_in_b(seeds: dict[str, SopDefinition]) -> None:
    assert all(step.roles_inferred for step in seeds[A].steps)
    assert all(step.roles_inferred for step in seeds[C].steps)
    assert not any(step.roles_inferred for step in seeds[B].steps)


@pytest.mark.parametrize("sop_id", [A, C])
def test_kabag_ttl_is_an_inferred_role_with_its_record(
    seeds: dict[str, SopDefinition], sop_id: str
) -> None:
    defn = seeds[sop_id]
    codes = [role.code for role in defn.roles]

    assert codes == ["kepala_biro", "kasubag_tu", "kepala_bagian", "jf_pelaksana", "kabag_ttl"]
    assert [role.inferred for role in defn.roles] == [False, False, False, False, True]
    records = [inference for inference in defn.inferences if inference.field == "roles[4]"]
    assert [record.choice for record in records] == ["kabag_ttl"]


def test_b7_return_target_has_its_inference_record(seeds: dict[str, SopDefinition]) -> None:
    records = [inf for inf in seeds[B].inferences if inf.field == "steps[6].returns"]

    assert len(records) == 1
    assert "4" in records[0].choice
    assert "lost" in records[0].reason


@pytest.mark.parametrize("sop_id", [A, B, C])
def test_every_inferred_fact_has_a_record(seeds: dict[str, SopDefinition], sop_id: str) -> None:
    defn = seeds[sop_id]
    fields = _inference_fields(defn)

    for index, step in enumerate(defn.steps):
        if step.roles_inferred:
            assert f"steps[{index}].accountable" in fields
        if step.returns is not None and step.returns.inferred:
            assert f"steps[{index}].returns" in fields
    for index, role in enumerate(defn.roles):
        if role.inferred:
            assert f"roles[{index}]" in fields


def _resolve(mapping: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+", path):
        mapping = mapping[int(part)] if part.isdigit() else mapping[part]
    return mapping


@pytest.mark.parametrize("sop_id", [A, B, C])
def test_inference_fields_point_into_the_definition(
    seeds: dict[str, SopDefinition], sop_id: str
) -> None:
    mapping = definition_to_mapping(seeds[sop_id])

    for inference in seeds[sop_id].inferences:
        _resolve(mapping, inference.field)  # raises if the path does not exist
        if inference.field.endswith(".accountable"):
            assert _resolve(mapping, inference.field) == inference.choice


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("unknown_role.yaml", "steps[1].accountable"),
        ("dangling_next.yaml", "steps[1].next"),
        ("loop.yaml", "steps[2].next"),
        ("duplicate_step.yaml", "steps[2].number"),
        ("bad_time.yaml", "steps[0].time"),
        ("bad_yaml.yaml", "(file)"),
        ("duplicate_key.yaml", "(file)"),
        ("not_a_mapping.yaml", "(file)"),
    ],
)
def test_broken_files_are_refused_naming_file_and_field(name: str, field: str) -> None:
    path = BROKEN / name

    with pytest.raises(DefinitionError) as caught:
        load_file(path)

    assert caught.value.field == field
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: {field}: ")


def test_every_broken_fixture_is_covered() -> None:
    assert len(list(BROKEN.glob("*.yaml"))) == 8


def test_a_missing_file_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(DefinitionError) as caught:
        load_file(path)

    assert caught.value.field == "(file)"
    assert str(path) in str(caught.value)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")

    with pytest.raises(DefinitionError) as caught:
        load_file(path)

    assert caught.value.field == "(file)"
    assert "empty" in caught.value.problem
