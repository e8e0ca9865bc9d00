"""python -m bench.projections [--events N] [--quick] [--postgres-url URL]

The projection benchmark, in one run:

1. rebuild throughput of our ``Runner`` (every view from zero) on PostgreSQL and SQLite over
   a store of N events, beside the eventsourcing library's per-event ``ProjectionRunner``
   (bounded time) and the raw driver's read rate of the same events table (the ceiling);
2. a quarterly SLA report (``build_sla_report``, as ``sop-ledger report sla`` builds it) on
   a big store (5N events: 1,000,000 by default): wall seconds and peak RSS;
3. query latency (p50/p99) of the read API over all views rebuilt from that big store.

Results go to ``bench/projections.md`` and ``bench/projections.json``; a cProfile of our
runner's rebuild on PostgreSQL goes to ``bench/projections_profile.txt`` when a throughput
target is missed (``--profile always|never|auto``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg

from bench import bigstore
from bench.machine import describe
from bench.projtasks import TASKS, Payload
from bench.steps import Steps, parts_of
from bench.stores import ENV_URL, postgres_base_url
from ledger.core.events import LedgerEvent

OUT_DIR = Path(__file__).resolve().parent
TARGET_REBUILD_PG = 20_000.0  # events/s, our runner on PostgreSQL
TARGET_RATIO = 25.0  # ours / the library's per-event runner
TARGET_REPORT_S = 60.0  # quarterly SLA report at 1,000,000 events
TARGET_P99_MS = 20.0
PROFILE_TOP = 25


PARTS = (
    "reads",
    "rebuild",
    "rebuild-postgres",  # only the headline row: PostgreSQL log -> PostgreSQL views, N
    "library",
    "queries",
    "queries-postgres",
    "queries-sqlite",
    "report",
    "profile",
)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.projections", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (N=20,000), ~5 min")
    parser.add_argument("--events", type=int, help="rebuild store size N (default 200,000)")
    parser.add_argument(
        "--big-events", type=int, help="report/query store size (default 5N: 1,000,000)"
    )
    parser.add_argument("--postgres-url", help=f"server to create databases on (or ${ENV_URL})")
    parser.add_argument("--rebuild-store", action="store_true", help="regenerate cached stores")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench_proj",
        help="where generated SQLite stores are kept between runs",
    )
    parser.add_argument("--page-size", type=int, default=5_000, help="runner page size")
    parser.add_argument("--library-seconds", type=float, help="library runner budget (20 s)")
    parser.add_argument("--query-calls", type=int, help="calls per query (default 2,000)")
    parser.add_argument("--period", default="2024-Q3", help="quarter of the SLA report")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile our PostgreSQL rebuild when a throughput target is missed (auto)",
    )
    parser.add_argument(
        "--only",
        type=parts_of(PARTS),
        help="run only these comma-separated parts: " + ", ".join(PARTS) + " (default: all); "
        "a partial run writes to <cache-dir>/partial unless --out is given",
    )
    parser.add_argument(
        "--out", type=Path, help="where projections.* go (default bench/, or see --only)"
    )
    return parser.parse_args(argv)


# --- child processes -------------------------------------------------------------------


def run_child(task: str, payload: Payload) -> Payload:
    """``task(payload)`` in a fresh interpreter; adds its peak RSS (``ru_maxrss``) and wall."""
    with tempfile.TemporaryDirectory(prefix="bench-proj-child-") as directory:
        result_file = Path(directory) / "result.json"
        command = [
            sys.executable,
            "-m",
            "bench.projections",
            "--child",
            task,
            json.dumps(payload),
            str(result_file),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=OUT_DIR.parent)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"child {task} exited with {process.returncode}")
        result: Payload = json.loads(result_file.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["process_wall_s"] = wall
    return result


def _child_main(argv: list[str]) -> int:
    task, payload, result_file = argv
    result = TASKS[task](json.loads(payload))
    Path(result_file).write_text(json.dumps(result, default=str))
    return 0


# --- the run ---------------------------------------------------------------------------


class Run(Steps):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.quick: bool = args.quick
        self.n: int = args.events or (20_000 if args.quick else 200_000)
        self.big: int = args.big_events or 5 * self.n
        self.base_url = postgres_base_url(args.postgres_url)
        self.page_size: int = args.page_size
        self._stores: dict[str, bigstore.StoreInfo] = {}
        self.results: dict[str, Any] = {
            "rebuild": [],
            "library": None,
            "reads": [],
            "reports": [],
            "queries": [],
        }

    @staticmethod
    @cache
    def template() -> list[LedgerEvent]:
        return bigstore.template_events()

    # -- stores --

    def _store(self, key: str) -> bigstore.StoreInfo:
        """A cached store, generated the first time a part needs it."""
        if key in self._stores:
            return self._stores[key]

        def progress(written: int, total: int) -> None:
            if written % 100_000 < bigstore.BATCH or written == total:
                self.say(f"  {written:,}/{total:,} events")

        rebuild = self.args.rebuild_store
        self.say(f"- store {key} ...")
        if key == "rebuild_sqlite":
            info = bigstore.sqlite_store(
                self.args.cache_dir, self.n, self.template, rebuild=rebuild, progress=progress
            )
        else:
            size = self.big if key == "big_postgres" else self.n
            info = bigstore.postgres_store(
                self.base_url, size, self.template, rebuild=rebuild, progress=progress
            )
        self._stores[key] = info
        self.results.setdefault("stores", {})[key] = info.as_json()
        how = "reused" if info.build_seconds is None else f"built in {info.build_seconds:.0f} s"
        self.say(f"  {info.backend} {info.events:,} events, {info.cases:,} cases ({how})")
        return info

    @property
    def pg_n(self) -> bigstore.StoreInfo:
        return self._store("rebuild_postgres")

    @property
    def lite_n(self) -> bigstore.StoreInfo:
        return self._store("rebuild_sqlite")

    @property
    def pg_big(self) -> bigstore.StoreInfo:
        return self._store("big_postgres")

    # -- helpers --

    @staticmethod
    def _ledger(info: bigstore.StoreInfo) -> Payload:
        settings = info.settings
        if settings.database_url:
            return {"database_url": settings.database_url}
        return {"data_dir": str(settings.data_dir)}

    @contextmanager
    def views(self, backend: str, tag: str) -> Iterator[str]:
        """A fresh, empty view store target; removed afterwards."""
        if backend == "postgres":
            name = f"bench_proj_views_{tag}"
            url = bigstore.create_database(self.base_url, name)
            try:
                yield url
            finally:
                bigstore.drop_database(self.base_url, name)
            return
        directory = Path(tempfile.mkdtemp(prefix=f"bench-proj-views-{tag}-"))
        try:
            yield str(directory / "views.sqlite")
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def rebuild(
        self, info: bigstore.StoreInfo, views_backend: str, target: str, gc: str = "default"
    ) -> Payload:
        payload = self._ledger(info) | {
            "views": target,
            "page_size": self.page_size,
            "table_set": "all",
            "gc": gc,
        }
        result = run_child("rebuild", payload)
        result |= {
            "log": info.backend,
            "views": views_backend,
            "store_events": info.events,
            "page_size": self.page_size,
            "table_set": "all",
            "gc": gc,
        }
        self.results["rebuild"].append(result)
        self.say(
            f"  {info.backend}->{views_backend} {result['events']:,} events "
            f"{result['seconds']:.1f} s = {result['events_per_s']:,.0f} ev/s "
            f"(cpu {result['cpu_s']:.1f} s, phases {result['phases_s']}) "
            f"rss {result['peak_rss_mb']:.0f} MB"
        )
        return result

    # -- measurements --

    def reads(self) -> None:
        for info in (self.pg_n, self.lite_n):
            with self.step(f"read ceiling {info.backend} {info.events:,}"):
                result = run_child("read", self._ledger(info) | {"page_size": self.page_size})
                result["store"] = info.backend
                self.results["reads"].append(result)
                self.say(
                    f"  raw {result['raw_per_s']:,.0f} rows/s, paged "
                    f"{result['paged_per_s']:,.0f} rows/s, decode "
                    f"{result['decode_us_per_event']:.1f} us/event"
                )

    def rebuilds(self, *, headline_only: bool = False) -> None:
        runs = [("rebuild_postgres", "postgres")]
        if not headline_only:
            runs += [("rebuild_sqlite", "sqlite"), ("rebuild_postgres", "sqlite")]
        for key, views_backend in runs:
            info = self._store(key)
            label = f"rebuild {info.backend} log -> {views_backend} views, {info.events:,}"
            with self.step(label), self.views(views_backend, "n") as target:
                self.rebuild(info, views_backend, target)
        if headline_only:
            return
        label = f"rebuild postgres -> postgres, {self.n:,}, gc.disable() (diagnostic)"
        with self.step(label), self.views("postgres", "n") as target:
            self.rebuild(self.pg_n, "postgres", target, gc="off")

    def library(self) -> None:
        budget = self.args.library_seconds or (5.0 if self.quick else 20.0)
        with self.step(f"library ProjectionRunner, {budget:.0f} s budget"):
            with self.views("postgres", "lib") as target:
                payload = self._ledger(self.pg_n) | {
                    "views": target,
                    "head": self.pg_n.events,
                    "budget_s": budget,
                }
                result = run_child("library", payload)
            result["budget_s"] = budget
            self.results["library"] = result
            self.say(
                f"  {result['events']:,} events in {result['seconds']:.1f} s = "
                f"{result['events_per_s']:,.0f} ev/s"
            )

    def report(self, info: bigstore.StoreInfo) -> None:
        with self.step(f"SLA report {self.args.period} on {info.events:,} events"):
            result = run_child("report", self._ledger(info) | {"period": self.args.period})
            result["store_events"] = info.events
            self.results["reports"].append(result)
            self.say(
                f"  {result['seconds']:.1f} s, {result['executions']:,} executions, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB"
            )

    def big_views(self, backends: tuple[str, ...] = ("postgres", "sqlite")) -> None:
        calls = self.args.query_calls or (200 if self.quick else 2_000)
        for backend in backends:
            label = f"big rebuild {self.pg_big.events:,} -> {backend} views + queries"
            with self.step(label), self.views(backend, "big") as target:
                self.rebuild(self.pg_big, backend, target)
                self.queries(target, backend, calls, "as the rebuild left them")
                if backend == "postgres":
                    started = time.perf_counter()
                    with psycopg.connect(target, autocommit=True) as conn:
                        conn.execute("VACUUM ANALYZE")
                    vacuum = f"after VACUUM ANALYZE ({time.perf_counter() - started:.0f} s)"
                    self.queries(target, backend, calls, vacuum)

    def queries(self, target: str, backend: str, calls: int, state: str) -> None:
        result = run_child(
            "queries", {"views": target, "calls": calls, "warmup": max(10, calls // 50)}
        )
        result |= {"views": backend, "state": state, "store_events": self.pg_big.events}
        self.results["queries"].append(result)
        self.say(f"  {backend} views, {state}:")
        for q in result["queries"]:
            self.say(f"  {q['query']:42} p50 {q['p50_ms']:7.2f} ms p99 {q['p99_ms']:7.2f} ms")

    def measure(self, parts: frozenset[str]) -> None:
        """The chosen parts, in the order of the results file."""
        if "reads" in parts:
            self.reads()
        if "rebuild" in parts or "rebuild-postgres" in parts:
            self.rebuilds(headline_only="rebuild" not in parts)
        if "library" in parts:
            self.library()
        backends = tuple(b for b in ("postgres", "sqlite") if {"queries", f"queries-{b}"} & parts)
        if backends:
            self.big_views(backends)
        if "report" in parts:
            self.report(self.pg_big)
            self.report(self.pg_n)

    def profile(self) -> str | None:
        mode = self.args.profile
        ours = self.ours_postgres()
        library = self.results["library"]
        missed = ours is None or ours["events_per_s"] < TARGET_REBUILD_PG
        if ours is not None and library is not None and library["events_per_s"]:
            missed = missed or ours["events_per_s"] / library["events_per_s"] < TARGET_RATIO
        if mode == "never" or (mode == "auto" and not missed):
            return None
        with (
            self.step("cProfile of our rebuild on PostgreSQL"),
            self.views("postgres", "prof") as t,
        ):
            payload = self._ledger(self.pg_n) | {
                "views": t,
                "page_size": self.page_size,
                "top": PROFILE_TOP,
            }
            result = run_child("profile", payload)
            return (
                f"cProfile of our Runner: prepare() + catch_up() of all views from zero, "
                f"PostgreSQL log ({self.pg_n.events:,} events) -> fresh PostgreSQL view "
                f"store, page size {self.page_size}; {result['events']:,} events in "
                f"{result['seconds']:.1f} s under the profiler.\n"
                f"Top {PROFILE_TOP} by cumulative time, then top {PROFILE_TOP} by own time.\n"
                + str(result["text"])
            )
        return None

    def ours_postgres(self) -> Payload | None:
        for r in self.results["rebuild"]:
            if _is_headline(r, self.n):
                return dict(r)
        return None


def sources_digest() -> str:
    """SHA-256 (12 hex) of the measured code: every .py file under ledger/ and projections/
    (other engineers edit them in parallel: a change during the run is flagged)."""
    root = OUT_DIR.parent
    digest = hashlib.sha256()
    for path in sorted(p for d in ("ledger", "projections") for p in (root / d).rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# --- results files ---------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _is_headline(result: dict[str, Any], n: int) -> bool:
    """Our PostgreSQL -> PostgreSQL rebuild of the N store, as the product runs it."""
    return (
        result["log"] == result["views"] == "postgres"
        and result["store_events"] == n
        and result.get("gc") != "off"
    )


def targets(results: dict[str, Any], n: int, big: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ours = next(
        (r for r in results["rebuild"] if _is_headline(r, n)),
        None,
    )
    library = results["library"]
    if ours is not None:
        rate = ours["events_per_s"]
        out.append(
            {
                "target": f"our rebuild on PostgreSQL >= {_fmt(TARGET_REBUILD_PG)} events/s",
                "measured": f"{_fmt(rate)} events/s",
                "ok": rate >= TARGET_REBUILD_PG,
                "miss": f"{TARGET_REBUILD_PG / rate:.1f}x too slow" if rate else "-",
            }
        )
        if library is not None and library["events_per_s"]:
            ratio = rate / library["events_per_s"]
            out.append(
                {
                    "target": f"ours / library per-event runner >= {TARGET_RATIO:.0f}x",
                    "measured": f"{ratio:.1f}x",
                    "ok": ratio >= TARGET_RATIO,
                    "miss": f"{TARGET_RATIO / ratio:.1f}x short",
                }
            )
    report = next((r for r in results["reports"] if r["store_events"] == big), None)
    if report is not None:
        out.append(
            {
                "target": f"SLA report, {big:,} events <= {TARGET_REPORT_S:.0f} s",
                "measured": f"{report['seconds']:.1f} s",
                "ok": report["seconds"] <= TARGET_REPORT_S,
                "miss": f"{report['seconds'] / TARGET_REPORT_S:.1f}x too slow",
            }
        )
        smaller = [r for r in results["reports"] if r["store_events"] < big]
        growth = (
            f" ({_fmt(smaller[0]['peak_rss_mb'])} MB at {smaller[0]['store_events']:,} events)"
            if smaller
            else ""
        )
        out.append(
            {
                "target": "SLA report memory bounded (figure reported)",
                "measured": f"peak RSS {_fmt(report['peak_rss_mb'])} MB{growth}",
                "ok": None,
                "miss": "",
            }
        )
    for run in results["queries"]:
        worst = max(run["queries"], key=lambda q: q["p99_ms"])
        out.append(
            {
                "target": f"query p99 <= {TARGET_P99_MS:.0f} ms ({run['views']} views "
                f"{run['state']}, {run['store_events']:,} events)",
                "measured": f"worst p99 {worst['p99_ms']:.1f} ms ({worst['query']})",
                "ok": worst["p99_ms"] <= TARGET_P99_MS,
                "miss": f"{worst['p99_ms'] / TARGET_P99_MS:.1f}x over",
            }
        )
    return out


def _verdict(target: dict[str, Any]) -> str:
    if target["ok"] is None:
        return "reported"
    return "**OK**" if target["ok"] else f"**MISSED** ({target['miss']})"


STORE_METHOD = (
    "One demo year (`generate_year(..., 2024, seed=7)`: 12 cases, 226 case events, with "
    "returns, parallel branches and back-dated paper records) is generated through the real "
    "ledger on a scratch SQLite store; its case events are then appended as clones with "
    f"`ledger.store.append` in batches of {bigstore.BATCH:,} into a store that went through "
    "`upgrade_schema`, `publish_seeds` and `install_directory`. Each clone gets fresh case "
    "and event UUIDs (correlation/causation/hand-over references remapped within the clone), "
    f"all datetimes shifted by whole {bigstore.YEAR_DAYS}-day years (weekdays kept) and the "
    "period moved to that year (`2024-Q3` -> `2031-Q3`, also in document numbers); units, "
    "people, SOP versions and document hashes are kept. Clones are spread over "
    f"{bigstore.YEARS} years from {bigstore.FIRST_YEAR}; the clones of a year are interleaved "
    "in `recorded_at` order (concurrent activity), and the last year is cut about half-way "
    "(its cases are still open, as in a live ledger). Stores are cached between runs "
    "(PostgreSQL database `bench_proj_<size>`, SQLite file in the cache directory) and "
    "reused while their fingerprint and event count match."
)

REBUILD_METHOD = (
    "**Ours**: `ledger.bootstrap.build_runner(settings, ledger, store=<fresh view store>, "
    "calendar=<default calendar>, table_set=ALL, page_size=P)`, then `prepare()` + "
    "`catch_up()` timed, in a fresh process (calendar loading and imports excluded). "
    "Each page of P events is read from the notification log, folded, and written with the "
    "tracking position in one transaction (binary COPY on PostgreSQL); in a bulk catch-up "
    "like this one, page N is committed on the runner's writer thread while page N + 1 is "
    "read and folded. The timed catch-up includes the runner's own "
    "ANALYZE of the new tables at its end (and its `gc.freeze()` after each page). "
    "`CPU s` is the runner process's own CPU time (`time.process_time()`) over the timed "
    "catch-up: the wall time it exceeds is waiting on the database. Phase "
    "columns are wall seconds inside "
    "`LogSource.read` (select + decode), `CaseViews.apply` (fold, per event), "
    "`CaseViews.flush` (views -> rows) and `ViewStore.commit` (delete + COPY/insert + "
    "tracking; on the writer thread, so it overlaps the others), measured by wrapping those "
    "methods; `(gc s)` is the time Python's cyclic "
    "garbage collector ran (via `gc.callbacks`), already included in those phases. "
    "**Library**: `eventsourcing.projection.ProjectionRunner(application_class=LedgerStore, "
    "projection_class=StatusProjection, view_class=StatusRecorder)` (`bench/libproj.py`): "
    "the library's subscription reads the log in pages of 500 and calls `process_event` "
    "once per event; each call upserts one status row per case and its tracking record in "
    "one transaction (a much smaller job than ours: one table instead of nine, no fold). "
    "It runs from position 0 over the same PostgreSQL store, view in a fresh database, for "
    "a bounded time or until caught up; events/s = tracking position reached / elapsed "
    "(start-up included)."
)

READ_METHOD = (
    "**raw driver**: one `SELECT notification_id, originator_id, originator_version, topic, "
    "state ... ORDER BY notification_id` over the whole events table (psycopg named "
    "server-side cursor fetching P rows at a time; sqlite3 `fetchmany(5000)`), rows not "
    "decoded. **recorder pages**: the library recorder's `select_notifications(start, P)` "
    "page after page (what `LogSource.read` calls). **decode**: our `decode_event` on the "
    "first 50,000 rows (JSON -> frozen event), per event."
)

REPORT_METHOD = (
    "As `sop-ledger report sla --period Q` builds it (`ledger/cli/report.py`): default "
    "calendar loaded once, `build_runner(..., table_set=(tables.SLA,), as_of=None)` runners, "
    "`build_sla_report(make_runner, Q)` timed; it replays into a throw-away SQLite store "
    "every case with an event recorded since the quarter began (all of each such case's "
    "events, in log order; found through the indexed `recorded_at` column, the rest of the "
    "log is not read) and summarises the quarter (phases as in section 1, wrapped on the runner "
    "`make_runner` returns). Each report runs in a fresh child process; "
    "peak RSS is that child's `ru_maxrss` from `os.wait4` (the child's own `VmHWM` agrees). "
    "The same report on the smaller store shows whether memory grows with the log."
)

QUERY_METHOD = (
    "All views of the big store rebuilt from zero (row above) into a fresh PostgreSQL "
    "database and a fresh SQLite file; then, in a fresh process, the five `projections."
    "queries` calls are made in turn (interleaved), each with parameters drawn at random "
    "from the data (seed 11): `cases(store, now=, unit=U, period=P)` (first page of 50), "
    "`cases(store, now=, overdue=True)` (first page of 50), `case(store, id, now=)`, "
    "`sla_executions(store, case_id=)`, `sla_summary(store, quarter, sop_id=S, unit=U)`. "
    "`now` is one hour after the last act in the views or after the latest due date of an "
    "open step, whichever is later (every open step is overdue: the overdue board is full). "
    "Latency is wall time of the Python call (query + row conversion), after a warm-up; "
    "the SQL statements a call makes (`ViewStore.query` calls) and the rows they fetch are "
    "counted beside; "
    "percentiles are nearest-rank. PostgreSQL views are queried twice: as the rebuild left "
    "them (the rebuild's delete + re-insert per page leaves dead rows; the runner ANALYZEs "
    "the generation's tables at the end of a bulk catch-up; this server runs with "
    "`autovacuum` as shown above), then after a `VACUUM ANALYZE` of the view database (the "
    "state autovacuum would reach)."
)


def _runner_name(result: dict[str, Any]) -> str:
    if result.get("gc") == "off":
        return "ours, `gc.disable()` (diagnostic only)"
    return "ours"


def _phases(seconds: dict[str, float]) -> str:
    names = ("read", "fold", "rows", "write", "gc")
    return " | ".join(f"{seconds.get(name, 0.0):.1f}" for name in names)


def markdown(data: dict[str, Any]) -> str:
    info, results = data["machine"], data["results"]
    big = data["sizes"]["big_events"]
    lines = ["# Projection benchmark: rebuild, SLA report and queries at scale", ""]
    lines += [f"- {k}: `{v}`" for k, v in info.items()]
    lines += ["", "## Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {_verdict(t)} |" for t in data["targets"]]
    if data["failures"]:
        lines += ["", "## Failures", ""] + [f"- `{f}`" for f in data["failures"]]

    lines += ["", "## Stores", "", STORE_METHOD, ""]
    lines += [
        "| store | backend | events | case events | cases | clones/year | years "
        "| last recorded_at | generated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results.get("stores", {}).items():
        made = "reused (cache)" if s["reused_from_cache"] else f"{s['build_seconds']} s"
        lines.append(
            f"| {name} | {s['backend']} | {s['events']:,} | {s['case_events']:,} | "
            f"{s['cases']:,} | {s['clones_per_year']} | {s['years']} | "
            f"{s['last_recorded_at']} | {made} |"
        )

    lines += ["", "## 1. Rebuild throughput", "", REBUILD_METHOD, ""]
    lines += [
        "| runner | log | views | tables | events | page | s | events/s | CPU s | read s "
        "| fold s | rows s | write s | (gc s) | gc gen2 runs | refolds | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rebuild"]:
        lines.append(
            f"| {_runner_name(r)} | {r['log']} | {r['views']} | {r['table_set']} | "
            f"{r['events']:,} | "
            f"{r['page_size']:,} | {r['seconds']:.1f} | **{_fmt(r['events_per_s'])}** | "
            f"{r['cpu_s']:.1f} | {_phases(r['phases_s'])} | {r['gc_collections'][2]} | "
            f"{r['refolds']} | "
            f"{_fmt(r['peak_rss_mb'])} |"
        )
    lib = results["library"]
    if lib is not None:
        state = "caught up" if lib["caught_up"] else f"stopped after {lib['budget_s']:.0f} s"
        lines.append(
            f"| library ProjectionRunner ({state}) | postgres | postgres | 1 status table | "
            f"{lib['events']:,} | 500 | {lib['seconds']:.1f} | **{_fmt(lib['events_per_s'])}**"
            f" | - | - | - | - | - | - | - | - | {_fmt(lib['peak_rss_mb'])} |"
        )
    for t in data["targets"]:
        if "library" in t["target"]:
            lines += ["", f"Ours / library on PostgreSQL: **{t['measured']}**."]
    lines += ["", "### Read ceiling (same events tables)", "", READ_METHOD, ""]
    lines += [
        "| store | events | state B/event | raw driver rows/s | recorder pages rows/s "
        "| decode us/event | decode events/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["reads"]:
        lines.append(
            f"| {r['store']} | {r['events']:,} | {_fmt(r['state_bytes_per_event'])} | "
            f"{_fmt(r['raw_per_s'])} | {_fmt(r['paged_per_s'])} | "
            f"{r['decode_us_per_event']:.1f} | {_fmt(r['decode_per_s'])} |"
        )

    lines += ["", f"## 2. Quarterly SLA report ({data['sizes']['period']})", ""]
    lines += [REPORT_METHOD, ""]
    lines += [
        "| store events | build_sla_report s | read s | fold s | rows s | write s | (gc s) "
        "| setup s (calendar, ledger) | process wall s | executions | groups | log position "
        "| peak RSS MB (wait4) | VmHWM MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["reports"]:
        lines.append(
            f"| {r['store_events']:,} | **{r['seconds']:.1f}** | {_phases(r['phases_s'])} | "
            f"{r['setup_seconds']:.1f} | {r['process_wall_s']:.1f} | {r['executions']:,} | "
            f"{r['groups']} | {r['log_position']:,} | **{_fmt(r['peak_rss_mb'])}** | "
            f"{_fmt(r['vm_hwm_mb'])} |"
        )

    lines += ["", f"## 3. Query latency ({big:,} events)", "", QUERY_METHOD, ""]
    for run in results["queries"]:
        d = run["data"]
        lines += [
            f"**{run['views']}** views, {run['state']}: {d['cases']:,} cases, "
            f"{d['open_steps']:,} open steps, "
            f"{d['unit_periods']:,} unit/period pairs, {d['sla_keys']:,} quarter/SOP/unit "
            f"keys; now = `{run['now']}`; peak RSS {_fmt(run['peak_rss_mb'])} MB.",
            "",
            "| query | calls | p50 ms | p99 ms | max ms | mean ms | result rows "
            "| SQL statements/call | rows fetched/call | p99 target |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for q in run["queries"]:
            ok = "OK" if q["p99_ms"] <= TARGET_P99_MS else "**MISSED**"
            lines.append(
                f"| `{q['query']}` | {q['calls']:,} | {q['p50_ms']:.2f} | "
                f"**{q['p99_ms']:.2f}** | {q['max_ms']:.1f} | {q['mean_ms']:.2f} | "
                f"{q['mean_rows']:.1f} | {q['sql_statements_per_call']:.1f} | "
                f"{_fmt(q['sql_rows_per_call'])} | {ok} |"
            )
        lines.append("")
    if data.get("profile_file"):
        lines += [
            "## Profile",
            "",
            f"cProfile of our PostgreSQL rebuild (top {PROFILE_TOP}): "
            f"[`{data['profile_file']}`]({data['profile_file']}).",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path, data: dict[str, Any], profile: str | None) -> str:
    out.mkdir(parents=True, exist_ok=True)
    if profile is not None:
        (out / "projections_profile.txt").write_text(profile)
        data["profile_file"] = "projections_profile.txt"
    (out / "projections.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    text = markdown(data)
    (out / "projections.md").write_text(text)
    return text


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    args = _arguments(argv)
    run = Run(args)
    started = time.monotonic()
    sources_before = sources_digest()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    parts: frozenset[str] = args.only or frozenset(PARTS)
    run.measure(parts)
    profile = run.profile() if args.only is None or "profile" in parts else None

    command = shlex.join(["python", "-m", "bench.projections", *argv])
    info = describe(run.base_url, command)
    with psycopg.connect(run.base_url, autocommit=True) as conn:
        found = conn.execute("SHOW autovacuum").fetchone()
    info["postgres_autovacuum"] = str(found[0]) if found else "?"
    sources_after = sources_digest()
    info["sources_sha256 (ledger/, projections/)"] = sources_before
    if sources_after != sources_before:
        run.failures.append(
            f"ledger/ or projections/ changed during the run ({sources_before} -> "
            f"{sources_after}): measurements may mix code versions"
        )
    info["wall_seconds"] = f"{time.monotonic() - started:.0f}"
    info["load_average_before"] = load_before
    info["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.only is not None:
        info["parts"] = ",".join(p for p in PARTS if p in parts)
    data: dict[str, Any] = {
        "machine": info,
        "sizes": {
            "events": run.n,
            "big_events": run.big,
            "page_size": run.page_size,
            "period": args.period,
        },
        "targets": targets(run.results, run.n, run.big),
        "results": run.results,
        "failures": run.failures,
        "method": {
            "stores": STORE_METHOD,
            "rebuild": REBUILD_METHOD,
            "reads": READ_METHOD,
            "report": REPORT_METHOD,
            "queries": QUERY_METHOD,
        },
    }
    out = args.out or (OUT_DIR if args.only is None else args.cache_dir / "partial")
    text = write(out, data, profile)
    print()
    print(text)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
