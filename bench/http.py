"""python -m bench.http [--only commands,bare,feed] [--levels 1,8,32] [--duration S]
[--warmup S] [--repeat R] [--client raw|httpx] [--profile auto|always|never] ...

The HTTP benchmark, in one run on one PostgreSQL server:

1. commands: the real service (``api.app.create_app`` on ``build_ledger``, uvicorn, its own
   process: ``bench/httpserve.py``) on a fresh database (schema upgraded, seed SOPs
   published, demo directory installed, many cases opened, an API token per demo person),
   driven by a load generator in another process (``bench/httpload.py``) with 1, 8 and 32
   concurrent keep-alive clients recording SOP acts (``POST /cases/{id}/actions``) for a
   fixed window each: commands/s, p50/p90/p99 latency, errors, CPU of every party;
2. bare: the eventsourcing library's single-event saves (``Application.save`` of one event,
   one transaction, the ``bench/baselines.py`` aggregate) with 1, 8 and 32 threads, and raw
   psycopg autocommit inserts likewise, on fresh databases of the same server;
3. feed: ``GET /events?after=N&limit=1000`` paged over a store of 200,000 events (a copy of
   the cached ``bench_proj_200k`` store of ``bench/projections.py``) beside raw psycopg
   reading the same rows in pages and the feed reader called in-process.

Commands and baselines run in ``--repeat`` rounds (alternating which goes first); each row
is the median round. Results go to ``bench/http.md`` and ``bench/http.json``; when the
commands target is missed (``--profile auto``) a run of the service under cProfile (every
thread) at 8 clients goes to ``bench/http_profile.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.util
import io
import json
import os
import pstats
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg import sql

from api.schemas import action_body
from bench import bigstore
from bench.machine import describe
from bench.model import percentile
from bench.steps import Steps, load_average, parts_of
from bench.stores import ENV_URL, postgres_base_url
from ledger.application import utc_now
from ledger.bootstrap import build_ledger, upgrade_schema
from ledger.commands import IssueToken, OpenCase, RecordAction
from ledger.core.access import Scope
from ledger.core.case import CaseState
from ledger.core.errors import LedgerError
from ledger.demo.acts import actor_for, command_for
from ledger.demo.org import PEOPLE, install_directory, publish_seeds
from ledger.ledger import Ledger
from ledger.settings import Settings

OUT_DIR = Path(__file__).resolve().parent
ROOT = OUT_DIR.parent
TARGET_FEED_EVENTS_PER_S = 20_000.0
TARGET_CLIENTS = 8
PARTS = ("commands", "bare", "feed")
PREFIX = "bench_http_"
FEED_EVENTS = 200_000
INTEGRATOR = "199001012015031001"  # JF Pelaksana Bagian Kelembagaan (demo directory)
PROFILE_TOP = 30
Payload = dict[str, Any]


# --- arguments -------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"positive integers, comma-separated: {text!r}")
    return values


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", type=parts_of(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--levels", type=_ints, default=[1, 8, 32], help="concurrent clients")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per level, unmeasured")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per level")
    parser.add_argument(
        "--bare-threads", type=_ints, default=[1, 8, 32], help="threads of the bare baselines"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator HTTP client (raw asyncio streams, or httpx.AsyncClient)",
    )
    parser.add_argument("--no-if-match", action="store_true", help="send no If-Match header")
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="diagnostic: sys.setswitchinterval(S) in the service (default: Python's 0.005)",
    )
    parser.add_argument(
        "--max-rate",
        type=float,
        default=700.0,
        help="commands/s the case pool is sized for per round (rate x time x 1.3 acts); "
        "a pool that runs dry is reported as a failure",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of commands and baselines (and feed passes); each row is the median round",
    )
    parser.add_argument("--feed-events", type=int, default=FEED_EVENTS, help="feed store size")
    parser.add_argument("--feed-limit", type=int, default=1000, help="events per feed page")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile the service at 8 clients when the commands target is missed (auto)",
    )
    parser.add_argument("--postgres-url", help=f"server to create databases on (or ${ENV_URL})")
    parser.add_argument(
        "--out", type=Path, help="where http.* go (default bench/, a partial run: a temp dir)"
    )
    return parser.parse_args(argv)


# --- scratch databases -----------------------------------------------------------------


def _admin(base_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(statement)


def drop_database(base_url: str, name: str) -> None:
    if not name.startswith(PREFIX):
        raise ValueError(f"refusing to drop {name!r}: this benchmark's databases are {PREFIX}*")
    _admin(
        base_url,
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
    )


@contextmanager
def scratch_database(base_url: str, tag: str, template: str | None = None) -> Iterator[str]:
    """A new database ``bench_http_<tag>_<pid>`` (a copy of ``template`` if given),
    dropped afterwards."""
    name = f"{PREFIX}{tag}_{os.getpid()}"
    drop_database(base_url, name)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    _admin(base_url, statement)
    try:
        yield bigstore.with_dbname(base_url, name)
    finally:
        drop_database(base_url, name)


# --- the command workload --------------------------------------------------------------


def body_of(command: RecordAction) -> str:
    """The JSON body of an act, without ``occurred_at``: the server records it at its now."""
    return orjson.dumps(action_body(command, omit=frozenset({"occurred_at"}))).decode()


def case_acts(ledger: Ledger, state: CaseState) -> list[tuple[str, str]]:
    """(actor NIP, JSON body) of every act of the case, in SOP order (each branch of a
    per-unit step in turn), the actor being the demo person in the step's lane."""
    chart = ledger.org_chart()
    acts: list[tuple[str, str]] = []
    for step in state.sop.steps:
        for branch in state.branches if step.per_unit else (None,):
            unit = branch or state.unit
            actor = actor_for(step, unit, chart.lineage(unit))
            for action in step.actions:
                command = command_for(
                    state, step.number, action, branch, occurred_at=utc_now(), actor=actor
                )
                acts.append((actor, body_of(command)))
    return acts


class Workload:
    """The command store and its pool of cases not yet walked to the end.

    Prepared once (schema, seeds, directory, an API token per demo person); every round
    takes acts from the pool and hands back what it did not use (each case at the version and
    act it reached), and the pool is topped up with freshly opened cases before a round.
    """

    def __init__(self, url: str) -> None:
        from bench.workload import _case_keys

        self.url = url
        self.settings = Settings(database_url=url)
        self.pool: list[Payload] = []
        self.tokens: dict[str, str] = {}
        self.opened = 0
        self.setup_seconds = 0.0
        self._keys = _case_keys()

    @property
    def acts(self) -> int:
        return sum(len(c["acts"]) for c in self.pool)

    def prepare(self) -> None:
        started = time.perf_counter()
        upgrade_schema(self.settings)
        ledger = build_ledger(self.settings)
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            for person in PEOPLE:
                command = IssueToken(
                    nip=person.nip,
                    scopes=(Scope.OFFICIAL,),
                    expires_in=timedelta(days=1),
                    label="bench",
                )
                try:
                    self.tokens[person.nip] = ledger.issue_token(command).token
                except LedgerError:
                    continue  # not an official: never the actor of an act
        finally:
            ledger.close()
        self.setup_seconds += time.perf_counter() - started

    def top_up(self, acts_wanted: int, say: Callable[[str], None]) -> None:
        """Open cases until the pool holds at least ``acts_wanted`` acts."""
        missing = acts_wanted - self.acts
        if missing <= 0:
            return
        started = time.perf_counter()
        ledger = build_ledger(self.settings)
        opened = 0
        try:
            while self.acts < acts_wanted:
                sop_id, unit, period = next(self._keys)
                recorded = ledger.open_case(OpenCase(sop_id=sop_id, unit=unit, period=period))
                acts = case_acts(ledger, ledger.case(recorded.aggregate_id))
                self.pool.append(
                    {"id": str(recorded.aggregate_id), "version": recorded.version, "acts": acts}
                )
                opened += 1
        finally:
            ledger.close()
        self.opened += opened
        seconds = time.perf_counter() - started
        self.setup_seconds += seconds
        say(f"  opened {opened:,} cases ({self.acts:,} acts in the pool) in {seconds:.0f} s")

    def take_back(self, leftover: list[Payload]) -> None:
        """The pool after a round: the cases it did not finish, where it left them."""
        by_id = {c["id"]: c for c in self.pool}
        self.pool = [
            {
                "id": left["id"],
                "version": left["version"],
                "acts": by_id[left["id"]]["acts"][left["next"] :],
            }
            for left in leftover
        ]


# --- processes -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


@contextmanager
def served(
    url: str, profile: Path | None = None, switch_interval: float | None = None
) -> Iterator[Server]:
    """``bench/httpserve.py`` on ``url`` in a child process, until the block ends."""
    port = _free_port()
    command = [sys.executable, "-m", "bench.httpserve", "--database-url", url]
    command += ["--port", str(port)]
    if profile is not None:
        command += ["--profile", str(profile)]
    if switch_interval is not None:
        command += ["--switch-interval", str(switch_interval)]
    process = subprocess.Popen(command, cwd=ROOT)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}")
            try:
                if server.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_loadgen(plan: Payload) -> Payload:
    """``bench/httpload.py`` on ``plan`` in a child process; its result."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as directory:
        plan_file = Path(directory) / "plan.json"
        result_file = Path(directory) / "result.json"
        plan_file.write_text(json.dumps(plan))
        command = [sys.executable, "-m", "bench.httpload", str(plan_file), str(result_file)]
        done = subprocess.run(command, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the load generator exited with {done.returncode}")
        result: Payload = json.loads(result_file.read_text())
    return result


def in_child(func: Callable[[Payload], Payload], payload: Payload) -> Payload:
    """``func(payload)`` in a fresh spawned process (own imports, caches, connections)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(func, payload).result()


# --- bare baselines (run in a child process) -------------------------------------------


def _threaded(
    threads: int,
    warmup_s: float,
    duration_s: float,
    make_worker: Callable[[int], Callable[[], None]],
) -> Payload:
    """``threads`` threads calling their worker in a loop; saves and latency in the window."""
    stop = threading.Event()
    samples: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
    workers = [make_worker(i) for i in range(threads)]
    failures: list[str] = []

    def loop(index: int) -> None:
        work, mine = workers[index], samples[index]
        try:
            while not stop.is_set():
                sent = time.perf_counter()
                work()
                mine.append((sent, time.perf_counter()))
        except Exception as error:
            failures.append(repr(error))

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    cpu_before = time.process_time()
    for thread in pool:
        thread.start()
    time.sleep(warmup_s)
    start = time.perf_counter()
    cpu_start = time.process_time()
    time.sleep(duration_s)
    end = time.perf_counter()
    cpu_end = time.process_time()
    stop.set()
    for thread in pool:
        thread.join()
    done = [(s, a) for mine in samples for s, a in mine if start <= a <= end]
    inside = sorted(round((a - s) * 1e9) for s, a in done if s >= start)
    seconds = end - start
    return {
        "threads": threads,
        "seconds": seconds,
        "saves": len(done),
        "saves_per_s": len(done) / seconds,
        "p50_ms": percentile(inside, 0.50) / 1e6,
        "p99_ms": percentile(inside, 0.99) / 1e6,
        "cores": (cpu_end - cpu_start) / seconds,
        "warmup_cpu_s": cpu_start - cpu_before,
        "failures": failures[:3],
    }


def bare_saves(payload: Payload) -> Payload:
    """The library's single-event saves: get -> trigger one event -> save, per thread on its
    own aggregates (the bench/baselines.py ``Entry`` and ``BareBench`` app, our env)."""
    from bench.baselines import BareBench, Entry, bare_env
    from bench.payload import payload as event_payload
    from bench.stores import fresh_postgres

    threads = int(payload["threads"])
    with fresh_postgres(str(payload["base_url"])) as url:
        settings = Settings(database_url=url, pool_size=max(5, threads))
        app = BareBench(env=bare_env(settings))
        try:
            per_thread = 50
            entries = [Entry(f"entry-{i}") for i in range(threads * per_thread)]
            for start in range(0, len(entries), 100):
                app.save(*entries[start : start + 100])
            ids = [e.id for e in entries]
            kwargs = [event_payload(i) for i in range(per_thread)]

            def make_worker(index: int) -> Callable[[], None]:
                mine = ids[index * per_thread : (index + 1) * per_thread]
                counter = [0]

                def work() -> None:
                    n = counter[0]
                    counter[0] = n + 1
                    entry = cast(Entry, app.repository.get(mine[n % per_thread]))
                    entry.record(**kwargs[n % per_thread])
                    app.save(entry)

                return work

            result = _threaded(
                threads, float(payload["warmup_s"]), float(payload["duration_s"]), make_worker
            )
        finally:
            app.close()
    return result | {"kind": "es_bare_save"}


def raw_inserts(payload: Payload) -> Payload:
    """Raw psycopg: one autocommit INSERT of a same-sized row per call, a connection per
    thread (the bench/baselines.py raw table: primary key only)."""
    from uuid import uuid4

    from bench.baselines import PG_INSERT, PG_TABLE
    from bench.payload import raw_row
    from bench.stores import fresh_postgres

    threads = int(payload["threads"])
    with fresh_postgres(str(payload["base_url"])) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PG_TABLE)
        conns = [psycopg.connect(url, autocommit=True) for _ in range(threads)]
        try:

            def make_worker(index: int) -> Callable[[], None]:
                cursor = conns[index].cursor()
                originator = uuid4()
                version = [0]

                def work() -> None:
                    version[0] += 1
                    cursor.execute(PG_INSERT, raw_row(originator, version[0], version[0]))

                return work

            result = _threaded(
                threads, float(payload["warmup_s"]), float(payload["duration_s"]), make_worker
            )
        finally:
            for conn in conns:
                conn.close()
    return result | {"kind": "raw_insert"}


# --- feed baselines (run in a child process) -------------------------------------------


def feed_in_process(payload: Payload) -> Payload:
    """Raw psycopg pages of the events table, then the feed reader's pages (CloudEvents
    built and serialized with orjson, as the route answers), same page size, no HTTP."""
    from ledger.bootstrap import build_feed
    from ledger.core.cloudevents import FeedFilter

    url, limit = str(payload["url"]), int(payload["limit"])
    out: Payload = {}

    rows = pages = size = 0
    started, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(url) as conn:
        after = 0
        while True:
            found = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM ledger_events WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s",
                (after, limit),
            ).fetchall()
            pages += 1
            rows += len(found)
            size += sum(len(r[4]) for r in found)
            if len(found) < limit:
                break
            after = found[-1][0]
            conn.commit()
    seconds = time.perf_counter() - started
    out["raw"] = {
        "events": rows,
        "pages": pages,
        "seconds": seconds,
        "events_per_s": rows / seconds,
        "cores": (time.process_time() - cpu) / seconds,
        "state_bytes_per_event": size / rows if rows else 0.0,
    }

    settings = Settings(database_url=url)
    ledger = build_ledger(settings)
    try:
        feed = build_feed(settings, ledger)
        try:
            wanted = FeedFilter.of((), None, None)
            events = pages = size = 0
            after = 0
            started, cpu = time.perf_counter(), time.process_time()
            while True:
                page = feed.reader.page(after, limit, wanted)
                size += len(orjson.dumps(page.events))
                pages += 1
                events += len(page.events)
                after = page.next_after
                if len(page.events) < limit or after >= page.head:
                    break
            seconds = time.perf_counter() - started
        finally:
            feed.stop()
    finally:
        ledger.close()
    out["reader"] = {
        "events": events,
        "pages": pages,
        "seconds": seconds,
        "events_per_s": events / seconds,
        "cores": (time.process_time() - cpu) / seconds,
        "bytes_per_event": size / events if events else 0.0,
    }
    return out


# --- the run ---------------------------------------------------------------------------


def median_of(rows: list[Payload], key: str) -> Payload:
    """The row with the median ``key`` (the machine is shared: rounds differ), with every
    round's value beside it."""
    ordered = sorted(rows, key=lambda r: float(r[key]))
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [round(float(r[key]), 1) for r in rows]
    return chosen


class Run(Steps):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.base_url = postgres_base_url(args.postgres_url)
        self.notes: list[str] = []
        self.rounds: Payload = {"commands": [], "bare": [], "raw": []}
        self.results: Payload = {"commands": None, "bare": [], "raw": [], "feed": None}
        self.workload: Workload | None = None

    def _acts_for(self, levels: list[int]) -> int:
        per_level = self.args.max_rate * (self.args.warmup + self.args.duration + 2)
        return int(per_level * len(levels) * 1.3) + 200

    # -- commands --

    def commands(self, workload: Workload, number: int) -> None:
        levels: list[int] = self.args.levels
        with self.step(f"round {number}: commands over HTTP at {levels} clients"):
            workload.top_up(self._acts_for(levels), self.say)
            with served(workload.url, switch_interval=self.args.switch_interval) as server:
                result = run_loadgen(self._plan(server, workload, levels))
            workload.take_back(result.pop("leftover"))
            for level in result["levels"]:
                level["round"] = number
                if level["pool_ran_dry"]:
                    self.failures.append(
                        f"round {number}, {level['clients']} clients: the case pool ran dry "
                        f"(raise --max-rate)"
                    )
            self.rounds["commands"].append(result)

    def _plan(self, server: Server, workload: Workload, levels: list[int]) -> Payload:
        return {
            "task": "commands",
            "base_url": server.base_url,
            "server_pid": server.process.pid,
            "levels": levels,
            "warmup_s": self.args.warmup,
            "duration_s": self.args.duration,
            "client": self.args.client,
            "if_match": not self.args.no_if_match,
            "tokens": workload.tokens,
            "cases": workload.pool,
        }

    def summarize_commands(self, workload: Workload) -> None:
        rounds: list[Payload] = self.rounds["commands"]
        if not rounds:
            return
        levels = [
            median_of(
                [lv for r in rounds for lv in r["levels"] if lv["clients"] == clients],
                "commands_per_s",
            )
            for clients in self.args.levels
            if any(lv["clients"] == clients for r in rounds for lv in r["levels"])
        ]
        self.results["commands"] = {
            "client": self.args.client,
            "levels": levels,
            "rounds": rounds,
            "setup": {
                "cases_opened": workload.opened,
                "tokens": len(workload.tokens),
                "seconds": workload.setup_seconds,
                "cases_left": len(workload.pool),
            },
        }

    # -- baselines --

    def bare(self, number: int) -> None:
        for threads in self.args.bare_threads:
            payload = {
                "base_url": self.base_url,
                "threads": threads,
                "warmup_s": min(self.args.warmup, 3.0),
                "duration_s": self.args.duration,
            }
            for kind, func, label in (
                ("bare", bare_saves, "bare eventsourcing saves"),
                ("raw", raw_inserts, "raw psycopg inserts"),
            ):
                with self.step(f"round {number}: {label}, {threads} thread(s)"):
                    result = in_child(func, payload)
                    result["round"] = number
                    self.rounds[kind].append(result)
                    self.say(_threaded_line(result))

    def summarize_baselines(self) -> None:
        for kind in ("bare", "raw"):
            rows: list[Payload] = self.rounds[kind]
            self.results[kind] = [
                median_of([r for r in rows if r["threads"] == threads], "saves_per_s")
                for threads in self.args.bare_threads
                if any(r["threads"] == threads for r in rows)
            ]

    # -- feed --

    def feed(self) -> None:
        size = self.args.feed_events
        passes = self.args.repeat
        with self.step(f"feed over {size:,} events, {passes} pass(es)"):
            info = bigstore.postgres_store(self.base_url, size, bigstore.template_events)
            source = urlsplit_name(info.settings.database_url or "")
            found: dict[str, list[Payload]] = {"raw": [], "reader": [], "http": []}
            with scratch_database(self.base_url, "feed", template=source) as url:
                upgrade_schema(Settings(database_url=url))  # the cached store may be older
                token = _integrator_token(url)
                with served(url, switch_interval=self.args.switch_interval) as server:
                    available = server.get("/events?after=0&limit=1", token)[0] != 404
                    if not available:
                        self.notes.append(
                            "GET /events is not served by this build of the app "
                            "(api/routes/events.py not wired into create_app yet): "
                            "the feed over HTTP was not measured"
                        )
                        self.say("  GET /events: 404 (not yet available)")
                    for number in range(1, passes + 1):
                        self._feed_pass(
                            number,
                            url=url,
                            server=server,
                            token=token,
                            available=available,
                            found=found,
                        )
            self.results["feed"] = {
                "store": info.as_json(),
                "source_database": source,
                "limit": self.args.feed_limit,
                "raw": median_of(found["raw"], "events_per_s"),
                "reader": median_of(found["reader"], "events_per_s"),
                "http": median_of(found["http"], "events_per_s") if found["http"] else None,
            }

    def _feed_pass(
        self,
        number: int,
        *,
        url: str,
        server: Server,
        token: str,
        available: bool,
        found: dict[str, list[Payload]],
    ) -> None:
        inproc = in_child(feed_in_process, {"url": url, "limit": self.args.feed_limit})
        found["raw"].append(inproc["raw"])
        found["reader"].append(inproc["reader"])
        line = (
            f"  pass {number}: raw psycopg {inproc['raw']['events_per_s']:,.0f} ev/s, "
            f"feed reader in-process {inproc['reader']['events_per_s']:,.0f} ev/s"
        )
        if available:
            plan = {
                "task": "feed",
                "base_url": server.base_url,
                "server_pid": server.process.pid,
                "client": self.args.client,
                "token": token,
                "limit": self.args.feed_limit,
            }
            result = run_loadgen(plan)
            if "error" in result:
                raise RuntimeError(result["error"])
            found["http"].append(result)
            line += f", HTTP {result['events_per_s']:,.0f} ev/s"
        self.say(line)

    # -- profile --

    def profile(self, workload: Workload) -> str | None:
        """The service under cProfile (all threads) at 8 clients, top functions."""
        with (
            self.step(f"cProfile of the service at {TARGET_CLIENTS} clients"),
            tempfile.TemporaryDirectory(prefix="bench-http-prof-") as directory,
        ):
            workload.top_up(self._acts_for([TARGET_CLIENTS]), self.say)
            stats_dir = Path(directory)
            switch = self.args.switch_interval
            with served(workload.url, profile=stats_dir, switch_interval=switch) as server:
                result = run_loadgen(self._plan(server, workload, [TARGET_CLIENTS]))
            workload.take_back(result.pop("leftover"))
            return profile_text(stats_dir, result["levels"][0], self.args)
        return None

    # -- all of it --

    def measure(self, parts: frozenset[str]) -> str | None:
        """Rounds of commands and baselines (alternating which goes first), the feed, then
        the profile when asked for (or, with ``auto``, when the commands target is missed)."""
        with ExitStack() as stack:
            workload = None
            if "commands" in parts:
                url = stack.enter_context(scratch_database(self.base_url, "cmd"))
                workload = Workload(url)
                with self.step("command store: schema, seeds, directory, tokens"):
                    workload.prepare()
            for number in range(1, self.args.repeat + 1):
                order = ("commands", "bare") if number % 2 else ("bare", "commands")
                for part in order:
                    if part == "commands" and workload is not None:
                        self.commands(workload, number)
                    elif part == "bare" and "bare" in parts:
                        self.bare(number)
            if workload is not None:
                self.summarize_commands(workload)
            self.summarize_baselines()
            self.results["baseline_rounds"] = {
                "bare": self.rounds["bare"],
                "raw": self.rounds["raw"],
            }
            if "feed" in parts:
                self.feed()
            mode = self.args.profile
            missed = any(
                t["ok"] is False and "commands/s" in t["target"] for t in targets(self.results)
            )
            if workload is not None and (mode == "always" or (mode == "auto" and missed)):
                return self.profile(workload)
        return None


def urlsplit_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _integrator_token(url: str) -> str:
    ledger = build_ledger(Settings(database_url=url))
    try:
        return ledger.issue_token(
            IssueToken(
                nip=INTEGRATOR,
                scopes=(Scope.INTEGRATOR,),
                expires_in=timedelta(days=1),
                label="bench",
            )
        ).token
    finally:
        ledger.close()


def _threaded_line(r: Payload) -> str:
    return (
        f"  {r['threads']:3} threads: {r['saves_per_s']:8,.0f}/s p50 {r['p50_ms']:6.2f} ms "
        f"p99 {r['p99_ms']:6.2f} ms ({r['cores']:.2f} cores)"
    )


PROFILE_VIEWS = (
    ("all", "tottime", "every thread merged, by own time"),
    ("batcher", "cumulative", "the group-commit batcher thread, by cumulative time"),
    ("workers", "cumulative", "the AnyIO request worker threads, by cumulative time"),
    ("event_loop", "tottime", "uvicorn's event loop thread, by own time"),
)


def profile_text(stats_dir: Path, level: Payload, args: argparse.Namespace) -> str:
    head = (
        f"cProfile of the service: every thread under its own Profile (uvicorn's event "
        f"loop, the AnyIO request workers, the group-commit batcher) while "
        f"{level['clients']} clients recorded acts for {args.duration:.0f} s after "
        f"{args.warmup:.0f} s of warm-up: {level['commands_per_s']:,.0f} commands/s under "
        f"the profiler (it slows Python code several-fold: read the shares, not the rates; "
        f"{level['cpu']['acts_per_commit'] or 0:.1f} acts per transaction).\n"
        f"Cumulative time of a thread that waits (the batcher on its queue, workers on the "
        f"batcher's future, any thread on a lock or on PostgreSQL) includes the waiting.\n"
    )
    parts = [head]
    for group, order, title in PROFILE_VIEWS:
        path = stats_dir / f"{group}.pstats"
        if not path.exists():
            continue
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(PROFILE_TOP)
        parts.append(f"\n=== {title} (top {PROFILE_TOP}) ===\n{out.getvalue()}")
    if len(parts) == 1:
        parts.append("(the profiled service wrote no statistics)")
    return "".join(parts)


# --- results ---------------------------------------------------------------------------


def _level(results: Payload, clients: int) -> Payload | None:
    commands = results.get("commands") or {}
    return next((r for r in commands.get("levels", []) if r["clients"] == clients), None)


def _threads(rows: list[Payload], threads: int) -> Payload | None:
    return next((r for r in rows if r["threads"] == threads), None)


def targets(results: Payload) -> list[Payload]:
    out: list[Payload] = []
    http8 = _level(results, TARGET_CLIENTS)
    bare_rows: list[Payload] = results["bare"]
    if http8 is not None:
        for threads, why in ((TARGET_CLIENTS, "same concurrency"), (1, "no concurrency")):
            bare = _threads(bare_rows, threads)
            if bare is None:
                continue
            ratio = http8["commands_per_s"] / bare["saves_per_s"] if bare["saves_per_s"] else 0
            out.append(
                {
                    "target": f"HTTP commands/s at {TARGET_CLIENTS} clients >= bare "
                    f"eventsourcing single-event saves/s at {threads} "
                    f"thread{'s' if threads > 1 else ''} ({why})",
                    "measured": f"{http8['commands_per_s']:,.0f} vs "
                    f"{bare['saves_per_s']:,.0f} (x{ratio:.2f})",
                    "ok": ratio >= 1.0,
                    "miss": f"{1 / ratio:.2f}x too slow" if ratio else "no commands",
                }
            )
        errors = sum(
            level["errors_total"]
            for one in results["commands"]["rounds"]
            for level in one["levels"]
        )
        out.append(
            {
                "target": "every act answered 201 (no errors at any level, any round)",
                "measured": f"{errors} error(s)",
                "ok": errors == 0,
                "miss": f"{errors} error(s)",
            }
        )
    feed = results.get("feed")
    if feed is not None:
        http = feed.get("http")
        if http is None:
            out.append(
                {
                    "target": f"feed read >= {TARGET_FEED_EVENTS_PER_S:,.0f} events/s",
                    "measured": "not yet available (GET /events not served)",
                    "ok": None,
                    "miss": "",
                }
            )
        else:
            rate = http["events_per_s"]
            out.append(
                {
                    "target": f"feed read over HTTP >= {TARGET_FEED_EVENTS_PER_S:,.0f} "
                    f"events/s ({feed['store']['events']:,} events, limit {feed['limit']})",
                    "measured": f"{rate:,.0f} events/s",
                    "ok": rate >= TARGET_FEED_EVENTS_PER_S,
                    "miss": f"{TARGET_FEED_EVENTS_PER_S / rate:.1f}x too slow" if rate else "-",
                }
            )
    return out


def _verdict(target: Payload) -> str:
    if target["ok"] is None:
        return "not measured"
    return "**MET**" if target["ok"] else f"**MISSED** ({target['miss']})"


def _server_stack() -> str:
    """Which HTTP parser and event loop uvicorn picks here (it takes the fast ones if
    installed)."""
    fast = [name for name in ("httptools", "uvloop") if importlib.util.find_spec(name)]
    if len(fast) == 2:
        return "`httptools` parser, `uvloop` event loop"
    return f"h11/asyncio where missing; installed: {', '.join(fast) or 'neither'}"


COMMANDS_METHOD = (
    "**Service**: `bench/httpserve.py` in its own process: `build_ledger(Settings("
    "database_url=...))` (defaults: pool 5, cache 20,000) and `api.app.create_app(ledger, "
    "None)` - no views in the process (nothing projects: the measurement is about commands) - "
    f"served by uvicorn (one worker; {_server_stack()}). "
    "`POST /cases/{id}/actions` is a sync route: it runs in AnyIO's worker threads and hands "
    "the act to the app's `CommandBatcher` (`ledger/batching.py`), whose single thread stores "
    "whatever acts queued up meanwhile in one transaction (`Ledger.record_batch`). "
    "**Store**: a fresh database: `upgrade_schema`, `publish_seeds`, `install_directory`, "
    "then cases opened through the ledger (SOP C on the Biro and its sections, SOP B on the "
    "Dinas, each for its own period: `bench/workload.py` `cases_for`), and an API token "
    "(scope `official`) per demo person who acts. **Load generator**: `bench/httpload.py` in "
    "another process; one asyncio loop, one keep-alive HTTP/1.1 connection per client, one "
    "request in flight per client (closed loop). Each client takes a case and records its "
    "acts in SOP order, each by the demo person in the step's lane (`ledger.demo.acts."
    "actor_for`, the body from `command_for`, `occurred_at` left out: the server's now), "
    "with `If-Match` = the version in the previous answer's `ETag`; then the next case. Any "
    "answer but 201 is an error. Per level: warm-up (not counted), then the window: "
    "commands/s = 201 answers received in the window / window seconds; latency = request "
    "sent to answer parsed, for requests sent and answered in the window (nearest-rank "
    "percentiles). CPU: cores used over the window (CPU seconds / wall seconds) by the load "
    "generator, the service process (and, via `GET /_bench/threads`, each of its threads), "
    "all `postgres` processes (the whole server: other users' sessions included) and the "
    "whole machine (`/proc/stat`, 2 cores = 100%)."
)

BARE_METHOD = (
    "In fresh databases of the same server, each in a fresh process, N threads, each on its "
    "own 50 aggregates, for the same warm-up (at most 3 s) and window. **bare eventsourcing**:"
    " `bench/baselines.py`'s `BareBench` application (our env plus the library's aggregate "
    "cache, pool size max(5, N)) and `Entry` aggregate: `repository.get` -> one event "
    "(`record`, an action-sized payload) -> `app.save(entry)`: one event per transaction. "
    "**raw psycopg**: one autocommit `INSERT` of a same-sized row per call, a connection per "
    "thread, table with the primary key only. Rate = calls completed in the window / window."
)

FEED_METHOD = (
    "A copy (`CREATE DATABASE ... TEMPLATE`) of `bench/projections.py`'s cached store "
    "(`bench/bigstore.py`: demo-year clones), plus one API token (scope `integrator`); the "
    "service as above on it. **HTTP**: one client pages `GET /events?after=N&limit=L` from "
    "0, following `Ledger-Next-After`, until a short page; each page is parsed "
    "(`orjson.loads`) to count its CloudEvents. **feed reader in-process**: the same pages "
    "through `build_feed(settings, ledger).reader.page(after, L)` and `orjson.dumps` (what "
    "the route does, without HTTP). **raw psycopg**: `SELECT notification_id, originator_id, "
    "originator_version, topic, state FROM ledger_events WHERE notification_id > %s ORDER BY "
    "notification_id LIMIT L` (the library recorder's columns), page after page, one "
    "transaction per page, rows not decoded. All three read the same rows in the same run."
)


def _per_command(cores: float, rate: float) -> str:
    """``0.41 (1.11 ms)``: cores, and CPU milliseconds per command at ``rate``/s."""
    return f"{cores:.2f} ({1000 * cores / rate:.2f} ms)" if rate else f"{cores:.2f}"


def _rounds(row: Payload) -> str:
    return " / ".join(f"{v:,.0f}" for v in row.get("rounds", []))


def _cpu_cells(cpu: Payload) -> str:
    return (
        f"{cpu['loadgen_cores']:.2f} | {cpu['server_cores']:.2f} | "
        f"{cpu['postgres_cores']:.2f} | {cpu['machine_busy_pct']:.0f}%"
    )


def markdown(data: Payload) -> str:
    info, results = data["machine"], data["results"]
    lines = ["# HTTP benchmark: commands and the event feed over the real service", ""]
    lines += [f"- {k}: `{v}`" for k, v in info.items()]
    lines += ["", "## Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {_verdict(t)} |" for t in data["targets"]]
    if data["failures"]:
        lines += ["", "## Failures", ""] + [f"- `{f}`" for f in data["failures"]]
    if data["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data["notes"]]
    if results.get("commands") is not None:
        lines += _commands_section(results["commands"])
    if results["bare"] or results["raw"]:
        lines += _baselines_section(results)
    if results.get("feed") is not None:
        lines += _feed_section(results["feed"])
    if data.get("profile_file"):
        lines += [
            "",
            "## Profile",
            "",
            f"cProfile of the service at {TARGET_CLIENTS} clients: "
            f"[`{data['profile_file']}`]({data['profile_file']}).",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _commands_section(commands: Payload) -> list[str]:
    setup = commands["setup"]
    lines = ["", "## 1. Commands over HTTP", "", COMMANDS_METHOD, ""]
    lines += [
        f"Store: {setup['cases_opened']:,} cases opened over the run ({setup['seconds']:.0f} s "
        f"of setup, not measured), {setup['tokens']} tokens; client `{commands['client']}`; "
        f"{setup['cases_left']:,} cases not finished at the end. Each row is the median of "
        f"{len(commands['rounds'])} round(s) (every round's commands/s in the last column).",
        "",
        "| clients | window s | commands | commands/s | p50 ms | p90 ms | p99 ms | max ms "
        "| errors | acts per transaction | loadgen cores | service cores | postgres cores "
        "| machine busy | round | rounds commands/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in commands["levels"]:
        group = r["cpu"].get("acts_per_commit")
        lines.append(
            f"| {r['clients']} | {r['seconds']:.1f} | {r['ok']:,} | "
            f"**{r['commands_per_s']:,.0f}** | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"**{r['p99_ms']:.1f}** | {r['max_ms']:.1f} | {r['errors_total']} | "
            f"{'-' if group is None else f'{group:.1f}'} | {_cpu_cells(r['cpu'])} | "
            f"{r['round']} | {_rounds(r)} |"
        )
    lines += [
        "",
        "Where the CPU goes: cores used over the window, and CPU milliseconds per command "
        "(cores / commands/s), for the service process and each of its thread groups, the "
        "PostgreSQL server and the load generator:",
        "",
    ]
    groups = sorted({g for r in commands["levels"] for g in r["cpu"]["server_threads_cores"]})
    groups = [
        g
        for g in groups
        if any(r["cpu"]["server_threads_cores"].get(g) for r in commands["levels"])
    ]
    lines += [
        "| clients | service (all threads) | " + " | ".join(groups) + " | postgres | loadgen |",
        "|---|---|" + "---|" * len(groups) + "---|---|",
    ]
    for r in commands["levels"]:
        cpu, rate = r["cpu"], r["commands_per_s"]
        shares = cpu["server_threads_cores"]
        cells = [_per_command(cpu["server_cores"], rate)]
        cells += [_per_command(shares.get(g, 0.0), rate) for g in groups]
        cells += [
            _per_command(cpu["postgres_cores"], rate),
            _per_command(cpu["loadgen_cores"], rate),
        ]
        lines.append(f"| {r['clients']} | " + " | ".join(cells) + " |")
    errors = [e for r in commands["levels"] for e in r["error_samples"]]
    if errors:
        lines += ["", "Error samples:", ""] + [f"- `{e}`" for e in errors]
    return lines


def _baselines_section(results: Payload) -> list[str]:
    lines = ["", "## 2. Baselines: single-event saves on the same server", "", BARE_METHOD, ""]
    lines += [
        "| baseline | threads | window s | saves | saves/s | p50 ms | p99 ms "
        "| cores (CPU ms/save) | round | rounds saves/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in _baseline_rows(results):
        for r in rows:
            lines.append(
                f"| {name} | {r['threads']} | {r['seconds']:.1f} | {r['saves']:,} | "
                f"**{r['saves_per_s']:,.0f}** | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                f"{_per_command(r['cores'], r['saves_per_s'])} | {r['round']} | {_rounds(r)} |"
            )
    ratio_rows = ratios(results)
    if ratio_rows:
        lines += [
            "",
            "| HTTP clients | HTTP commands/s | baseline | baseline/s | HTTP / baseline |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['clients']} | {r['http']:,.0f} | {r['baseline']} | "
            f"{r['baseline_rate']:,.0f} | **{r['ratio']:.2f}** |"
            for r in ratio_rows
        ]
    return lines


def _feed_section(feed: Payload) -> list[str]:
    store = feed["store"]
    lines = ["", "## 3. Feed read", "", FEED_METHOD, ""]
    lines += [
        f"Store: `{feed['source_database']}` copy, {store['events']:,} events "
        f"({store['cases']:,} cases); page size {feed['limit']}.",
        "",
        "| reader | events | pages | s | events/s | page p50 ms | page p99 ms | B/event "
        "| reader cores | service cores | postgres cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    raw, reader, http_result = feed["raw"], feed["reader"], feed["http"]
    lines.append(
        f"| raw psycopg pages | {raw['events']:,} | {raw['pages']} | {raw['seconds']:.1f} | "
        f"**{raw['events_per_s']:,.0f}** | - | - | {raw['state_bytes_per_event']:.0f} (state) "
        f"| {raw['cores']:.2f} | - | - |"
    )
    lines.append(
        f"| feed reader in-process | {reader['events']:,} | {reader['pages']} | "
        f"{reader['seconds']:.1f} | **{reader['events_per_s']:,.0f}** | - | - | "
        f"{reader['bytes_per_event']:.0f} (JSON) | {reader['cores']:.2f} | - | - |"
    )
    if http_result is None:
        lines.append("| GET /events over HTTP | not yet available | | | | | | | | | |")
        return lines
    cpu = http_result["cpu"]
    lines.append(
        f"| GET /events over HTTP | {http_result['events']:,} | {http_result['pages']} | "
        f"{http_result['seconds']:.1f} | **{http_result['events_per_s']:,.0f}** | "
        f"{http_result['page_p50_ms']:.1f} | {http_result['page_p99_ms']:.1f} | "
        f"{http_result['bytes_per_event']:.0f} (body) | {cpu['loadgen_cores']:.2f} | "
        f"{cpu['server_cores']:.2f} | {cpu['postgres_cores']:.2f} |"
    )
    lines += [
        "",
        f"Every pass (events/s): raw psycopg {_rounds(raw)}; feed reader {_rounds(reader)}; "
        f"HTTP {_rounds(http_result)}. Rows are the median pass.",
        "",
        f"HTTP / raw psycopg: **{http_result['events_per_s'] / raw['events_per_s']:.2f}**; "
        f"HTTP / feed reader in-process: "
        f"**{http_result['events_per_s'] / reader['events_per_s']:.2f}**.",
    ]
    return lines


def _baseline_rows(results: Payload) -> list[tuple[str, list[Payload]]]:
    return [("bare eventsourcing", results["bare"]), ("raw psycopg", results["raw"])]


def ratios(results: Payload) -> list[Payload]:
    out: list[Payload] = []
    commands = results.get("commands")
    if commands is None:
        return out
    for level in commands["levels"]:
        for name, rows in _baseline_rows(results):
            for threads in sorted({level["clients"], 1}):
                base = _threads(rows, threads)
                if base is None or not base["saves_per_s"]:
                    continue
                out.append(
                    {
                        "clients": level["clients"],
                        "http": level["commands_per_s"],
                        "baseline": f"{name}, {threads} thread(s)",
                        "baseline_rate": base["saves_per_s"],
                        "ratio": level["commands_per_s"] / base["saves_per_s"],
                    }
                )
    return out


def sources_digest() -> str:
    """SHA-256 (12 hex) of the measured code (api/, ledger/, projections/): others edit it
    in parallel, so a change during the run is flagged."""
    digest = hashlib.sha256()
    paths = sorted(p for d in ("api", "ledger", "projections") for p in (ROOT / d).rglob("*.py"))
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _uncommitted() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--", "api", "ledger", "projections"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    changed = [line for line in done.stdout.splitlines() if line.strip()]
    return f"{len(changed)} file(s) changed or new" if changed else "none"


def write(out: Path, data: Payload, profile: str | None) -> str:
    out.mkdir(parents=True, exist_ok=True)
    if profile is not None:
        (out / "http_profile.txt").write_text(profile)
        data["profile_file"] = "http_profile.txt"
    (out / "http.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    text = markdown(data)
    (out / "http.md").write_text(text)
    return text


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    run = Run(args)
    parts: frozenset[str] = args.only or frozenset(PARTS)
    started = time.monotonic()
    sources_before = sources_digest()
    load_before = load_average()
    profile = run.measure(parts)
    found = targets(run.results)

    command = shlex.join(["python", "-m", "bench.http", *argv])
    info = describe(run.base_url, command)
    info["uncommitted (api/, ledger/, projections/)"] = _uncommitted()
    info["sources_sha256 (api/, ledger/, projections/)"] = sources_before
    if sources_digest() != sources_before:
        run.notes.append(
            "WARNING: api/, ledger/ or projections/ changed during the run (others work in "
            "this tree): the processes started at different times may run different code"
        )
    info["wall_seconds"] = f"{time.monotonic() - started:.0f}"
    info["load_average_before"] = load_before
    info["load_average_after"] = load_average()
    if args.only is not None:
        info["parts"] = ",".join(p for p in PARTS if p in parts)
    data: Payload = {
        "machine": info,
        "settings": {
            "levels": args.levels,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "bare_threads": args.bare_threads,
            "repeat": args.repeat,
            "client": args.client,
            "if_match": not args.no_if_match,
            "service_switch_interval_s": args.switch_interval,
            "feed_limit": args.feed_limit,
        },
        "targets": found,
        "ratios": ratios(run.results),
        "results": run.results,
        "failures": run.failures,
        "notes": run.notes,
        "method": {"commands": COMMANDS_METHOD, "bare": BARE_METHOD, "feed": FEED_METHOD},
    }
    out = args.out or (OUT_DIR if args.only is None else Path(tempfile.gettempdir()) / "bench_http")
    text = write(out, data, profile)
    print()
    print(text)
    print(f"(written to {out})")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
