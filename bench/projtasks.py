"""The projection benchmark's measurements, each run in a fresh child process.

The parent starts ``python -m bench.projections --child TASK PAYLOAD RESULT`` and reaps it
with ``os.wait4``, so every measurement has its own interpreter, caches and connections, and
its own peak RSS (the child's ``ru_maxrss``; the child also reports its ``VmHWM``).
"""

from __future__ import annotations

import cProfile
import gc
import io
import math
import pstats
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from bench.bigstore import open_ledger
from bench.libproj import run_library
from ledger.bootstrap import build_runner, load_work_calendar, open_view_store
from ledger.persistence.mapper import decode_event
from ledger.settings import Settings
from projections import queries, tables
from projections.report import build_sla_report
from projections.runner import Runner
from projections.viewstore.base import ViewStore

Payload = dict[str, Any]
Task = Callable[[Payload], Payload]


def vm_hwm_mb() -> float:
    """This process's peak resident set (``VmHWM`` of /proc/self/status), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _settings(payload: Payload) -> Settings:
    if payload.get("database_url"):
        return Settings(database_url=payload["database_url"])
    return Settings(data_dir=Path(payload["data_dir"]), database_url=None)


def _table_set(name: str) -> tuple[tables.Table, ...]:
    return (tables.SLA,) if name == "sla" else tables.ALL


class _Phases:
    """Wall time per phase of ``catch_up``, by wrapping the runner's collaborators:
    ``read`` (log page select + decode), ``fold`` (CaseViews.apply per event), ``rows``
    (CaseViews.flush: folded views -> table rows) and ``write`` (ViewStore.commit); and
    ``gc``, the time the cyclic garbage collector ran (inside those phases), per
    ``gc.callbacks``."""

    def __init__(self, runner: Runner) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._wrap(runner.source, "read", "read")
        self._wrap(runner.projection, "apply", "fold")
        self._wrap(runner.projection, "flush", "rows")
        self._wrap(runner.store, "commit", "write")
        self.collections = [0, 0, 0]
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Time inside the cyclic garbage collector (it runs within the phases above)."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.seconds["gc"] += time.perf_counter() - self._gc_started
            self.collections[info["generation"]] += 1

    def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)

    def _wrap(self, owner: object, method: str, phase: str) -> None:
        inner = getattr(owner, method)
        clock = time.perf_counter
        totals = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[phase] += clock() - started

        setattr(owner, method, timed)


def _runner(payload: Payload, store: ViewStore) -> Runner:
    settings = _settings(payload)
    ledger = open_ledger(settings)
    return build_runner(
        settings,
        ledger,
        store=store,
        calendar=load_work_calendar(settings),
        table_set=_table_set(payload.get("table_set", "all")),
        page_size=int(payload["page_size"]),
    )


def _row_counts(store: ViewStore, names: tuple[tables.Table, ...]) -> dict[str, int]:
    return {t.name: int(store.query(f"SELECT count(*) AS n FROM {t.name}")[0]["n"]) for t in names}


def task_rebuild(payload: Payload) -> Payload:
    """Our Runner: prepare() + catch_up() of every view from zero into a fresh view store.
    ``gc: "off"`` (a diagnostic, not how the product runs) disables Python's cyclic garbage
    collector in this process first, to show what the collector costs."""
    if payload.get("gc") == "off":
        gc.disable()
    store = open_view_store(payload["views"])
    try:
        runner = _runner(payload, store)
        phases = _Phases(runner)
        started, cpu = time.perf_counter(), time.process_time()
        runner.prepare()
        applied = runner.catch_up()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        phases.stop()
        counts = _row_counts(store, runner.projection.tables)
    finally:
        store.close()
    return {
        "events": applied,
        "seconds": seconds,
        "events_per_s": applied / seconds,
        "cpu_s": cpu,
        "pages": -(-runner.head // runner.page_size),
        "refolds": runner.projection.refolds,
        "phases_s": {k: round(v, 2) for k, v in phases.seconds.items()},
        "gc_collections": phases.collections,
        "rows": counts,
        "vm_hwm_mb": vm_hwm_mb(),
    }


def task_profile(payload: Payload) -> Payload:
    """cProfile of the same rebuild; the top functions by cumulative and by own time."""
    store = open_view_store(payload["views"])
    profile = cProfile.Profile()
    try:
        runner = _runner(payload, store)
        started = time.perf_counter()
        profile.enable()
        runner.prepare()
        applied = runner.catch_up()
        profile.disable()
        seconds = time.perf_counter() - started
    finally:
        store.close()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(int(payload["top"]))
    stats.sort_stats("tottime").print_stats(int(payload["top"]))
    text = out.getvalue().replace(str(Path.cwd()) + "/", "")
    return {"events": applied, "seconds": seconds, "text": text, "vm_hwm_mb": vm_hwm_mb()}


def task_library(payload: Payload) -> Payload:
    result = run_library(
        _settings(payload), payload["views"], int(payload["head"]), float(payload["budget_s"])
    )
    return {
        "events": result.processed,
        "seconds": result.seconds,
        "events_per_s": result.events_per_s,
        "caught_up": result.caught_up,
        "status_rows": result.status_rows,
        "vm_hwm_mb": vm_hwm_mb(),
    }


def _read_rows_postgres(url: str, fetch: int) -> tuple[list[Any], int, int, float]:
    """Every row of the events table through a server-side (named) cursor."""
    started = time.perf_counter()
    kept: list[Any] = []
    count = size = 0
    with psycopg.connect(url) as conn, conn.cursor(name="bench_read") as cur:
        cur.itersize = fetch
        cur.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ledger_events ORDER BY notification_id"
        )
        while rows := cur.fetchmany(fetch):
            count += len(rows)
            size += sum(len(r[4]) for r in rows)
            if len(kept) < 50_000:
                kept.extend(rows[: 50_000 - len(kept)])
    return kept, count, size, time.perf_counter() - started


def _read_rows_sqlite(path: str) -> tuple[list[Any], int, int, float]:
    """Every row of the events table, fetched in slices of 5,000."""
    started = time.perf_counter()
    kept: list[Any] = []
    count = size = 0
    lite = sqlite3.connect(path)
    try:
        cursor = lite.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        )
        while rows := cursor.fetchmany(5_000):
            count += len(rows)
            size += sum(len(r[4]) for r in rows)
            if len(kept) < 50_000:
                kept.extend(rows[: 50_000 - len(kept)])
    finally:
        lite.close()
    return kept, count, size, time.perf_counter() - started


def task_read(payload: Payload) -> Payload:
    """Read ceilings: raw driver select of the whole events table, the library's
    ``select_notifications`` in pages (what LogSource calls), and our event decoding."""
    settings = _settings(payload)
    if settings.database_url:
        kept, count, size, raw_s = _read_rows_postgres(
            settings.database_url, int(payload["page_size"])
        )
    else:
        kept, count, size, raw_s = _read_rows_sqlite(str(settings.sqlite_path))
    # decode_event on (up to) the first 50,000 rows, extrapolated per event
    started = time.perf_counter()
    for _, originator, version, topic, state in kept:
        decode_event(
            topic,
            originator if isinstance(originator, UUID) else UUID(str(originator)),
            version,
            bytes(state),
        )
    decode_per_event = (time.perf_counter() - started) / max(1, len(kept))
    # the recorder's paged select (as LogSource.read does it), whole table
    ledger = open_ledger(settings)
    recorder = ledger.store.recorder
    page = int(payload["page_size"])
    started = time.perf_counter()
    position = paged = 0
    while rows := recorder.select_notifications(position + 1, page):
        paged += len(rows)
        position = rows[-1].id
    paged_s = time.perf_counter() - started
    ledger.close()
    return {
        "events": count,
        "state_bytes_per_event": size / max(1, count),
        "raw_seconds": raw_s,
        "raw_per_s": count / raw_s,
        "paged_seconds": paged_s,
        "paged_per_s": paged / paged_s,
        "decode_us_per_event": decode_per_event * 1e6,
        "decode_per_s": 1 / decode_per_event if decode_per_event else 0.0,
        "vm_hwm_mb": vm_hwm_mb(),
    }


def task_report(payload: Payload) -> Payload:
    """``sop-ledger report sla`` as the CLI builds it: SLA-only runners, default calendar."""
    process_started = time.perf_counter()
    settings = _settings(payload)
    calendar = load_work_calendar(settings)
    ledger = open_ledger(settings)
    phases: list[_Phases] = []
    try:

        def make_runner(store: ViewStore, moment: datetime | None) -> Runner:
            runner = build_runner(
                settings,
                ledger,
                store=store,
                calendar=calendar,
                table_set=(tables.SLA,),
                as_of=moment,
            )
            phases.append(_Phases(runner))
            return runner

        started = time.perf_counter()
        report = build_sla_report(make_runner, payload["period"])
        seconds = time.perf_counter() - started
        for phase in phases:
            phase.stop()
    finally:
        ledger.close()
    merged: dict[str, float] = defaultdict(float)
    for phase in phases:
        for name, spent in phase.seconds.items():
            merged[name] += spent
    return {
        "period": payload["period"],
        "seconds": seconds,
        "phases_s": {k: round(v, 2) for k, v in merged.items()},
        "setup_seconds": started - process_started,
        "executions": len(report.executions),
        "groups": len(report.groups),
        "log_position": report.manifest["log_position"],
        "content_sha256": report.content_sha256,
        "vm_hwm_mb": vm_hwm_mb(),
    }


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest sample with at least ``share`` of samples at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def task_queries(payload: Payload) -> Payload:
    """p50/p99 of the read API over the views, parameters drawn at random from the data."""
    store = open_view_store(payload["views"])
    rng = random.Random(11)
    calls = int(payload["calls"])
    try:
        # One hour after the last act, or after the latest due date of an open step if
        # later: every open step is overdue, so the overdue board is full.
        last = store.query(
            "SELECT (SELECT max(last_act_at) FROM case_status) AS act, "
            "(SELECT max(due_at) FROM case_open_steps) AS due"
        )[0]
        now: datetime = max(t for t in (last["act"], last["due"]) if t is not None)
        now += timedelta(hours=1)
        pairs = [
            (r["unit"], r["period"])
            for r in store.query("SELECT DISTINCT unit, period FROM case_status")
        ]
        ids = [r["case_id"] for r in store.query("SELECT case_id FROM case_status")]
        keys = [
            (r["quarter"], r["sop_id"], r["unit"])
            for r in store.query(
                "SELECT DISTINCT quarter, sop_id, unit FROM sla_executions "
                "WHERE quarter IS NOT NULL"
            )
        ]

        def board() -> int:
            unit, period = rng.choice(pairs)
            return len(queries.cases(store, now=now, unit=unit, period=period))

        def overdue() -> int:
            return len(queries.cases(store, now=now, overdue=True))

        def one_case() -> int:
            return int(queries.case(store, rng.choice(ids), now=now) is not None)

        def executions() -> int:
            return len(queries.sla_executions(store, case_id=rng.choice(ids)))

        def summary() -> int:
            quarter, sop_id, unit = rng.choice(keys)
            return len(queries.sla_summary(store, quarter, sop_id=sop_id, unit=unit))

        named: list[tuple[str, Callable[[], int]]] = [
            ("cases(unit=U, period=P) page of 50", board),
            ("cases(overdue=True) page of 50", overdue),
            ("case(id)", one_case),
            ("sla_executions(case_id=...)", executions),
            ("sla_summary(quarter, sop_id=S, unit=U)", summary),
        ]
        for _ in range(int(payload["warmup"])):
            for _, call in named:
                call()
        times: dict[str, list[float]] = {name: [] for name, _ in named}
        found: dict[str, int] = dict.fromkeys(times, 0)
        # count the SQL statements each call makes and the rows they fetch
        sql = {"statements": 0, "rows": 0}
        inner = store.query

        def counted(text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
            rows = inner(text, params)
            sql["statements"] += 1
            sql["rows"] += len(rows)
            return rows

        setattr(store, "query", counted)  # noqa: B010 (instance attribute, not the class's)
        statements: dict[str, int] = dict.fromkeys(times, 0)
        fetched: dict[str, int] = dict.fromkeys(times, 0)
        for _ in range(calls):  # interleaved, as a service would see them
            for name, call in named:
                sql["statements"] = sql["rows"] = 0
                started = time.perf_counter()
                found[name] += call()
                times[name].append(time.perf_counter() - started)
                statements[name] += sql["statements"]
                fetched[name] += sql["rows"]
        setattr(store, "query", inner)  # noqa: B010
        counts = {
            "cases": len(ids),
            "unit_periods": len(pairs),
            "sla_keys": len(keys),
            "open_steps": int(store.query("SELECT count(*) AS n FROM case_open_steps")[0]["n"]),
        }
    finally:
        store.close()
    results = [
        {
            "query": name,
            "calls": len(samples),
            "p50_ms": _percentile(samples, 0.50) * 1e3,
            "p99_ms": _percentile(samples, 0.99) * 1e3,
            "max_ms": max(samples) * 1e3,
            "mean_ms": sum(samples) / len(samples) * 1e3,
            "mean_rows": found[name] / len(samples),
            "sql_statements_per_call": statements[name] / len(samples),
            "sql_rows_per_call": fetched[name] / len(samples),
        }
        for name, samples in times.items()
    ]
    return {"now": now.isoformat(), "data": counts, "queries": results, "vm_hwm_mb": vm_hwm_mb()}


TASKS: dict[str, Task] = {
    "rebuild": task_rebuild,
    "profile": task_profile,
    "library": task_library,
    "read": task_read,
    "report": task_report,
    "queries": task_queries,
}
