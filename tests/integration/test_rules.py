"""Each append rule refuses with its own error and leaves the store unchanged (both stores)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ledger import ids
from ledger.commands import (
    AnnotateEntry,
    AssignRole,
    CancelCase,
    EndRole,
    OpenCase,
    RecordAction,
    RegisterPerson,
)
from ledger.core import errors
from ledger.core.case import CaseStatus
from ledger.core.events import Capacity, Signed
from ledger.core.nip import EmployeeType
from ledger.core.sop import Action
from ledger.demo.org import BIRO, DINAS, holder
from ledger.ledger import Ledger
from support.ledgers import FakeClock
from support.walk import act, complete_step

C = "biro-org.evaluasi-kinerja-internal"
A = "biro-org.pengukuran-kinerja"
KEPALA_BIRO = holder("kepala_biro", BIRO)
KASUBAG = holder("kasubag_tu", BIRO)
KABAG_TTL = holder("kabag_ttl", BIRO)


def _refused(ledger: Ledger, error: type[Exception], attempt: Callable[[], object]) -> Exception:
    before = ledger.max_position()
    with pytest.raises(error) as caught:
        attempt()
    assert ledger.max_position() == before
    return caught.value


def _open_c(ledger: Ledger, clock: FakeClock) -> UUID:
    command = OpenCase(sop_id=C, unit=BIRO, period="2024-Q3", occurred_at=clock.now)
    return ledger.open_case(command).aggregate_id


def test_order_action_kind_and_unknown_step(ledger: Ledger, clock: FakeClock) -> None:
    case = _open_c(ledger, clock)
    at = clock.advance(hours=1)
    _refused(ledger, errors.StepOrderError, lambda: act(ledger, case, 2, Action.DRAFT, at=at))
    unknown = RecordAction(case_id=case, step=9, action=Action.DRAFT, actor=KASUBAG, occurred_at=at)
    _refused(ledger, errors.UnknownStepError, lambda: ledger.record_action(unknown))
    _refused(
        ledger, errors.ActionNotAllowedError, lambda: act(ledger, case, 1, Action.SIGNING, at=at)
    )
    _refused(
        ledger,
        errors.BranchError,
        lambda: act(ledger, case, 1, Action.DISPOSITION, "biro-org.reformasi", at=at),
    )
    complete_step(ledger, case, 1, at=at)
    act(ledger, case, 2, Action.DRAFT, at=at)
    _refused(
        ledger, errors.ActionAlreadyRecordedError, lambda: act(ledger, case, 2, Action.DRAFT, at=at)
    )


def test_branches_and_join(ledger: Ledger, clock: FakeClock) -> None:
    case = ledger.open_case(
        OpenCase(sop_id=A, unit=BIRO, period="2024-Q3", occurred_at=clock.now)
    ).aggregate_id
    for step in (1, 2):
        complete_step(ledger, case, step, at=clock.advance(hours=1))
    branch = f"{BIRO}.reformasi"
    _refused(
        ledger,
        errors.BranchError,
        lambda: act(
            ledger, case, 3, Action.DISPOSITION, at=clock.now, by=holder("kepala_bagian", branch)
        ),
    )
    _refused(
        ledger,
        errors.StepOrderError,
        lambda: act(ledger, case, 4, Action.DRAFT, branch, at=clock.now),
    )
    complete_step(ledger, case, 3, branch, at=clock.advance(hours=1))
    complete_step(ledger, case, 4, branch, at=clock.advance(hours=1))
    _refused(
        ledger, errors.JoinIncompleteError, lambda: act(ledger, case, 6, Action.DRAFT, at=clock.now)
    )
    other_head = holder("kepala_bagian", f"{BIRO}.kelembagaan")
    error = _refused(
        ledger,
        errors.RoleNotHeldError,
        lambda: act(ledger, case, 5, Action.VALIDATION, branch, at=clock.now, by=other_head),
    )
    assert error.field == "actor"


def test_segregation_of_duties(ledger: Ledger, clock: FakeClock) -> None:
    case = _open_c(ledger, clock)
    for step in (1, 2, 3, 4):
        complete_step(ledger, case, step, at=clock.advance(hours=1))
    ledger.assign_role(
        AssignRole(
            nip=KASUBAG, role="kabag_ttl", unit=BIRO, valid_from=datetime(2024, 1, 1, tzinfo=UTC)
        )
    )
    _refused(
        ledger,
        errors.SegregationOfDutiesError,
        lambda: act(ledger, case, 5, Action.VALIDATION, at=clock.now, by=KASUBAG),
    )
    act(ledger, case, 5, Action.VALIDATION, at=clock.now, by=KABAG_TTL)


def test_times_are_bounded(ledger: Ledger, clock: FakeClock) -> None:
    case = _open_c(ledger, clock)
    future = clock.now + timedelta(minutes=1)
    _refused(
        ledger, errors.InvalidTimeError, lambda: act(ledger, case, 1, Action.DISPOSITION, at=future)
    )
    before_open = clock.now - timedelta(days=1)
    _refused(
        ledger,
        errors.InvalidTimeError,
        lambda: act(ledger, case, 1, Action.DISPOSITION, at=before_open),
    )
    complete_step(ledger, case, 1, at=clock.advance(hours=2))
    before_input = clock.now - timedelta(hours=1)
    _refused(
        ledger, errors.InvalidTimeError, lambda: act(ledger, case, 2, Action.DRAFT, at=before_input)
    )


def test_role_is_judged_at_occurred_at_including_plt_and_an(
    ledger: Ledger, clock: FakeClock
) -> None:
    kepala = ledger.require_person(KEPALA_BIRO)
    ends = datetime(2024, 9, 1, tzinfo=UTC)
    ledger.end_role(
        EndRole(
            nip=KEPALA_BIRO, assignment_id=kepala.assignments[0].assignment_id, valid_until=ends
        )
    )
    plt = "198001012005011001"
    ledger.register_person(
        RegisterPerson(nip=plt, name="Plt Kepala Biro", employee_type=EmployeeType.PNS)
    )
    ledger.assign_role(
        AssignRole(
            nip=plt,
            role="kepala_biro",
            unit=BIRO,
            valid_from=ends,
            capacity=Capacity.PLT,
            acting_for=KEPALA_BIRO,
        )
    )
    opened = OpenCase(sop_id=C, unit=BIRO, period="2024-Q2", occurred_at=ends - timedelta(days=10))
    case = ledger.open_case(opened).aggregate_id
    _refused(
        ledger,
        errors.RoleNotHeldError,
        lambda: act(
            ledger, case, 1, Action.DISPOSITION, at=ends + timedelta(days=1), by=KEPALA_BIRO
        ),
    )
    back_dated = act(
        ledger, case, 1, Action.DISPOSITION, at=ends - timedelta(days=5), by=KEPALA_BIRO
    )
    event = list(ledger.store.events.get(case))[-1]
    assert (event.event_id, event.capacity, event.role) == (
        back_dated.event_id,
        Capacity.DEFINITIF,
        "kepala_biro",
    )
    case2 = _open_c(ledger, clock)
    act(ledger, case2, 1, Action.DISPOSITION, at=clock.advance(hours=1), by=plt)
    assert list(ledger.store.events.get(case2))[-1].capacity is Capacity.PLT
    complete_step(ledger, case2, 2, at=clock.advance(hours=1))
    act(ledger, case2, 3, Action.MEETING, at=clock.advance(hours=1), by=plt)
    an = act(
        ledger, case2, 4, Action.DRAFT, at=clock.advance(hours=1), by=KABAG_TTL, acting_for=KASUBAG
    )
    stored = list(ledger.store.events.get(case2))[-1]
    assert stored.event_id == an.event_id
    assert (stored.actor, stored.capacity, stored.acting_for) == (KABAG_TTL, Capacity.AN, KASUBAG)


def test_kind_fields_stale_versions_closed_cases_and_annotations(
    ledger: Ledger, clock: FakeClock
) -> None:
    case = _open_c(ledger, clock)
    for step in range(1, 6):
        complete_step(ledger, case, step, at=clock.advance(hours=1))
    _refused(
        ledger,
        errors.InvalidActionFieldsError,
        lambda: act(ledger, case, 6, Action.SIGNING, at=clock.now, signed_document_sha256="abc"),
    )
    _refused(
        ledger,
        errors.InvalidReturnError,
        lambda: act(ledger, case, 6, Action.RETURN_FOR_COMPLETION, at=clock.now, return_to=2),
    )
    version = ledger.case(case).version
    _refused(
        ledger,
        errors.StaleVersionError,
        lambda: act(ledger, case, 6, Action.SIGNING, at=clock.now, expected_version=version - 1),
    )
    signed = act(ledger, case, 6, Action.SIGNING, at=clock.now, expected_version=version)
    assert isinstance(list(ledger.store.events.get(case))[-1], Signed)
    complete_step(ledger, case, 7, at=clock.advance(days=1))
    assert ledger.case(case).status is CaseStatus.COMPLETED
    _refused(
        ledger, errors.CaseClosedError, lambda: act(ledger, case, 7, Action.ARCHIVING, at=clock.now)
    )
    _refused(
        ledger,
        errors.UnknownEventError,
        lambda: ledger.annotate(
            AnnotateEntry(
                case_id=case, target_event_id=uuid4(), actor=KASUBAG, kind="remark", text="x"
            )
        ),
    )
    ledger.annotate(
        AnnotateEntry(
            case_id=case,
            target_event_id=signed.event_id,
            actor=KASUBAG,
            kind="correction",
            text="Nomor surat salah ketik",
        )
    )
    assert ledger.case(case).status is CaseStatus.COMPLETED


def test_cancel_then_reopen_is_a_new_attempt(ledger: Ledger, clock: FakeClock) -> None:
    case = ledger.open_case(
        OpenCase(
            sop_id="dinas-bmcktr.pengukuran-kinerja",
            unit=DINAS,
            period="2024-Q1",
            occurred_at=clock.now,
        )
    ).aggregate_id
    _refused(
        ledger,
        errors.CaseAlreadyOpenError,
        lambda: ledger.open_case(
            OpenCase(sop_id="dinas-bmcktr.pengukuran-kinerja", unit=DINAS, period="2024-TW1")
        ),
    )
    ledger.cancel_case(
        CancelCase(case_id=case, actor=holder("kepala_dinas", DINAS), reason="dibuka salah periode")
    )
    _refused(
        ledger,
        errors.CaseClosedError,
        lambda: ledger.cancel_case(
            CancelCase(case_id=case, actor=holder("kepala_dinas", DINAS), reason="lagi")
        ),
    )
    again = ledger.open_case(
        OpenCase(sop_id="dinas-bmcktr.pengukuran-kinerja", unit=DINAS, period="2024-Q1")
    )
    assert again.aggregate_id == ids.case_id("dinas-bmcktr.pengukuran-kinerja", DINAS, "2024-Q1", 2)
    assert ledger.case(again.aggregate_id).attempt == 2


def test_a_batch_is_stored_whole_or_not_at_all(ledger: Ledger, clock: FakeClock) -> None:
    from ledger.demo.acts import command_for

    case = _open_c(ledger, clock)
    state = ledger.case(case)
    first = command_for(
        state, 1, Action.DISPOSITION, None, occurred_at=clock.advance(hours=1), actor=KEPALA_BIRO
    )
    draft = command_for(state, 2, Action.DRAFT, None, occurred_at=clock.now, actor=KASUBAG)
    wrong = command_for(state, 4, Action.DRAFT, None, occurred_at=clock.now, actor=KASUBAG)
    error = _refused(
        ledger, errors.StepOrderError, lambda: ledger.record_batch([first, draft, wrong])
    )
    assert isinstance(error, errors.LedgerError)
    assert error.batch_index == 2
    assert ledger.case(case).version == 1
    results = ledger.record_batch([first, draft])
    assert [r.version for r in results] == [2, 3]
    assert results[0].position < results[1].position
    assert ledger.case(case).awaiting == ((2, None),)
    assert ledger.case(case).main is not None
    assert ledger.case(case).main.done == frozenset({Action.DRAFT})


def test_publishing_pins_versions_and_refuses_changed_content(
    ledger: Ledger, clock: FakeClock
) -> None:
    from dataclasses import replace

    from ledger.commands import PublishSop
    from ledger.core.sop import Text
    from ledger.core.sop_schema import content_hash

    original = ledger.catalogue(refresh=True).get(C)
    case = _open_c(ledger, clock)
    assert ledger.publish_sop(PublishSop(definition=original)) is None
    steps = list(original.steps)
    steps[0] = replace(steps[0], text=Text(id="Teks diubah", en="Changed text"))
    edited = replace(original, steps=tuple(steps))
    edited = replace(edited, content_hash=content_hash(edited))
    _refused(
        ledger,
        errors.SopVersionConflictError,
        lambda: ledger.publish_sop(PublishSop(definition=edited)),
    )
    revised = replace(
        edited,
        version="2024-09-01",
        identity=replace(edited.identity, effective=date(2024, 9, 1)),
    )
    revised = replace(revised, content_hash=content_hash(revised))
    assert ledger.publish_sop(PublishSop(definition=revised)) is not None
    assert ledger.catalogue().get(C).version == "2024-09-01"
    old_case = ledger.case(case)
    assert (old_case.sop.version, old_case.sop.content_hash) == (
        original.version,
        original.content_hash,
    )
    assert old_case.sop.steps[0].text == original.steps[0].text
    newer = ledger.open_case(OpenCase(sop_id=C, unit=BIRO, period="2024-Q4"))
    assert ledger.case(newer.aggregate_id).sop.version == "2024-09-01"


def test_documents_need_title_type_and_a_real_sha256(ledger: Ledger, clock: FakeClock) -> None:
    from ledger.core.events import Document

    case = _open_c(ledger, clock)
    at = clock.advance(hours=1)
    bad_hash = (Document(title="Disposisi", type="disposisi", sha256="zz" * 32),)
    error = _refused(
        ledger,
        errors.InvalidActionFieldsError,
        lambda: act(ledger, case, 1, Action.DISPOSITION, at=at, documents=bad_hash),
    )
    assert isinstance(error, errors.LedgerError)
    assert error.field == "documents[0].sha256"
    untitled = (Document(title=" ", type="disposisi"),)
    _refused(
        ledger,
        errors.InvalidActionFieldsError,
        lambda: act(ledger, case, 1, Action.DISPOSITION, at=at, documents=untitled),
    )
