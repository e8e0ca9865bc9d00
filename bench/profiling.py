"""cProfile of the ledger_single loop: where, inside the ledger's code, the time goes."""

from __future__ import annotations

import cProfile
import pstats
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ledger
from bench.appends import run_ledger
from bench.model import Spec

LEDGER_ROOT = Path(ledger.__file__).resolve().parent
PROJECT_ROOT = LEDGER_ROOT.parent
# (qualified function name fragment, file fragment) of library calls worth counting per command
PER_COMMAND = (
    ("get", "eventsourcing/application.py"),
    ("get", "eventsourcing/persistence.py"),
    ("get", "ledger/persistence/state_cache.py"),
    ("select_events", "eventsourcing/"),
    ("insert_events", "eventsourcing/"),
    ("to_domain_event", "ledger/persistence/mapper.py"),
)


@dataclass(frozen=True)
class Spot:
    where: str
    calls: int
    self_s: float
    cumulative_s: float


def _where(key: tuple[str, int, str]) -> str:
    filename, line, func = key
    path = Path(filename)
    if "site-packages/" in filename:
        return f"{filename.split('site-packages/', 1)[1]}:{line}:{func}"
    if path.is_absolute() and path.is_relative_to(PROJECT_ROOT):
        return f"{path.relative_to(PROJECT_ROOT)}:{func}"
    return f"{filename}:{line}:{func}" if filename != "~" else func


def _area(key: tuple[str, int, str]) -> str:
    filename, _, func = key
    if filename.startswith(str(LEDGER_ROOT)):
        return "ledger (our code)"
    for name in ("eventsourcing", "psycopg_pool", "psycopg", "orjson", "sqlite3", "threading"):
        if f"/{name}/" in filename or (filename == "~" and name in func):
            return name
    return "builtins" if filename == "~" else "other python"


def _spots(stats: pstats.Stats) -> list[Spot]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    return [
        Spot(_where(key), int(nc), float(tt), float(ct)) for key, (_, nc, tt, ct, _) in raw.items()
    ]


def render(stats: pstats.Stats, commands: int, top: int = 15) -> str:
    """Markdown: ledger functions by cumulative share of record_action, self time by area,
    the slowest functions outside the ledger, and library calls per command."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    spots = _spots(stats)
    entry = next((s for s in spots if s.where.endswith("cases.py:record_action")), None)
    total = entry.cumulative_s if entry else float(stats.total_tt)  # type: ignore[attr-defined]
    ours = sorted(
        (s for s in spots if s.where.startswith("ledger/")),
        key=lambda s: s.cumulative_s,
        reverse=True,
    )[:top]
    lines = [
        f"{commands} record_action calls, {total:.2f} s inside record_action under cProfile "
        "(which slows pure-Python code: read the shares, not the seconds).",
        "",
        "| ledger function | calls/command | cumulative % | self % |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {s.where} | {s.calls / commands:.2f} | {100 * s.cumulative_s / total:.1f}% | "
        f"{100 * s.self_s / total:.1f}% |"
        for s in ours
    ]
    areas: dict[str, float] = defaultdict(float)
    for key, (_, _, tt, _, _) in raw.items():
        areas[_area(key)] += float(tt)
    lines += ["", "| self time by area | % |", "|---|---|"]
    lines += [
        f"| {area} | {100 * tt / total:.1f}% |"
        for area, tt in sorted(areas.items(), key=lambda kv: kv[1], reverse=True)
    ]
    others = sorted(
        (s for s in spots if not s.where.startswith("ledger/")),
        key=lambda s: s.self_s,
        reverse=True,
    )[:10]
    lines += ["", "| outside the ledger, by self time | calls/command | self % |", "|---|---|---|"]
    lines += [
        f"| {s.where} | {s.calls / commands:.2f} | {100 * s.self_s / total:.1f}% |" for s in others
    ]
    lines += ["", "| library call | calls/command |", "|---|---|"]
    for spot in spots:
        for func, fragment in PER_COMMAND:
            name = spot.where.rsplit(":", 1)[-1]
            if name == func and fragment in spot.where and spot.calls:
                lines.append(f"| {spot.where} | {spot.calls / commands:.2f} |")
    return "\n".join(lines)


def profile_ledger_single(spec: Spec) -> str:
    """Run ledger_single with cProfile around the timed loop; the hot spots as markdown."""
    profiler = cProfile.Profile()
    result = run_ledger(spec, profiler)
    stats = pstats.Stats(profiler)
    return f"### {spec.store}\n\n{render(stats, result.commands)}"
