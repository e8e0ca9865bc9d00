"""Read audit on both stores: every recorded read keeps all its fields, concurrent reads of
one case are all kept (versions 1..n), each subject has its own read log, the reads are
ordinary sealed log events that the CloudEvents feed leaves out, and the CLI's evidence
exports are recorded as reads by ``cli:<OS user>``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner

from ledger import ids
from ledger.application import utc_now
from ledger.cli import main
from ledger.cli.tokens import operator
from ledger.commands import OpenCase
from ledger.core.cloudevents import known_types
from ledger.core.periods import Quarter
from ledger.core.reads import InvalidPurposeError, ReadRecorded, ReadSubject
from ledger.demo.org import BIRO, DINAS, holder
from ledger.feed.reader import FeedReader
from ledger.handlers.reads import RecordRead
from ledger.integrity.keys import generate_key
from ledger.integrity.store import IntegrityStore
from ledger.ledger import Ledger
from support.ledgers import FakeClock
from support.model import SeededStore, seeded_store
from support.pg_server import PostgresUnavailable
from support.walk import complete_step

B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
INSPECTOR = holder("kepala_biro", BIRO)
OTHER_INSPECTOR = holder("kepala_dinas", DINAS)


@pytest.fixture
def seeded(backend: str, clock: FakeClock) -> Iterator[SeededStore]:
    try:
        with seeded_store(backend, clock) as store:
            yield store
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


def _open(ledger: Ledger, sop_id: str, unit: str, period: str, clock: FakeClock) -> UUID:
    return ledger.open_case(
        OpenCase(sop_id=sop_id, unit=unit, period=period, occurred_at=clock.now)
    ).aggregate_id


def _read(
    case_id: UUID,
    *,
    by: str = INSPECTOR,
    subject: ReadSubject = ReadSubject.CASE,
    purpose: str | None = None,
) -> RecordRead:
    return RecordRead(
        recorded_by=by,
        scopes=("inspector",),
        resource=f"GET /cases/{case_id}",
        subject=subject,
        case_id=case_id,
        purpose=purpose,
        request_id="req-1",
    )


def test_a_read_is_recorded_with_every_field(ledger: Ledger, clock: FakeClock) -> None:
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    clock.advance(hours=2)
    recorded = ledger.record_read(
        _read(case, subject=ReadSubject.CASE_EVENTS, purpose="  Pemeriksaan BPK 2024  ")
    )

    [(position, read)] = ledger.case_reads(case)
    assert position == recorded.position
    assert isinstance(read, ReadRecorded)
    assert read.originator_id == ids.case_reads_id(case) == recorded.aggregate_id
    assert read.originator_version == 1
    assert read.reader == read.recorded_by == INSPECTOR
    assert read.scopes == ("inspector",)
    assert read.resource == f"GET /cases/{case}"
    assert read.subject is ReadSubject.CASE_EVENTS
    assert read.case_id == case
    assert read.period is None
    assert read.purpose == "Pemeriksaan BPK 2024"
    assert read.request_id == "req-1"
    assert read.recorded_at == clock.now
    assert read.event_id == recorded.event_id
    assert read.correlation_id == read.event_id
    assert read.causation_id is None


@pytest.mark.parametrize(
    "purpose", ["x" * 501, "audit\nforged line", "tab\there", "nel\x85inside", "del\x7f"]
)
def test_a_bad_purpose_is_refused_and_nothing_is_written(
    ledger: Ledger, clock: FakeClock, purpose: str
) -> None:
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    before = ledger.max_position()
    with pytest.raises(InvalidPurposeError) as refused:
        ledger.record_read(_read(case, purpose=purpose))
    assert refused.value.field == "X-Audit-Purpose"
    assert ledger.max_position() == before
    assert ledger.record_read(_read(case, purpose="x" * 500)).position > before


def test_a_read_names_the_target_its_subject_needs(ledger: Ledger, clock: FakeClock) -> None:
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    with pytest.raises(ValueError, match="names a period"):
        ledger.record_read(_read(case, subject=ReadSubject.EVIDENCE_PERIOD))
    with pytest.raises(ValueError, match="names a case"):
        ledger.record_read(
            RecordRead(scopes=(), resource="r", subject=ReadSubject.CASE, period="2024-Q3")
        )


def test_eight_reads_of_one_case_at_once_are_all_recorded(ledger: Ledger, clock: FakeClock) -> None:
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    count = 8
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def read(n: int) -> None:
        barrier.wait()
        try:
            ledger.record_read(_read(case, purpose=f"reader {n}"))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures
    reads = [read for _, read in ledger.case_reads(case)]
    assert sorted(r.originator_version for r in reads) == list(range(1, count + 1))
    assert sorted(r.purpose or "" for r in reads) == [f"reader {n}" for n in range(count)]
    assert len({r.event_id for r in reads}) == count


def test_reads_of_two_cases_are_kept_apart(ledger: Ledger, clock: FakeClock) -> None:
    first = _open(ledger, B, DINAS, "2024-Q3", clock)
    second = _open(ledger, C, BIRO, "2024-Q3", clock)
    ledger.record_read(_read(first))
    ledger.record_read(_read(second, by=OTHER_INSPECTOR))
    ledger.record_read(_read(first, subject=ReadSubject.CASE_EVENTS))

    of_first = [r for _, r in ledger.case_reads(first)]
    of_second = [r for _, r in ledger.case_reads(second)]
    assert [(r.reader, r.subject, r.originator_version) for r in of_first] == [
        (INSPECTOR, ReadSubject.CASE, 1),
        (INSPECTOR, ReadSubject.CASE_EVENTS, 2),
    ]
    assert [(r.reader, r.case_id, r.originator_version) for r in of_second] == [
        (OTHER_INSPECTOR, second, 1)
    ]
    assert ledger.case(first).version == 1  # the case itself is untouched


def test_a_quarters_export_counts_as_a_read_of_each_of_its_cases(
    ledger: Ledger, clock: FakeClock
) -> None:
    in_quarter = _open(ledger, B, DINAS, "2024-Q3", clock)
    elsewhere = _open(ledger, B, DINAS, "2024-Q2", clock)
    ledger.record_read(_read(in_quarter))
    export = ledger.record_read(
        RecordRead(
            recorded_by="cli:auditor",
            scopes=(),
            resource="sop-ledger export period 2024-Q3",
            subject=ReadSubject.EVIDENCE_PERIOD,
            period="2024-tw3",
        )
    )

    [(_, period_read)] = ledger.period_reads(Quarter(2024, 3))
    assert period_read.originator_id == ids.period_reads_id("2024-Q3") == export.aggregate_id
    assert period_read.period == "2024-Q3"
    assert period_read.case_id is None
    shown = [(p, r.subject) for p, r in ledger.case_reads(in_quarter)]
    assert [s for _, s in shown] == [ReadSubject.CASE, ReadSubject.EVIDENCE_PERIOD]
    assert [p for p, _ in shown] == sorted(p for p, _ in shown)
    assert ledger.case_reads(elsewhere) == []


def test_reads_are_sealed_log_events_the_feed_leaves_out(
    seeded: SeededStore, clock: FakeClock
) -> None:
    ledger = seeded.ledger
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    first = ledger.record_read(_read(case))
    second = ledger.record_read(_read(case, subject=ReadSubject.CASE_EVENTS))

    logged = [p for p, _ in ledger.read_log(topics=(ReadRecorded.TOPIC,))]
    assert logged == [first.position, second.position]
    store = IntegrityStore(seeded.settings.ledger_target)
    try:
        sealed = store.records_of(ids.case_reads_id(case))
    finally:
        store.close()
    assert [(s.position, s.version, s.topic) for s in sealed] == [
        (first.position, 1, "audit.read"),
        (second.position, 2, "audit.read"),
    ]
    assert sealed[0].previous is None
    assert sealed[1].previous == sealed[0].leaf_hash  # chained like a case's events

    assert not any(t.startswith("audit.") for t in known_types().values())
    page = FeedReader(ledger.store.recorder).page(0, 10_000)
    assert page.next_after >= second.position
    assert page.events
    assert not any(".audit." in e["type"] for e in page.events)
    assert {e["position"] for e in page.events}.isdisjoint({first.position, second.position})


def test_cli_exports_are_recorded_as_reads_by_the_operator(
    seeded: SeededStore, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, settings = seeded.ledger, seeded.settings
    case = _open(ledger, B, DINAS, "2024-Q3", clock)
    complete_step(ledger, case, 1, at=clock.advance(minutes=5))
    store = IntegrityStore(settings.ledger_target)
    try:
        signer = generate_key(store, tmp_path / "key", "test.sop-ledger/reads", utc_now)
        assert store.checkpoint(signer, "test.sop-ledger/reads", utc_now) is not None
    finally:
        store.close()
    if settings.database_url is None:
        monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
        monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
    runner = CliRunner()

    exported = runner.invoke(
        main,
        ["export", "case", str(case), "--out", str(tmp_path / "case.json"), "--purpose", "BPK"],
        catch_exceptions=False,
    )
    assert exported.exit_code == 0, exported.output
    period = runner.invoke(
        main,
        ["export", "period", "2024-Q3", "--out", str(tmp_path / "period.json")],
        catch_exceptions=False,
    )
    assert period.exit_code == 0, period.output

    reads = [r for _, r in ledger.case_reads(case)]
    assert [(r.reader, r.subject, r.purpose) for r in reads] == [
        (operator(), ReadSubject.EVIDENCE_CASE, "BPK"),
        (operator(), ReadSubject.EVIDENCE_PERIOD, None),
    ]
    assert reads[0].resource == f"sop-ledger export case {case}"
    assert reads[1].resource == "sop-ledger export period 2024-Q3"
    assert reads[0].scopes == ()
