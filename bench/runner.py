"""The scenario plan, and running each scenario in its own fresh process."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import TypeVar

from bench.appends import run_ledger
from bench.baselines import run_bare, run_raw
from bench.model import POSTGRES, SQLITE, Result, Spec

RUNNERS: dict[str, Callable[[Spec], Result]] = {
    "ledger_single": run_ledger,
    "ledger_burst": run_ledger,
    "es_bare_single": run_bare,
    "es_bare_single_idx": run_bare,
    "es_bare_burst": run_bare,
    "raw_sqlite": run_raw,
    "raw_psycopg": run_raw,
}
BURSTS = (10, 100)
T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    single: int
    burst: int

    @classmethod
    def default(cls, n: int | None, *, quick: bool) -> Sizes:
        single = n or (300 if quick else 2000)
        return cls(single=single, burst=3 * single)


def raw_name(store: str) -> str:
    return "raw_sqlite" if store == SQLITE else "raw_psycopg"


def plan(stores: tuple[str, ...], sizes: Sizes, postgres_url: str | None) -> list[Spec]:
    """Every scenario on every store; single commands warm up on 5%, bursts on 100+ acts."""
    specs: list[Spec] = []
    for store in stores:
        url = postgres_url if store == POSTGRES else None
        warm = max(20, sizes.single // 20)
        for name in ("ledger_single", "es_bare_single", "es_bare_single_idx", raw_name(store)):
            specs.append(Spec(name, store, sizes.single, warm, 1, url))
        for burst in BURSTS:
            commands = max(1, sizes.burst // burst) * burst
            warm_bursts = max(2, 100 // burst)
            for name in ("ledger_burst", "es_bare_burst", raw_name(store)):
                specs.append(Spec(name, store, commands, warm_bursts, burst, url))
    return specs


def run_spec(spec: Spec) -> Result:
    """Entry point in the child process."""
    return RUNNERS[spec.scenario](spec)


def _context() -> BaseContext:
    """A fork server with the benchmark preloaded (imports paid once), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bench.runner", "bench.profiling"])
    return context


def isolated(func: Callable[[Spec], T], spec: Spec) -> T:
    """``func(spec)`` in a fresh child process (own caches, own connections, own peak RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
        return pool.submit(func, spec).result()
