"""The results table, the headline ratios, and the files they are written to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.model import STORES, Result

TARGET_OVERHEAD_PCT = 20.0
HEADER = (
    "| store | scenario | commands | events | aggregates | s | commands/s | events/s "
    "| p50 ms | p99 ms | B/event | peak RSS MB |"
)
RULE = "|" + "---|" * 12


@dataclass(frozen=True)
class Ratio:
    store: str
    subject: str
    baseline: str
    subject_rate: float
    baseline_rate: float

    @property
    def overhead_pct(self) -> float:
        """How much faster the baseline is: (baseline_rate / subject_rate - 1) * 100."""
        return (self.baseline_rate / self.subject_rate - 1) * 100 if self.subject_rate else 0.0

    @property
    def headline(self) -> bool:
        return self.subject == "ledger_single" and self.baseline == "es_bare_single"

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "subject": self.subject,
            "baseline": self.baseline,
            "subject_commands_per_s": round(self.subject_rate, 1),
            "baseline_commands_per_s": round(self.baseline_rate, 1),
            "overhead_pct": round(self.overhead_pct, 1),
        }


def _row(r: Result) -> str:
    cells = (
        r.store,
        r.label,
        str(r.commands),
        str(r.events),
        str(r.aggregates),
        f"{r.seconds:.2f}",
        f"{r.commands_per_s:,.0f}",
        f"{r.events_per_s:,.0f}",
        f"{r.p50_ms:.3f}",
        f"{r.p99_ms:.3f}",
        f"{r.avg_event_bytes:.0f}",
        f"{r.peak_rss_mb:.0f}",
    )
    return "| " + " | ".join(cells) + " |"


def table(results: list[Result]) -> str:
    return "\n".join([HEADER, RULE, *(_row(r) for r in results)])


def ratios(results: list[Result]) -> list[Ratio]:
    """Ledger vs bare eventsourcing, and both vs the raw driver, per store and burst size."""
    out: list[Ratio] = []
    for store in STORES:
        found = {r.label: r for r in results if r.store == store}
        raw = {r.burst: r for r in found.values() if r.scenario.startswith("raw_")}
        for ledger in found.values():
            if not ledger.scenario.startswith("ledger_"):
                continue
            bare = found.get(ledger.label.replace("ledger_", "es_bare_"))
            limit = raw.get(ledger.burst)
            indexed = found.get(f"{bare.label}_idx") if bare else None
            for subject, baseline in (
                (ledger, bare),
                (ledger, indexed),
                (indexed, bare),
                (ledger, limit),
                (bare, limit),
            ):
                if subject is not None and baseline is not None:
                    out.append(
                        Ratio(
                            store,
                            subject.label,
                            baseline.label,
                            subject.commands_per_s,
                            baseline.commands_per_s,
                        )
                    )
    return out


def ratio_lines(found: list[Ratio]) -> list[str]:
    lines = [
        "| store | subject | baseline | subject cmd/s | baseline cmd/s | overhead % |",
        "|---|---|---|---|---|---|",
    ]
    for r in found:
        overhead = f"{r.overhead_pct:+.1f}%"
        if r.headline:
            verdict = "OK" if r.overhead_pct <= TARGET_OVERHEAD_PCT else "ABOVE TARGET"
            overhead = f"**{overhead}** {verdict} (target <= {TARGET_OVERHEAD_PCT:.0f}%)"
        lines.append(
            f"| {r.store} | {r.subject} | {r.baseline} | {r.subject_rate:,.0f} | "
            f"{r.baseline_rate:,.0f} | {overhead} |"
        )
    return lines


NOTES = """\
Notes:
- Only the append calls are timed (case opening, command building, warm-up are not);
  `s` is the sum of the timed calls. Latency is per command for single scenarios and per
  burst (one transaction of B commands) for `[B=...]` rows.
- `overhead %` = (baseline commands/s / subject commands/s - 1) * 100.
- Every scenario runs in its own fresh child process (forked from a fork server with the
  benchmark preloaded) on a brand-new store (temp dir / database), so `peak RSS` is that
  scenario's process peak (ru_maxrss), interpreter, imports and prepared workload included.
- The machine is shared (see the load averages above): back-to-back repeats of the same
  scenario differ by up to ~15-20% in commands/s; read ratios, not single figures, and
  compare several runs before acting on a difference of that size.
- ledger_* events include the derived `case.completed` events; es_bare_* and raw_* store one
  event (row) per command. The bare app uses our env (`eventsourcing_env(settings,
  create_table=True)`) plus the library's aggregate cache sized like the ledger's own state
  cache (`settings.cache_size`, no deepcopy, fast-forward on): each get is one query.
- Each row is the median (by commands/s) of `--repeat` rounds (default 3) of the whole plan,
  run interleaved so that a noisy moment hits every scenario alike.
- The ledger's own tables carry its migrations (generated `recorded_at` column and its
  index); the bare app's and raw tables have only the primary key.
  `es_bare_single_idx` is a diagnostic: the bare app with the ledger's migrations applied to
  its table (its JSON has no `recorded_at`, so that index gets NULLs), to separate the
  storage cost of those indexes from the in-process cost of the ledger.
- raw_sqlite: stdlib sqlite3, WAL, `BEGIN; INSERT...; COMMIT` per call (executemany for
  bursts). raw_psycopg: psycopg 3, autocommit single inserts; bursts are `executemany` in
  one transaction.
"""


def _remarks(results: list[Result], failures: list[str]) -> list[str]:
    lines = [f"- FAILED: {failure}" for failure in failures]
    for r in results:
        lines += [f"- {r.store} {r.label}: {key}: {value}" for key, value in r.notes.items()]
    return ["## Remarks", "", *lines, ""] if lines else []


def markdown(
    results: list[Result], info: dict[str, str], profile: str | None, failures: list[str]
) -> str:
    machine = "\n".join(f"- {k}: `{v}`" for k, v in info.items())
    parts = [
        "# Append benchmark: SOP Ledger vs bare eventsourcing vs raw drivers",
        "",
        machine,
        "",
        "## Results",
        "",
        table(results),
        "",
        "## Ratios",
        "",
        *ratio_lines(ratios(results)),
        "",
        NOTES,
        *_remarks(results, failures),
    ]
    if profile:
        parts += ["## Profile of ledger_single (hot spots in ledger code)", "", profile, ""]
    return "\n".join(parts)


def write(
    directory: Path,
    results: list[Result],
    info: dict[str, str],
    profile: str | None,
    failures: list[str],
) -> str:
    text = markdown(results, info, profile, failures)
    (directory / "results.md").write_text(text)
    data = {
        "machine": info,
        "results": [r.as_json() for r in results],
        "ratios": [r.as_json() for r in ratios(results)],
        "profile": profile,
        "failures": failures,
    }
    (directory / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    return text
