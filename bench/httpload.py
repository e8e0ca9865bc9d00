"""The load generator, in its own process: ``python -m bench.httpload PLAN.json RESULT.json``.

One asyncio event loop; each client is a coroutine with its own keep-alive HTTP/1.1
connection and at most one request in flight (a closed loop: it sends the next act as soon
as the previous answer arrived). The default client writes the request bytes and parses the
response head itself (``raw``: a few microseconds of CPU per request, so that the generator
is not what limits the rate); ``httpx`` uses one ``httpx.AsyncClient`` per client instead.

Commands: each client takes a case from the shared pool and records its acts in SOP order
(``POST /cases/{id}/actions``, the body as a walker would send it, ``If-Match`` = the case
version from the previous answer's ``ETag``), then takes the next case. A non-201 answer is
an error; the case it happened on is dropped (its state is no longer known). At each
concurrency level the clients run ``warmup_s`` (not counted), then ``duration_s`` (the
window): throughput counts the answers received inside the window, latency is over the
requests sent and answered inside it. At the window's edges the CPU time of this process,
of the server process (and of each of its live threads, via ``GET /_bench/threads``), of
all ``postgres`` processes and of the whole machine (``/proc/stat``) is read.

Feed: one client pages through ``GET /events?after=N&limit=L`` from 0 until a short page,
parsing each page (``orjson.loads``) to count its events, following ``Ledger-Next-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.model import percentile

TICKS = os.sysconf("SC_CLK_TCK")
Headers = dict[str, str]


# --- HTTP clients ----------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    status: int
    headers: Headers
    body: bytes


class RawConnection:
    """HTTP/1.1 over one asyncio stream: request bytes written as-is, the response head
    parsed here (Content-Length bodies only; reconnects when the server closes)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self.connects += 1
        return self._reader, self._writer

    async def request(
        self, method: str, target: str, headers: Headers, body: bytes = b""
    ) -> Answer:
        reader, writer = await self._open()
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        found: Headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            found[name.strip().lower()] = value.strip()
        length = found.get("content-length")
        if length is None:
            raise RuntimeError(f"no Content-Length in answer to {method} {target}: {head!r}")
        content = await reader.readexactly(int(length)) if int(length) else b""
        if found.get("connection", "").lower() == "close":
            await self.close()
        return Answer(int(status_line.split(" ", 2)[1]), found, content)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class HttpxConnection:
    """The same calls through ``httpx.AsyncClient`` (one connection per client)."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=60.0,
        )
        self.connects = 1

    async def request(
        self, method: str, target: str, headers: Headers, body: bytes = b""
    ) -> Answer:
        response = await self._client.request(method, target, headers=headers, content=body)
        return Answer(response.status_code, dict(response.headers), response.content)

    async def close(self) -> None:
        await self._client.aclose()


Connection = RawConnection | HttpxConnection


def connect(base_url: str, kind: str) -> Connection:
    if kind == "httpx":
        return HttpxConnection(base_url)
    parts = urlsplit(base_url)
    return RawConnection(parts.hostname or "127.0.0.1", parts.port or 80)


# --- CPU readings ----------------------------------------------------------------------


def _proc_cpu(pid: int | str) -> float:
    """CPU seconds (user + system) a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every live process named ``postgres``, by pid (the whole server,
    other users' sessions included: the machine is shared)."""
    found: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        if name == "postgres":
            fields = stat.rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


def _postgres_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the postgres processes alive at the end used since ``before`` (a process
    that exited meanwhile is not counted: a slight undercount, never a negative)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / TICKS, total / TICKS


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuReading:
    at: float
    loadgen: float
    server: float
    postgres: dict[int, float]
    machine_busy: float
    machine_total: float
    threads: dict[int, tuple[str, float]]
    commits: int = 0
    acts: int = 0


async def read_cpu(base_url: str, server_pid: int) -> CpuReading:
    """A reading, its thread part over a connection of its own (an idle keep-alive
    connection would have been closed by the server meanwhile)."""
    threads: dict[int, tuple[str, float]] = {}
    conn = connect(base_url, "raw")
    try:
        answer = await conn.request("GET", "/_bench/threads", {})
    finally:
        await conn.close()
    found = orjson.loads(answer.body) if answer.status == 200 else {"threads": []}
    for t in found["threads"]:
        threads[int(t["id"])] = (str(t["name"]), float(t["cpu_s"]))
    busy, total = _machine_cpu()
    return CpuReading(
        at=time.perf_counter(),
        loadgen=_self_cpu(),
        server=_proc_cpu(server_pid),
        postgres=_postgres_cpu(),
        machine_busy=busy,
        machine_total=total,
        threads=threads,
        commits=int(found.get("commits", 0)),
        acts=int(found.get("acts", 0)),
    )


def _thread_group(name: str) -> str:
    if name.startswith("AnyIO worker"):
        return "request workers (AnyIO threads)"
    if name == "MainThread":
        return "event loop (uvicorn, h11, routing)"
    if name.startswith("pool-"):
        return "psycopg pool threads"
    return name


def cpu_share(before: CpuReading, after: CpuReading) -> dict[str, Any]:
    """Cores used (CPU seconds per wall second) over the window, per process and thread."""
    wall = after.at - before.at
    groups: dict[str, float] = {}
    for tid, (name, cpu) in after.threads.items():
        start = before.threads.get(tid, (name, 0.0))[1]
        group = _thread_group(name)
        groups[group] = groups.get(group, 0.0) + (cpu - start) / wall
    machine_total = after.machine_total - before.machine_total
    commits = after.commits - before.commits
    return {
        "wall_s": wall,
        "loadgen_cores": (after.loadgen - before.loadgen) / wall,
        "server_cores": (after.server - before.server) / wall,
        "postgres_cores": _postgres_delta(before.postgres, after.postgres) / wall,
        "machine_busy_cores": (after.machine_busy - before.machine_busy) / wall,
        "machine_busy_pct": 100
        * (after.machine_busy - before.machine_busy)
        / (machine_total or 1.0),
        "server_threads_cores": dict(sorted(groups.items(), key=lambda kv: -kv[1])),
        "commits": commits,
        "acts_per_commit": (after.acts - before.acts) / commits if commits else None,
    }


# --- commands --------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    version: int
    acts: list[tuple[str, bytes]]  # (actor NIP, JSON body)
    next: int = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.acts)


@dataclass
class Sample:
    sent: float
    answered: float
    status: int


@dataclass
class Level:
    clients: int
    window_start: float = 0.0
    window_end: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pool_ran_dry: int = 0
    cases_completed: int = 0
    connects: int = 0


class Pool:
    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases

    def take(self) -> Case | None:
        return self.cases.pop() if self.cases else None

    def give_back(self, case: Case) -> None:
        self.cases.append(case)


async def _client(
    conn: Connection,
    *,
    pool: Pool,
    tokens: dict[str, str],
    level: Level,
    stop: asyncio.Event,
    if_match: bool,
) -> None:
    case: Case | None = None
    while not stop.is_set():
        if case is None or case.done:
            if case is not None:
                level.cases_completed += 1
            case = pool.take()
            if case is None:
                level.pool_ran_dry += 1
                return
        nip, body = case.acts[case.next]
        headers = {"Authorization": f"Bearer {tokens[nip]}", "Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = f'"{case.version}"'
        sent = time.perf_counter()
        try:
            answer = await conn.request("POST", f"/cases/{case.id}/actions", headers, body)
        except (OSError, asyncio.IncompleteReadError, RuntimeError) as error:
            level.samples.append(Sample(sent, time.perf_counter(), 0))
            level.errors.append(f"{type(error).__name__}: {error}")
            await conn.close()
            case = None
            continue
        level.samples.append(Sample(sent, time.perf_counter(), answer.status))
        if answer.status != 201:
            level.errors.append(f"{answer.status} {answer.body[:300].decode(errors='replace')}")
            case = None  # its state is unknown now: drop it
            continue
        case.next += 1
        case.version = int(answer.headers.get("etag", "0").strip('W/"'))
    if case is not None and not case.done:
        pool.give_back(case)


async def run_level(plan: dict[str, Any], pool: Pool, clients: int) -> dict[str, Any]:
    level = Level(clients)
    stop = asyncio.Event()
    conns = [connect(plan["base_url"], plan["client"]) for _ in range(clients)]
    tasks = [
        asyncio.create_task(
            _client(
                conn,
                pool=pool,
                tokens=plan["tokens"],
                level=level,
                stop=stop,
                if_match=bool(plan["if_match"]),
            )
        )
        for conn in conns
    ]
    await asyncio.sleep(float(plan["warmup_s"]))
    before = await read_cpu(plan["base_url"], int(plan["server_pid"]))
    level.window_start = time.perf_counter()
    await asyncio.sleep(float(plan["duration_s"]))
    level.window_end = time.perf_counter()
    after = await read_cpu(plan["base_url"], int(plan["server_pid"]))
    stop.set()
    await asyncio.gather(*tasks)
    for conn in conns:
        await conn.close()
    level.connects = sum(c.connects for c in conns)
    return summarize_level(level, cpu_share(before, after))


def summarize_level(level: Level, cpu: dict[str, Any]) -> dict[str, Any]:
    start, end = level.window_start, level.window_end
    answered = [s for s in level.samples if start <= s.answered <= end]
    inside = sorted(
        round((s.answered - s.sent) * 1e9) for s in answered if s.sent >= start and s.status
    )
    ok = sum(1 for s in answered if s.status == 201)
    errors_in_window = sum(1 for s in answered if s.status != 201)
    seconds = end - start
    return {
        "clients": level.clients,
        "seconds": seconds,
        "answered": len(answered),
        "ok": ok,
        "errors": errors_in_window,
        "errors_total": len(level.errors),
        "error_samples": sorted(set(level.errors))[:5],
        "commands_per_s": ok / seconds if seconds else 0.0,
        "p50_ms": percentile(inside, 0.50) / 1e6,
        "p90_ms": percentile(inside, 0.90) / 1e6,
        "p99_ms": percentile(inside, 0.99) / 1e6,
        "max_ms": (inside[-1] / 1e6) if inside else 0.0,
        "latency_samples": len(inside),
        "requests_total": len(level.samples),
        "cases_completed": level.cases_completed,
        "pool_ran_dry": level.pool_ran_dry,
        "connects": level.connects,
        "cpu": cpu,
    }


async def commands(plan: dict[str, Any]) -> dict[str, Any]:
    cases = [
        Case(c["id"], int(c["version"]), [(nip, body.encode()) for nip, body in c["acts"]])
        for c in plan["cases"]
    ]
    pool = Pool(cases[::-1])  # pop() takes them in plan order
    levels = []
    for clients in plan["levels"]:
        result = await run_level(plan, pool, int(clients))
        levels.append(result)
        print(
            f"  {clients:3} clients: {result['commands_per_s']:8,.0f} cmd/s "
            f"p50 {result['p50_ms']:6.1f} ms p90 {result['p90_ms']:6.1f} ms "
            f"p99 {result['p99_ms']:6.1f} ms errors {result['errors']} "
            f"(loadgen {result['cpu']['loadgen_cores']:.2f} cores, server "
            f"{result['cpu']['server_cores']:.2f}, postgres "
            f"{result['cpu']['postgres_cores']:.2f}, machine "
            f"{result['cpu']['machine_busy_pct']:.0f}% busy)",
            flush=True,
        )
        if result["pool_ran_dry"]:
            print(f"  WARNING: the case pool ran dry at {clients} clients", flush=True)
    leftover = [{"id": c.id, "version": c.version, "next": c.next} for c in pool.cases[::-1]]
    return {"levels": levels, "leftover": leftover}


# --- feed ------------------------------------------------------------------------------


async def feed(plan: dict[str, Any]) -> dict[str, Any]:
    conn = connect(plan["base_url"], plan["client"])
    headers = {"Authorization": f"Bearer {plan['token']}"}
    limit = int(plan["limit"])
    after = 0
    events = pages = body_bytes = 0
    durations: list[int] = []
    first = await conn.request("GET", f"/events?after=0&limit={limit}", headers)
    if first.status != 200:
        await conn.close()
        text = first.body[:300].decode(errors="replace")
        return {"error": f"GET /events answered {first.status}: {text}"}
    before = await read_cpu(plan["base_url"], int(plan["server_pid"]))
    started = time.perf_counter()
    while True:
        sent = time.perf_counter()
        answer = await conn.request("GET", f"/events?after={after}&limit={limit}", headers)
        if answer.status != 200:
            raise RuntimeError(f"GET /events?after={after} answered {answer.status}")
        batch = orjson.loads(answer.body)
        durations.append(round((time.perf_counter() - sent) * 1e9))
        pages += 1
        events += len(batch)
        body_bytes += len(answer.body)
        after = int(answer.headers["ledger-next-after"])
        if len(batch) < limit or after >= int(answer.headers["ledger-head"]):
            break
    seconds = time.perf_counter() - started
    after_cpu = await read_cpu(plan["base_url"], int(plan["server_pid"]))
    await conn.close()
    ordered = sorted(durations)
    return {
        "events": events,
        "pages": pages,
        "limit": limit,
        "last_position": after,
        "seconds": seconds,
        "events_per_s": events / seconds if seconds else 0.0,
        "bytes_per_event": body_bytes / events if events else 0.0,
        "mb_per_s": body_bytes / seconds / 1e6 if seconds else 0.0,
        "page_p50_ms": percentile(ordered, 0.50) / 1e6,
        "page_p99_ms": percentile(ordered, 0.99) / 1e6,
        "cpu": cpu_share(before, after_cpu),
    }


TASKS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]] = {
    "commands": commands,
    "feed": feed,
}


def main(argv: list[str]) -> int:
    plan_file, result_file = argv
    plan = json.loads(Path(plan_file).read_text())
    result = asyncio.run(TASKS[plan["task"]](plan))
    result["client"] = plan["client"]
    Path(result_file).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
