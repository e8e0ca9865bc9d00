"""Baselines: a bare eventsourcing Application, and raw driver inserts (the physical limit)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from time import perf_counter_ns
from typing import TypeVar, cast
from uuid import UUID, uuid4

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.model import Result, Spec, summarize
from bench.payload import payload, raw_row
from bench.rows import max_position, stored_after
from bench.stores import fresh_settings
from bench.workload import cases_for
from ledger.persistence.stores import (
    POSTGRES_EVENTS_TABLE,
    POSTGRES_MIGRATIONS,
    SQLITE_MIGRATIONS,
    eventsourcing_env,
)
from ledger.settings import Settings

T = TypeVar("T")


class Entry(Aggregate):
    """A minimal aggregate: one event method with an action-sized payload."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.acts = 0

    @event("Recorded")
    def record(
        self,
        *,
        step: int,
        actor: str,
        role: str,
        capacity: str,
        recorded_by: str,
        correlation_id: str,
        occurred_at: datetime,
        documents: list[dict[str, str]],
    ) -> None:
        self.acts += 1


class BareBench(Application[UUID]):
    """A plain Application; its PostgreSQL table is ``barebench_events``."""

    name = "BareBench"


def _timed(calls: Sequence[T], run: Callable[[T], object]) -> list[int]:
    durations: list[int] = []
    for call in calls:
        started = perf_counter_ns()
        run(call)
        durations.append(perf_counter_ns() - started)
    return durations


def _calls(spec: Spec) -> tuple[list[list[int]], list[list[int]]]:
    """Command indexes grouped per call (1 or ``burst``), warm-up calls first."""
    total = (spec.warmup + spec.commands // spec.burst) * spec.burst
    indexes = list(range(total))
    grouped = [indexes[i : i + spec.burst] for i in range(0, total, spec.burst)]
    return grouped[: spec.warmup], grouped[spec.warmup :]


def aggregates_for(spec: Spec) -> int:
    """As many aggregates as the ledger scenario opens cases for the same acts."""
    return len(cases_for(spec.warmup * spec.burst + spec.commands))


def _add_ledger_indexes(settings: Settings) -> None:
    """The ledger's own migrations (generated recorded_at column, two indexes), applied to
    the bare app's table: the diagnostic ``es_bare_single_idx`` separates their cost."""
    if settings.database_url is None:
        lite = sqlite3.connect(settings.sqlite_path, isolation_level=None)
        try:
            for statement in SQLITE_MIGRATIONS[0].statements:
                lite.execute(statement)
        finally:
            lite.close()
        return
    table = f"{BareBench.name.lower()}_events"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for statement in POSTGRES_MIGRATIONS[0].statements:
            conn.execute(statement.replace(POSTGRES_EVENTS_TABLE, table).encode())


def bare_env(settings: Settings) -> dict[str, str]:
    """Our env with the library's own recorder (ours seals appends and needs our schema:
    the baseline is the bare library), plus a library aggregate cache as large as the
    ledger's own state cache (``settings.cache_size``, no deepcopy; fast-forward stays
    on): one query per get, as for the ledger, unless our env already configures the
    library's cache itself."""
    env = eventsourcing_env(settings, create_table=True)
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    env.setdefault("AGGREGATE_CACHE_MAXSIZE", str(settings.cache_size))
    env.setdefault("DEEPCOPY_FROM_AGGREGATE_CACHE", "n")
    return env


def run_bare(spec: Spec) -> Result:
    """get -> trigger -> save per command, or B aggregates per save() call."""
    with fresh_settings(spec.store, spec.postgres_url) as settings:
        app = BareBench(env=bare_env(settings))
        if spec.scenario.endswith("_idx"):
            _add_ledger_indexes(settings)
        try:
            return _measure_bare(app, spec)
        finally:
            app.close()


def _measure_bare(app: BareBench, spec: Spec) -> Result:
    count = aggregates_for(spec)
    entries = [Entry(f"entry-{i}") for i in range(count)]
    for start in range(0, count, 100):
        app.save(*entries[start : start + 100])
    ids = [entry.id for entry in entries]
    del entries
    warm, timed = _calls(spec)

    payloads = {i: payload(i) for call in (*warm, *timed) for i in call}

    def run(indexes: list[int]) -> object:
        touched = []
        for index in indexes:
            entry = cast(Entry, app.repository.get(ids[index % count]))
            entry.record(**payloads[index])
            touched.append(entry)
        return app.save(*touched)

    _timed(warm, run)
    gc.collect()
    start = max_position(app.recorder)
    durations = _timed(timed, run)
    events, avg_bytes = stored_after(app.recorder, start)
    return summarize(
        spec,
        durations_ns=durations,
        commands=sum(len(c) for c in timed),
        events=events,
        aggregates=count,
        avg_event_bytes=avg_bytes,
    )


# --- raw drivers -------------------------------------------------------------------------

RowT = tuple[UUID, int, str, bytes]
PG_TABLE = (
    "CREATE TABLE raw_events (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
    "topic text, state bytea, PRIMARY KEY (originator_id, originator_version))"
)
PG_INSERT = "INSERT INTO raw_events VALUES (%s, %s, %s, %s)"
SQLITE_TABLE = (
    "CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
    "state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
SQLITE_INSERT = "INSERT INTO raw_events VALUES (?, ?, ?, ?)"


def _rows(spec: Spec) -> tuple[int, list[list[RowT]], list[list[RowT]]]:
    count = aggregates_for(spec)
    ids = [uuid4() for _ in range(count)]
    warm, timed = _calls(spec)

    def rows(group: list[int]) -> list[RowT]:
        return [raw_row(ids[i % count], i // count + 1, i) for i in group]

    return count, [rows(g) for g in warm], [rows(g) for g in timed]


@contextmanager
def _raw_inserter(settings: Settings, burst: int) -> Iterator[Callable[[list[RowT]], None]]:
    """A function inserting rows in one transaction, on a fresh table of the store."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lite = sqlite3.connect(settings.sqlite_path, isolation_level=None)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute(SQLITE_TABLE)

        def insert_lite(rows: list[RowT]) -> None:
            lite.execute("BEGIN")
            lite.executemany(SQLITE_INSERT, [(r[0].hex, r[1], r[2], r[3]) for r in rows])
            lite.execute("COMMIT")

        try:
            yield insert_lite
        finally:
            lite.close()
        return
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(PG_TABLE)
        cursor = conn.cursor()

        def insert_single(rows: list[RowT]) -> None:
            cursor.execute(PG_INSERT, rows[0])

        def insert_burst(rows: list[RowT]) -> None:
            with conn.transaction():
                cursor.executemany(PG_INSERT, rows)

        yield insert_single if burst == 1 else insert_burst


def run_raw(spec: Spec) -> Result:
    """Raw inserts of same-sized rows: one autocommit insert per command, or bursts."""
    count, warm, timed = _rows(spec)
    with (
        fresh_settings(spec.store, spec.postgres_url) as settings,
        _raw_inserter(settings, spec.burst) as insert,
    ):
        _timed(warm, insert)
        gc.collect()
        durations = _timed(timed, insert)
    rows = [row for group in timed for row in group]
    return summarize(
        spec,
        durations_ns=durations,
        commands=len(rows),
        events=len(rows),
        aggregates=count,
        avg_event_bytes=sum(len(r[3]) for r in rows) / len(rows) if rows else 0.0,
    )
