"""Our Ledger's appends: one act per command (record_action) or bursts (record_batch)."""

from __future__ import annotations

import cProfile
import gc
from collections.abc import Callable, Sequence
from time import perf_counter_ns
from typing import TypeVar

from bench.model import Result, Spec, summarize
from bench.rows import max_position, stored_after
from bench.stores import fresh_settings
from bench.workload import FakeClock, open_cases, seeded_ledger
from ledger.commands import RecordAction
from ledger.ledger import Ledger

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _timed(calls: Sequence[T], run: Callable[[T], object], clock: FakeClock) -> list[int]:
    """Run ``run(call)`` for each call, timing only the call; the clock ticks in between."""
    durations: list[int] = []
    append = durations.append
    for call in calls:
        clock.tick()
        started = perf_counter_ns()
        run(call)
        append(perf_counter_ns() - started)
    return durations


def run_ledger(spec: Spec, profiler: cProfile.Profile | None = None) -> Result:
    """ledger_single (burst 1: record_action) or ledger_burst (record_batch of ``burst``);
    ``profiler``, if given, is enabled around the timed loop only."""
    clock = FakeClock()
    with fresh_settings(spec.store, spec.postgres_url) as settings:
        ledger = seeded_ledger(settings, clock)
        try:
            return _measure(ledger, clock, spec, profiler)
        finally:
            ledger.close()


def _measure(
    ledger: Ledger, clock: FakeClock, spec: Spec, profiler: cProfile.Profile | None
) -> Result:
    warm = spec.warmup * spec.burst
    cases, acts = open_cases(ledger, warm + spec.commands)
    bursts = chunks(acts, spec.burst)
    warm_bursts, timed_bursts = bursts[: spec.warmup], bursts[spec.warmup :]
    commands = sum(len(b) for b in timed_bursts)

    def single(burst: Sequence[RecordAction]) -> object:
        return ledger.record_action(burst[0])

    def batch(burst: Sequence[RecordAction]) -> object:
        return ledger.record_batch(list(burst))

    notes: dict[str, str] = {}
    run = batch if spec.burst > 1 else single
    _timed(warm_bursts, run, clock)
    gc.collect()
    start = max_position(ledger.store.recorder)
    if profiler is not None:
        profiler.enable()
    durations = _timed(timed_bursts, run, clock)
    if profiler is not None:
        profiler.disable()
    events, avg_bytes = stored_after(ledger.store.recorder, start)
    return summarize(
        spec,
        durations_ns=durations,
        commands=commands,
        events=events,
        aggregates=cases,
        avg_event_bytes=avg_bytes,
        notes=notes,
    )
