"""The tamper-evidence benchmark's measurements, each run in a fresh child process.

The parent (``bench/integrity.py``) starts ``python -m bench.integrity_tasks TASK PAYLOAD
RESULT`` and reaps it with ``os.wait4``, so every measurement has its own interpreter,
caches and connections, and its own peak RSS (the child's ``ru_maxrss``; the child also
reports its ``VmHWM``).
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import math
import pickle
import pstats
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import orjson
import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql

from bench import bigstore
from bench.stores import fresh_settings
from ledger.application import LedgerStore
from ledger.bootstrap import upgrade_schema
from ledger.core import eventhash, merkle
from ledger.core.checkpoint import Signer, generate_signer
from ledger.core.events import LedgerEvent
from ledger.integrity import store as integrity_store
from ledger.integrity.recorders import SealingPostgresRecorder
from ledger.integrity.schema import EVENTS_PG, EVENTS_SQLITE, HASHES, NODES
from ledger.integrity.store import IntegrityStore, StoredCheckpoint
from ledger.integrity.verify import Report, _Walk, verify_store
from ledger.persistence.mapper import encode_event_state
from ledger.persistence.stores import eventsourcing_env
from ledger.settings import Settings

Payload = dict[str, Any]
Task = Callable[[Payload], Payload]

ORIGIN = "bench.sop-ledger.local/ledger"
SEAL_TRIGGER = f"{EVENTS_PG}_seal"
SCAN_BATCH = 10_000  # IntegrityStore.scan's default
WALK_ROWS = 100_000  # rows kept in memory for the in-process recompute ceiling


def vm_hwm_mb() -> float:
    """This process's peak resident set (``VmHWM`` of /proc/self/status), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest sample with at least ``share`` of samples at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def latency(samples: Sequence[float]) -> Payload:
    """p50/p99/max/mean in ms of samples in seconds."""
    return {
        "calls": len(samples),
        "p50_ms": percentile(samples, 0.50) * 1e3,
        "p99_ms": percentile(samples, 0.99) * 1e3,
        "max_ms": max(samples) * 1e3,
        "mean_ms": sum(samples) / len(samples) * 1e3,
    }


def profile_text(profiles: Sequence[cProfile.Profile], top: int) -> str:
    """Top ``top`` by cumulative time, then by own time (several profiles merged)."""
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for extra in profiles[1:]:
        stats.add(extra)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue().replace(str(Path.cwd()) + "/", "")


# --- appends ---------------------------------------------------------------------------


def _events(template_file: str, total: int) -> list[LedgerEvent]:
    """``total`` clones of the demo-year template (fresh case and event ids), log order."""
    template: list[LedgerEvent] = pickle.loads(Path(template_file).read_bytes())
    plan = bigstore.Plan.of(total, 0, len(template))
    return list(bigstore.clone_stream(template, plan))


def _per_thread(events: list[LedgerEvent], threads: int) -> list[list[LedgerEvent]]:
    """Whole aggregates per thread (their events stay in version order), balanced."""
    by_case: dict[UUID, list[LedgerEvent]] = {}
    for event in events:
        by_case.setdefault(event.originator_id, []).append(event)
    lanes: list[list[LedgerEvent]] = [[] for _ in range(threads)]
    for case_events in by_case.values():
        min(lanes, key=len).extend(case_events)
    return lanes


def _chunks(items: list[LedgerEvent], size: int) -> list[list[LedgerEvent]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class Phase:
    """Appends of one block of batches to one store, by every thread at once."""

    mode: str
    append: Callable[[list[LedgerEvent]], object]
    segments: list[list[list[LedgerEvent]]]  # per thread: its batches of this block


@dataclass
class Timings:
    wall: dict[str, float] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    calls: dict[str, list[float]] = field(default_factory=dict)


def _run_phases(
    phases: list[Phase], threads: int, profile_modes: frozenset[str]
) -> tuple[Timings, list[cProfile.Profile], list[str]]:
    """The phases one after the other; in each, every thread appends its segment, all
    released together; a phase's time runs from the release to the last thread's end.
    ``profile_modes``: a cProfile per thread, enabled only in those modes' phases."""
    start, end = threading.Barrier(threads + 1), threading.Barrier(threads + 1)
    samples: list[dict[str, list[float]]] = [{} for _ in range(threads)]
    profiles = [cProfile.Profile() for _ in range(threads)] if profile_modes else []
    failures: list[str] = []

    def loop(index: int) -> None:
        clock = time.perf_counter
        for phase in phases:
            start.wait()
            mine = samples[index].setdefault(phase.mode, [])
            profiled = phase.mode in profile_modes
            try:
                if profiled:
                    profiles[index].enable()
                for batch in phase.segments[index]:
                    started = clock()
                    phase.append(batch)
                    mine.append(clock() - started)
            except Exception as error:
                failures.append(repr(error))
            finally:
                if profiled:
                    profiles[index].disable()
            end.wait()

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    timings = Timings()
    gc.collect()
    for phase in phases:
        start.wait()
        started = time.perf_counter()
        end.wait()
        spent = time.perf_counter() - started
        timings.wall[phase.mode] = timings.wall.get(phase.mode, 0.0) + spent
        count = sum(len(b) for segment in phase.segments for b in segment)
        timings.events[phase.mode] = timings.events.get(phase.mode, 0) + count
    for thread in pool:
        thread.join()
    for mine in samples:
        for mode, values in mine.items():
            timings.calls.setdefault(mode, []).extend(values)
    return timings, profiles, failures


def _pg_admin(url: str, statement: str | sql.Composed) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement if isinstance(statement, sql.Composed) else statement.encode())


def _pg_function_stats(url: str) -> list[Payload]:
    """pg_stat_user_functions (needs ``track_functions = pl``), after the sessions ended."""
    time.sleep(1.0)  # ended backends flush their statistics on exit
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions "
            "ORDER BY total_time DESC"
        ).fetchall()
    return [
        {"function": r[0], "calls": int(r[1]), "total_ms": float(r[2]), "self_ms": float(r[3])}
        for r in rows
    ]


def _sealed_rows(settings: Settings) -> tuple[int, int, float]:
    """(events, leaf rows, mean state bytes) in the store after a run."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute(
                f"SELECT (SELECT count(*) FROM {EVENTS_PG}), (SELECT count(*) FROM {HASHES}), "
                f"(SELECT avg(length(state)) FROM {EVENTS_PG})"
            ).fetchone()
    else:
        lite = sqlite3.connect(settings.sqlite_path)
        try:
            row = lite.execute(
                f"SELECT (SELECT count(*) FROM {EVENTS_SQLITE}), (SELECT count(*) FROM {HASHES}), "
                f"(SELECT avg(length(state)) FROM {EVENTS_SQLITE})"
            ).fetchone()
        finally:
            lite.close()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2] or 0.0)


class UnsealedPostgresRecorder(PostgresApplicationRecorder):
    """Hashing OFF on PostgreSQL: the library's recorder with the ledger's append lock
    (``SealingPostgresRecorder``'s lock statements), but nothing sealed."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        sealing = SealingPostgresRecorder(datastore, events_table_name=events_table_name)
        self.lock_table_statements = list(sealing.lock_table_statements)


UNSEALED_RECORDERS = {
    "sqlite": "eventsourcing.sqlite:SQLiteApplicationRecorder",
    "postgres": "bench.integrity_tasks:UnsealedPostgresRecorder",
}


def seal_trigger(url: str) -> bool:
    """Whether the events table has the seal trigger (the first design sealed in a
    PostgreSQL trigger; the recorder seals otherwise)."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal", (SEAL_TRIGGER,)
        ).fetchone()
    return found is not None


@contextmanager
def _append_store(
    backend: str, base_url: str | None, mode: str, threads: int, trigger_stats: bool
) -> Iterator[tuple[LedgerStore, Settings, Payload]]:
    """A fresh, upgraded store appending with hashing ``on`` (the product, as
    ``eventsourcing_env`` configures it) or ``off``: SQLite the library's plain recorder;
    PostgreSQL :class:`UnsealedPostgresRecorder` and, where the schema has the seal
    trigger, the trigger disabled (``ALTER TABLE ... DISABLE TRIGGER``, as the owner)."""
    with fresh_settings(backend, base_url) as fresh:
        settings = fresh.model_copy(update={"pool_size": max(5, threads)})
        upgrade_schema(settings)
        env = eventsourcing_env(settings)
        url = settings.database_url
        info: Payload = {"recorder": env.get("APPLICATION_RECORDER_TOPIC")}
        if url is not None:
            info["seal_trigger"] = seal_trigger(url)
        if mode == "off":
            env["APPLICATION_RECORDER_TOPIC"] = UNSEALED_RECORDERS[backend]
            info["recorder"] = env["APPLICATION_RECORDER_TOPIC"]
            if url is not None and info["seal_trigger"]:
                _pg_admin(url, f"ALTER TABLE {EVENTS_PG} DISABLE TRIGGER {SEAL_TRIGGER}")
                info["seal_trigger"] = "disabled"
        if url is not None and trigger_stats:
            dbname = url.rsplit("/", 1)[1].split("?", 1)[0]
            _pg_admin(
                url,
                sql.SQL("ALTER DATABASE {} SET track_functions = 'pl'").format(
                    sql.Identifier(dbname)
                ),
            )
        store = LedgerStore(env=env)
        try:
            yield store, settings, info
        finally:
            store.close()


def _blocks(batches: list[list[LedgerEvent]], count: int) -> list[list[list[LedgerEvent]]]:
    """``batches`` cut into ``count`` consecutive blocks of near-equal size."""
    edges = [round(i * len(batches) / count) for i in range(count + 1)]
    return [batches[edges[i] : edges[i + 1]] for i in range(count)]


def task_append(payload: Payload) -> Payload:
    """Clones of the demo year appended with ``LedgerStore.append`` (one transaction per
    call of ``batch`` events) by ``threads`` threads, into one fresh store per mode
    (``modes``: ``on`` and/or ``off``, see :func:`_append_store`), each store getting the
    same events. With two modes the work is cut into ``blocks`` blocks per mode, run
    alternately (ON, OFF, OFF, ON, ON, ...), so that both see the same background load.
    ``trigger_stats``: PostgreSQL function timing on (a diagnostic run); ``profile``:
    cProfile of every appending thread in the ``on`` phases."""
    backend, modes = str(payload["backend"]), [str(m) for m in payload["modes"]]
    threads, batch = int(payload["threads"]), int(payload["batch"])
    timed, warmup = int(payload["events"]), int(payload["warmup"])
    trigger_stats = bool(payload.get("trigger_stats"))
    events = _events(str(payload["template"]), warmup + timed)
    warm, measured = events[:warmup], events[warmup:]
    lanes = [_chunks(lane, batch) for lane in _per_thread(measured, threads)]
    count = max(1, min(int(payload.get("blocks", 10)), *(len(lane) for lane in lanes)))
    per_thread = [_blocks(lane, count) for lane in lanes]
    results: Payload = {"blocks": count if len(modes) > 1 else 1}
    with ExitStack() as stack:
        stores = {
            mode: stack.enter_context(
                _append_store(backend, payload.get("base_url"), mode, threads, trigger_stats)
            )
            for mode in modes
        }
        for store, _, _ in stores.values():
            for chunk in _chunks(warm, batch):
                store.append(chunk)
        phases: list[Phase] = []
        for block in range(count if len(modes) > 1 else 1):
            order = modes if block % 2 == 0 else modes[::-1]
            for mode in order:
                segments = [blocks[block] for blocks in per_thread] if len(modes) > 1 else lanes
                phases.append(Phase(mode, stores[mode][0].append, segments))
        profile_modes = frozenset({"on"}) if payload.get("profile") else frozenset()
        timings, profiles, failures = _run_phases(phases, threads, profile_modes)
        for store, _, _ in stores.values():
            store.close()
        for mode, (_, settings, info) in stores.items():
            stored, leaves, state_bytes = _sealed_rows(settings)
            url = settings.database_url
            functions = _pg_function_stats(url) if url and trigger_stats else []
            wall, done = timings.wall[mode], timings.events[mode]
            results[mode] = {
                "events": done,
                "calls": len(timings.calls[mode]),
                "seconds": wall,
                "events_per_s": done / wall,
                "stored_events": stored,
                "leaf_rows": leaves,
                "state_bytes": state_bytes,
                "functions": functions,
                "store": info,
            } | {f"call_{k}": v for k, v in latency(timings.calls[mode]).items() if k != "calls"}
    if failures:
        raise RuntimeError(f"{len(failures)} append(s) failed: {failures[:2]}")
    results["vm_hwm_mb"] = vm_hwm_mb()
    if profiles:
        results["profile"] = profile_text(profiles, int(payload["profile"]))
    return results


def task_bare(payload: Payload) -> Payload:
    """The bare eventsourcing baseline (``bench/baselines.py``): get -> one event -> save,
    one transaction per save, each thread on its own aggregates, on the library's plain
    recorder and a fresh database that never saw our migrations."""
    from bench.baselines import BareBench, Entry, bare_env
    from bench.payload import payload as event_payload

    backend, threads = str(payload["backend"]), int(payload["threads"])
    timed, warmup = int(payload["events"]), int(payload["warmup"])
    per_thread = 50
    with fresh_settings(backend, payload.get("base_url")) as fresh:
        settings = fresh.model_copy(update={"pool_size": max(5, threads)})
        app = BareBench(env=bare_env(settings))
        try:
            entries = [Entry(f"entry-{i}") for i in range(threads * per_thread)]
            for start in range(0, len(entries), 100):
                app.save(*entries[start : start + 100])
            ids = [e.id for e in entries]
            kwargs = [event_payload(i) for i in range(per_thread)]

            def save(index: int, n: int) -> None:
                entry = cast(Entry, app.repository.get(ids[index * per_thread + n % per_thread]))
                entry.record(**kwargs[n % per_thread])
                app.save(entry)

            for n in range(warmup):
                save(n % threads, n)
            counts = [timed // threads + (1 if i < timed % threads else 0) for i in range(threads)]
            barrier = threading.Barrier(threads + 1)
            samples: list[list[float]] = [[] for _ in range(threads)]
            failures: list[str] = []

            def loop(index: int) -> None:
                barrier.wait()
                try:
                    for n in range(counts[index]):
                        started = time.perf_counter()
                        save(index, warmup + n)
                        samples[index].append(time.perf_counter() - started)
                except Exception as error:
                    failures.append(repr(error))

            pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
            for thread in pool:
                thread.start()
            gc.collect()
            barrier.wait()
            started = time.perf_counter()
            for thread in pool:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            app.close()
    if failures:
        raise RuntimeError(f"{len(failures)} thread(s) failed: {failures[:2]}")
    flat = [s for mine in samples for s in mine]
    return {
        "events": len(flat),
        "calls": len(flat),
        "seconds": wall,
        "events_per_s": len(flat) / wall,
        "vm_hwm_mb": vm_hwm_mb(),
    } | {f"call_{k}": v for k, v in latency(flat).items() if k != "calls"}


def task_encode(payload: Payload) -> Payload:
    """What the stored state's encoding costs per event (paid with hashing ON and OFF
    alike, so not in the ON/OFF overhead): the ledger's ``encode_event_state`` (JCS since
    migration 3: orjson dumps, loads, then ``jcs.canonical_json``) against the encoding it
    replaced (``orjson.dumps`` of the same dict), on clones of the demo year."""
    events = _events(str(payload["template"]), int(payload["events"]))

    def plain(event: LedgerEvent) -> bytes:  # the encoder before the feature
        state = dict(vars(event))
        del state["originator_id"], state["originator_version"]
        state["schema_version"] = type(event).class_version
        return orjson.dumps(state)

    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for name, encode in (("jcs", encode_event_state), ("plain", plain)):
        best = math.inf
        for _ in range(3):
            gc.collect()
            started = time.perf_counter()
            total = sum(len(encode(e)) for e in events)
            best = min(best, time.perf_counter() - started)
        timings[name], sizes[name] = best, total
    return {
        "events": len(events),
        "jcs_us_per_event": timings["jcs"] / len(events) * 1e6,
        "plain_us_per_event": timings["plain"] / len(events) * 1e6,
        "jcs_bytes_per_event": sizes["jcs"] / len(events),
        "plain_bytes_per_event": sizes["plain"] / len(events),
        "vm_hwm_mb": vm_hwm_mb(),
    }


# --- checkpoint, verify, read ceilings -------------------------------------------------


def task_checkpoint(payload: Payload) -> Payload:
    """A new Ed25519 key (``generate_signer``, no file) registered active, then the first
    checkpoint timed: every interior Merkle node of the sealed tree built and stored, and
    the tree head signed."""
    store = IntegrityStore(str(payload["target"]))
    try:
        signer = Signer.from_text(generate_signer(ORIGIN)[0])
        store.add_key(signer.verifier(), "active", datetime.now(UTC))
        started = time.perf_counter()
        made = store.checkpoint(signer, ORIGIN, lambda: datetime.now(UTC))
        seconds = time.perf_counter() - started
        with store.transaction() as tx:
            nodes = int(tx.rows(f"SELECT count(*) FROM {NODES}")[0][0])
    finally:
        store.close()
    if made is None:
        raise RuntimeError("checkpoint() made nothing: the store already had one")
    return {
        "seconds": seconds,
        "tree_size": made.tree_size,
        "nodes": nodes,
        "leaves_per_s": made.tree_size / seconds,
        "root_hash": made.root_hash.hex(),
        "vm_hwm_mb": vm_hwm_mb(),
    }


def task_verify(payload: Payload) -> Payload:
    """``verify_store(IntegrityStore(target))``, timed (``profile``: under cProfile)."""
    store = IntegrityStore(str(payload["target"]))
    profiler = cProfile.Profile() if payload.get("profile") else None
    try:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report: Report = verify_store(store)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
    finally:
        store.close()
    result: Payload = {
        "seconds": seconds,
        "events": report.events,
        "leaves": report.leaves,
        "events_per_s": report.events / seconds,
        "ok": report.ok,
        "checkpoints": report.checkpoints,
        "verified_size": report.verified_size,
        "problems": [p.as_json() for p in report.problems[:3]],
        "problem_count": len(report.problems),
        "vm_hwm_mb": vm_hwm_mb(),
    }
    if profiler is not None:
        result["profile"] = profile_text([profiler], int(payload["profile"]))
    return result


@contextmanager
def _pg_rows(url: str, statement: str) -> Iterator[Iterator[list[tuple[Any, ...]]]]:
    """Pages of a named (server-side) binary cursor, as IntegrityStore.scan fetches them."""
    with (
        psycopg.connect(url) as conn,
        conn.cursor(name="bench_integrity_read", binary=True) as cur,
    ):
        cur.itersize = SCAN_BATCH
        cur.execute(statement.encode())

        def pages() -> Iterator[list[tuple[Any, ...]]]:
            while rows := cur.fetchmany(SCAN_BATCH):
                yield rows

        yield pages()


@contextmanager
def _lite_rows(path: str, statement: str) -> Iterator[Iterator[list[tuple[Any, ...]]]]:
    lite = sqlite3.connect(path)
    try:
        cursor = lite.execute(statement)

        def pages() -> Iterator[list[tuple[Any, ...]]]:
            while rows := cursor.fetchmany(SCAN_BATCH):
                yield rows

        yield pages()
    finally:
        lite.close()


def _drain(
    opened: Callable[[str, str], Any], target: str, statement: str, keep: int = 0
) -> tuple[Payload, list[tuple[Any, ...]]]:
    """Every row of ``statement``, nothing done with them (first ``keep`` rows kept)."""
    kept: list[tuple[Any, ...]] = []
    started = time.perf_counter()
    first: float | None = None
    count = 0
    with opened(target, statement) as pages:
        for rows in pages:
            if first is None:
                first = time.perf_counter() - started
            count += len(rows)
            if len(kept) < keep:
                kept.extend(rows[: keep - len(kept)])
    seconds = time.perf_counter() - started
    return {
        "rows": count,
        "seconds": seconds,
        "rows_per_s": count / seconds,
        "first_page_s": first or 0.0,
    }, kept


def verify_statements(postgres: bool) -> list[str]:
    """The SQL ``IntegrityStore.scan`` runs (``scan_statements``: events LEFT JOIN leaf
    rows in log order, and the orphaned leaf rows; older builds had one ``scan_statement``
    with a FULL JOIN)."""
    events_table = EVENTS_PG if postgres else EVENTS_SQLITE
    several = getattr(integrity_store, "scan_statements", None)
    if several is not None:
        return list(several(postgres=postgres))
    one = getattr(integrity_store, "scan_statement", None)
    if one is not None:
        return [str(one(events_table, HASHES, postgres=postgres))]
    return []


def _plans(target: str, statements: list[str], postgres: bool) -> tuple[list[str], dict[str, str]]:
    """EXPLAIN of each statement (and the setting that shapes it: work_mem)."""
    plans = []
    plan_settings: dict[str, str] = {}
    if postgres:
        with psycopg.connect(target, autocommit=True) as conn:
            for statement in statements:
                found = conn.execute(f"EXPLAIN {statement}".encode()).fetchall()
                plans.append("\n".join(str(r[0]) for r in found))
            work_mem = conn.execute("SHOW work_mem").fetchone()
        plan_settings["work_mem"] = str(work_mem[0]) if work_mem else "?"
    else:
        lite = sqlite3.connect(target)
        try:
            for statement in statements:
                found = lite.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
                plans.append("\n".join(str(r[-1]) for r in found))
        finally:
            lite.close()
    return plans, plan_settings


def task_reads(payload: Payload) -> Payload:
    """What verify_store's walk reads, without it: (1) the events table alone (plain
    named-cursor SELECT, log order); (2) the verifier's own statements, drained; (3)
    ``IntegrityStore.scan()`` (2 plus its per-row conversion and merge); (4) the walk
    alone (``verify._Walk.feed``: leaf recompute, chain and tree) on the first rows held
    in memory, and the leaf hashing alone."""
    target = str(payload["target"])
    postgres = target.startswith(("postgresql://", "postgres://"))
    opened = _pg_rows if postgres else _lite_rows
    events_table, position = (
        (EVENTS_PG, "notification_id") if postgres else (EVENTS_SQLITE, "rowid")
    )
    plain = (
        f"SELECT {position}, originator_id, originator_version, topic, state "
        f"FROM {events_table} ORDER BY {position}"
    )
    statements = verify_statements(postgres)
    events, _ = _drain(opened, target, plain)
    drained = [_drain(opened, target, statement)[0] for statement in statements]
    scan: Payload = {
        "rows": sum(d["rows"] for d in drained),
        "seconds": sum(d["seconds"] for d in drained),
        "first_page_s": drained[0]["first_page_s"] if drained else 0.0,
        "statements": drained,
    }
    scan["rows_per_s"] = scan["rows"] / scan["seconds"] if scan["seconds"] else 0.0
    store = IntegrityStore(target)
    kept: list[tuple[Any, ...]] = []
    try:
        started = time.perf_counter()
        first: float | None = None
        count = 0
        for rows in store.scan():
            if first is None:
                first = time.perf_counter() - started
            count += len(rows)
            if len(kept) < WALK_ROWS:
                kept.extend(rows[: WALK_ROWS - len(kept)])
        store_scan = {
            "rows": count,
            "seconds": time.perf_counter() - started,
            "first_page_s": first or 0.0,
        }
        store_scan["rows_per_s"] = count / store_scan["seconds"]
    finally:
        store.close()
    # the walk alone, on rows already in memory
    walk = _Walk(Report(), {}, 0, None, 100)
    started = time.perf_counter()
    walk.feed(kept)
    walk_s = time.perf_counter() - started
    started = time.perf_counter()
    stored_leaf = getattr(eventhash, "stored_leaf_hash", None)
    for r in kept:
        if stored_leaf is not None:
            stored_leaf(r[0], r[1], r[2], r[3], r[4], None)
        else:
            merkle.leaf_hash(eventhash.canonical_event(r[0], r[1], r[2], r[3], r[4], None))
    hash_s = time.perf_counter() - started
    plans, plan_settings = _plans(target, statements, postgres)
    return {
        "events_only": events,
        "scan_statement": scan,
        "store_scan": store_scan,
        "walk": {
            "rows": len(kept),
            "seconds": walk_s,
            "rows_per_s": len(kept) / walk_s if walk_s else 0.0,
            "us_per_row": walk_s / max(1, len(kept)) * 1e6,
            "problems": len(walk.report.problems),
        },
        "leaf_hash_only": {
            "rows": len(kept),
            "seconds": hash_s,
            "rows_per_s": len(kept) / hash_s if hash_s else 0.0,
            "us_per_row": hash_s / max(1, len(kept)) * 1e6,
        },
        "statements": statements,
        "plans": plans,
        "plan_settings": plan_settings,
        "vm_hwm_mb": vm_hwm_mb(),
    }


# --- proofs ----------------------------------------------------------------------------


def _positions(store: IntegrityStore, indexes: list[int]) -> list[int]:
    """The log positions of the given leaf indexes (same order)."""
    found: dict[int, int] = {}
    with store.transaction() as tx:
        for start in range(0, len(indexes), 500):
            part = indexes[start : start + 500]
            marks = ", ".join("?" for _ in part)
            for leaf_index, position in tx.rows(
                f"SELECT leaf_index, position FROM {HASHES} WHERE leaf_index IN ({marks})", part
            ):
                found[int(leaf_index)] = int(position)
    return [found[i] for i in indexes]


def _check_proofs(
    store: IntegrityStore,
    latest: StoredCheckpoint,
    positions: list[int],
    pairs: list[tuple[int, int]],
) -> tuple[int, int]:
    """(proofs checked, proofs that did not verify) with the RFC 9162 verifiers."""
    checked = bad = 0
    for position, (first, second) in zip(positions, pairs, strict=True):
        leaf, used, proof = store.inclusion(position)
        root = latest.root_hash
        ok = merkle.verify_inclusion(leaf.leaf_index, used, leaf.leaf_hash, proof, root)
        _, cproof = store.consistency(first, second)
        ok = ok and merkle.verify_consistency(
            first, second, store.root(first), store.root(second), cproof
        )
        checked += 1
        bad += not ok
    return checked, bad


def task_proofs(payload: Payload) -> Payload:
    """Inclusion proofs at random positions (against the latest checkpoint), consistency
    proofs between random sizes, and ``root(size)`` at random sizes, interleaved, after a
    warm-up; the first proofs are checked against the signed root (RFC 9162 verifiers)."""
    calls, warmup = int(payload["calls"]), int(payload["warmup"])
    rng = random.Random(int(payload.get("seed", 13)))
    store = IntegrityStore(str(payload["target"]))
    times: dict[str, list[float]] = {"inclusion": [], "consistency": [], "root": []}
    lengths: dict[str, int] = {"inclusion": 0, "consistency": 0}
    profiler = cProfile.Profile() if payload.get("profile") else None
    try:
        latest = store.latest_checkpoint()
        if latest is None:
            raise RuntimeError("no checkpoint: nothing to prove against")
        size = latest.tree_size
        total = warmup + calls
        positions = _positions(store, [rng.randrange(size) for _ in range(total)])
        pairs = [_two_sizes(rng, size) for _ in range(total)]
        roots = [rng.randint(1, size) for _ in range(total)]
        checks = min(warmup, 50)
        checked, bad = _check_proofs(store, latest, positions[:checks], pairs[:checks])
        clock = time.perf_counter
        for i in range(total):
            if i == warmup and profiler is not None:
                profiler.enable()
            started = clock()
            _, _, proof = store.inclusion(positions[i])
            middle = clock()
            _, cproof = store.consistency(*pairs[i])
            after = clock()
            store.root(roots[i])
            ended = clock()
            if i >= warmup:
                times["inclusion"].append(middle - started)
                times["consistency"].append(after - middle)
                times["root"].append(ended - after)
                lengths["inclusion"] += len(proof)
                lengths["consistency"] += len(cproof)
        if profiler is not None:
            profiler.disable()
    finally:
        store.close()
    result: Payload = {
        "tree_size": size,
        "checked": checked,
        "invalid": bad,
        "warmup": warmup,
        "kinds": {
            kind: latency(samples)
            | ({"mean_hashes": lengths[kind] / len(samples)} if kind in lengths else {})
            for kind, samples in times.items()
        },
        "vm_hwm_mb": vm_hwm_mb(),
    }
    if profiler is not None:
        result["profile"] = profile_text([profiler], int(payload["profile"]))
    return result


def _two_sizes(rng: random.Random, size: int) -> tuple[int, int]:
    """Two distinct tree sizes in 1..size, smaller first."""
    first, second = sorted(rng.sample(range(1, size + 1), 2))
    return first, second


TASKS: dict[str, Task] = {
    "append": task_append,
    "bare": task_bare,
    "encode": task_encode,
    "checkpoint": task_checkpoint,
    "verify": task_verify,
    "reads": task_reads,
    "proofs": task_proofs,
}


def main(argv: list[str]) -> int:
    task, payload, result_file = argv
    result = TASKS[task](json.loads(payload))
    Path(result_file).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
