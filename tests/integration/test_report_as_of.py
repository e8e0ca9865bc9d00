"""A late, back-dated entry changes the "now" report but not the report as of an earlier T.

The ledger runs on both stores; each report replays the log into its own throw-away view
store. ``as_of`` keeps out every event *recorded* after T, wherever its ``occurred_at`` lies,
so a quarter's report as of T can be produced again, identically, at any later time.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import version
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.calendars import default_calendar
from ledger.commands import OpenCase
from ledger.demo.org import BIRO, DINAS
from ledger.ledger import Ledger
from projections import tables
from projections.report import SlaReport, build_sla_report
from projections.runner import Runner
from projections.viewstore.base import ViewStore
from support.ledgers import FakeClock
from support.views import runner
from support.walk import complete_step

WIB = ZoneInfo("Asia/Jakarta")
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
QUARTER = "2024-Q3"


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=WIB)


def report(ledger: Ledger, as_of: datetime | None = None) -> SlaReport:
    def make_runner(store: ViewStore, moment: datetime | None) -> Runner:
        return runner(ledger, store, as_of=moment, table_set=(tables.SLA,))

    return build_sla_report(make_runner, QUARTER, as_of=as_of)


def open_case(ledger: Ledger, sop_id: str, unit: str, at: datetime) -> UUID:
    command = OpenCase(sop_id=sop_id, unit=unit, period=QUARTER, occurred_at=at)
    return ledger.open_case(command).aggregate_id


def walk_quarter(ledger: Ledger, clock: FakeClock) -> UUID:
    """Record the quarter the morning after it ended: B complete (recorded at 08:00), then
    C up to step 6 (recorded at 08:30), its step 7 still open. Returns C's case id."""
    clock.now = wib(10, 1, 8)
    case_b = open_case(ledger, B, DINAS, wib(9, 2, 8))
    for step, at in ((1, wib(9, 2, 8, 10)), (2, wib(9, 2, 10)), (3, wib(9, 2, 11))):
        complete_step(ledger, case_b, step, at=at)
    for branch in ledger.case(case_b).branches:
        complete_step(ledger, case_b, 4, branch, at=wib(9, 3, 15))
    for step, at in ((5, wib(9, 4, 15)), (6, wib(9, 5, 9)), (7, wib(9, 5, 10))):
        complete_step(ledger, case_b, step, at=at)
    for step, at in ((8, wib(9, 5, 10, 30)), (9, wib(9, 5, 10, 31))):
        complete_step(ledger, case_b, step, at=at)

    clock.now = wib(10, 1, 8, 30)
    case_c = open_case(ledger, C, BIRO, wib(9, 19, 8))  # Thu 19 Sep
    for step, at in (
        (1, wib(9, 19, 8, 30)),
        (2, wib(9, 19, 9, 30)),
        (3, wib(9, 19, 11, 30)),
        (4, wib(9, 19, 14)),
        (5, wib(9, 20, 10)),
        (6, wib(9, 23, 10)),  # Mon 23 Sep: step 7 (2 hari) starts
    ):
        complete_step(ledger, case_c, step, at=at)
    return case_c


def groups_by_step(result: SlaReport) -> dict[tuple[str, int], dict[str, object]]:
    return {(g["sop_id"], g["step"]): g for g in result.groups}


def test_a_late_back_dated_entry_changes_now_but_not_the_report_as_of_t1(
    ledger: Ledger, clock: FakeClock
) -> None:
    case_c = walk_quarter(ledger, clock)
    t0 = wib(10, 1, 8, 15)  # after B was recorded, before C was
    t1 = wib(10, 1, 9)  # after both
    head_at_t1 = ledger.max_position()

    as_of_t0 = report(ledger, t0)
    as_of_t1 = report(ledger, t1)
    now_before = report(ledger)

    # The late entry: recorded on 3 Oct, back-dated to Wed 25 Sep (inside the quarter, and
    # before T1), it completes C's step 7 and with it the case.
    clock.now = wib(10, 3, 9)
    complete_step(ledger, case_c, 7, at=wib(9, 25, 10))
    assert ledger.max_position() > head_at_t1

    now_after = report(ledger)
    now_again = report(ledger)
    as_of_t1_again = report(ledger, t1)

    # As of T1, nothing changed: same figures, same rows, same hash, same log position.
    assert as_of_t1_again.content_sha256 == as_of_t1.content_sha256
    assert as_of_t1_again.groups == as_of_t1.groups
    assert as_of_t1_again.executions == as_of_t1.executions
    assert as_of_t1_again.manifest["log_position"] == as_of_t1.manifest["log_position"]
    assert as_of_t1.manifest["log_position"] == head_at_t1
    # only how far the log was read differs: it has grown since
    assert as_of_t1_again.manifest["log_read_upto"] > as_of_t1.manifest["log_read_upto"]
    unchanged = {k: v for k, v in as_of_t1.manifest.items() if k != "log_read_upto"}
    assert {k: v for k, v in as_of_t1_again.manifest.items() if k != "log_read_upto"} == (unchanged)

    # Before the late entry, "now" had the same rows as "as of T1" (the hash differs only
    # because as_of is part of the content).
    assert (now_before.groups, now_before.executions) == (as_of_t1.groups, as_of_t1.executions)
    assert now_before.content_sha256 != as_of_t1.content_sha256

    # "Now" changes: new figures, new hash, and C's step 7 shows up in the quarter.
    assert now_after.content_sha256 != now_before.content_sha256
    assert now_after.groups != now_before.groups
    assert now_after.manifest["log_position"] == ledger.max_position()
    assert (C, 7) not in groups_by_step(now_before)
    late = groups_by_step(now_after)[(C, 7)]
    assert (late["executions"], late["completed"], late["met"], late["breached"]) == (1, 1, 1, 0)
    # 2 hari from Mon 23 Sep 10:00 (2.5/7.5 of the day): Tue (1), Wed (2) → Wed 10:00;
    # Mon 10:00→16:00 5 h + Tue 7.5 h + Wed 07:30→10:00 2.5 h = 15 h
    assert (late["median_seconds"], late["p90_seconds"]) == (54000, 54000)
    new_rows = [r for r in now_after.executions if r not in now_before.executions]
    assert [(r["case_id"], r["step"], r["outcome"]) for r in new_rows] == [
        (str(case_c), 7, "completed")
    ]
    (row,) = new_rows
    assert row["end_at"] == "2024-09-25T10:00:00+07:00"
    assert row["deadline"] == "2024-09-25T10:00:00+07:00"
    assert (row["working_seconds"], row["met"], row["quarter"]) == (54000, True, QUARTER)
    assert {(r["case_id"], r["step"]) for r in now_before.executions} < {
        (r["case_id"], r["step"]) for r in now_after.executions
    }

    # Re-running "now" gives the same report.
    assert now_again.content_sha256 == now_after.content_sha256
    assert now_again.manifest == now_after.manifest

    # As of T0 only B had been recorded: C's executions are not in that report at all.
    assert {r["sop_id"] for r in as_of_t0.executions} == {B}
    assert {r["sop_id"] for r in as_of_t1.executions} == {B, C}
    assert as_of_t0.manifest["log_position"] < as_of_t1.manifest["log_position"]


def test_the_manifest_names_what_the_figures_were_computed_from(
    ledger: Ledger, clock: FakeClock
) -> None:
    walk_quarter(ledger, clock)
    t1 = wib(10, 1, 9)
    result = report(ledger, t1)
    manifest = result.manifest
    assert manifest["report"] == "sla"
    assert manifest["period"] == QUARTER
    assert manifest["as_of"] == "2024-10-01T09:00:00+07:00"
    assert manifest["grouped_by"] == "step"
    assert manifest["calendar_version"] == default_calendar().version
    assert manifest["calendar_version"].startswith("pemprov-sumbar@")
    assert manifest["sop_versions"] == [
        "biro-org.evaluasi-kinerja-internal@2023-04-06",
        "dinas-bmcktr.pengukuran-kinerja@2024-01-11",
    ]
    assert manifest["software_version"] == f"sop-ledger {version('sop-ledger')}"
    assert manifest["log_position"] == ledger.max_position() > 0
    assert manifest["quarter_rule"]
    assert manifest["percentiles"] == "nearest-rank"
    assert len(result.content_sha256) == 64
    assert int(result.content_sha256, 16) >= 0
    assert result.as_json()["content_sha256"] == result.content_sha256
    # the same question asked twice is answered identically
    assert report(ledger, t1) == result
