"""What the numbers were measured on: machine, library and server versions and settings."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import psycopg


def _sqlite_wal_synchronous() -> str:
    """The synchronous level a fresh WAL database gets (eventsourcing does not change it)."""
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    with tempfile.TemporaryDirectory() as directory:
        lite = sqlite3.connect(Path(directory) / "probe.sqlite")
        try:
            lite.execute("PRAGMA journal_mode=WAL")
            level = lite.execute("PRAGMA synchronous").fetchone()[0]
        finally:
            lite.close()
    return names.get(level, str(level))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _postgres(url: str | None) -> dict[str, str]:
    if url is None:
        return {}
    with psycopg.connect(url, autocommit=True) as conn:
        settings = ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        found = {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in settings}  # type: ignore[index]
    return {f"postgres_{k}": v for k, v in found.items()}


def _run_git(*args: str) -> str:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _git() -> str:
    """The project commit measured, and whether the ledger package had local changes."""
    try:
        head = _run_git("rev-parse", "--short", "HEAD")
        dirty = _run_git("status", "--porcelain", "--", "ledger")
    except OSError:
        return "unknown"
    return f"{head}{' (ledger/ has uncommitted changes)' if dirty else ''}"


def describe(postgres_url: str | None, command: str) -> dict[str, str]:
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "git": _git(),
        "cpu_count": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "eventsourcing": version("eventsourcing"),
        "psycopg": f"{version('psycopg')} (libpq {psycopg.pq.version()})",
        "sqlite": sqlite3.sqlite_version,
        "sqlite_wal_synchronous": _sqlite_wal_synchronous(),
    }
    return info | _postgres(postgres_url)
