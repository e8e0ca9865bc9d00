"""SLA figures for hand-built cases equal values computed by hand, on both stores.

Cases are recorded through the real ledger with explicit ``occurred_at`` times, projected
with the bundled Sumbar calendar, and every step execution is checked field by field against
figures worked out on paper (the arithmetic is written beside each value). The calendar:

* regular week: Mon-Thu 07:30-12:00 + 13:00-16:00 (4.5 h + 3 h = 7.5 h = 27000 s),
  Fri 07:30-11:30 + 13:00-16:30 (4 h + 3.5 h = 7.5 h = 27000 s);
* Ramadan 2024 (12 Mar - 9 Apr): Mon-Thu 08:00-12:00 + 12:30-15:00 (4 h + 2.5 h = 6.5 h =
  23400 s), Fri 08:00-11:30 + 12:30-15:30 (3.5 h + 3 h = 6.5 h = 23400 s);
* days off used here: 16 Sep 2024 (Maulid Nabi), 8-15 Apr 2024 (Eid al-Fitr:
  8, 9, 12, 15 cuti bersama, 10, 11 Eid), 1 May 2024 (Labour Day), 9 May 2024 (Ascension)
  + 10 May (cuti bersama), 27 Nov 2024 (regional election day), 25 Dec 2024 (Christmas)
  + 26 Dec (cuti bersama), 1 Jan 2025 (New Year).

Standards: ``menit``/``jam`` add working minutes inside office hours; ``hari`` lands at the
same fraction of the working day N working days later. ``met`` = end <= deadline (equal is
met). An execution's quarter is the WIB quarter in which it ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.calendars import default_calendar
from ledger.commands import CancelCase, OpenCase
from ledger.core.sop import Action
from ledger.demo.org import BIRO, DINAS
from ledger.ledger import Ledger
from projections import queries
from projections.viewstore.base import ViewStore
from support.ledgers import FakeClock
from support.views import runner, view_store
from support.walk import act, complete_step

WIB = ZoneInfo("Asia/Jakarta")
A = "biro-org.pengukuran-kinerja"
B = "dinas-bmcktr.pengukuran-kinerja"
C = "biro-org.evaluasi-kinerja-internal"
FAR = datetime(2026, 1, 1, tzinfo=UTC)  # server clock: every back-dated act is in its past

KEPALA_BIRO = "197305131997032005"
KABAG_TTL = ("197811202003121002", "Andri Saputra, S.STP, M.Si")
KEPALA_DINAS = ("197209251998031003", "Erasukma Munaf, ST, MM")

CHECKED = ("trigger", "start_at", "end_at", "working_seconds", "deadline", "met", "outcome")
Key = tuple[int, str | None, int]


def wib(month: int, day: int, hour: int, minute: int = 0, *, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def done(
    start: datetime,
    end: datetime | None,
    seconds: int | None,
    deadline: datetime,
    met: bool | None,
    *,
    outcome: str = "completed",
    trigger: str = "input",
) -> dict[str, Any]:
    """The expected SLA columns of one execution."""
    return {
        "trigger": trigger,
        "start_at": start,
        "end_at": end,
        "working_seconds": seconds,
        "deadline": deadline,
        "met": met,
        "outcome": outcome,
    }


def still_open(start: datetime, deadline: datetime) -> dict[str, Any]:
    return done(start, None, None, deadline, None, outcome="open")


@contextmanager
def projected(ledger: Ledger) -> Iterator[ViewStore]:
    """A fresh view store on the ledger's backend, caught up with the whole log."""
    with view_store(ledger) as store:
        runner(ledger, store).catch_up()
        yield store


def executions(store: ViewStore, case_id: UUID) -> dict[Key, dict[str, Any]]:
    rows = queries.sla_executions(store, case_id=str(case_id))
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    keyed = {(r["step"], r["branch"], r["repetition"]): r for r in rows}
    assert len(keyed) == len(rows), "one row per (step, branch, repetition)"
    return keyed


def assert_executions(
    found: dict[Key, dict[str, Any]], expected: dict[Key, dict[str, Any]]
) -> None:
    assert sorted(found, key=str) == sorted(expected, key=str)
    for key, want in expected.items():
        got = {column: found[key][column] for column in CHECKED}
        assert got == want, f"step {key[0]} branch {key[1]} repetition {key[2]}"


def open_case(ledger: Ledger, sop_id: str, unit: str, period: str, at: datetime) -> UUID:
    return ledger.open_case(
        OpenCase(sop_id=sop_id, unit=unit, period=period, occurred_at=at)
    ).aggregate_id


def walk(ledger: Ledger, case_id: UUID, steps: dict[int, datetime]) -> None:
    for step, at in steps.items():
        complete_step(ledger, case_id, step, at=at)


# --------------------------------------------------------------------------- calendar


def test_weekend_national_holiday_and_office_breaks(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = FAR
    case = open_case(ledger, C, BIRO, "2024-Q3", wib(9, 6, 15))  # Fri 6 Sep 2024 15:00
    complete_step(ledger, case, 1, at=wib(9, 6, 15, 30))
    act(ledger, case, 2, Action.DRAFT, at=wib(9, 6, 16, 15))
    act(ledger, case, 2, Action.DISTRIBUTION, at=wib(9, 9, 8, 30))  # the step ends at its last act
    walk(
        ledger,
        case,
        {
            3: wib(9, 9, 11, 30),
            4: wib(9, 9, 15),
            5: wib(9, 13, 15),
            6: wib(9, 17, 9),  # Mon 16 Sep: Maulid Nabi (national holiday)
            7: wib(9, 18, 16),
        },
    )
    with projected(ledger) as store:
        found = executions(store, case)
    assert_executions(
        found,
        {
            (1, None, 1): done(
                wib(9, 6, 15),  # the case opened: step 1's input exists
                wib(9, 6, 15, 30),
                1800,  # Fri 15:00→15:30 = 30 min
                wib(9, 6, 16),  # 60 working min from Fri 15:00, inside 13:00-16:30
                True,
            ),
            (2, None, 1): done(
                wib(9, 6, 15, 30),
                wib(9, 9, 8, 30),  # the later of draft (Fri 16:15) and distribution (Mon 08:30)
                7200,  # Fri 15:30→16:30 = 1 h; Sat, Sun 0; Mon 07:30→08:30 = 1 h → 2 h
                wib(9, 6, 16, 30),  # the 60 min run out exactly at Friday's closing
                False,
            ),
            (3, None, 1): done(
                wib(9, 9, 8, 30),
                wib(9, 9, 11, 30),
                10800,  # Mon 08:30→11:30 = 3 h
                wib(9, 9, 11, 30),  # 3 jam from 08:30, before the break
                True,  # ended exactly at the deadline: met
            ),
            (4, None, 1): done(
                wib(9, 9, 11, 30),
                wib(9, 9, 15),
                9000,  # 11:30→12:00 = 0.5 h; break 12:00-13:00; 13:00→15:00 = 2 h → 2.5 h
                wib(9, 9, 14, 30),  # 2 jam: 30 min before the break + 90 min from 13:00
                False,
            ),
            (5, None, 1): done(
                wib(9, 9, 15),
                wib(9, 13, 15),
                # Mon 15:00→16:00 = 3600; Tue, Wed, Thu 3 x 27000 = 81000;
                # Fri 07:30→11:30 = 14400 + 13:00→15:00 = 7200 → 3600 + 81000 + 21600
                106200,
                # 1 hari: Mon 15:00 is 6.5 h of the 7.5 h day; 6.5 h into Tue = 15:00
                wib(9, 10, 15),
                False,
            ),
            (6, None, 1): done(
                wib(9, 13, 15),
                wib(9, 17, 9),
                # Fri 15:00→16:30 = 1.5 h; Sat, Sun, Mon 16 Sep (Maulid) 0;
                # Tue 07:30→09:00 = 1.5 h → 3 h
                10800,
                wib(9, 17, 8),  # 2 jam: 90 min on Fri, the other 30 min Tue 07:30→08:00
                False,
            ),
            (7, None, 1): done(
                wib(9, 17, 9),
                wib(9, 18, 16),
                # Tue 09:00→12:00 = 3 h + 13:00→16:00 = 3 h; Wed 7.5 h → 13.5 h
                48600,
                # 2 hari: Tue 09:00 is 1.5/7.5 of the day; 2 working days on (Wed, Thu),
                # 1.5 h into Thu = 09:00
                wib(9, 19, 9),
                True,
            ),
        },
    )
    assert {row["quarter"] for row in found.values()} == {"2024-Q3"}
    assert (found[(5, None, 1)]["standard_unit"], found[(5, None, 1)]["standard_amount"]) == (
        "working_days",
        1,
    )
    assert (found[(4, None, 1)]["standard_unit"], found[(4, None, 1)]["standard_amount"]) == (
        "minutes",
        120,
    )


def test_ramadan_hours_and_eid_cuti_bersama(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = FAR
    ramadan = open_case(ledger, C, BIRO, "2024-Q1", wib(3, 18, 11))  # Mon 18 Mar, in Ramadan
    walk(
        ledger,
        ramadan,
        {
            1: wib(3, 18, 12, 45),
            2: wib(3, 18, 13, 30),
            3: wib(3, 19, 9),
            4: wib(3, 19, 11),
            5: wib(3, 20, 10),
            6: wib(3, 20, 13),
            7: wib(3, 22, 13, 30),
        },
    )
    eid = open_case(ledger, C, BIRO, "2024-Q2", wib(4, 5, 14))  # Fri 5 Apr, last Ramadan Fri
    walk(ledger, eid, {1: wib(4, 5, 15), 2: wib(4, 16, 9)})  # Tue 16 Apr: first day back
    with projected(ledger) as store:
        found_ramadan = executions(store, ramadan)
        found_eid = executions(store, eid)
    assert_executions(
        found_ramadan,
        {
            (1, None, 1): done(
                wib(3, 18, 11),
                wib(3, 18, 12, 45),
                # 11:00→12:00 = 1 h; Ramadan break is only 12:00-12:30; 12:30→12:45 = 15 min
                4500,
                wib(3, 18, 12),  # 60 min from 11:00 end at the Ramadan break
                False,
            ),
            (2, None, 1): done(
                wib(3, 18, 12, 45),
                wib(3, 18, 13, 30),
                2700,  # 12:45→13:30 = 45 min (a regular day would count 30 min)
                wib(3, 18, 13, 45),  # 12:45 + 60 min, no break in between
                True,
            ),
            (3, None, 1): done(
                wib(3, 18, 13, 30),
                wib(3, 19, 9),
                9000,  # Mon 13:30→15:00 (Ramadan closing) = 1.5 h; Tue 08:00→09:00 = 1 h
                wib(3, 19, 9, 30),  # 3 jam: 1.5 h Mon + 1.5 h from Tue 08:00
                True,
            ),
            (4, None, 1): done(
                wib(3, 19, 9),
                wib(3, 19, 11),
                7200,  # Tue 09:00→11:00 = 2 h
                wib(3, 19, 11),
                True,
            ),
            (5, None, 1): done(
                wib(3, 19, 11),
                wib(3, 20, 10),
                # Tue 11:00→12:00 = 1 h + 12:30→15:00 = 2.5 h; Wed 08:00→10:00 = 2 h → 5.5 h
                19800,
                # 1 hari: Tue 11:00 is 3 h of the 6.5 h Ramadan day; 3 h into Wed = 11:00
                wib(3, 20, 11),
                True,
            ),
            (6, None, 1): done(
                wib(3, 20, 10),
                wib(3, 20, 13),
                9000,  # Wed 10:00→12:00 = 2 h; break 12:00-12:30; 12:30→13:00 = 30 min
                wib(3, 20, 12),  # 2 jam from 10:00 end at the break
                False,
            ),
            (7, None, 1): done(
                wib(3, 20, 13),
                wib(3, 22, 13, 30),
                # Wed 13:00→15:00 = 2 h; Thu 6.5 h; Fri 08:00→11:30 = 3.5 h
                # + 12:30→13:30 = 1 h → 2 + 6.5 + 4.5 = 13 h
                46800,
                # 2 hari: Wed 13:00 is 4.5/6.5 of the day (08:00-12:00 + 12:30-13:00);
                # 2 working days on = Fri 22 Mar; 4.5 h into a Ramadan Friday =
                # 08:00-11:30 (3.5 h) + 1 h from 12:30 = 13:30
                wib(3, 22, 13, 30),
                True,
            ),
        },
    )
    assert {row["quarter"] for row in found_ramadan.values()} == {"2024-Q1"}
    assert_executions(
        found_eid,
        {
            (1, None, 1): done(
                wib(4, 5, 14),
                wib(4, 5, 15),
                3600,  # Ramadan Friday 14:00→15:00
                wib(4, 5, 15),
                True,
            ),
            (2, None, 1): done(
                wib(4, 5, 15),
                wib(4, 16, 9),
                # Fri 15:00→15:30 (Ramadan Friday closing) = 30 min; Sat 6, Sun 7,
                # Mon 8 + Tue 9 (cuti bersama), Wed 10 + Thu 11 (Eid al-Fitr),
                # Fri 12 (cuti bersama), Sat 13, Sun 14, Mon 15 (cuti bersama) 0;
                # Tue 16 regular hours again: 07:30→09:00 = 1.5 h → 2 h
                7200,
                wib(4, 16, 8),  # 30 min on Fri 5 Apr, the other 30 min Tue 16 07:30→08:00
                False,
            ),
            (3, None, 1): still_open(
                wib(4, 16, 9),
                wib(4, 16, 12),  # 3 jam from Tue 09:00 (regular hours): 09:00→12:00
            ),
        },
    )
    assert [found_eid[(s, None, 1)]["quarter"] for s in (1, 2, 3)] == ["2024-Q2", "2024-Q2", None]


def test_working_days_from_a_ramadan_day_into_a_regular_day(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    case = open_case(ledger, C, BIRO, "2024-Q2", wib(4, 4, 8))  # Thu 4 Apr, in Ramadan
    walk(
        ledger,
        case,
        {
            1: wib(4, 4, 8, 10),
            2: wib(4, 4, 8, 20),
            3: wib(4, 4, 8, 30),
            4: wib(4, 4, 8, 40),
            5: wib(4, 4, 8, 50),
            6: wib(4, 4, 10),
            7: wib(4, 16, 9, 48),
        },
    )
    with projected(ledger) as store:
        found = executions(store, case)
    assert {key: found[key]["met"] for key in found} == {(s, None, 1): True for s in range(1, 8)}
    assert_executions(
        {(7, None, 1): found[(7, None, 1)]},
        {
            (7, None, 1): done(
                wib(4, 4, 10),
                wib(4, 16, 9, 48),
                # Thu 10:00→12:00 = 2 h + 12:30→15:00 = 2.5 h; Fri 5 Apr 6.5 h;
                # 6-15 Apr off; Tue 16 Apr 07:30→09:48 = 2 h 18 min → 13 h 18 min
                47880,
                # 2 hari: Thu 10:00 is 2 h of a 6.5 h Ramadan day = 4/13; working days on:
                # Fri 5 Apr (1), Tue 16 Apr (2); 4/13 of a regular 7.5 h day = 27000 x 4/13
                # = 8307.69 s, rounded up to 8308 s = 2 h 18 min 28 s → 09:48:28
                datetime(2024, 4, 16, 9, 48, 28, tzinfo=WIB),
                True,
            )
        },
    )


def walk_christmas(ledger: Ledger) -> UUID:
    """A case of SOP C around Christmas 2024 and New Year 2025 (checked below)."""
    case = open_case(ledger, C, BIRO, "2024-Q4", wib(12, 23, 8))  # Mon 23 Dec 2024
    walk(
        ledger,
        case,
        {
            1: wib(12, 23, 8, 30),
            2: wib(12, 23, 9, 30),
            3: wib(12, 23, 13, 30),
            4: wib(12, 24, 14),
            5: wib(12, 27, 14),
            6: wib(12, 30, 10),
            7: wib(1, 2, 9, year=2025),
        },
    )
    return case


CHRISTMAS = {
    (1, None, 1): done(
        wib(12, 23, 8),
        wib(12, 23, 8, 30),
        1800,  # Mon 08:00→08:30
        wib(12, 23, 9),
        True,
    ),
    (2, None, 1): done(
        wib(12, 23, 8, 30),
        wib(12, 23, 9, 30),
        3600,  # Mon 08:30→09:30
        wib(12, 23, 9, 30),
        True,
    ),
    (3, None, 1): done(
        wib(12, 23, 9, 30),
        wib(12, 23, 13, 30),
        10800,  # 09:30→12:00 = 2.5 h; 13:00→13:30 = 0.5 h → 3 h
        wib(12, 23, 13, 30),  # 3 jam: 2.5 h before the break, 0.5 h after
        True,
    ),
    (4, None, 1): done(
        wib(12, 23, 13, 30),
        wib(12, 24, 14),
        # Mon 13:30→16:00 = 2.5 h; Tue 07:30→12:00 = 4.5 h + 13:00→14:00 = 1 h → 8 h
        28800,
        wib(12, 23, 15, 30),  # 2 jam from Mon 13:30
        False,
    ),
    (5, None, 1): done(
        wib(12, 24, 14),
        wib(12, 27, 14),
        # Tue 14:00→16:00 = 2 h; Wed 25 (Christmas), Thu 26 (cuti bersama) 0;
        # Fri 07:30→11:30 = 4 h + 13:00→14:00 = 1 h → 7 h
        25200,
        # 1 hari: Tue 14:00 is 5.5 h (4.5 + 1) of the 7.5 h day; the next working day is
        # Fri 27 Dec; 5.5 h into a Friday = 07:30-11:30 (4 h) + 1.5 h from 13:00 = 14:30
        wib(12, 27, 14, 30),
        True,
    ),
    (6, None, 1): done(
        wib(12, 27, 14),
        wib(12, 30, 10),
        18000,  # Fri 14:00→16:30 = 2.5 h; Mon 07:30→10:00 = 2.5 h → 5 h
        wib(12, 27, 16),  # 2 jam from Fri 14:00
        False,
    ),
    (7, None, 1): done(
        wib(12, 30, 10),
        wib(1, 2, 9, year=2025),
        # Mon 10:00→12:00 = 2 h + 13:00→16:00 = 3 h; Tue 31 Dec 7.5 h; Wed 1 Jan (New
        # Year) 0; Thu 07:30→09:00 = 1.5 h → 14 h
        50400,
        # 2 hari: Mon 10:00 is 2.5/7.5 of the day; working days on: Tue 31 Dec (1),
        # Thu 2 Jan (2; 1 Jan is a holiday); 2.5 h into Thu = 10:00
        wib(1, 2, 10, year=2025),
        True,
    ),
}


def test_working_day_standards_keep_the_fraction_of_the_day_across_christmas(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    case = walk_christmas(ledger)
    with projected(ledger) as store:
        found = executions(store, case)
    assert_executions(found, CHRISTMAS)
    quarters = [found[(step, None, 1)]["quarter"] for step in range(1, 8)]
    assert quarters == ["2024-Q4"] * 6 + ["2025-Q1"]  # step 7 ended on 2 Jan 2025


def test_acts_outside_office_hours_and_working_days_from_a_day_boundary(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    case = open_case(ledger, C, BIRO, "2024-Q4", wib(10, 7, 15))  # Mon 7 Oct 2024 15:00
    walk(
        ledger,
        case,
        {
            1: wib(10, 7, 15, 30),
            2: wib(10, 7, 15, 50),
            3: wib(10, 7, 19),  # an evening meeting, after closing
            4: wib(10, 8, 6),  # Tue 06:00, before opening
            5: wib(10, 8, 16),  # Tue closing time
            6: wib(10, 9, 7),  # Wed 07:00, before opening
            7: wib(10, 11, 8),
        },
    )
    with projected(ledger) as store:
        found = executions(store, case)
    assert_executions(
        found,
        {
            # 15:00→15:30 = 30 min; 60 min from 15:00 = 16:00 (Mon closing)
            (1, None, 1): done(wib(10, 7, 15), wib(10, 7, 15, 30), 1800, wib(10, 7, 16), True),
            (2, None, 1): done(
                wib(10, 7, 15, 30),
                wib(10, 7, 15, 50),
                1200,  # 20 min
                wib(10, 8, 8),  # 30 min Mon 15:30→16:00, 30 min Tue 07:30→08:00
                True,
            ),
            (3, None, 1): done(
                wib(10, 7, 15, 50),
                wib(10, 7, 19),
                600,  # only 15:50→16:00 is office time
                wib(10, 8, 10, 20),  # 10 min Mon, 170 min from Tue 07:30
                True,
            ),
            (4, None, 1): done(
                wib(10, 7, 19),
                wib(10, 8, 6),
                0,  # Mon 19:00 → Tue 06:00: no office time at all
                wib(10, 8, 9, 30),  # 2 jam counted from Tue 07:30
                True,
            ),
            (5, None, 1): done(
                wib(10, 8, 6),
                wib(10, 8, 16),
                27000,  # the whole of Tuesday: 7.5 h
                # 1 hari from before opening = the close of that same working day
                wib(10, 8, 16),
                True,
            ),
            (6, None, 1): done(
                wib(10, 8, 16),
                wib(10, 9, 7),
                0,
                wib(10, 9, 9, 30),  # from Tue's closing: Wed 07:30 + 2 h
                True,
            ),
            (7, None, 1): done(
                wib(10, 9, 7),
                wib(10, 11, 8),
                55800,  # Wed 7.5 h; Thu 7.5 h; Fri 07:30→08:00 0.5 h → 15.5 h
                # 2 hari from before opening: the close of the 2nd working day (Wed, Thu)
                wib(10, 10, 16),
                False,
            ),
        },
    )


def test_the_quarter_is_the_wib_quarter_in_which_the_execution_ended(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    case = open_case(ledger, C, BIRO, "2024-Q3", wib(9, 30, 15, 30))  # Mon 30 Sep 15:30
    complete_step(ledger, case, 1, at=wib(9, 30, 20))  # 13:00 UTC
    complete_step(ledger, case, 2, at=wib(10, 1, 6, 30))  # Tue 06:30 WIB = Mon 23:30 UTC
    with projected(ledger) as store:
        found = executions(store, case)
        q3 = queries.sla_summary(store, "2024-Q3", by="step")
        q4 = queries.sla_summary(store, "2024-Q4", by="step")
    assert_executions(
        found,
        {
            (1, None, 1): done(
                wib(9, 30, 15, 30),
                wib(9, 30, 20),
                1800,  # Mon 15:30→16:00
                wib(10, 1, 8),  # 30 min Mon + 30 min from Tue 07:30
                True,
            ),
            (2, None, 1): done(
                wib(9, 30, 20),
                wib(10, 1, 6, 30),
                0,  # evening and early morning: no office time
                wib(10, 1, 8, 30),  # 60 min from Tue 07:30
                True,
            ),
            (3, None, 1): still_open(wib(10, 1, 6, 30), wib(10, 1, 10, 30)),  # 3 h from 07:30
        },
    )
    assert found[(1, None, 1)]["quarter"] == "2024-Q3"
    assert found[(2, None, 1)]["quarter"] == "2024-Q4"  # 1 Oct in WIB, 30 Sep in UTC
    assert [(g["step"], g["executions"]) for g in q3] == [(1, 1)]
    assert [(g["step"], g["executions"]) for g in q4] == [(2, 1)]


# --------------------------------------------------------------------------- flows


def test_return_loop_gives_the_returned_time_to_the_redone_steps(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    case = open_case(ledger, B, DINAS, "2024-Q3", wib(8, 5, 8))  # Mon 5 Aug 2024
    sek, bm, ck, tr = (
        f"{DINAS}.{name}" for name in ("sekretariat", "bina-marga", "cipta-karya", "tata-ruang")
    )
    assert set(ledger.case(case).branches) == {sek, bm, ck, tr}
    walk(ledger, case, {1: wib(8, 5, 8, 10), 2: wib(8, 5, 10), 3: wib(8, 5, 11)})
    complete_step(ledger, case, 4, sek, at=wib(8, 6, 10))
    complete_step(ledger, case, 4, bm, at=wib(8, 6, 15))
    complete_step(ledger, case, 4, ck, at=wib(8, 7, 11))
    complete_step(ledger, case, 4, tr, at=wib(8, 8, 9))
    walk(ledger, case, {5: wib(8, 9, 14), 6: wib(8, 9, 14, 30)})
    reason = "Bukti dukung Bidang Bina Marga belum lengkap"
    act(
        ledger,
        case,
        7,
        Action.RETURN_FOR_COMPLETION,
        at=wib(8, 12, 8),  # Mon 12 Aug 08:00: returned to step 4, Bina Marga only
        return_branches=(bm,),
        reason=reason,
    )
    complete_step(ledger, case, 4, bm, at=wib(8, 13, 10))
    walk(
        ledger,
        case,
        {
            5: wib(8, 13, 15),
            6: wib(8, 13, 15, 30),
            7: wib(8, 14, 8, 30),
            8: wib(8, 14, 9),
            9: wib(8, 14, 9, 5),
        },
    )
    with projected(ledger) as store:
        found = executions(store, case)
        by_step = {g["step"]: g for g in queries.sla_summary(store, "2024-Q3", sop_id=B)}

    # Step 4 of every branch starts Mon 11:00 (step 3 done); 2 hari: Mon 11:00 is 3.5/7.5 of
    # the day; working days on: Tue (1), Wed (2); 3.5 h into Wed = 11:00.
    step4_deadline = wib(8, 7, 11)
    assert_executions(
        found,
        {
            # 10 menit: 08:00→08:10 = 600 s, due 08:10
            (1, None, 1): done(wib(8, 5, 8), wib(8, 5, 8, 10), 600, wib(8, 5, 8, 10), True),
            # 2 jam: 08:10→10:00 = 1 h 50 min = 6600 s; due 08:10 + 2 h = 10:10
            (2, None, 1): done(wib(8, 5, 8, 10), wib(8, 5, 10), 6600, wib(8, 5, 10, 10), True),
            # 1 jam: 10:00→11:00 = 3600 s, due 11:00
            (3, None, 1): done(wib(8, 5, 10), wib(8, 5, 11), 3600, wib(8, 5, 11), True),
            (4, sek, 1): done(
                wib(8, 5, 11),
                wib(8, 6, 10),
                23400,  # Mon 11:00→12:00 1 h + 13:00→16:00 3 h; Tue 07:30→10:00 2.5 h
                step4_deadline,
                True,
            ),
            (4, bm, 1): done(
                wib(8, 5, 11),
                wib(8, 6, 15),
                37800,  # Mon 4 h; Tue 07:30→12:00 4.5 h + 13:00→15:00 2 h → 10.5 h
                step4_deadline,
                True,
            ),
            (4, ck, 1): done(
                wib(8, 5, 11),
                wib(8, 7, 11),
                54000,  # Mon 4 h; Tue 7.5 h; Wed 07:30→11:00 3.5 h → 15 h
                step4_deadline,
                True,  # exactly at the deadline
            ),
            (4, tr, 1): done(
                wib(8, 5, 11),
                wib(8, 8, 9),
                73800,  # Mon 4 h; Tue 7.5 h; Wed 7.5 h; Thu 07:30→09:00 1.5 h → 20.5 h
                step4_deadline,
                False,
            ),
            (5, None, 1): done(
                wib(8, 8, 9),  # the join starts at the latest branch end (Tata Ruang)
                wib(8, 9, 14),
                # Thu 09:00→12:00 3 h + 13:00→16:00 3 h; Fri 07:30→11:30 4 h
                # + 13:00→14:00 1 h → 11 h
                39600,
                # 2 hari: Thu 09:00 is 1.5/7.5; Fri (1), Mon 12 Aug (2) → Mon 09:00
                wib(8, 12, 9),
                True,
            ),
            # 30 menit: Fri 14:00→14:30 = 1800 s, due 14:30
            (6, None, 1): done(wib(8, 9, 14), wib(8, 9, 14, 30), 1800, wib(8, 9, 14, 30), True),
            (7, None, 1): done(
                wib(8, 9, 14, 30),
                wib(8, 12, 8),  # ends at the return act
                9000,  # Fri 14:30→16:30 = 2 h; Mon 07:30→08:00 = 30 min
                wib(8, 9, 16, 30),  # 2 jam from Fri 14:30 = Friday's closing
                False,
                outcome="returned",
            ),
            (4, bm, 2): done(
                wib(8, 12, 8),  # the clock restarts at the return event
                wib(8, 13, 10),
                # Mon 08:00→12:00 4 h + 13:00→16:00 3 h; Tue 07:30→10:00 2.5 h → 9.5 h
                34200,
                # 2 hari: Mon 08:00 is 0.5/7.5; Tue (1), Wed 14 Aug (2) → Wed 08:00
                wib(8, 14, 8),
                True,
                trigger="return",
            ),
            (5, None, 2): done(
                # join again: Bina Marga's redo (Tue 10:00) is the latest branch end; the
                # branches not reopened count as ended at the return (Mon 08:00)
                wib(8, 13, 10),
                wib(8, 13, 15),
                14400,  # Tue 10:00→12:00 2 h + 13:00→15:00 2 h
                wib(8, 15, 10),  # 2 hari: 2.5/7.5 of Tue; Wed (1), Thu (2) → Thu 10:00
                True,
            ),
            # 30 menit: Tue 15:00→15:30 = 1800 s, due 15:30
            (6, None, 2): done(wib(8, 13, 15), wib(8, 13, 15, 30), 1800, wib(8, 13, 15, 30), True),
            (7, None, 2): done(
                wib(8, 13, 15, 30),  # not the return time: step 7's input is step 6 again
                wib(8, 14, 8, 30),
                5400,  # Tue 15:30→16:00 = 30 min; Wed 07:30→08:30 = 1 h
                wib(8, 14, 9),  # 2 jam: 30 min Tue + 90 min from Wed 07:30
                True,
            ),
            # 30 menit: Wed 08:30→09:00 = 1800 s, due 09:00
            (8, None, 1): done(wib(8, 14, 8, 30), wib(8, 14, 9), 1800, wib(8, 14, 9), True),
            # 2 menit: 09:00→09:05 = 300 s; due 09:02
            (9, None, 1): done(wib(8, 14, 9), wib(8, 14, 9, 5), 300, wib(8, 14, 9, 2), False),
        },
    )
    returned = found[(7, None, 1)]
    assert (returned["return_to"], returned["return_reason"]) == (4, reason)
    assert returned["quarter"] == "2024-Q3"

    # While returned (Mon 08:00 → back at step 7 on Tue 15:30) the time belongs to the redone
    # steps 4 (Bina Marga), 5 and 6, end to end, and to nothing else.
    redone = [found[(4, bm, 2)], found[(5, None, 2)], found[(6, None, 2)]]
    assert redone[0]["start_at"] == returned["end_at"]
    assert [r["end_at"] for r in redone[:-1]] == [r["start_at"] for r in redone[1:]]
    assert redone[-1]["end_at"] == found[(7, None, 2)]["start_at"]
    # Mon 08:00→16:00 = 7 h; Tue 07:30→15:30 = 7 h → 14 h = 50400 = 34200 + 14400 + 1800
    assert sum(r["working_seconds"] for r in redone) == 50400
    assert default_calendar().working_seconds(wib(8, 12, 8), wib(8, 13, 15, 30)) == 50400

    # Summary of 2024-Q3 for SOP B, grouped by step (nearest-rank percentiles).
    assert _figures(by_step[4]) == {
        "executions": 5,  # four branches + Bina Marga's redo
        "completed": 5,
        "returned": 0,
        "cancelled": 0,
        "met": 4,
        "breached": 1,  # Tata Ruang
        "compliance_pct": 80.0,  # 4 / 5
        # sorted: 23400, 34200, 37800, 54000, 73800; median rank ceil(0.5 x 5) = 3
        "median_seconds": 37800,
        "p90_seconds": 73800,  # rank ceil(0.9 x 5) = 5
    }
    assert _figures(by_step[7]) == {
        "executions": 2,
        "completed": 1,
        "returned": 1,
        "cancelled": 0,
        "met": 1,  # the approval
        "breached": 1,  # the return came after the 2 jam
        "compliance_pct": 50.0,
        "median_seconds": 5400,  # sorted 5400, 9000; rank ceil(0.5 x 2) = 1
        "p90_seconds": 9000,  # rank ceil(0.9 x 2) = 2
    }


def _figures(group: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "executions",
        "completed",
        "returned",
        "cancelled",
        "met",
        "breached",
        "compliance_pct",
        "median_seconds",
        "p90_seconds",
    )
    return {key: group[key] for key in keys}


def test_parallel_branches_and_the_join(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = FAR
    case = open_case(ledger, A, BIRO, "2024-Q2", wib(4, 29, 8))  # Mon 29 Apr 2024
    kel, ref, tat = (f"{BIRO}.{name}" for name in ("kelembagaan", "reformasi", "tatalaksana"))
    assert ledger.case(case).branches == (kel, ref, tat)
    walk(ledger, case, {1: wib(4, 29, 8, 30), 2: wib(4, 29, 9)})
    for branch, step, at in (
        (kel, 3, wib(4, 29, 11)),
        (tat, 3, wib(4, 29, 12)),
        (ref, 3, wib(4, 29, 14)),
        (kel, 4, wib(5, 2, 10)),  # Wed 1 May: Labour Day
        (kel, 5, wib(5, 2, 15)),
        (tat, 4, wib(5, 3, 13, 30)),
        (ref, 4, wib(5, 6, 9)),
        (tat, 5, wib(5, 6, 11)),
        (ref, 5, wib(5, 7, 8)),
    ):
        complete_step(ledger, case, step, branch, at=at)
    walk(ledger, case, {6: wib(5, 13, 9), 7: wib(5, 14, 16), 8: wib(5, 15, 8)})
    with projected(ledger) as store:
        found = executions(store, case)
        (handed_over,) = [
            c for c in queries.cases(store, now=FAR, sop_id=C) if c["period"] == "2024-Q2"
        ]
        found_c = executions(store, UUID(handed_over["case_id"]))

    step3_deadline = wib(4, 29, 12)  # 3 jam from Mon 09:00 = 09:00→12:00
    assert_executions(
        found,
        {
            # 60 menit: 08:00→08:30 = 1800 s, due 09:00
            (1, None, 1): done(wib(4, 29, 8), wib(4, 29, 8, 30), 1800, wib(4, 29, 9), True),
            # 1 jam: 08:30→09:00 = 1800 s, due 09:30
            (2, None, 1): done(wib(4, 29, 8, 30), wib(4, 29, 9), 1800, wib(4, 29, 9, 30), True),
            # step 3 opens in every branch at once, when step 2 is done (Mon 09:00)
            # 09:00→11:00 = 2 h
            (3, kel, 1): done(wib(4, 29, 9), wib(4, 29, 11), 7200, step3_deadline, True),
            # 09:00→12:00 = 3 h, ending exactly at the deadline
            (3, tat, 1): done(wib(4, 29, 9), wib(4, 29, 12), 10800, step3_deadline, True),
            (3, ref, 1): done(
                wib(4, 29, 9),
                wib(4, 29, 14),
                14400,  # 09:00→12:00 3 h + 13:00→14:00 1 h
                step3_deadline,
                False,
            ),
            # step 4 (3 hari) starts per branch when that branch's step 3 ended
            (4, kel, 1): done(
                wib(4, 29, 11),
                wib(5, 2, 10),
                # Mon 11:00→12:00 1 h + 13:00→16:00 3 h; Tue 7.5 h; Wed 1 May 0;
                # Thu 07:30→10:00 2.5 h → 14 h
                50400,
                # Mon 11:00 is 3.5/7.5; Tue (1), Thu (2), Fri (3); 3.5 h into Fri = 11:00
                wib(5, 3, 11),
                True,
            ),
            (4, tat, 1): done(
                wib(4, 29, 12),
                wib(5, 3, 13, 30),
                # Mon 13:00→16:00 3 h; Tue 7.5 h; Thu 7.5 h; Fri 07:30→11:30 4 h
                # + 13:00→13:30 0.5 h → 22.5 h
                81000,
                # Mon 12:00 is 4.5/7.5 (the whole morning); 4.5 h into Fri 3 May =
                # 07:30-11:30 (4 h) + 30 min from 13:00 = 13:30
                wib(5, 3, 13, 30),
                True,
            ),
            (4, ref, 1): done(
                wib(4, 29, 14),
                wib(5, 6, 9),
                # Mon 14:00→16:00 2 h; Tue, Thu, Fri 3 x 7.5 h; Mon 6 May 07:30→09:00
                # 1.5 h → 26 h
                93600,
                # Mon 14:00 is 5.5/7.5; 5.5 h into Fri = 4 h + 1.5 h from 13:00 = 14:30
                wib(5, 3, 14, 30),
                False,
            ),
            (5, kel, 1): done(
                wib(5, 2, 10),
                wib(5, 2, 15),
                14400,  # Thu 10:00→12:00 2 h + 13:00→15:00 2 h
                wib(5, 3, 10),  # 1 hari: 2.5/7.5 of Thu → 2.5 h into Fri = 10:00
                True,
            ),
            (5, tat, 1): done(
                wib(5, 3, 13, 30),
                wib(5, 6, 11),
                23400,  # Fri 13:30→16:30 3 h; Mon 07:30→11:00 3.5 h
                # 1 hari: Fri 13:30 is 4.5/7.5 (4 h + 0.5 h); 4.5 h into Mon = 12:00
                wib(5, 6, 12),
                True,
            ),
            (5, ref, 1): done(
                wib(5, 6, 9),
                wib(5, 7, 8),
                23400,  # Mon 09:00→12:00 3 h + 13:00→16:00 3 h; Tue 07:30→08:00 0.5 h
                wib(5, 7, 9),  # 1 hari: 1.5/7.5 of Mon → Tue 09:00
                True,
            ),
            (6, None, 1): done(
                wib(5, 7, 8),  # the join: the latest branch end (Reformasi, Tue 08:00)
                wib(5, 13, 9),
                # Tue 08:00→12:00 4 h + 13:00→16:00 3 h; Wed 7.5 h; Thu 9 May (Ascension)
                # and Fri 10 May (cuti bersama) 0; Mon 07:30→09:00 1.5 h → 16 h
                57600,
                # 2 hari: Tue 08:00 is 0.5/7.5; Wed (1), Mon 13 May (2) → Mon 08:00
                wib(5, 13, 8),
                False,
            ),
            (7, None, 1): done(
                wib(5, 13, 9),
                wib(5, 14, 16),
                48600,  # Mon 09:00→16:00 6 h; Tue 7.5 h
                wib(5, 15, 9),  # 2 hari: 1.5/7.5 of Mon; Tue (1), Wed (2) → Wed 09:00
                True,
            ),
            (8, None, 1): done(
                wib(5, 14, 16),  # Tue closing time
                wib(5, 15, 8),
                1800,  # Wed 07:30→08:00
                wib(5, 15, 8, 30),  # 60 min counted from Wed's opening
                True,
            ),
        },
    )
    assert {row["quarter"] for row in found.values()} == {"2024-Q2"}
    # A.8 is C.1: one act, its time counted once, in C as a zero-length step 1
    assert_executions(
        found_c,
        {
            # opened and done by the same act at Wed 08:00: 0 s; due 08:00 + 60 min
            (1, None, 1): done(wib(5, 15, 8), wib(5, 15, 8), 0, wib(5, 15, 9), True),
            # 1 jam from Wed 08:00
            (2, None, 1): still_open(wib(5, 15, 8), wib(5, 15, 9)),
        },
    )


# --------------------------------------------------------------------------- figures


def test_quarter_summary_by_hand(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = FAR
    christmas = walk_christmas(ledger)
    cancelled = open_case(ledger, C, BIRO, "2025-Q1", wib(12, 10, 8))  # Tue 10 Dec 2024
    complete_step(ledger, cancelled, 1, at=wib(12, 10, 9, 30))
    ledger.cancel_case(
        CancelCase(
            case_id=cancelled, actor=KEPALA_BIRO, reason="Dibatalkan", occurred_at=wib(12, 10, 10)
        )
    )
    with projected(ledger) as store:
        found = executions(store, cancelled)
        by_sop = queries.sla_summary(store, "2024-Q4", by="sop")
        by_step = {g["step"]: g for g in queries.sla_summary(store, "2024-Q4", by="step")}
        next_quarter = queries.sla_summary(store, "2025-Q1", by="step")
        assert_executions(executions(store, christmas), CHRISTMAS)
    assert_executions(
        found,
        {
            # 08:00→09:30 = 1.5 h against 60 menit (due 09:00)
            (1, None, 1): done(wib(12, 10, 8), wib(12, 10, 9, 30), 5400, wib(12, 10, 9), False),
            (2, None, 1): done(
                wib(12, 10, 9, 30),
                wib(12, 10, 10),  # closed at the cancellation
                1800,
                wib(12, 10, 10, 30),
                None,  # a cancelled step is neither met nor breached
                outcome="cancelled",
            ),
        },
    )
    # 2024-Q4 holds the Christmas case's steps 1-6 and the cancelled case's two executions.
    # Finished (completed) working seconds, sorted:
    #   1800 (X1), 3600 (X2), 5400 (Y1), 10800 (X3), 18000 (X6), 25200 (X5), 28800 (X4)
    assert by_sop == [
        {
            "sop_id": C,
            "executions": 8,
            "completed": 7,
            "returned": 0,
            "cancelled": 1,
            "met": 4,  # X1, X2, X3, X5
            "breached": 3,  # X4, X6, Y1
            "compliance_pct": 57.1,  # 100 x 4 / 7 = 57.14 → 57.1
            "median_seconds": 10800,  # rank ceil(0.5 x 7) = 4
            "p90_seconds": 28800,  # rank ceil(0.9 x 7) = ceil(6.3) = 7
        }
    ]
    assert sorted(by_step) == [1, 2, 3, 4, 5, 6]  # step 7 ended in 2025-Q1
    assert _figures(by_step[1]) == {
        "executions": 2,
        "completed": 2,
        "returned": 0,
        "cancelled": 0,
        "met": 1,
        "breached": 1,
        "compliance_pct": 50.0,
        "median_seconds": 1800,  # sorted 1800, 5400; rank ceil(0.5 x 2) = 1
        "p90_seconds": 5400,  # rank ceil(0.9 x 2) = 2
    }
    assert _figures(by_step[2]) == {
        "executions": 2,
        "completed": 1,
        "returned": 0,
        "cancelled": 1,
        "met": 1,
        "breached": 0,
        "compliance_pct": 100.0,  # the cancelled execution is not judged
        "median_seconds": 3600,  # only finished executions: 3600
        "p90_seconds": 3600,
    }
    assert [(g["step"], g["executions"], g["met"], g["median_seconds"]) for g in next_quarter] == [
        (7, 1, 1, 50400)
    ]


def test_status_board_names_the_overdue_step_its_due_time_and_holder(
    ledger: Ledger, clock: FakeClock
) -> None:
    clock.now = FAR
    late = open_case(ledger, C, BIRO, "2024-Q4", wib(11, 26, 7, 30))  # Tue 26 Nov 2024
    walk(
        ledger,
        late,
        {1: wib(11, 26, 8), 2: wib(11, 26, 8, 30), 3: wib(11, 26, 9, 30), 4: wib(11, 26, 10)},
    )
    fresh = open_case(ledger, B, DINAS, "2024-Q4", wib(11, 28, 10, 25))  # Thu 28 Nov 10:25
    branches = open_case(ledger, A, BIRO, "2024-Q4", wib(11, 25, 8))  # Mon 25 Nov
    walk(ledger, branches, {1: wib(11, 25, 8, 30), 2: wib(11, 25, 9)})
    for unit in ledger.case(branches).branches:
        complete_step(ledger, branches, 3, unit, at=wib(11, 25, 10))
    # Step 5 of `late` (1 hari) started Tue 10:00 = 2.5/7.5 of the day; Wed 27 Nov is the
    # regional election day (national holiday), so the next working day is Thu 28 Nov and
    # the deadline 2.5 h into it: 10:00.
    due = wib(11, 28, 10)
    # Step 1 of `fresh` (10 menit) is due at Thu 10:35.
    now = wib(11, 28, 10, 30)
    with projected(ledger) as store:
        overdue = queries.cases(store, now=now, overdue=True)
        on_time = queries.cases(store, now=now, overdue=False)
        not_yet = queries.cases(store, now=due, overdue=True)  # due < now is strict
        board = queries.case(store, str(late), now=now)
        other = queries.case(store, str(fresh), now=now)
        per_unit = queries.case(store, str(branches), now=now)
        sla_open = executions(store, late)[(5, None, 1)]

    assert [c["case_id"] for c in overdue] == [str(late)]
    assert [c["case_id"] for c in on_time] == [str(branches), str(fresh)]  # by opened_at
    assert not_yet == []
    assert board is not None
    assert other is not None
    assert board["overdue"] is True
    assert board["next_due_at"] == due
    (step,) = board["open"]
    assert (step["step"], step["branch"], step["repetition"]) == (5, None, 1)
    assert step["roles"] == ["kabag_ttl"]
    assert step["since"] == wib(11, 26, 10)
    assert step["due_at"] == due
    assert step["overdue"] is True
    assert [(h["nip"], h["name"], h["role"], h["unit"]) for h in step["holders"]] == [
        (*KABAG_TTL, "kabag_ttl", BIRO)
    ]
    assert (sla_open["outcome"], sla_open["deadline"], sla_open["end_at"]) == ("open", due, None)

    assert other["overdue"] is False
    (first,) = other["open"]
    assert (first["step"], first["due_at"], first["overdue"]) == (1, wib(11, 28, 10, 35), False)
    assert [(h["nip"], h["name"], h["role"], h["unit"]) for h in first["holders"]] == [
        (*KEPALA_DINAS, "kepala_dinas", DINAS)
    ]

    # A per-unit open step is held in its branch: each section's own JF/Pelaksana.
    # Step 4 (3 hari) started Mon 25 Nov 10:00 = 2.5/7.5 of the day; working days on: Tue 26
    # (1), Thu 28 (2; Wed 27 is the election day), Fri 29 (3) → Fri 10:00.
    assert per_unit is not None
    assert per_unit["overdue"] is False
    assert [(s["step"], s["branch"], s["due_at"]) for s in per_unit["open"]] == [
        (4, f"{BIRO}.{name}", wib(11, 29, 10))
        for name in ("kelembagaan", "reformasi", "tatalaksana")
    ]
    assert [[h["nip"] for h in s["holders"]] for s in per_unit["open"]] == [
        ["199001012015031001", "199105052015032002"],  # two JF in Kelembagaan
        ["198806162011011003"],
        ["199202022019032004"],
    ]
    assert {h["role"] for s in per_unit["open"] for h in s["holders"]} == {"jf_pelaksana"}
