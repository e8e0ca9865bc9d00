"""python -m bench [--quick] [--n N] [--postgres-url URL] [--stores ...] [--profile ...]"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from bench.machine import describe
from bench.model import POSTGRES, STORES, Result
from bench.profiling import profile_ledger_single
from bench.report import TARGET_OVERHEAD_PCT, ratios, write
from bench.runner import Sizes, isolated, plan, run_spec
from bench.stores import ENV_URL, postgres_base_url

OUT_DIR = Path(__file__).resolve().parent


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~20 s smoke run (N=300)")
    parser.add_argument("--n", type=int, help="single commands per store (bursts use 3N)")
    parser.add_argument("--postgres-url", help=f"server to create databases on (or ${ENV_URL})")
    parser.add_argument(
        "--stores", default=",".join(STORES), help="comma-separated: sqlite,postgres"
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile ledger_single when its overhead exceeds the target (auto)",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where results.* go")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of the whole plan, interleaved; each row reports its median round",
    )
    return parser.parse_args(argv)


def _line(r: Result) -> str:
    return (
        f"{r.commands_per_s:9,.0f} cmd/s {r.events_per_s:9,.0f} ev/s "
        f"p50 {r.p50_ms:7.3f} ms p99 {r.p99_ms:7.3f} ms rss {r.peak_rss_mb:5.0f} MB"
    )


def _median(runs: list[Result]) -> Result:
    """The round with the median throughput (noise on a shared 2-core machine is large)."""
    return sorted(runs, key=lambda r: r.commands_per_s)[len(runs) // 2]


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    stores = tuple(s.strip() for s in args.stores.split(",") if s.strip())
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        raise SystemExit(f"unknown store(s): {unknown}")
    url = postgres_base_url(args.postgres_url) if POSTGRES in stores else None
    sizes = Sizes.default(args.n, quick=args.quick)
    specs = plan(stores, sizes, url)
    started = time.monotonic()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rounds: dict[tuple[str, str], list[Result]] = {}
    failures: list[str] = []
    for round_number in range(1, args.repeat + 1):
        for number, spec in enumerate(specs, 1):
            print(
                f"[{round_number}/{args.repeat} {number:2}/{len(specs)}] {spec.store:8} "
                f"{spec.label:24}",
                end=" ",
                flush=True,
            )
            try:
                result = isolated(run_spec, spec)
            except Exception as error:  # one broken scenario must not lose the others
                failures.append(f"{spec.store} {spec.label}: {error!r}")
                print(f"FAILED: {error!r}", flush=True)
                continue
            rounds.setdefault((spec.store, spec.label), []).append(result)
            print(_line(result), flush=True)
    results = [_median(runs) for runs in rounds.values()]

    profiles: list[str] = []
    for store in stores:
        headline = [r for r in ratios(results) if r.store == store and r.headline]
        above = any(r.overhead_pct > TARGET_OVERHEAD_PCT for r in headline)
        if args.profile == "always" or (args.profile == "auto" and above):
            spec = next(s for s in specs if s.store == store and s.scenario == "ledger_single")
            print(f"profiling ledger_single on {store} ...", flush=True)
            profiles.append(isolated(profile_ledger_single, spec))

    command = shlex.join(["python", "-m", "bench", *argv])
    info = describe(url, command)
    info["wall_seconds"] = f"{time.monotonic() - started:.0f}"
    info["load_average_before"] = load_before
    info["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = write(args.out, results, info, "\n\n".join(profiles) or None, failures)
    print()
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
