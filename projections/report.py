"""Replayable quarterly SLA reports, each with a manifest and a hash of its content.

A report rebuilds the SLA view from the log into a throw-away store, so it never depends on
what the live views happen to hold. ``as_of`` replays the ledger as it was known then:
events recorded later are left out even when they are back-dated into the quarter, so the
report of a past moment can be produced again, identically, at any later time.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import orjson

from ledger.core.clock import WIB, as_wib
from ledger.core.periods import Quarter
from projections import queries
from projections.runner import Runner
from projections.viewstore.base import ViewStore
from projections.viewstore.sqlite import SqliteViewStore

SOFTWARE = "sop-ledger 0.1.0"

RunnerFactory = Callable[[ViewStore, datetime | None], Runner]


@dataclass(frozen=True, slots=True)
class SlaReport:
    manifest: dict[str, Any]
    groups: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    content_sha256: str

    def as_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "content_sha256": self.content_sha256,
            "groups": self.groups,
            "executions": self.executions,
        }


def build_sla_report(
    make_runner: RunnerFactory,
    period: str,
    *,
    as_of: datetime | None = None,
    by: str = "step",
    sop_id: str | None = None,
    unit: str | None = None,
    workdir: Path | None = None,
) -> SlaReport:
    """Replay the log into a temporary store and summarise the quarter's step executions
    (an execution belongs to the quarter, in WIB, in which it ended).

    Only cases with an event recorded since the quarter began are replayed (each one
    whole): an execution ending in the quarter ended at an act that occurred then, and no
    act is recorded before it occurs, so no other case can hold one. A past quarter of a
    long ledger replays a small part of the log."""
    parsed = Quarter.parse(period)
    quarter = str(parsed)
    begins = datetime.combine(parsed.first_day, time(0), WIB)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="sla-report-") as tmp:
        store = SqliteViewStore(Path(tmp) / "views.sqlite")
        try:
            runner = make_runner(store, as_of)
            runner.source.only_recorded_since(begins)
            runner.prepare()
            runner.catch_up()
            rows = queries.sla_executions(store, quarter=quarter, sop_id=sop_id, unit=unit)
            read_upto = runner.head
            included = runner.source.reached(read_upto)
            scope = {
                "recorded_since": _iso(begins),
                "aggregates": runner.source.scoped_aggregates,
            }
        finally:
            store.close()
    return assemble(
        rows,
        quarter,
        as_of=as_of,
        by=by,
        filters={"sop_id": sop_id, "unit": unit},
        calendar_version=runner.projection.env.calendar.version,
        log_position=included,
        read_upto=read_upto,
        scope=scope,
    )


def live_sla_report(
    store: ViewStore,
    period: str,
    *,
    calendar_version: str,
    log_position: int,
    by: str = "step",
    sop_id: str | None = None,
    unit: str | None = None,
) -> SlaReport:
    """The same report from the live views (as far as they have read the log): fast, and
    equal in content and hash to a replay up to ``log_position``."""
    quarter = str(Quarter.parse(period))
    rows = queries.sla_executions(store, quarter=quarter, sop_id=sop_id, unit=unit)
    return assemble(
        rows,
        quarter,
        as_of=None,
        by=by,
        filters={"sop_id": sop_id, "unit": unit},
        calendar_version=calendar_version,
        log_position=log_position,
        read_upto=log_position,
        source="live views",
    )


def assemble(
    rows: list[dict[str, Any]],
    quarter: str,
    *,
    as_of: datetime | None,
    by: str,
    filters: dict[str, str | None],
    calendar_version: str,
    log_position: int,
    read_upto: int,
    source: str = "replay",
    scope: dict[str, Any] | None = None,
) -> SlaReport:
    """Groups, manifest and content hash of a quarter's execution rows."""
    executions = [_plain(row) for row in rows]
    groups = [_plain(g) for g in queries.summarise(rows, queries.GROUPINGS[by])]
    versions = sorted({f"{r['sop_id']}@{r['sop_version']}" for r in rows})
    content = {
        "period": quarter,
        "as_of": _iso(as_of),
        "by": by,
        "filters": filters,
        "calendar_version": calendar_version,
        "sop_versions": versions,
        "groups": groups,
        "executions": executions,
    }
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    manifest = {
        "report": "sla",
        "period": quarter,
        "as_of": _iso(as_of),
        "grouped_by": by,
        "filters": filters,
        "source": source,
        "log_position": log_position,
        "log_read_upto": read_upto,
        "sop_versions": versions,
        "calendar_version": calendar_version,
        "software_version": SOFTWARE,
        "quarter_rule": "an execution counts in the quarter (WIB) in which it ended",
        "percentiles": "nearest-rank",
    }
    if scope is not None:
        manifest["replay_scope"] = scope
    return SlaReport(manifest, groups, executions, digest)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_wib(moment).isoformat()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in row.items()}
