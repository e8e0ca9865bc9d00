"""What a benchmark run is asked to do (Spec) and what it measured (Result)."""

from __future__ import annotations

import math
import resource
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

SQLITE = "sqlite"
POSTGRES = "postgres"
STORES = (SQLITE, POSTGRES)


@dataclass(frozen=True)
class Spec:
    """One scenario on one store, run in its own process on a fresh store."""

    scenario: str
    store: str
    commands: int
    warmup: int
    burst: int = 1
    postgres_url: str | None = None

    @property
    def label(self) -> str:
        return self.scenario if self.burst == 1 else f"{self.scenario}[B={self.burst}]"


@dataclass(frozen=True)
class Result:
    scenario: str
    store: str
    burst: int
    commands: int
    events: int
    aggregates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float
    avg_event_bytes: float
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.scenario if self.burst == 1 else f"{self.scenario}[B={self.burst}]"

    @property
    def commands_per_s(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        data["commands_per_s"] = round(self.commands_per_s, 1)
        data["events_per_s"] = round(self.events_per_s, 1)
        return data


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return peak / divisor


def summarize(
    spec: Spec,
    *,
    durations_ns: list[int],
    commands: int,
    events: int,
    aggregates: int,
    avg_event_bytes: float,
    notes: dict[str, Any] | None = None,
) -> Result:
    """A Result from the timed calls (one duration per command, or per burst)."""
    ordered = sorted(durations_ns)
    return Result(
        scenario=spec.scenario,
        store=spec.store,
        burst=spec.burst,
        commands=commands,
        events=events,
        aggregates=aggregates,
        seconds=sum(ordered) / 1e9,
        p50_ms=percentile(ordered, 0.50) / 1e6,
        p99_ms=percentile(ordered, 0.99) / 1e6,
        peak_rss_mb=peak_rss_mb(),
        avg_event_bytes=avg_event_bytes,
        notes=notes or {},
    )
