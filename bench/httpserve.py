"""The service under test, in its own process: ``python -m bench.httpserve --database-url URL
--port P [--profile DIR] [--switch-interval S]``.

The real app (``api.app.create_app`` on ``ledger.bootstrap.build_ledger``) served by uvicorn,
as ``sop-ledger serve`` builds it but without views (``views=None``: nothing projects in this
process, so the measurement is about commands and the feed; ``--projections external`` in
production terms). The event feed is wired the way ``create_app`` asks for it, when it does.

One extra route, ``GET /_bench/threads``, answers the CPU seconds used so far by each live
thread of this process (from ``/proc/self/task``), so that the benchmark can say which thread
(event loop, request workers, the group-commit batcher) is busy, and how many group commits
the batcher made with how many acts. ``--profile DIR`` runs every
thread under its own ``cProfile.Profile`` and writes the statistics into DIR (pstats
format, merged and per thread group) when the server stops (SIGTERM or SIGINT).
``--switch-interval S`` sets ``sys.setswitchinterval(S)`` (a diagnostic: how long a thread
back from I/O may wait for the GIL).
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import os
import pstats
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from ledger.batching import CommandBatcher
from ledger.bootstrap import build_ledger
from ledger.ledger import Ledger
from ledger.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> list[dict[str, Any]]:
    """CPU seconds (user + system) of every live thread, with its Python name."""
    found = []
    for thread in threading.enumerate():
        native = thread.native_id
        try:
            stat = Path(f"/proc/self/task/{native}/stat").read_text()
        except (OSError, TypeError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        user, system = int(fields[11]), int(fields[12])
        found.append({"name": thread.name, "id": native, "cpu_s": (user + system) / TICKS})
    return found


def _feed_kwargs(settings: Settings, ledger: Ledger) -> dict[str, Any]:
    """``feed=`` for create_app when it takes one (the feed route is recent)."""
    if "feed" not in inspect.signature(create_app).parameters:
        return {}
    from ledger.bootstrap import build_feed

    return {"feed": build_feed(settings, ledger)}


def _count_commits(batcher: CommandBatcher) -> dict[str, int]:
    """Counts of the batcher's group commits and of the acts they carried (wraps its
    ``_commit``: one call per transaction attempt group, singles included)."""
    counts = {"commits": 0, "acts": 0}
    commit = batcher._commit

    def counting(batch: list[Any]) -> None:
        counts["commits"] += 1
        counts["acts"] += len(batch)
        commit(batch)

    batcher._commit = counting  # type: ignore[method-assign]
    return counts


def build_app(settings: Settings, ledger: Ledger) -> FastAPI:
    app = create_app(ledger, None, **_feed_kwargs(settings, ledger))
    counts = _count_commits(app.state.batcher)

    @app.get("/_bench/threads", include_in_schema=False)
    def threads() -> dict[str, Any]:
        return {"pid": os.getpid(), "threads": thread_cpu(), **counts}

    return app


class ThreadProfiles:
    """One cProfile.Profile per thread (cProfile only sees the thread that enabled it)."""

    def __init__(self) -> None:
        self.profiles: list[tuple[threading.Thread, cProfile.Profile]] = []
        self._lock = threading.Lock()

    def _start_in_thread(self, _frame: FrameType, _event: str, _arg: object) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append((threading.current_thread(), profile))
        profile.enable()  # replaces this hook in the calling thread

    def start(self) -> None:
        threading.setprofile(self._start_in_thread)  # threads started from now on
        main = cProfile.Profile()
        self.profiles.append((threading.current_thread(), main))
        main.enable()

    def write(self, directory: Path) -> None:
        """``all.pstats`` (every thread merged) and one file per thread group."""
        threading.setprofile(None)
        groups: dict[str, list[cProfile.Profile]] = {}
        for thread, profile in self.profiles:
            profile.disable()
            if profile.getstats():
                groups.setdefault(thread_group(thread.name), []).append(profile)
                groups.setdefault("all", []).append(profile)
        directory.mkdir(parents=True, exist_ok=True)
        for group, profiles in groups.items():
            stats = pstats.Stats(profiles[0])
            for profile in profiles[1:]:
                stats.add(profile)
            stats.dump_stats(str(directory / f"{group}.pstats"))


def thread_group(name: str) -> str:
    """A file-name-safe group of a server thread."""
    if name.startswith("AnyIO worker"):
        return "workers"
    if name == "MainThread":
        return "event_loop"
    if name == "command-batcher":
        return "batcher"
    return "other"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.httpserve")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--profile", type=Path, help="write cProfile stats (pstats files) into this directory"
    )
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval (seconds), a diagnostic"
    )
    args = parser.parse_args(argv)

    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    settings = Settings(database_url=args.database_url)
    ledger = build_ledger(settings)
    app = build_app(settings, ledger)
    profiles = ThreadProfiles() if args.profile else None
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    if profiles is not None:
        profiles.start()
    try:
        server.run()
    finally:
        if profiles is not None and args.profile is not None:
            profiles.write(args.profile)
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
