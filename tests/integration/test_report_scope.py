"""A quarter's report replays only the cases with an event recorded since the quarter began,
and that gives exactly the figures of a replay of the whole log (both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ledger.demo.year import generate_year
from ledger.ledger import Ledger
from projections import tables
from projections.report import SlaReport, build_sla_report, live_sla_report
from projections.runner import Runner
from projections.viewstore.base import ViewStore
from support.ledgers import year_ledger
from support.views import runner, view_store

PERIODS = ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1")
AS_OF = (None, datetime(2024, 8, 15, 3, tzinfo=UTC), datetime(2024, 10, 2, 2, tzinfo=UTC))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def year(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    with year_ledger(request.param) as (ledger, clock):
        generate_year(ledger, clock, seed=7)
        yield ledger


def scoped(ledger: Ledger, period: str, as_of: datetime | None) -> SlaReport:
    def make_runner(store: ViewStore, moment: datetime | None) -> Runner:
        return runner(ledger, store, as_of=moment, table_set=(tables.SLA,))

    return build_sla_report(make_runner, period, as_of=as_of)


def whole_log(ledger: Ledger, period: str, as_of: datetime | None) -> SlaReport:
    with view_store(ledger) as store:
        full = runner(ledger, store, as_of=as_of, table_set=(tables.SLA,))
        full.prepare()
        full.catch_up()
        return live_sla_report(
            store,
            period,
            calendar_version=full.projection.env.calendar.version,
            log_position=full.projection.last_position,
        )


def test_scoped_replay_equals_whole_log_replay(year: Ledger) -> None:
    cases = len(year.list_cases())
    scopes = {}
    for as_of in AS_OF:
        for period in PERIODS:
            report = scoped(year, period, as_of)
            expected = whole_log(year, period, as_of)
            assert report.executions == expected.executions, (period, as_of)
            assert report.groups == expected.groups, (period, as_of)
            if as_of is None:  # the content names the as_of moment, the live report none
                assert report.content_sha256 == expected.content_sha256, period
            scopes[period, as_of] = report.manifest["replay_scope"]["aggregates"]
    assert scopes["2024-Q1", None] > cases  # directory and SOP aggregates too
    assert scopes["2024-Q4", None] < cases  # the first half-year's cases are not replayed
    assert scopes["2024-Q3", AS_OF[1]] < scopes["2024-Q3", None]
    assert any(scoped(year, p, None).executions for p in PERIODS[2:])


def test_log_position_of_an_as_of_report_is_the_last_event_recorded_by_then(year: Ledger) -> None:
    moment = AS_OF[1]
    assert moment is not None
    known = [p for p, e in year.read_log() if e.recorded_at <= moment]
    report = scoped(year, "2024-Q4", moment)
    assert report.manifest["log_position"] == max(known)
    assert report.manifest["log_read_upto"] == year.max_position()
