"""python -m bench.integrity [--quick] [--only PARTS] [--postgres-url URL] [--out DIR]

The tamper-evidence benchmark, in one run:

1. appends with hashing ON (the product: the PostgreSQL seal trigger / the sealing SQLite
   recorder) and OFF (the same schema with the trigger disabled / the library's plain SQLite
   recorder), interleaved rounds, each row the median round: single-event appends at 1 and 8
   threads on PostgreSQL, 1 thread on SQLite, and batches of 100 events per transaction;
   beside them the bare eventsourcing single-event save (``bench/baselines.py``);
2. ``verify_store`` over the cached 1,000,000-event PostgreSQL store (``bench_proj_1m`` of
   ``bench/bigstore.py``, copied; migration 3 and the first checkpoint timed on the copy)
   and over the 200,000-event SQLite store, beside the raw read ceilings of the same rows;
3. inclusion and consistency proof latency at 1,000,000 events.

Results go to ``bench/integrity.md`` and ``bench/integrity.json`` (a ``--quick`` or
``--only`` run writes to ``<tmp>/bench_integrity`` unless ``--out`` is given). When a target
is missed (``--profile auto``) a cProfile of the missed part goes into the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import bigstore
from bench.machine import describe
from bench.steps import Steps, load_average, parts_of
from bench.stores import ENV_URL, postgres_base_url
from ledger.bootstrap import upgrade_schema
from ledger.core.events import LedgerEvent
from ledger.integrity.schema import HASHES, NODES
from ledger.settings import Settings

OUT_DIR = Path(__file__).resolve().parent
ROOT = OUT_DIR.parent
TARGET_OVERHEAD_PCT = 10.0  # appends: OFF/ON - 1
TARGET_VERIFY = 100_000.0  # events/s, PostgreSQL, 1,000,000 events
TARGET_PROOF_P99_MS = 5.0
PROFILE_TOP = 25
SCRATCH_PREFIX = "bench_proj_integrity_"  # bigstore's guard: bench databases are bench_proj_*
MIGRATION = 3  # the tamper-evidence migration
BLOCKS = 10  # ON/OFF alternations per append round
Payload = dict[str, Any]

PARTS = ("appends", "bare", "verify", "reads", "proofs", "sqlite", "profile")


@dataclass(frozen=True)
class Workload:
    backend: str
    threads: int
    batch: int
    events: int
    warmup: int

    @property
    def label(self) -> str:
        kind = "single-event" if self.batch == 1 else f"batches of {self.batch}"
        return f"{self.backend} {kind}, {self.threads} thread{'s' if self.threads > 1 else ''}"

    @property
    def key(self) -> str:
        return f"{self.backend}-b{self.batch}-t{self.threads}"


def workloads(quick: bool) -> list[Workload]:
    scale = 5 if quick else 1
    return [
        Workload("postgres", 1, 1, 1_500 // scale, 100),
        Workload("postgres", 8, 1, 3_000 // scale, 200),
        Workload("postgres", 1, 100, 20_000 // scale, 500),
        Workload("sqlite", 1, 1, 2_000 // scale, 100),
        Workload("sqlite", 1, 100, 20_000 // scale, 500),
    ]


def bare_workloads(quick: bool) -> list[Workload]:
    scale = 5 if quick else 1
    return [
        Workload("postgres", 1, 1, 1_500 // scale, 100),
        Workload("postgres", 8, 1, 3_000 // scale, 200),
        Workload("sqlite", 1, 1, 2_000 // scale, 100),
    ]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.integrity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (20,000-event stores), ~3 min"
    )
    parser.add_argument("--events", type=int, help="PostgreSQL store size (default 1,000,000)")
    parser.add_argument("--sqlite-events", type=int, help="SQLite store size (default 200,000)")
    parser.add_argument("--postgres-url", help=f"server to create databases on (or ${ENV_URL})")
    parser.add_argument("--repeat", type=int, help="append rounds (default 3; --quick 1)")
    parser.add_argument("--proof-calls", type=int, help="proofs of each kind (default 2,000)")
    parser.add_argument("--rebuild-store", action="store_true", help="regenerate cached stores")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench_proj",
        help="where generated SQLite stores are kept between runs (shared with bench.projections)",
    )
    parser.add_argument(
        "--keep-scratch",
        action="store_true",
        help="keep the migrated, checkpointed copy of the PostgreSQL store after the run and "
        "reuse it next time (migration and checkpoint are then not re-measured)",
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile (top 25) each part whose target is missed (auto), every part, or none",
    )
    parser.add_argument(
        "--only",
        type=parts_of(PARTS),
        help="run only these comma-separated parts: " + ", ".join(PARTS) + " (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where integrity.* go (default bench/; <tmp>/bench_integrity for --quick/--only)",
    )
    return parser.parse_args(argv)


# --- child processes -------------------------------------------------------------------


def run_child(task: str, payload: Payload) -> Payload:
    """``task(payload)`` of bench/integrity_tasks.py in a fresh interpreter; adds its peak
    RSS (``ru_maxrss`` from ``os.wait4``) and wall time."""
    with tempfile.TemporaryDirectory(prefix="bench-integrity-child-") as directory:
        result_file = Path(directory) / "result.json"
        command = [
            sys.executable,
            "-m",
            "bench.integrity_tasks",
            task,
            json.dumps(payload),
            str(result_file),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"child {task} exited with {process.returncode}")
        result: Payload = json.loads(result_file.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["process_wall_s"] = wall
    return result


# --- scratch copies of the cached stores -----------------------------------------------


def _admin(base_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(statement)


def drop_scratch(base_url: str, name: str) -> None:
    if not name.startswith(SCRATCH_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: scratch copies are {SCRATCH_PREFIX}*")
    _admin(
        base_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )


def copy_database(base_url: str, source: str, name: str) -> str:
    """``name``, a file-level copy of database ``source`` (which nobody may be using)."""
    drop_scratch(base_url, name)
    _admin(
        base_url,
        sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(source)
        ),
    )
    return bigstore.with_dbname(base_url, name)


def database_exists(base_url: str, name: str) -> bool:
    with psycopg.connect(base_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def applied_versions(settings: Settings) -> set[int]:
    query = "SELECT version FROM ledger_schema_migrations"
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            return {int(r[0]) for r in conn.execute(query).fetchall()}
    lite = sqlite3.connect(settings.sqlite_path)
    try:
        return {int(r[0]) for r in lite.execute(query).fetchall()}
    finally:
        lite.close()


def counts(settings: Settings) -> dict[str, int]:
    """Events, leaf rows, Merkle nodes and checkpoints in a store."""
    events = "ledger_events" if settings.database_url else "stored_events"
    query = (
        f"SELECT (SELECT count(*) FROM {events}), (SELECT count(*) FROM {HASHES}), "
        f"(SELECT count(*) FROM {NODES}), (SELECT count(*) FROM ledger_checkpoints)"
    )
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute(query.encode()).fetchone()
    else:
        lite = sqlite3.connect(settings.sqlite_path)
        try:
            row = lite.execute(query).fetchone()
        finally:
            lite.close()
    assert row is not None
    return dict(zip(("events", "leaves", "nodes", "checkpoints"), map(int, row), strict=True))


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- the run ---------------------------------------------------------------------------


def median_of(rows: list[Payload], key: str) -> Payload:
    """The row with the median ``key`` (the machine is shared: rounds differ), with every
    round's value beside it."""
    ordered = sorted(rows, key=lambda r: float(r[key]))
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [round(float(r[key]), 1) for r in rows]
    return chosen


class Run(Steps):
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        super().__init__()
        self.args = args
        self.quick: bool = args.quick
        self.big: int = args.events or (20_000 if self.quick else 1_000_000)
        self.lite_n: int = args.sqlite_events or (20_000 if self.quick else 200_000)
        self.repeat: int = args.repeat or (1 if self.quick else 3)
        self.proof_calls: int = args.proof_calls or (300 if self.quick else 2_000)
        self.base_url = postgres_base_url(args.postgres_url)
        self.scratch = scratch
        self.results: Payload = {
            "appends": [],
            "append_rounds": [],
            "bare": [],
            "bare_rounds": [],
            "trigger": [],
            "encode": None,
            "stores": {},
            "postgres": None,
            "sqlite": None,
            "profiles": [],
        }

    @staticmethod
    @cache
    def template() -> list[LedgerEvent]:
        return bigstore.template_events()

    @cache  # noqa: B019 - one Run per process
    def template_file(self) -> str:
        path = self.scratch / "template.pickle"
        path.write_bytes(pickle.dumps(self.template()))
        return str(path)

    def _progress(self, written: int, total: int) -> None:
        if written % 100_000 < bigstore.BATCH or written == total:
            self.say(f"  {written:,}/{total:,} events")

    # -- 1. appends --

    def _append_payload(self, w: Workload, *modes: str) -> Payload:
        return {
            "backend": w.backend,
            "base_url": self.base_url,
            "modes": list(modes),
            "threads": w.threads,
            "batch": w.batch,
            "events": w.events,
            "warmup": w.warmup,
            "blocks": BLOCKS,
            "template": self.template_file(),
        }

    def appends(self, parts: frozenset[str]) -> None:
        chosen = workloads(self.quick) if "appends" in parts else []
        bare = bare_workloads(self.quick) if "bare" in parts else []
        for number in range(1, self.repeat + 1):
            for w in chosen:
                modes = ("on", "off") if number % 2 else ("off", "on")
                with self.step(f"round {number}: {w.label}, hashing ON and OFF alternately"):
                    result = run_child("append", self._append_payload(w, *modes))
                    result |= {"workload": w.key, "round": number, "first": modes[0]}
                    for mode in modes:
                        self._check_leaves(w, mode, result[mode])
                    result["overhead_pct"] = 100 * (
                        result["off"]["events_per_s"] / result["on"]["events_per_s"] - 1
                    )
                    self.results["append_rounds"].append(result)
                    self.say(
                        f"  ON {_append_line(result['on'])}\n  OFF {_append_line(result['off'])}"
                        f"\n  overhead {result['overhead_pct']:+.1f}%"
                    )
            for w in bare:
                with self.step(f"round {number}: bare eventsourcing saves, {w.label}"):
                    result = run_child("bare", self._append_payload(w))
                    result |= {"workload": w.key, "round": number}
                    self.results["bare_rounds"].append(result)
                    self.say(f"  {_append_line(result)}")
        self._summarize_appends(chosen, bare)
        if chosen:
            self.trigger_timing(chosen)
            with self.step("diagnostic: stored-state encoding per event (JCS vs plain orjson)"):
                result = run_child("encode", {"template": self.template_file(), "events": 20_000})
                self.results["encode"] = result
                self.say(
                    f"  encode_event_state {result['jcs_us_per_event']:.1f} us/event, plain "
                    f"orjson.dumps {result['plain_us_per_event']:.1f} us/event"
                )

    def _check_leaves(self, w: Workload, mode: str, result: Payload) -> None:
        wanted = result["stored_events"] if mode == "on" else 0
        if result["leaf_rows"] != wanted:
            self.failures.append(
                f"{w.key} hashing {mode}: {result['leaf_rows']} leaf rows "
                f"for {result['stored_events']} events (expected {wanted})"
            )

    def _summarize_appends(self, chosen: list[Workload], bare: list[Workload]) -> None:
        rounds: list[Payload] = self.results["append_rounds"]
        for w in chosen:
            mine = [r for r in rounds if r["workload"] == w.key]
            if not mine:
                continue
            chosen_round = median_of(mine, "overhead_pct")
            self.results["appends"].append(
                {
                    "workload": w.key,
                    "label": w.label,
                    "backend": w.backend,
                    "threads": w.threads,
                    "batch": w.batch,
                    "events": w.events,
                    "warmup": w.warmup,
                    "blocks": chosen_round["blocks"],
                    "median_round": chosen_round["round"],
                    "on": _brief(chosen_round["on"]),
                    "on_store": chosen_round["on"].get("store", {}),
                    "off_store": chosen_round["off"].get("store", {}),
                    "off": _brief(chosen_round["off"]),
                    "overhead_pct": chosen_round["overhead_pct"],
                    "round_overheads_pct": [round(r["overhead_pct"], 1) for r in mine],
                    "round_on": [round(r["on"]["events_per_s"], 1) for r in mine],
                    "round_off": [round(r["off"]["events_per_s"], 1) for r in mine],
                }
            )
        for w in bare:
            found = [r for r in self.results["bare_rounds"] if r["workload"] == w.key]
            if found:
                self.results["bare"].append(
                    {"workload": w.key, "label": w.label, "backend": w.backend}
                    | _brief(median_of(found, "events_per_s"))
                )

    def pg_trigger(self) -> bool:
        """Whether PostgreSQL sealed in the seal trigger in this run's ON stores (the
        first design; the recorder seals otherwise)."""
        return any(
            r["on"]["store"].get("seal_trigger") is True
            for r in self.results["append_rounds"]
            if r["workload"].startswith("postgres")
        )

    def trigger_timing(self, chosen: list[Workload]) -> None:
        """One diagnostic ON run per PostgreSQL 1-thread workload with
        ``track_functions = pl``: what the seal trigger costs inside the server."""
        if not self.pg_trigger():
            return
        for w in chosen:
            if w.backend != "postgres" or w.threads != 1:
                continue
            with self.step(f"diagnostic: seal trigger timing, {w.label}"):
                payload = self._append_payload(w, "on") | {"trigger_stats": True}
                result = run_child("append", payload)["on"]
                seal = next(
                    (f for f in result["functions"] if f["function"] == "ledger_seal"), None
                )
                row = {
                    "workload": w.key,
                    "label": w.label,
                    "events_per_s": result["events_per_s"],
                    "events": result["events"] + w.warmup,
                    "functions": result["functions"],
                    "seal_us_per_event": (
                        1e3 * seal["total_ms"] / seal["calls"] if seal and seal["calls"] else None
                    ),
                }
                self.results["trigger"].append(row)
                if row["seal_us_per_event"] is not None:
                    self.say(
                        f"  ledger_seal {row['seal_us_per_event']:.0f} us/event "
                        f"({seal['calls'] if seal else 0:,} calls)"
                    )

    # -- 2./3. the big stores --

    @contextmanager
    def postgres_store(self) -> Iterator[str | None]:
        """The scratch copy of the cached big store, migrated and checkpointed (the
        preparation measured); dropped afterwards unless --keep-scratch."""
        label = bigstore.size_label(self.big)
        name = f"{SCRATCH_PREFIX}{label}"
        url = bigstore.with_dbname(self.base_url, name)
        prepared: Payload = {"scratch_database": name}
        self.results["postgres"] = prepared
        ready = False
        with self.step(f"PostgreSQL store of {self.big:,} events: copy, migration, checkpoint"):
            info = bigstore.postgres_store(
                self.base_url,
                self.big,
                self.template,
                rebuild=self.args.rebuild_store,
                progress=self._progress,
            )
            self.results["stores"]["postgres"] = info.as_json()
            source = info.settings.database_url or ""
            prepared["source_database"] = source.rsplit("/", 1)[1]
            reuse = self.args.keep_scratch and database_exists(self.base_url, name)
            if reuse and counts(Settings(database_url=url))["checkpoints"] > 0:
                prepared["reused_scratch"] = True
                self.say(f"  reusing {name} (--keep-scratch): preparation not re-measured")
            else:
                prepared["reused_scratch"] = False
                self._prepare(prepared, prepared["source_database"], name, url)
            prepared["counts"] = counts(Settings(database_url=url))
            ready = True
        try:
            yield url if ready else None
        finally:
            if not self.args.keep_scratch:
                drop_scratch(self.base_url, name)

    def _prepare(self, prepared: Payload, source: str, name: str, url: str) -> None:
        started = time.perf_counter()
        copy_database(self.base_url, source, name)
        prepared["copy_s"] = time.perf_counter() - started
        settings = Settings(database_url=url)
        self._migrate(prepared, settings)
        prepared["vacuum_before_checkpoint_s"] = vacuum_analyze(url)
        self._checkpoint(prepared, str(url))
        prepared["vacuum_after_checkpoint_s"] = vacuum_analyze(url)

    def _migrate(self, prepared: Payload, settings: Settings) -> None:
        """Migration 3 on a store built before it: seals every existing event (timed)."""
        before = applied_versions(settings)
        prepared["built_with_migration_3"] = MIGRATION in before
        if MIGRATION in before:
            prepared["migration_s"] = None
            self.say("  migration 3 already applied when the store was built (nothing to time)")
            return
        started = time.perf_counter()
        applied = upgrade_schema(settings)
        seconds = time.perf_counter() - started
        found = counts(settings)
        prepared["migration_s"] = seconds
        prepared["migration_applied"] = applied
        prepared["migration_events_per_s"] = found["events"] / seconds
        if found["leaves"] != found["events"]:
            self.failures.append(
                f"migration 3 sealed {found['leaves']:,} of {found['events']:,} events"
            )
        self.say(
            f"  migration 3 sealed {found['leaves']:,} events in {seconds:.1f} s "
            f"({found['events'] / seconds:,.0f} events/s)"
        )

    def _checkpoint(self, prepared: Payload, target: str) -> None:
        result = run_child("checkpoint", {"target": target})
        prepared["checkpoint"] = result
        self.say(
            f"  first checkpoint: {result['tree_size']:,} leaves, {result['nodes']:,} nodes in "
            f"{result['seconds']:.1f} s (peak RSS {result['vm_hwm_mb']:.0f} MB)"
        )

    @contextmanager
    def sqlite_store(self) -> Iterator[str | None]:
        """A copy of the cached SQLite store, migrated if needed and checkpointed."""
        prepared: Payload = {}
        self.results["sqlite"] = prepared
        directory = Path(tempfile.mkdtemp(prefix="bench-integrity-sqlite-", dir=self.scratch))
        settings = Settings(data_dir=directory, database_url=None)
        ready = False
        with self.step(f"SQLite store of {self.lite_n:,} events: copy, migration, checkpoint"):
            info = bigstore.sqlite_store(
                self.args.cache_dir,
                self.lite_n,
                self.template,
                rebuild=self.args.rebuild_store,
                progress=self._progress,
            )
            self.results["stores"]["sqlite"] = info.as_json()
            source = info.settings.sqlite_path
            started = time.perf_counter()
            for suffix in ("", "-wal", "-shm"):
                found = source.with_name(source.name + suffix)
                if found.exists():
                    shutil.copy2(found, directory / found.name)
            prepared["copy_s"] = time.perf_counter() - started
            self._migrate(prepared, settings)
            self._checkpoint(prepared, str(settings.sqlite_path))
            prepared["counts"] = counts(settings)
            ready = True
        try:
            yield str(settings.sqlite_path) if ready else None
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def verify(self, where: Payload, target: str, events: int) -> None:
        with self.step(f"verify_store over {events:,} events ({where['backend']})"):
            result = run_child("verify", {"target": target})
            where["verify"] = result
            self.say(
                f"  {result['events']:,} events in {result['seconds']:.1f} s = "
                f"{result['events_per_s']:,.0f} events/s, ok={result['ok']}, verified tree size "
                f"{result['verified_size']:,}, peak RSS {result['vm_hwm_mb']:.0f} MB"
            )
            if not result["ok"]:
                self.failures.append(
                    f"verify_store reported {result['problem_count']} problem(s) on an untouched "
                    f"{where['backend']} store: {result['problems'][:1]}"
                )

    def reads(self, where: Payload, target: str, events: int) -> None:
        with self.step(f"read ceilings over {events:,} events ({where['backend']})"):
            result = run_child("reads", {"target": target})
            where["reads"] = result
            self.say(
                f"  events alone {result['events_only']['rows_per_s']:,.0f} rows/s, verify's "
                f"statement {result['scan_statement']['rows_per_s']:,.0f} rows/s (first page "
                f"after {result['scan_statement']['first_page_s']:.1f} s), store.scan() "
                f"{result['store_scan']['rows_per_s']:,.0f} rows/s, walk alone "
                f"{result['walk']['rows_per_s']:,.0f} rows/s"
            )

    def proofs(self, where: Payload, target: str, events: int) -> None:
        with self.step(f"{self.proof_calls:,} proofs of each kind at {events:,} events"):
            payload = {
                "target": target,
                "calls": self.proof_calls,
                "warmup": max(50, self.proof_calls // 10),
            }
            result = run_child("proofs", payload)
            where["proofs"] = result
            for kind, r in result["kinds"].items():
                self.say(
                    f"  {kind:12} p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:6.2f} ms "
                    f"max {r['max_ms']:6.1f} ms"
                )
            if result["invalid"]:
                self.failures.append(
                    f"{result['invalid']} of {result['checked']} checked proofs did not verify"
                )

    def measure(self, parts: frozenset[str]) -> None:
        if {"appends", "bare"} & parts:
            self.appends(parts)
        with ExitStack() as stack:
            if {"verify", "reads", "proofs"} & parts:
                url = stack.enter_context(self.postgres_store())
                where: Payload = self.results["postgres"]
                where["backend"] = "postgres"
                if url is not None:
                    if "verify" in parts:
                        self.verify(where, url, self.big)
                    if "reads" in parts:
                        self.reads(where, url, self.big)
                    if "proofs" in parts:
                        self.proofs(where, url, self.big)
                    self.profiles(parts, where, url)
        if "sqlite" in parts:
            with self.sqlite_store() as path:
                where = self.results["sqlite"]
                where["backend"] = "sqlite"
                if path is not None:
                    self.verify(where, path, self.lite_n)
                    self.reads(where, path, self.lite_n)
                    self.proofs(where, path, self.lite_n)
        self.append_profiles(parts)

    # -- profiles --

    def _want_profile(self, parts: frozenset[str], missed: bool) -> bool:
        mode = self.args.profile
        if mode == "never" or (self.args.only is not None and "profile" not in parts):
            return False
        return mode == "always" or missed

    def profiles(self, parts: frozenset[str], where: Payload, url: str) -> None:
        """cProfile of verify_store and of the proof loop on the big PostgreSQL store,
        when their targets are missed."""
        found = targets(self.results, self.big)
        verify_missed = any(t["part"] == "verify" and t["ok"] is False for t in found)
        proofs_missed = any(t["part"] == "proofs" and t["ok"] is False for t in found)
        if "verify" in parts and self._want_profile(parts, verify_missed):
            with self.step("cProfile of verify_store (PostgreSQL)"):
                result = run_child("verify", {"target": url, "profile": PROFILE_TOP})
                self.results["profiles"].append(
                    {
                        "part": "verify",
                        "title": f"verify_store over {result['events']:,} events (PostgreSQL)",
                        "note": f"{result['events']:,} events in {result['seconds']:.1f} s "
                        f"under the profiler ({result['events_per_s']:,.0f} events/s; cProfile "
                        "slows Python code: read the shares, not the seconds).",
                        "text": result["profile"],
                    }
                )
        if "proofs" in parts and self._want_profile(parts, proofs_missed):
            with self.step("cProfile of the proof loop (PostgreSQL)"):
                calls = max(100, self.proof_calls // 4)
                result = run_child(
                    "proofs",
                    {"target": url, "calls": calls, "warmup": 50, "profile": PROFILE_TOP},
                )
                self.results["profiles"].append(
                    {
                        "part": "proofs",
                        "title": f"{calls:,} x (inclusion + consistency + root) at "
                        f"{result['tree_size']:,} leaves (PostgreSQL)",
                        "note": "after 50 warm-up rounds; cProfile slows Python code: read the "
                        "shares, not the seconds.",
                        "text": result["profile"],
                    }
                )

    def append_profiles(self, parts: frozenset[str]) -> None:
        """cProfile (every appending thread) of each workload whose overhead target was
        missed, hashing ON."""
        if "appends" not in parts:
            return
        for row in self.results["appends"]:
            missed = row["overhead_pct"] > TARGET_OVERHEAD_PCT
            if not self._want_profile(parts, missed):
                continue
            w = next(w for w in workloads(self.quick) if w.key == row["workload"])
            with self.step(f"cProfile of appends, {w.label}, hashing ON"):
                payload = self._append_payload(w, "on") | {"profile": PROFILE_TOP}
                found = run_child("append", payload)
                result = found["on"] | {"profile": found["profile"]}
                note = (
                    f"{result['events']:,} events in {result['seconds']:.1f} s under the "
                    f"profiler ({result['events_per_s']:,.0f} events/s; cProfile slows Python "
                    "code: read the shares, not the seconds)."
                )
                if w.backend == "postgres" and self.pg_trigger():
                    note += (
                        " On PostgreSQL the hashing runs inside the server (the seal trigger): "
                        "it shows here only as longer waits in the driver; see the trigger "
                        "timing table for the server side."
                    )
                self.results["profiles"].append(
                    {
                        "part": f"appends {w.key}",
                        "title": f"appends, {w.label}, hashing ON",
                        "note": note,
                        "text": result["profile"],
                    }
                )


def _brief(row: Payload) -> Payload:
    keep = (
        "events",
        "calls",
        "seconds",
        "events_per_s",
        "call_p50_ms",
        "call_p99_ms",
        "call_max_ms",
        "state_bytes",
        "peak_rss_mb",
        "rounds",
    )
    return {k: row[k] for k in keep if k in row}


def _append_line(r: Payload) -> str:
    return (
        f"{r['events']:,} events in {r['seconds']:.2f} s = {r['events_per_s']:,.0f} events/s, "
        f"call p50 {r['call_p50_ms']:.2f} ms p99 {r['call_p99_ms']:.2f} ms"
    )


MEASURED = (
    "ledger/integrity",
    "ledger/core",
    "ledger/persistence",
    "ledger/application.py",
    "ledger/bootstrap.py",
    "ledger/settings.py",
)


def sources_digest() -> str:
    """SHA-256 (12 hex) of the measured code (:data:`MEASURED`: others edit the tree in
    parallel, so a change during the run is flagged)."""
    digest = hashlib.sha256()
    paths = sorted(
        p
        for name in MEASURED
        for p in ([ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py"))
    )
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _uncommitted() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--", "ledger"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    changed = [line for line in done.stdout.splitlines() if line.strip()]
    return f"{len(changed)} path(s) changed or new" if changed else "none"


# --- results files ---------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def targets(results: Payload, big: int) -> list[Payload]:
    out: list[Payload] = []
    for row in results["appends"]:
        pct = row["overhead_pct"]
        out.append(
            {
                "part": "appends",
                "target": f"hashing overhead <= {TARGET_OVERHEAD_PCT:.0f}% ({row['label']})",
                "measured": f"{pct:+.1f}% ({_fmt(row['on']['events_per_s'])} ON vs "
                f"{_fmt(row['off']['events_per_s'])} OFF events/s)",
                "ok": pct <= TARGET_OVERHEAD_PCT,
                "miss": f"{pct - TARGET_OVERHEAD_PCT:.1f} points over",
            }
        )
    pg = results.get("postgres") or {}
    verify = pg.get("verify")
    if verify is not None:
        rate = verify["events_per_s"]
        out.append(
            {
                "part": "verify",
                "target": f"verify >= {_fmt(TARGET_VERIFY)} events/s (PostgreSQL, "
                f"{verify['events']:,} events)",
                "measured": f"{_fmt(rate)} events/s ({verify['seconds']:.1f} s)",
                "ok": rate >= TARGET_VERIFY,
                "miss": f"{TARGET_VERIFY / rate:.1f}x too slow" if rate else "-",
            }
        )
    lite = (results.get("sqlite") or {}).get("verify")
    if lite is not None:
        out.append(
            {
                "part": "verify-sqlite",
                "target": f"verify on SQLite, {lite['events']:,} events (figure reported)",
                "measured": f"{_fmt(lite['events_per_s'])} events/s ({lite['seconds']:.1f} s)",
                "ok": None,
                "miss": "",
            }
        )
    proofs = pg.get("proofs")
    if proofs is not None:
        for kind in ("inclusion", "consistency"):
            r = proofs["kinds"][kind]
            out.append(
                {
                    "part": "proofs",
                    "target": f"{kind} proof p99 <= {TARGET_PROOF_P99_MS:.0f} ms "
                    f"({proofs['tree_size']:,} leaves, PostgreSQL)",
                    "measured": f"p99 {r['p99_ms']:.2f} ms (p50 {r['p50_ms']:.2f}, max "
                    f"{r['max_ms']:.1f})",
                    "ok": r["p99_ms"] <= TARGET_PROOF_P99_MS,
                    "miss": f"{r['p99_ms'] / TARGET_PROOF_P99_MS:.1f}x over",
                }
            )
    for name, where in (("PostgreSQL", pg), ("SQLite", results.get("sqlite") or {})):
        if where.get("migration_s"):
            out.append(
                {
                    "part": "migration",
                    "target": f"migration 3 on an existing {name} store (figure reported)",
                    "measured": f"{where['migration_s']:.1f} s for "
                    f"{where['counts']['events']:,} events",
                    "ok": None,
                    "miss": "",
                }
            )
        checkpoint = where.get("checkpoint")
        if checkpoint is not None:
            out.append(
                {
                    "part": "checkpoint",
                    "target": f"first checkpoint, {name} (figure reported)",
                    "measured": f"{checkpoint['seconds']:.1f} s for "
                    f"{checkpoint['tree_size']:,} leaves",
                    "ok": None,
                    "miss": "",
                }
            )
    return out


def _verdict(target: Payload) -> str:
    if target["ok"] is None:
        return "reported"
    return "**OK**" if target["ok"] else f"**MISSED** ({target['miss']})"


APPEND_METHOD = (
    "Each row is one workload. Each round is one fresh child process holding two fresh "
    "stores (`bench/stores.py:fresh_settings`: new PostgreSQL databases or new SQLite "
    "directories), both through `upgrade_schema` (all migrations, 3 included), one with "
    "hashing **ON**, one **OFF**, both given the same events. The events are realistic "
    "ledger events: the demo-year template of `bench/bigstore.py` (226 case events of 12 "
    "cases) cloned with fresh case and event ids (`bigstore.clone_stream`), so each case's "
    "events chain to their predecessors. They are appended with `LedgerStore.append` "
    "(`ledger.store.append`: one transaction per call) one at a time or 100 at a time; with "
    "8 threads each thread appends whole cases (their events in version order), "
    "`POSTGRES_POOL_SIZE` = 8. After a warm-up of W events per store (not timed), the "
    f"events of each mode are cut into {BLOCKS} blocks run alternately, ON, OFF, OFF, ON, ... "
    "(the next round starts with OFF), all threads released together at the start of a "
    "block, so that both modes meet the same background load of this shared machine; a "
    "mode's events/s = its events / the summed wall time of its blocks (release to the last "
    "append's return); call p50/p99 are per `append` call. **ON** is the product as "
    "`eventsourcing_env` configures it (`APPLICATION_RECORDER_TOPIC`: the ledger's sealing "
    "recorders; on PostgreSQL also the `ledger_events_seal` AFTER INSERT trigger where the "
    "schema has one). **OFF** is the same schema without the sealing: on SQLite the "
    "library's plain `eventsourcing.sqlite:SQLiteApplicationRecorder`; on PostgreSQL the "
    "library's `PostgresApplicationRecorder` with the ledger's append lock "
    "(`bench/integrity_tasks.py:UnsealedPostgresRecorder`: `SealingPostgresRecorder`'s "
    "`ledger_lock_events()` lock statements) and, where the schema has the seal trigger, "
    "`ALTER TABLE ledger_events DISABLE TRIGGER ledger_events_seal` (as the owner). After "
    "each round the leaf rows are counted (ON: one per event; OFF: none). Overhead = OFF/ON "
    "- 1 within a round; the row shows the median round (by overhead), every round beside "
    "it. **Bare eventsourcing**: `bench/baselines.py`'s `Entry` aggregate and `BareBench` "
    "application with `bare_env` (the library's own recorder) on a fresh database that never "
    "saw our migrations: get -> one event -> `save`, one transaction per save, each thread "
    "on its own 50 aggregates, its own child process per round; median round."
)

TRIGGER_METHOD = (
    "A separate ON run of the same workload with `track_functions = 'pl'` set on its "
    "database (`ALTER DATABASE ... SET`), so PostgreSQL times its PL/pgSQL functions; "
    "`pg_stat_user_functions` after the sessions ended (warm-up included in the calls). "
    "`ledger_seal` is the per-event work (previous leaf of the case, next leaf index, "
    "SHA-256 of the canonical form, insert of the leaf row); `ledger_seal_event` is the "
    "trigger wrapper. The timing itself adds a little to these runs, so their events/s are "
    "not used above."
)

VERIFY_METHOD = (
    "**Stores**: the cached stores of `bench/bigstore.py` (see `bench/projections.md`: clones "
    "of one demo year, PostgreSQL database `bench_proj_<size>`, SQLite file in the cache "
    "directory), generated first if absent. The PostgreSQL store is copied (`CREATE DATABASE "
    "... TEMPLATE ... STRATEGY FILE_COPY`) to a scratch database so the cached store is never "
    "changed and every run measures the same preparation: if the store was built before "
    "migration 3, `upgrade_schema` on the copy runs it (it seals every existing event in "
    "log order, under the table lock) - timed; then `VACUUM ANALYZE` "
    "(this server runs with autovacuum off); then, in a fresh process, a new Ed25519 key "
    "(`generate_signer`, `Signer.from_text`, no file) registered with `store.add_key(..., "
    "'active', now)` and `store.checkpoint(signer, origin, now)` timed (every interior "
    "Merkle node of the sealed tree built, inserted, and the tree head signed); then "
    "`VACUUM ANALYZE` again. The SQLite store file is copied likewise (migration on the copy "
    "if needed; no vacuum). **verify**: `verify_store(IntegrityStore(target))` in a fresh "
    "process (every leaf recomputed from the stored bytes, every case chain, the tree "
    "rebuilt and compared with the signed checkpoint; the next page of the scan is read on "
    "a thread while the current one is hashed); events/s = events walked / seconds "
    "of the call. Peak RSS everywhere is the child's own `VmHWM` (/proc/self/status): "
    "`ru_maxrss` from `os.wait4` is in the JSON too, but on Linux it also counts the "
    "parent's memory at fork (kept across exec), so it is not the child's figure."
)

READ_METHOD = (
    "In a fresh process over the same store, nothing hashed: **events alone**: a plain "
    "named-cursor (server-side, binary) `SELECT notification_id, originator_id, "
    "originator_version, topic, state FROM ledger_events ORDER BY notification_id` (SQLite: "
    "`rowid`, `fetchmany`), 10,000 rows per fetch; **verify's statements**: the SQL "
    "`IntegrityStore.scan` runs (`store.scan_statements`, printed below with their plans), "
    "drained the same way one after the other; **store.scan()**: the store's own generator "
    "(those statements in one REPEATABLE READ snapshot, plus its per-row conversion and "
    "merge); **walk alone**: `verify._Walk.feed` (leaf recompute, case chain, tree) on the "
    "first 100,000 rows of `store.scan()` held in memory, no I/O; **leaf hash alone**: "
    "`canonical_event` + `leaf_hash` on the same rows. First page = seconds until the first "
    "10,000 rows arrived."
)

ENCODE_METHOD = (
    "Not part of ON vs OFF, since both pay it: since migration 3 the stored state is JCS "
    "(`ledger.persistence.mapper.encode_event_state`: `orjson.dumps`, `orjson.loads`, then "
    "`jcs.canonical_json`, whose `_orjson_agrees` walks the value before a sorted "
    "`orjson.dumps`), so that the leaf hash covers the canonical bytes. Timed in a fresh "
    "process on 20,000 clones of the demo year (best of 3) beside the encoding it replaced "
    "(`orjson.dumps` of the same dict); the difference is what every append pays on top, in "
    "the client, hashing ON or OFF."
)

PROOF_METHOD = (
    "In a fresh process: inclusion proofs `store.inclusion(position)` at uniformly random "
    "leaves (against the latest checkpoint), consistency proofs `store.consistency(first, "
    "second)` between two distinct random sizes, and, for context, `store.root(size)` at a "
    "random size (the API's consistency route calls it twice beside the proof), interleaved, "
    "after a warm-up of W rounds (seed 13). Latency is the wall time of the Python call "
    "(a pooled connection, one transaction: the latest checkpoint, the leaf, and one query "
    "for the O(log n) stored subtree hashes); percentiles are nearest-rank. The first 50 "
    "warm-up proofs are checked with the RFC 9162 verifiers of `ledger.core.merkle` "
    "against the signed root (inclusion) and the store's roots (consistency)."
)


def _store_rows(results: Payload) -> list[str]:
    lines = [
        "| store | backend | events | cases | generated |",
        "|---|---|---|---|---|",
    ]
    for name, s in results["stores"].items():
        made = "reused (cache)" if s["reused_from_cache"] else f"{s['build_seconds']} s"
        lines.append(f"| {name} | {s['backend']} | {s['events']:,} | {s['cases']:,} | {made} |")
    return lines


def _appends_section(results: Payload) -> list[str]:
    lines = ["## 1. Appends: hashing ON vs OFF", "", APPEND_METHOD, ""]
    seen = {
        (
            r["backend"],
            str(r.get("on_store", {}).get("recorder")),
            r.get("on_store", {}).get("seal_trigger"),
        )
        for r in results["appends"]
    }
    for backend, recorder, trigger in sorted(seen, key=str):
        where = f"`{recorder}`"
        if backend == "postgres":
            where += (
                " + the seal trigger" if trigger is True else " (no seal trigger in the schema)"
            )
        lines.append(f"- This run, {backend} ON: {where}.")
    if seen:
        lines.append("")
    lines += [
        "| workload | events per mode (warm-up) | ON events/s | OFF events/s | overhead "
        "| rounds: overhead | rounds: ON | rounds: OFF | ON call p50 / p99 ms "
        "| OFF call p50 / p99 ms | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["appends"]:
        on, off = r["on"], r["off"]
        ok = "OK" if r["overhead_pct"] <= TARGET_OVERHEAD_PCT else "**MISSED**"
        lines.append(
            f"| {r['label']} | {r['events']:,} ({r['warmup']}) | **{_fmt(on['events_per_s'])}** "
            f"| **{_fmt(off['events_per_s'])}** | **{r['overhead_pct']:+.1f}%** | "
            f"{', '.join(f'{p:+.1f}%' for p in r['round_overheads_pct'])} | "
            f"{', '.join(_fmt(x) for x in r['round_on'])} | "
            f"{', '.join(_fmt(x) for x in r['round_off'])} | "
            f"{on['call_p50_ms']:.2f} / {on['call_p99_ms']:.2f} | "
            f"{off['call_p50_ms']:.2f} / {off['call_p99_ms']:.2f} | {ok} |"
        )
    if results["bare"]:
        lines += [
            "",
            "Bare eventsourcing single-event saves, same run (context):",
            "",
            "| baseline | saves | saves/s | rounds | call p50 / p99 ms |",
            "|---|---|---|---|---|",
        ]
        for r in results["bare"]:
            lines.append(
                f"| bare eventsourcing, {r['label']} | {r['events']:,} | "
                f"**{_fmt(r['events_per_s'])}** | {', '.join(_fmt(x) for x in r['rounds'])} | "
                f"{r['call_p50_ms']:.2f} / {r['call_p99_ms']:.2f} |"
            )
    encode = results.get("encode")
    if encode:
        extra = encode["jcs_us_per_event"] - encode["plain_us_per_event"]
        lines += ["", "### Stored-state encoding (diagnostic)", "", ENCODE_METHOD, ""]
        lines += [
            "| encoder | us/event | bytes/event |",
            "|---|---|---|",
            f"| `encode_event_state` (JCS, now) | {encode['jcs_us_per_event']:.1f} | "
            f"{encode['jcs_bytes_per_event']:.0f} |",
            f"| `orjson.dumps` (before migration 3) | {encode['plain_us_per_event']:.1f} | "
            f"{encode['plain_bytes_per_event']:.0f} |",
            "",
        ]
        shares = [
            f"{r['label']} {100 * extra * 1e-6 * r['off']['events_per_s']:.1f}%"
            for r in results["appends"]
        ]
        lines.append(
            f"The JCS encoding adds {extra:.1f} us per event; as a share of the OFF time per "
            f"event: {', '.join(shares)}."
        )
    if results["trigger"]:
        lines += ["", "### Seal trigger, server side (diagnostic)", "", TRIGGER_METHOD, ""]
        lines += [
            "| workload | events | function | calls | total ms | self ms | us/call |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in results["trigger"]:
            for f in t["functions"]:
                per = 1e3 * f["total_ms"] / f["calls"] if f["calls"] else 0.0
                lines.append(
                    f"| {t['label']} | {t['events']:,} | `{f['function']}` | {f['calls']:,} | "
                    f"{f['total_ms']:,.1f} | {f['self_ms']:,.1f} | {per:.1f} |"
                )
    return lines


def _prep_rows(name: str, where: Payload) -> list[str]:
    if not where or "counts" not in where:
        return []
    c = where["counts"]
    cp = where.get("checkpoint")
    migration = (
        "already applied (store built with it)"
        if where.get("built_with_migration_3")
        else (
            f"{where['migration_s']:.1f} s ({_fmt(where['migration_events_per_s'])} events/s)"
            if where.get("migration_s")
            else "-"
        )
    )
    if where.get("reused_scratch"):
        migration = "not re-measured (--keep-scratch)"
    vacuum = " + ".join(
        f"{where[k]:.1f} s"
        for k in ("vacuum_before_checkpoint_s", "vacuum_after_checkpoint_s")
        if where.get(k) is not None
    )
    checkpoint = (
        f"**{cp['seconds']:.1f} s** ({_fmt(cp['leaves_per_s'])} leaves/s, peak RSS "
        f"{_fmt(cp['vm_hwm_mb'])} MB)"
        if cp
        else "-"
    )
    return [
        f"| {name} | {c['events']:,} | {where.get('copy_s', 0):.1f} s | {migration} | "
        f"{vacuum or '-'} | {checkpoint} | {c['leaves']:,} | {c['nodes']:,} |"
    ]


def _verify_section(results: Payload) -> list[str]:
    pg, lite = results.get("postgres") or {}, results.get("sqlite") or {}
    lines = ["## 2. Verify throughput", "", VERIFY_METHOD, ""]
    lines += _store_rows(results)
    lines += [
        "",
        "| store | events | copy | migration 3 (seal existing events) | VACUUM ANALYZE "
        "| first checkpoint | leaf rows | Merkle nodes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += _prep_rows("PostgreSQL", pg) + _prep_rows("SQLite", lite)
    lines += [
        "",
        "| store | events | verify s | events/s | ok | verified tree size | peak RSS MB | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, where in (("PostgreSQL", pg), ("SQLite", lite)):
        v = where.get("verify")
        if v is None:
            continue
        verdict = (
            ("OK" if v["events_per_s"] >= TARGET_VERIFY else "**MISSED**")
            if name == "PostgreSQL"
            else "-"
        )
        lines.append(
            f"| {name} | {v['events']:,} | {v['seconds']:.1f} | **{_fmt(v['events_per_s'])}** "
            f"| {v['ok']} | {v['verified_size']:,} | {_fmt(v['vm_hwm_mb'])} | {verdict} |"
        )
    reads = [(n, w["reads"]) for n, w in (("PostgreSQL", pg), ("SQLite", lite)) if "reads" in w]
    if reads:
        lines += ["", "### Read ceilings (same stores, no hashing)", "", READ_METHOD, ""]
        lines += [
            "| store | events alone rows/s | verify's statement rows/s (first page s) "
            "| store.scan() rows/s (first page s) | walk alone rows/s (us/row) "
            "| leaf hash alone rows/s (us/row) |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in reads:
            lines.append(
                f"| {name} | {_fmt(r['events_only']['rows_per_s'])} | "
                f"{_fmt(r['scan_statement']['rows_per_s'])} "
                f"({r['scan_statement']['first_page_s']:.1f}) | "
                f"{_fmt(r['store_scan']['rows_per_s'])} ({r['store_scan']['first_page_s']:.1f})"
                f" | {_fmt(r['walk']['rows_per_s'])} ({r['walk']['us_per_row']:.1f}) | "
                f"{_fmt(r['leaf_hash_only']['rows_per_s'])} "
                f"({r['leaf_hash_only']['us_per_row']:.1f}) |"
            )
        for name, r in reads:
            settings = ", ".join(f"{k} = {v}" for k, v in r["plan_settings"].items())
            lines += [
                "",
                f"{name}: verify's statements and their plans"
                f"{f' ({settings})' if settings else ''}:",
                "",
                "```",
            ]
            for statement, plan in zip(r["statements"], r["plans"], strict=True):
                lines += [statement, "", plan, ""]
            lines[-1] = "```"
    return lines


def _proofs_section(results: Payload) -> list[str]:
    rows = [
        (name, where["proofs"])
        for name, where in (
            ("PostgreSQL", results.get("postgres") or {}),
            ("SQLite", results.get("sqlite") or {}),
        )
        if where.get("proofs")
    ]
    if not rows:
        return []
    lines = ["## 3. Proof latency", "", PROOF_METHOD, ""]
    lines += [
        "| store | leaves | call | calls (warm-up) | p50 ms | p99 ms | max ms | mean ms "
        "| hashes/proof | peak RSS MB | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in rows:
        for kind, r in p["kinds"].items():
            if kind == "root":
                verdict = "-"
            elif name == "PostgreSQL":
                verdict = "OK" if r["p99_ms"] <= TARGET_PROOF_P99_MS else "**MISSED**"
            else:
                verdict = "-"
            hashes = f"{r['mean_hashes']:.1f}" if "mean_hashes" in r else "-"
            lines.append(
                f"| {name} | {p['tree_size']:,} | `{kind}` | {r['calls']:,} ({p['warmup']}) | "
                f"{r['p50_ms']:.2f} | **{r['p99_ms']:.2f}** | {r['max_ms']:.1f} | "
                f"{r['mean_ms']:.2f} | {hashes} | {_fmt(p['vm_hwm_mb'])} | {verdict} |"
            )
    lines.append("")
    lines += [
        f"- {name}: {p['checked']} warm-up proof pairs checked, {p['invalid']} did not verify."
        for name, p in rows
    ]
    lines.append("")
    return lines


def markdown(data: Payload) -> str:
    info, results = data["machine"], data["results"]
    lines = ["# Tamper-evidence benchmark: append overhead, verify, proofs", ""]
    lines += [f"- {k}: `{v}`" for k, v in info.items()]
    lines += ["", "## Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {_verdict(t)} |" for t in data["targets"]]
    if data["failures"]:
        lines += ["", "## Failures", ""] + [f"- `{f}`" for f in data["failures"]]
    lines += [""]
    if results["appends"] or results["bare"]:
        lines += [*_appends_section(results), ""]
    if results.get("postgres") or results.get("sqlite"):
        lines += [*_verify_section(results), ""]
    lines += _proofs_section(results)
    if results["profiles"]:
        lines += ["## Profiles", ""]
        lines += [
            f"cProfile of each part whose target was missed (top {PROFILE_TOP} by cumulative "
            f"time, then top {PROFILE_TOP} by own time).",
            "",
        ]
        for p in results["profiles"]:
            lines += [
                f"### {p['title']}",
                "",
                p["note"],
                "",
                "<details><summary>profile</summary>",
                "",
                "```",
                p["text"].strip("\n"),
                "```",
                "",
                "</details>",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path, data: Payload) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "integrity.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    text = markdown(data)
    (out / "integrity.md").write_text(text)
    return text


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    started = time.monotonic()
    sources_before = sources_digest()
    load_before = load_average()
    parts: frozenset[str] = args.only or frozenset(PARTS)
    with tempfile.TemporaryDirectory(prefix="bench-integrity-") as scratch:
        run = Run(args, Path(scratch))
        run.measure(parts)

    command = shlex.join(["python", "-m", "bench.integrity", *argv])
    info = describe(run.base_url, command)
    with psycopg.connect(run.base_url, autocommit=True) as conn:
        found = conn.execute("SHOW autovacuum").fetchone()
        work_mem = conn.execute("SHOW work_mem").fetchone()
    info["postgres_autovacuum"] = str(found[0]) if found else "?"
    info["postgres_work_mem"] = str(work_mem[0]) if work_mem else "?"
    info["uncommitted (ledger/)"] = _uncommitted()
    measured = ", ".join(MEASURED)
    info[f"sources_sha256 ({measured})"] = sources_before
    sources_after = sources_digest()
    if sources_after != sources_before:
        run.failures.append(
            f"the measured code changed during the run ({sources_before} -> {sources_after}): "
            "measurements may mix code versions"
        )
    info["wall_seconds"] = f"{time.monotonic() - started:.0f}"
    info["load_average_before"] = load_before
    info["load_average_after"] = load_average()
    if args.only is not None:
        info["parts"] = ",".join(p for p in PARTS if p in parts)
    data: Payload = {
        "machine": info,
        "sizes": {
            "postgres_events": run.big,
            "sqlite_events": run.lite_n,
            "repeat": run.repeat,
            "proof_calls": run.proof_calls,
            "workloads": [w.__dict__ | {"label": w.label} for w in workloads(run.quick)],
        },
        "targets": targets(run.results, run.big),
        "results": run.results,
        "failures": run.failures,
        "method": {
            "appends": APPEND_METHOD,
            "trigger": TRIGGER_METHOD,
            "encode": ENCODE_METHOD,
            "verify": VERIFY_METHOD,
            "reads": READ_METHOD,
            "proofs": PROOF_METHOD,
        },
    }
    default = OUT_DIR if args.only is None and not args.quick else None
    out = args.out or default or Path(tempfile.gettempdir()) / "bench_integrity"
    text = write(out, data)
    print()
    print(text)
    print(f"(written to {out})")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
