"""The store contract: what every event store behind the ledger must do, on SQLite and on
PostgreSQL alike (the ``ledger`` fixture and ``store`` below run each test on both).

* events read back equal to what was written, field by field and type by type;
* the log's positions increase strictly, without gaps for a single writer; topics filter it;
* the stored topic is the event's wire name, and ``recorded_at`` is a queryable SQL column;
* optimistic concurrency: of two writers at the same version exactly one wins;
* a case is opened once per SOP, unit and period;
* a refused batch stores nothing;
* and both stores tell the same story for the same scripted commands.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import typing
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from types import UnionType
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from ledger import ids
from ledger.commands import AnnotateEntry, CancelCase, OpenCase, RecordAction
from ledger.core import errors
from ledger.core.case import CaseState
from ledger.core.clock import WIB
from ledger.core.events import (
    EVENT_TYPES,
    CaseOpened,
    Document,
    LedgerEvent,
    Medium,
)
from ledger.core.sop import Action
from ledger.demo.acts import command_for
from ledger.demo.org import BIRO, DINAS
from ledger.ledger import Ledger
from ledger.persistence.stores import POSTGRES_EVENTS_TABLE, SQLITE_EVENTS_TABLE
from ledger.settings import Settings
from support.ledgers import BACKENDS, FakeClock, PostgresUnavailable
from support.model import SeededStore, another_ledger, seeded_store
from support.walk import act, actor, complete_step

A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
Q3 = "2024-Q3"


@pytest.fixture
def store(backend: str, clock: FakeClock) -> Iterator[SeededStore]:
    """Like the ``ledger`` fixture, with the store's settings (for SQL and second writers)."""
    try:
        with seeded_store(backend, clock) as built:
            yield built
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


def _query(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` (with ``{table}``, ``{position}`` and ``?`` placeholders) on the raw store."""
    if settings.database_url is None:
        sql = sql.format(table=SQLITE_EVENTS_TABLE, position="rowid")
        with closing(sqlite3.connect(settings.sqlite_path)) as connection:
            return connection.execute(sql, params).fetchall()
    sql = sql.format(table=POSTGRES_EVENTS_TABLE, position="notification_id").replace("?", "%s")
    with psycopg.connect(settings.database_url) as connection:
        return connection.execute(sql.encode(), params).fetchall()


def _open(ledger: Ledger, sop_id: str, unit: str, period: str = Q3) -> UUID:
    return ledger.open_case(OpenCase(sop_id=sop_id, unit=unit, period=period)).aggregate_id


def _next_act(ledger: Ledger, case_id: UUID, at: datetime, **extra: Any) -> RecordAction:
    """A complete, valid command for the first act the case awaits."""
    state = ledger.case(case_id)
    step, branch = state.awaiting[0]
    definition = state.sop.by_number[step]
    cursor = state.main if branch is None else state.tracks[branch]
    assert cursor is not None
    action = next(a for a in definition.actions if a not in cursor.done)
    who = actor(ledger, case_id, step, branch)
    return command_for(state, step, action, branch, occurred_at=at, actor=who, **extra)


# --- events read back as written -----------------------------------------------------------


def _sample(hint: Any, name: str, full: bool) -> Any:
    """A value of type ``hint`` for field ``name``: tricky when ``full``, sparse when not."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _sample(inner[0], name, full) if full else None
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_sample(item, f"{name}[{i}]", full) for i in range(2)) if full else ()
    if origin is dict:
        return {"steps": [{"n": 1, "ok": True, "x": None}], "ñama": "Dinas «BMCKTR»", "f": 1.5}
    return _leaf(hint, name)


def _leaf(hint: Any, name: str) -> Any:
    if hint is str:
        return f"{name}: Teks ✓ «kutip» 'satu' \"dua\" \\ 漢字"
    if hint is int:
        return 7
    if hint is datetime:
        return datetime(2024, 7, 1, 8, 30, 15, 123456, tzinfo=UTC) + timedelta(days=len(name))
    if hint is date:
        return date(2024, 1, 11)
    if hint is UUID:
        return uuid4()
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    if hint is Document:
        return Document(
            title=f"{name} ✓",
            type="naskah_dinas",
            number="065/12/ORG-2024",
            sha256="a" * 64,
            medium=Medium.PAPER,
            classification_code="000.8.6.3",
        )
    raise AssertionError(f"no sample for {hint!r} ({name})")


def _samples(cls: type[LedgerEvent], full: bool) -> LedgerEvent:
    hints = typing.get_type_hints(cls)
    values = {
        field.name: _sample(hints[field.name], field.name, full)
        for field in dataclasses.fields(cls)
    }
    values |= {"originator_id": uuid4(), "originator_version": 1}
    return cls(**values)


def _assert_same_value(read: Any, written: Any, where: str) -> None:
    assert type(read) is type(written), f"{where}: {type(read)} is not {type(written)}"
    if isinstance(written, tuple):
        assert len(read) == len(written), where
        for index, (one, other) in enumerate(zip(read, written, strict=True)):
            _assert_same_value(one, other, f"{where}[{index}]")
    elif dataclasses.is_dataclass(written):
        for field in dataclasses.fields(written):
            name = field.name
            _assert_same_value(getattr(read, name), getattr(written, name), f"{where}.{name}")
    else:
        assert read == written, where
        if isinstance(written, datetime):
            assert read.utcoffset() == timedelta(0), f"{where} is not UTC"


def test_every_event_type_reads_back_as_written(ledger: Ledger) -> None:
    written = [_samples(cls, full) for cls in EVENT_TYPES.values() for full in (True, False)]
    start = ledger.max_position() + 1
    ledger.store.save(*written)
    by_log = [event for _, event in ledger.read_log(start)]
    assert [e.event_id for e in by_log] == [e.event_id for e in written]
    for original, logged in zip(written, by_log, strict=True):
        (stored,) = ledger.store.events.get(original.originator_id)
        for read in (stored, logged):
            _assert_same_value(read, original, original.TOPIC)


def test_times_given_in_wib_are_stored_in_utc(ledger: Ledger, clock: FakeClock) -> None:
    case_id = _open(ledger, C, BIRO)
    at_wib = clock.advance(hours=2).astimezone(WIB)
    ledger.record_action(_next_act(ledger, case_id, at_wib))
    (_, stored) = list(ledger.store.events.get(case_id))
    occurred_at = stored.occurred_at  # type: ignore[attr-defined]
    assert occurred_at == at_wib
    assert occurred_at.utcoffset() == timedelta(0)
    assert stored.recorded_at == clock.now
    assert stored.recorded_at.utcoffset() == timedelta(0)


# --- the log --------------------------------------------------------------------------------


def _some_history(ledger: Ledger, clock: FakeClock) -> None:
    """Cases, acts and a few refusals, all by one writer."""
    case_c = _open(ledger, C, BIRO)
    case_b = _open(ledger, B, DINAS)
    for _ in range(3):
        ledger.record_action(_next_act(ledger, case_c, clock.advance(minutes=30)))
        ledger.record_action(_next_act(ledger, case_b, clock.advance(minutes=30)))
    with pytest.raises(errors.CaseAlreadyOpenError):
        _open(ledger, C, BIRO, "2024-TW3")
    with pytest.raises(errors.StepOrderError):
        act(ledger, case_c, 5, Action.VALIDATION, at=clock.now)


def test_log_positions_increase_without_gaps_and_topics_filter(
    ledger: Ledger, clock: FakeClock
) -> None:
    _some_history(ledger, clock)
    log = list(ledger.read_log())
    positions = [position for position, _ in log]
    assert positions == list(range(1, len(log) + 1))
    assert ledger.max_position() == len(log)
    assert [(p, e.event_id) for p, e in ledger.read_log(page=7)] == [
        (p, e.event_id) for p, e in log
    ]
    assert [p for p, _ in ledger.read_log(start=11)] == positions[10:]
    for topics in (("case.opened",), ("case.draft", "case.disposition"), ("no.such",)):
        filtered = [(p, e.event_id) for p, e in ledger.read_log(topics=topics)]
        assert filtered == [(p, e.event_id) for p, e in log if e.TOPIC in topics]
        assert all(e.TOPIC in topics for _, e in ledger.read_log(topics=topics, page=2))


def test_topic_column_holds_wire_names(store: SeededStore) -> None:
    _some_history(store.ledger, store.clock)
    rows = _query(store.settings, "SELECT {position}, topic FROM {table} ORDER BY {position}")
    log = [(position, event.TOPIC) for position, event in store.ledger.read_log()]
    assert rows == log
    assert {topic for _, topic in rows} <= set(EVENT_TYPES)
    assert not [topic for _, topic in rows if ":" in topic or topic.startswith("ledger")]


def test_recorded_at_is_queryable_in_sql(store: SeededStore) -> None:
    ledger, clock = store.ledger, store.clock
    before = clock.advance(days=1)
    _some_history(ledger, clock)
    threshold = clock.advance(hours=1)
    late_case = _open(ledger, B, DINAS, "2024-Q2")
    ledger.record_action(_next_act(ledger, late_case, clock.advance(minutes=1)))
    param: Any = threshold if store.settings.database_url else threshold.isoformat()
    sql = "SELECT originator_id, originator_version FROM {table} WHERE recorded_at >= ?"
    late = {(UUID(str(i)), v) for i, v in _query(store.settings, sql, (param,))}
    assert late == {(late_case, 1), (late_case, 2)}
    between = _query(
        store.settings,
        "SELECT count(*) FROM {table} WHERE recorded_at >= ? AND recorded_at < ?",
        (before, threshold)
        if store.settings.database_url
        else (before.isoformat(), threshold.isoformat()),
    )
    expected = [e for _, e in ledger.read_log() if before <= e.recorded_at < threshold]
    assert between == [(len(expected),)]


# --- concurrency ------------------------------------------------------------------------------


def _commits_first(
    monkeypatch: pytest.MonkeyPatch, writer: Ledger, other: Callable[[], object]
) -> list[object]:
    """Let ``other`` (another writer's command) commit just before ``writer`` stores its
    events: both judged the same state, the other one got there first. Returns what
    ``other`` returned, once it ran."""
    ran: list[object] = []
    append = writer.store.append

    def other_then_append(events: Any) -> Any:
        if not ran:
            ran.append(other())
        return append(events)

    monkeypatch.setattr(writer.store, "append", other_then_append)
    return ran


def test_of_two_writers_at_the_same_version_exactly_one_wins(
    store: SeededStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, clock = store.ledger, store.clock
    case_id = _open(first, C, BIRO)
    command = _next_act(first, case_id, clock.advance(minutes=5), expected_version=1)
    with another_ledger(store.settings, clock) as second:
        assert first.case(case_id).version == second.case(case_id).version == 1
        before = first.max_position()
        won = _commits_first(monkeypatch, second, lambda: first.record_action(command))
        with pytest.raises(errors.StaleVersionError):
            second.record_action(command)
        assert second.case(case_id).version == 2
    stored = list(first.store.events.get(case_id))
    assert [e.originator_version for e in stored] == [1, 2]
    assert stored[1].event_id == won[0].event_id  # type: ignore[attr-defined]
    assert first.max_position() == before + 1


def _race(
    ledger: Ledger, command: RecordAction, gate: threading.Barrier, out: list[object]
) -> None:
    ledger.case(command.case_id)  # both load the case before either writes
    gate.wait()
    try:
        out.append(ledger.record_action(command))
    except errors.LedgerError as error:
        out.append(error)


def test_racing_threads_one_write_per_version(store: SeededStore) -> None:
    """Two applications in two threads record the same next act, five rounds over: each
    round exactly one wins and the other is told its version is stale."""
    first, clock = store.ledger, store.clock
    case_id = _open(first, C, BIRO)
    with another_ledger(store.settings, clock) as second:
        for round_ in range(5):
            version = first.case(case_id).version
            command = _next_act(first, case_id, clock.advance(minutes=5), expected_version=version)
            gate, outcomes = threading.Barrier(2), list[object]()
            threads = [
                threading.Thread(target=_race, args=(each, command, gate, outcomes))
                for each in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            refused = [o for o in outcomes if isinstance(o, Exception)]
            assert len(outcomes) == 2, round_
            assert len(refused) == 1, outcomes
            assert isinstance(refused[0], errors.StaleVersionError), refused
            versions = [e.originator_version for e in first.store.events.get(case_id)]
            assert versions == list(range(1, version + 2))


def test_a_case_is_opened_once(store: SeededStore, monkeypatch: pytest.MonkeyPatch) -> None:
    first = store.ledger
    case_id = _open(first, A, BIRO)
    with pytest.raises(errors.CaseAlreadyOpenError):
        _open(first, A, BIRO, "2024-TW3")
    with another_ledger(store.settings, store.clock) as second:
        # Both check that no case exists yet; the store's key refuses the later one.
        opened = _commits_first(monkeypatch, second, lambda: _open(first, A, BIRO, "2024-Q2"))
        with pytest.raises(errors.CaseAlreadyOpenError):
            _open(second, A, BIRO, "2024-Q2")
    assert opened
    cases = [e.originator_id for _, e in first.read_log(topics=(CaseOpened.TOPIC,))]
    assert cases == [case_id, ids.case_id(A, BIRO, "2024-Q2", 1)]
    assert [e.originator_version for e in first.store.events.get(case_id)] == [1]


# --- batches ---------------------------------------------------------------------------------


def test_a_refused_batch_stores_nothing(ledger: Ledger, clock: FakeClock) -> None:
    case_id = _open(ledger, C, BIRO)
    at = clock.advance(hours=1)
    state = ledger.case(case_id)
    who = actor(ledger, case_id, 1, None)
    commands = [
        command_for(state, 1, Action.DISPOSITION, None, occurred_at=at, actor=who),
        command_for(
            state, 2, Action.DRAFT, None, occurred_at=at, actor=actor(ledger, case_id, 2, None)
        ),
        command_for(state, 5, Action.VALIDATION, None, occurred_at=at, actor=who),
    ]
    before = ledger.max_position()
    with pytest.raises(errors.StepOrderError) as refused:
        ledger.record_batch(commands)
    assert refused.value.batch_index == 2
    assert ledger.max_position() == before
    assert ledger.case(case_id).version == 1
    recorded = ledger.record_batch(commands[:2])
    assert [r.version for r in recorded] == [2, 3]
    assert ledger.max_position() == before + 2


def test_a_batch_refused_by_the_store_stores_nothing(
    store: SeededStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses the first command's event (a concurrent write got there first):
    the second command's event, fine on its own, is not stored either."""
    first, clock = store.ledger, store.clock
    case_x, case_y = _open(first, C, BIRO), _open(first, B, DINAS)
    at = clock.advance(minutes=10)
    batch = [_next_act(first, case_x, at), _next_act(first, case_y, at)]
    with another_ledger(store.settings, clock) as second:
        _commits_first(monkeypatch, second, lambda: first.record_action(batch[0]))
        before = first.max_position() + 1  # after the other writer's act
        with pytest.raises(errors.StaleVersionError):
            second.record_batch(batch)
        assert second.case(case_y).version == 1
    assert first.max_position() == before
    assert [e.originator_version for e in first.store.events.get(case_y)] == [1]
    assert [e.originator_version for e in first.store.events.get(case_x)] == [1, 2]


def _walk_a_to_its_last_step(ledger: Ledger, clock: FakeClock, case_a: UUID) -> None:
    for step in (1, 2):
        complete_step(ledger, case_a, step, at=clock.advance(hours=1))
    for step in (3, 4, 5):
        for branch in ledger.case(case_a).branches:
            complete_step(ledger, case_a, step, branch, at=clock.advance(hours=1))
    for step in (6, 7):
        complete_step(ledger, case_a, step, at=clock.advance(hours=1))


def test_a_batch_hands_over_into_an_open_case_like_a_single_command(
    ledger: Ledger, clock: FakeClock
) -> None:
    """Regression: record_batch once folded the hand-over act into a case it had not loaded
    (AssertionError) when the next SOP's case was already open."""
    case_a = _open(ledger, A, BIRO)
    case_c = _open(ledger, C, BIRO)
    _walk_a_to_its_last_step(ledger, clock, case_a)
    last = _next_act(ledger, case_a, clock.advance(hours=1))
    ledger.record_batch([last])
    assert ledger.case(case_c).awaiting == ((2, None),)


def test_a_batch_hands_over_on_the_state_its_earlier_acts_leave(
    ledger: Ledger, clock: FakeClock
) -> None:
    """Regression: record_batch once planned the hand-over from the stored state of the next
    SOP's case, ignoring the batch's own C.1 (refused as stale)."""
    case_a = _open(ledger, A, BIRO)
    case_c = _open(ledger, C, BIRO)
    _walk_a_to_its_last_step(ledger, clock, case_a)
    at = clock.advance(hours=1)
    batch = [_next_act(ledger, case_c, at), _next_act(ledger, case_a, at)]
    ledger.record_batch(batch)
    assert ledger.case(case_c).awaiting == ((2, None),)
    assert [e.originator_version for e in ledger.store.events.get(case_c)] == [1, 2]


# --- both stores, one story ---------------------------------------------------------------------


def _label_ids(events: list[LedgerEvent]) -> list[tuple[Any, ...]]:
    """Events as comparable tuples; random UUIDs (event, correlation, assignment ids) are
    replaced by the order in which they first appear, deterministic ones kept."""
    labels: dict[UUID, str] = {}

    def plain(value: Any) -> Any:
        if isinstance(value, UUID):
            return labels.setdefault(value, f"#{len(labels)}")
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        return value

    rows = []
    for event in events:
        fields = {k: plain(v) for k, v in sorted(vars(event).items()) if k != "originator_id"}
        rows.append((event.TOPIC, event.originator_id, event.originator_version, fields))
    return rows


def _the_story(ledger: Ledger, clock: FakeClock) -> dict[str, Any]:
    """A scripted quarter: A with returns and the hand-over into C, B with a partial return
    at its decision, a cancelled and reopened C, an annotation and some refusals."""
    refusals: list[str] = []

    def refused(call: Callable[[], object]) -> None:
        try:
            call()
        except errors.LedgerError as error:
            refusals.append(type(error).__name__)

    case_a, case_b = _open(ledger, A, BIRO), _open(ledger, B, DINAS)
    case_q2 = _open(ledger, C, BIRO, "2024-Q2")
    complete_step(ledger, case_a, 1, at=clock.advance(hours=1))
    complete_step(ledger, case_a, 2, at=clock.advance(hours=1))
    first_branch = ledger.case(case_a).branches[0]
    for step in (3, 4):
        complete_step(ledger, case_a, step, first_branch, at=clock.advance(hours=1))
    act(ledger, case_a, 5, Action.RETURN_FOR_COMPLETION, first_branch, at=clock.advance(hours=1))
    refused(lambda: act(ledger, case_a, 6, Action.DRAFT, at=clock.now))
    for step in (1, 2, 3):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    for branch in ledger.case(case_b).branches:
        complete_step(ledger, case_b, 4, branch, at=clock.advance(hours=1))
    for step in (5, 6):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    reopened = ledger.case(case_b).branches[2:3]
    back = act(
        ledger,
        case_b,
        7,
        Action.RETURN_FOR_COMPLETION,
        at=clock.advance(hours=1),
        return_branches=reopened,
    )
    ledger.annotate(
        AnnotateEntry(
            case_id=case_b,
            target_event_id=back.event_id,
            actor=actor(ledger, case_b, 7, None),
            kind="remark",
            text="Dikembalikan: data bidang belum lengkap",
        )
    )
    refused(lambda: _open(ledger, A, BIRO, "2024-TW3"))
    refused(lambda: act(ledger, case_q2, 1, Action.DISPOSITION, at=clock.now + timedelta(1)))
    complete_step(ledger, case_q2, 1, at=clock.advance(hours=1))
    ledger.cancel_case(
        CancelCase(case_id=case_q2, actor=actor(ledger, case_q2, 1, None), reason="Salah periode")
    )
    case_q2_again = _open(ledger, C, BIRO, "2024-Q2")
    complete_step(ledger, case_q2_again, 1, at=clock.advance(hours=1))
    for step in (3, 4, 5):
        for branch in ledger.case(case_a).branches:
            if (step, branch) in ledger.case(case_a).awaiting:
                complete_step(ledger, case_a, step, branch, at=clock.advance(hours=1))
    for step in (6, 7, 8):
        complete_step(ledger, case_a, step, at=clock.advance(hours=1))
    complete_step(ledger, case_b, 4, reopened[0], at=clock.advance(hours=1))
    for step in (5, 6, 7, 8, 9):
        complete_step(ledger, case_b, step, at=clock.advance(hours=1))
    refused(lambda: act(ledger, case_b, 9, Action.ARCHIVING, at=clock.now))

    cases = {}
    for summary in ledger.list_cases():
        state: CaseState = ledger.case(summary.case_id)
        cases[summary.case_id] = (
            state.sop.sop_id,
            state.attempt,
            state.status,
            state.awaiting,
            state.version,
            state.branches,
            state.pending_return,
            state.opened_at,
            state.finished_at,
        )
    log = list(ledger.read_log())
    return {
        "refusals": refusals,
        "cases": cases,
        "positions": [position for position, _ in log],
        "topics": [(event.TOPIC, event.originator_version) for _, event in log],
        "events": _label_ids([event for _, event in log]),
    }


@pytest.mark.postgres
def test_sqlite_and_postgres_tell_the_same_story() -> None:
    stories = {}
    for backend in BACKENDS:
        clock = FakeClock()
        try:
            with seeded_store(backend, clock) as built:
                stories[backend] = _the_story(built.ledger, clock)
        except PostgresUnavailable as error:
            pytest.skip(f"PostgreSQL unavailable: {error}")
    sqlite, postgres = stories["sqlite"], stories["postgres"]
    assert sqlite["refusals"] == [
        "JoinIncompleteError",
        "CaseAlreadyOpenError",
        "InvalidTimeError",
        "CaseClosedError",
    ]
    assert len(sqlite["cases"]) == 5
    assert ids.case_id(C, BIRO, Q3, 1) in sqlite["cases"]  # opened by the hand-over
    for key in ("refusals", "cases", "positions", "topics", "events"):
        assert sqlite[key] == postgres[key], key
