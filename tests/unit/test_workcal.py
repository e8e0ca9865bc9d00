"""The office work calendar: hand-computed working time, working days and deadlines.

Unless said otherwise the bundled Sumbar calendar applies: Mon-Thu 07:30-12:00 + 13:00-16:00,
Fri 07:30-11:30 + 13:00-16:30 (7.5 h a day); in Ramadan Mon-Thu 08:00-12:00 + 12:30-15:00,
Fri 08:00-11:30 + 12:30-15:30 (6.5 h a day). Every instant below is WIB wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path

import holidays
import pytest

from ledger.calendars import BUNDLED, default_calendar, load_calendar, load_calendar_data
from ledger.core.clock import WIB
from ledger.core.errors import DefinitionError, InvalidTimeError
from ledger.core.workcal import (
    CalendarData,
    DayOff,
    Season,
    Span,
    WeekSchedule,
    WorkCalendar,
    WorkDay,
)

HOUR = 3600


def wib(  # noqa: PLR0917 - reads like the datetime it builds
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=WIB)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return default_calendar()


# --------------------------------------------------------------------------- bundled data


def test_weekly_totals_are_37_5_hours_and_32_5_in_ramadan() -> None:
    data = load_calendar_data()
    assert data.week.seconds == 37 * HOUR + HOUR // 2
    assert data.seasons
    assert {season.week.seconds for season in data.seasons} == {32 * HOUR + HOUR // 2}


def test_listed_ramadan_ends_the_day_before_the_packages_eid_al_fitr() -> None:
    data = load_calendar_data()
    listed = [s for s in data.seasons if 2020 <= s.first.year <= 2027]
    assert [s.name for s in listed] == [f"Ramadan {year} H" for year in range(1441, 1449)]
    public = holidays.country_holidays(
        "ID", years=range(2020, 2028), categories=("public",), language="en_US"
    )
    for season in listed:
        eid = season.last + timedelta(days=1)
        assert "Eid al-Fitr" in public.get(eid, ""), season.name
        assert (season.last - season.first).days + 1 in {29, 30}


def test_ramadan_outside_the_listed_years_is_derived_and_recorded() -> None:
    data = load_calendar_data()
    provenance = dict(data.provenance)
    derived = provenance["ramadan_derived"].split(",")
    assert derived[:5] == ["2015", "2016", "2017", "2018", "2019"]
    assert not {str(year) for year in range(2020, 2028)} & set(derived)
    # 2015: Eid al-Fitr on 2015-07-17, so the 30 days 2015-06-17 .. 2015-07-16.
    first = next(s for s in data.seasons if s.first.year == 2015)
    assert (first.name, first.first, first.last) == (
        "Ramadan 1436 H",
        date(2015, 6, 17),
        date(2015, 7, 16),
    )
    # 2033 has two Eids (January and December): both Ramadans are there.
    assert [s.name for s in data.seasons if s.last.year == 2033] == [
        "Ramadan 1454 H",
        "Ramadan 1455 H",
    ]


def test_describe_and_version(cal: WorkCalendar) -> None:
    described = cal.describe()
    assert described["name"] == "pemprov-sumbar"
    assert described["label"] == "2026.1"
    assert described["version"] == cal.version
    assert cal.version.startswith("pemprov-sumbar@2026.1+sha256:")
    assert len(cal.version.rsplit(":", 1)[1]) == 16
    assert described["covered"] == {"first": 2015, "last": 2035}
    counts = described["days_off"]
    assert isinstance(counts, dict)
    assert counts["public"] > 300
    assert counts["government"] > 50
    assert counts["local"] == counts["decree"] == 0
    provenance = described["provenance"]
    assert isinstance(provenance, dict)
    assert provenance["holidays"] == "0.108"
    assert provenance["categories"] == "public,government"
    assert provenance["source"] == "ledger/calendars/sumbar.yaml"
    assert load_calendar().version == cal.version


def test_days_and_their_spans(cal: WorkCalendar) -> None:
    assert cal.spans_on(date(2024, 5, 6)) == (
        Span(time(7, 30), time(12)),
        Span(time(13), time(16)),
    )
    assert cal.spans_on(date(2024, 3, 22)) == (  # a Ramadan Friday
        Span(time(8), time(11, 30)),
        Span(time(12, 30), time(15, 30)),
    )
    assert cal.spans_on(date(2024, 5, 4)) == ()  # Saturday
    assert not cal.is_working_day(date(2024, 5, 9))
    assert cal.is_working_day(date(2024, 5, 8))
    ascension = cal.day_off(date(2024, 5, 9))
    assert ascension is not None
    assert (ascension.name, ascension.category) == ("Ascension Day", "public")
    cuti = cal.day_off(date(2024, 5, 10))
    assert cuti is not None
    assert cuti.category == "government"
    assert cal.day_off(date(2024, 5, 8)) is None


# --------------------------------------------------------------------------- working time


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        # inside one span: 08:00 -> 10:15 = 2 h 15 min
        pytest.param(wib(2024, 5, 6, 8), wib(2024, 5, 6, 10, 15), 8100, id="one-span"),
        # lunch break: 11:00-12:00 + 13:00-14:00 = 2 h
        pytest.param(wib(2024, 5, 6, 11), wib(2024, 5, 6, 14), 7200, id="lunch"),
        # Friday's 90-minute break: 11:00-11:30 + 13:00-14:00 = 1 h 30 min
        pytest.param(wib(2024, 5, 3, 11), wib(2024, 5, 3, 14), 5400, id="friday-break"),
        # inside the Friday break: nothing
        pytest.param(wib(2024, 5, 3, 11, 45), wib(2024, 5, 3, 13), 0, id="in-break"),
        # weekend: Fri 15:00-16:30 + Mon 07:30-09:00 = 3 h
        pytest.param(wib(2024, 5, 3, 15), wib(2024, 5, 6, 9), 10800, id="weekend"),
        # Ascension Thu 9 May + cuti bersama Fri 10 May: Wed 15:00-16:00 + Mon 07:30-08:30
        pytest.param(wib(2024, 5, 8, 15), wib(2024, 5, 13, 8, 30), 7200, id="holiday"),
        # Eid 2024: Ramadan Fri 5 Apr 14:00-15:30; 8-15 Apr are off (cuti bersama 8, 9,
        # 12, 15; Eid 10, 11; weekend); Tue 16 Apr (normal hours again) 07:30-09:00 = 3 h
        pytest.param(wib(2024, 4, 5, 14), wib(2024, 4, 16, 9), 10800, id="eid"),
        # Ramadan Wed 20 Mar 2024: 11:00-12:00 + 12:30-14:00 = 2 h 30 min
        pytest.param(wib(2024, 3, 20, 11), wib(2024, 3, 20, 14), 9000, id="ramadan"),
        # a whole normal week, Mon 2024-05-13 00:00 -> Mon 2024-05-20 00:00 = 37.5 h
        pytest.param(wib(2024, 5, 13), wib(2024, 5, 20), 135000, id="week"),
        # end before start
        pytest.param(wib(2024, 5, 6, 14), wib(2024, 5, 6, 11), 0, id="reversed"),
    ],
)
def test_working_seconds(cal: WorkCalendar, start: datetime, end: datetime, seconds: int) -> None:
    assert cal.working_seconds(start, end) == seconds
    assert cal.working_seconds(start.astimezone(UTC), end.astimezone(UTC)) == seconds


def test_microseconds_are_dropped(cal: WorkCalendar) -> None:
    # 08:00:00.999999 -> 08:00:01.5 counts as 08:00:00 -> 08:00:01
    start = wib(2024, 5, 6, 8, 0, 0, 999_999)
    assert cal.working_seconds(start, wib(2024, 5, 6, 8, 0, 1, 500_000)) == 1
    assert cal.add_working_seconds(start, 0) == wib(2024, 5, 6, 8)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        pytest.param(wib(2024, 5, 6, 8), 60, wib(2024, 5, 6, 9), id="one-span"),
        # 60 min end exactly at 12:00, the earliest instant (not 13:00)
        pytest.param(wib(2024, 5, 6, 11), 60, wib(2024, 5, 6, 12), id="to-span-end"),
        # 11:00-12:00 (60) + 13:00-14:00 (60)
        pytest.param(wib(2024, 5, 6, 11), 120, wib(2024, 5, 6, 14), id="lunch"),
        # Friday: 11:00-11:30 (30) + 13:00-13:30 (30)
        pytest.param(wib(2024, 5, 3, 11), 60, wib(2024, 5, 3, 13, 30), id="friday-break"),
        # Fri 15:00-16:30 (90) + Mon 07:30-09:00 (90)
        pytest.param(wib(2024, 5, 3, 15), 180, wib(2024, 5, 6, 9), id="weekend"),
        # Wed 15:00-16:00 (60), Thu/Fri off, Mon 07:30-08:30 (60)
        pytest.param(wib(2024, 5, 8, 15), 120, wib(2024, 5, 13, 8, 30), id="holiday"),
        # Ramadan Fri 14:00-15:30 (90), 8-15 Apr off, Tue 07:30-09:00 (90)
        pytest.param(wib(2024, 4, 5, 14), 180, wib(2024, 4, 16, 9), id="eid"),
        # Ramadan: 11:00-12:00 (60) + 12:30-14:00 (90)
        pytest.param(wib(2024, 3, 20, 11), 150, wib(2024, 3, 20, 14), id="ramadan"),
        # from the night: Tue 07:30-08:00
        pytest.param(wib(2024, 5, 6, 20), 30, wib(2024, 5, 7, 8), id="night"),
        pytest.param(wib(2024, 5, 6, 20), 0, wib(2024, 5, 6, 20), id="zero"),
    ],
)
def test_minute_deadlines(
    cal: WorkCalendar, start: datetime, minutes: int, expected: datetime
) -> None:
    found = cal.deadline(start, "minutes", minutes)
    assert found == expected
    assert found.tzinfo is UTC
    assert cal.add_working_minutes(start, minutes) == expected
    assert cal.add_working_seconds(start, 60 * minutes) == expected


# --------------------------------------------------------------------------- working days


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        pytest.param(wib(2024, 5, 6, 10), 1, wib(2024, 5, 7, 10), id="next-day"),
        pytest.param(wib(2024, 5, 3, 10), 1, wib(2024, 5, 6, 10), id="friday-to-monday"),
        # before opening: the position is the day's start, so one day ends at its close
        pytest.param(wib(2024, 5, 6, 6), 1, wib(2024, 5, 6, 16), id="before-opening"),
        # at closing: the position is the next day's start, so one day ends at its close
        pytest.param(wib(2024, 5, 6, 16), 1, wib(2024, 5, 7, 16), id="at-closing"),
        # on a holiday (Ascension): position of Mon 13 May, so its close
        pytest.param(wib(2024, 5, 9, 10), 1, wib(2024, 5, 13, 16), id="on-holiday"),
        # on Saturday: 2 days are Mon and Tue, ending at Tuesday's close
        pytest.param(wib(2024, 5, 4, 12), 2, wib(2024, 5, 7, 16), id="on-saturday"),
        # Thu 17 Apr 2025 10:00 = 2.5 of 7.5 h; Fri 18 Apr Good Friday -> Mon 10:00
        pytest.param(wib(2025, 4, 17, 10), 1, wib(2025, 4, 21, 10), id="friday-holiday"),
        # Ramadan Thu 28 Mar 2024 10:00 = 2 of 6.5 h; Fri 29 Mar Good Friday;
        # Mon 1 Apr (Ramadan) 08:00 + 2 h = 10:00
        pytest.param(wib(2024, 3, 28, 10), 1, wib(2024, 4, 1, 10), id="ramadan-holiday"),
        # Ramadan Thu 27 Mar 2025 10:10 = 2 h 10 of 6.5 h = 1/3; 28 Mar - 7 Apr are off;
        # Tue 8 Apr (normal hours) 07:30 + 7.5 h / 3 = 10:00
        pytest.param(wib(2025, 3, 27, 10, 10), 1, wib(2025, 4, 8, 10), id="ramadan-third"),
        # Ramadan Fri 5 Apr 2024 10:00 = 2 of 6.5 h = 4/13; next working day Tue 16 Apr:
        # 4/13 * 27000 s = 8307.7 -> 8308 s = 2:18:28 after 07:30
        pytest.param(wib(2024, 4, 5, 10), 1, wib(2024, 4, 16, 9, 48, 28), id="eid-rounded-up"),
        # Mon 6 May 10:00 + 5: Tue, Wed, (Thu/Fri off), Mon 13, Tue 14, Wed 15
        pytest.param(wib(2024, 5, 6, 10), 5, wib(2024, 5, 15, 10), id="five"),
        pytest.param(wib(2024, 5, 6, 10), 0, wib(2024, 5, 6, 10), id="zero"),
    ],
)
def test_day_deadlines(cal: WorkCalendar, start: datetime, days: int, expected: datetime) -> None:
    found = cal.deadline(start, "working_days", days)
    assert found == expected
    assert found.tzinfo is UTC
    assert cal.add_working_days(start, days) == expected


def test_working_days_are_positions(cal: WorkCalendar) -> None:
    # Mon 07:30 -> 11:15: 3.75 of 7.5 h
    assert cal.working_days(wib(2024, 5, 6, 7, 30), wib(2024, 5, 6, 11, 15)) == Fraction(1, 2)
    # Mon 6 May -> Mon 13 May at 10:00: Tue, Wed, Mon (Thu/Fri off)
    assert cal.working_days(wib(2024, 5, 6, 10), wib(2024, 5, 13, 10)) == 3
    # Ramadan 1/3 -> normal-day 1/3 is one day
    assert cal.working_days(wib(2025, 3, 27, 10, 10), wib(2025, 4, 8, 10)) == 1
    # night and weekend do not move the position: Fri close -> Mon opening
    assert cal.working_days(wib(2024, 5, 3, 16, 30), wib(2024, 5, 6, 7, 30)) == 0
    assert cal.working_days(wib(2024, 5, 6, 14), wib(2024, 5, 6, 11)) == 0


# --------------------------------------------------------------------------- overrides


def write_overrides(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "late-decrees.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_an_override_day_off_changes_results_and_version(tmp_path: Path, cal: WorkCalendar) -> None:
    path = write_overrides(
        tmp_path,
        "overrides:\n"
        "  - {date: 2024-05-07, kind: day_off, name: Libur daerah, decree: SE 1/2024,"
        " category: local}\n",
    )
    changed = load_calendar(overrides=path)
    start, end = wib(2024, 5, 6, 15), wib(2024, 5, 8, 8, 30)
    # before: Mon 15:00-16:00 + Tue 7.5 h + Wed 07:30-08:30 = 9.5 h; after: without Tuesday
    assert cal.working_seconds(start, end) == 34200
    assert changed.working_seconds(start, end) == 7200
    assert changed.add_working_days(wib(2024, 5, 6, 10), 1) == wib(2024, 5, 8, 10)
    off = changed.day_off(date(2024, 5, 7))
    assert off == DayOff(date(2024, 5, 7), "Libur daerah (SE 1/2024)", "local")
    assert changed.version != cal.version
    described = changed.describe()
    assert described["days_off"] == {**cal.describe()["days_off"], "local": 1}  # type: ignore[dict-item]
    provenance = described["provenance"]
    assert isinstance(provenance, dict)
    assert provenance["overrides"] == str(path)


def test_a_work_day_override_on_a_saturday(tmp_path: Path) -> None:
    path = write_overrides(
        tmp_path,
        "overrides:\n"
        "  - date: 2024-05-04\n"
        "    kind: work_day\n"
        "    name: Hari kerja pengganti\n"
        "    spans: ['07:30-12:00']\n",
    )
    changed = load_calendar(overrides=path)
    assert changed.is_working_day(date(2024, 5, 4))
    # Fri 15:00-16:30 + Sat 07:30-12:00 + Mon 07:30-09:00 = 1.5 + 4.5 + 1.5 h
    assert changed.working_seconds(wib(2024, 5, 3, 15), wib(2024, 5, 6, 9)) == 27000
    # Fri 16:00-16:30 (30 min) + Sat 07:30-08:00
    assert changed.add_working_minutes(wib(2024, 5, 3, 16), 60) == wib(2024, 5, 4, 8)
    # Fri 10:00 + 1 day: Sat is a 4.5 h day; 2.5 h of Fri's 7.5 = 1/3 -> Sat 07:30 + 1.5 h
    assert changed.add_working_days(wib(2024, 5, 3, 10), 1) == wib(2024, 5, 4, 9)


def test_a_work_day_wins_over_a_holiday(tmp_path: Path) -> None:
    path = write_overrides(
        tmp_path,
        "overrides:\n  - {date: 2024-05-10, kind: work_day, name: Masuk, spans: ['08:00-12:00']}\n",
    )
    changed = load_calendar(overrides=path)
    assert changed.day_off(date(2024, 5, 10)) is None
    assert changed.spans_on(date(2024, 5, 10)) == (Span(time(8), time(12)),)
    # Wed 15:00-16:00 + Fri 08:00-12:00 + Mon 07:30-08:30
    assert changed.working_seconds(wib(2024, 5, 8, 15), wib(2024, 5, 13, 8, 30)) == 6 * HOUR


# --------------------------------------------------------------------------- hand-built data

NINE_TO_FIVE = (Span(time(9), time(12)), Span(time(13), time(17)))  # 7 h
SHORT = (Span(time(9), time(12)),)  # 3 h
WEEK = WeekSchedule((NINE_TO_FIVE,) * 5 + ((), ()))
SHORT_WEEK = WeekSchedule((SHORT,) * 5 + ((), ()))


def small_data(**changes: object) -> CalendarData:
    fields: dict[str, object] = {
        "name": "test",
        "label": "1",
        "week": WEEK,
        "seasons": (Season("short", date(2024, 6, 10), date(2024, 6, 14), SHORT_WEEK),),
        "days_off": (DayOff(date(2024, 6, 5), "Libur", "public"),),
        "work_days": (WorkDay(date(2024, 6, 8), "Sabtu kerja", SHORT),),
        "covered": (2024, 2024),
        "provenance": (("source", "test"),),
    }
    return CalendarData(**{**fields, **changes})  # type: ignore[arg-type]


def test_small_calendar_seasons_days_off_and_work_days() -> None:
    small = WorkCalendar(small_data())
    # Tue 4 Jun 16:00 -> Thu 6 Jun 10:00: 1 h, Wed off, 1 h
    assert small.working_seconds(wib(2024, 6, 4, 16), wib(2024, 6, 6, 10)) == 2 * HOUR
    # Fri 7 Jun 16:00 -> Mon 10 Jun 10:00: 1 h + Sat 3 h + Mon (short season) 1 h
    assert small.working_seconds(wib(2024, 6, 7, 16), wib(2024, 6, 10, 10)) == 5 * HOUR
    # a short day counts as a whole day: Mon 10 Jun 10:00 (1/3) + 1 = Tue 10:00
    assert small.add_working_days(wib(2024, 6, 10, 10), 1) == wib(2024, 6, 11, 10)
    # Fri 14 Jun 10:30 (1/2 of 3 h) + 1 -> Mon 17 Jun (7 h) 1/2 = 3.5 h -> 09-12 + 13:30
    assert small.add_working_days(wib(2024, 6, 14, 10, 30), 1) == wib(2024, 6, 17, 13, 30)


def test_outside_the_covered_years_only_the_week_applies() -> None:
    small = WorkCalendar(small_data())
    # Tue 31 Dec 2024 16:00 -> Thu 2 Jan 2025 10:00: 1 h + Wed 1 Jan (unknown: working) 7 h + 1 h
    assert small.working_seconds(wib(2024, 12, 31, 16), wib(2025, 1, 2, 10)) == 9 * HOUR
    # one week far after and far before the tables: 5 x 7 h
    assert small.working_seconds(wib(2030, 1, 7, 9), wib(2030, 1, 14, 9)) == 35 * HOUR
    assert small.working_seconds(wib(2000, 1, 3, 9), wib(2000, 1, 10, 9)) == 35 * HOUR
    # 35 h from Monday 09:00 are done at Friday's close, the earliest such instant
    assert small.add_working_seconds(wib(2030, 1, 7, 9), 35 * HOUR) == wib(2030, 1, 11, 17)
    assert small.add_working_seconds(wib(2000, 1, 3, 9), 35 * HOUR) == wib(2000, 1, 7, 17)
    # from before the tables into them: Fri 31 Dec 2023 ... Mon 3 Jun 2024 stays consistent
    span = small.working_seconds(wib(2023, 12, 29, 9), wib(2024, 6, 3, 9))
    assert small.add_working_seconds(wib(2023, 12, 29, 9), span) == wib(2024, 5, 31, 17)
    assert small.add_working_days(wib(2000, 1, 3, 10), 5) == wib(2000, 1, 10, 10)
    assert small.add_working_days(wib(2030, 1, 4, 10), 1) == wib(2030, 1, 7, 10)
    assert small.working_days(wib(2000, 1, 3, 10), wib(2030, 1, 7, 10)) == small.working_days(
        wib(2000, 1, 3, 10), wib(2024, 6, 3, 10)
    ) + small.working_days(wib(2024, 6, 3, 10), wib(2030, 1, 7, 10))


def test_version_is_canonical_and_sensitive() -> None:
    data = small_data()
    version = WorkCalendar(data).version
    # fixed across processes: the hash of the canonical JSON, not of Python objects
    assert version == "test@1+sha256:1549d14fb907ab8a"
    reordered = small_data(
        days_off=(
            DayOff(date(2024, 7, 1), "B", "local"),
            DayOff(date(2024, 6, 5), "Libur", "public"),
        )
    )
    also = small_data(
        days_off=(
            DayOff(date(2024, 6, 5), "Libur", "public"),
            DayOff(date(2024, 7, 1), "B", "local"),
        )
    )
    assert WorkCalendar(reordered).version == WorkCalendar(also).version != version
    changes: list[dict[str, object]] = [
        {"days_off": (DayOff(date(2024, 6, 5), "Libur", "government"),)},
        {"work_days": ()},
        {"seasons": ()},
        {"week": WeekSchedule((NINE_TO_FIVE,) * 4 + (SHORT, (), ()))},
        {"provenance": (("source", "other"),)},
        {"covered": (2024, 2025)},
        {"label": "2"},
    ]
    versions = {WorkCalendar(small_data(**change)).version for change in changes}
    assert len(versions) == len(changes)
    assert version not in versions


def test_describe_a_small_calendar() -> None:
    assert WorkCalendar(small_data()).describe() == {
        "name": "test",
        "label": "1",
        "version": "test@1+sha256:1549d14fb907ab8a",
        "covered": {"first": 2024, "last": 2024},
        "days_off": {"public": 1, "government": 0, "local": 0, "decree": 0},
        "work_days": 1,
        "seasons": [{"name": "short", "first": "2024-06-10", "last": "2024-06-14"}],
        "provenance": {"source": "test"},
    }


# --------------------------------------------------------------------------- errors


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    naive = datetime(2024, 5, 6, 10)  # noqa: DTZ001 - the point of the test
    with pytest.raises(InvalidTimeError, match="UTC offset"):
        cal.working_seconds(naive, wib(2024, 5, 6, 11))
    with pytest.raises(InvalidTimeError):
        cal.working_seconds(wib(2024, 5, 6, 11), naive)
    with pytest.raises(InvalidTimeError):
        cal.add_working_seconds(naive, 60)
    with pytest.raises(InvalidTimeError):
        cal.working_days(naive, wib(2024, 5, 6, 11))
    with pytest.raises(InvalidTimeError):
        cal.deadline(naive, "working_days", 1)


def test_bad_arguments_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_seconds(wib(2024, 5, 6, 10), -1)
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(wib(2024, 5, 6, 10), -1)
    with pytest.raises(ValueError, match="unknown time unit"):
        cal.deadline(wib(2024, 5, 6, 10), "hours", 1)


def test_bad_core_data_is_refused() -> None:
    with pytest.raises(DefinitionError, match="end must be after start"):
        Span(time(12), time(8))
    with pytest.raises(DefinitionError, match="must have 7 days"):
        WeekSchedule((NINE_TO_FIVE,) * 6)
    with pytest.raises(DefinitionError, match="must not overlap"):
        WeekSchedule(((Span(time(8), time(12)), Span(time(11), time(13))),) + ((),) * 6)
    with pytest.raises(DefinitionError, match="unknown category"):
        DayOff(date(2024, 1, 1), "x", "national")
    with pytest.raises(DefinitionError, match="at least one span"):
        WorkDay(date(2024, 1, 6), "x", ())
    with pytest.raises(DefinitionError, match="last date is before first"):
        Season("x", date(2024, 2, 1), date(2024, 1, 1), WEEK)
    with pytest.raises(DefinitionError, match="overlaps"):
        small_data(
            seasons=(
                Season("a", date(2024, 1, 1), date(2024, 1, 10), SHORT_WEEK),
                Season("b", date(2024, 1, 10), date(2024, 1, 20), SHORT_WEEK),
            )
        )
    with pytest.raises(DefinitionError, match="appears twice"):
        small_data(days_off=(DayOff(date(2024, 1, 1), "a", "public"),) * 2)
    with pytest.raises(DefinitionError, match="no work"):
        small_data(week=WeekSchedule(((),) * 7))


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "sumbar.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            'fri: ["07:30-11:30", "13:00-16:30"]',
            'fri: ["07:30-11:30", "13:00-12:00"]',
            r"sumbar\.yaml: week\.fri\[1\]: '13:00-12:00' .*end must be after start",
            id="end-before-start",
        ),
        pytest.param(
            'mon: ["07:30-12:00", "13:00-16:00"]',
            'mon: ["07:30-12:00", "11:00-16:00"]',
            r"sumbar\.yaml: week\.mon: .*must not overlap",
            id="overlap",
        ),
        pytest.param(
            'mon: ["08:00-12:00", "12:30-15:00"]',
            'mon: ["8:00-12:00", "12:30-15:00"]',
            r"ramadan\.week\.mon\[0\]: '8:00-12:00' .*must look like",
            id="span-shape",
        ),
        pytest.param(
            'mon: ["07:30-12:00", "13:00-16:00"]',
            'mon: ["07:30-12:00", "13:00-25:00"]',
            r"week\.mon\[1\]: .*not a valid time",
            id="hour-25",
        ),
        pytest.param(
            "timezone: Asia/Jakarta",
            "timezone: Asia/Makassar",
            r"sumbar\.yaml: timezone: 'Asia/Makassar' .*not supported",
            id="timezone",
        ),
        pytest.param(
            "overrides: []",
            "overrides: [{date: 2024-05-07, kind: holiday, name: X}]",
            r"overrides\[0\]\.kind: 'holiday' .*must be 'day_off' or 'work_day'",
            id="kind",
        ),
        pytest.param(
            "overrides: []",
            "overrides: [{date: 2024-05-07, kind: day_off, name: X, spans: []}]",
            r"overrides\[0\]\.spans: .*unknown key",
            id="day-off-spans",
        ),
        pytest.param(
            "overrides: []",
            "overrides: [{date: 2024-05-07, kind: work_day, name: X, spans: []}]",
            r"overrides\[0\]\.spans: .*at least one span",
            id="work-day-without-spans",
        ),
        pytest.param(
            "1445: [2024-03-12, 2024-04-09]",
            "1445: [2024-03-12, 2024-04-19]",
            r"ramadan\.dates\.1445: 39 .*29 or 30 days",
            id="ramadan-length",
        ),
        pytest.param(
            "1448: [2027-02-08, 2027-03-09]",
            "1449: [2027-02-08, 2027-03-09]",
            r"ramadan\.dates\.1449: .*Ramadan 1448 H",
            id="ramadan-year",
        ),
        pytest.param(
            "categories: [public, government]",
            "categories: [public, optional]",
            r"holidays\.categories\[1\]: 'optional'",
            id="category",
        ),
        pytest.param("sat: []\n  sun: []", "sat: []", r"week\.sun: .*required key", id="no-sunday"),
        pytest.param(
            "overrides: []",
            "overrides: [{date: 2024-05-07 10:00:00, kind: day_off, name: X}]",
            r"overrides\[0\]\.date: .*is not a date",
            id="datetime-not-date",
        ),
        pytest.param("label:", "lable:", r"lable: .*unknown key", id="typo"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        load_calendar(edited(tmp_path, old, new))


def test_a_duplicate_key_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="written twice"):
        load_calendar(edited(tmp_path, "sat: []", "sat: []\n  sat: []"))
    with pytest.raises(DefinitionError, match=r"missing\.yaml: \(file\): .*cannot be read"):
        load_calendar(tmp_path / "missing.yaml")
    twice = write_overrides(
        tmp_path,
        "overrides:\n"
        "  - {date: 2024-05-07, kind: day_off, name: A}\n"
        "  - {date: 2024-05-07, kind: work_day, name: B, spans: ['08:00-12:00']}\n",
    )
    with pytest.raises(DefinitionError, match=r"overrides\[1\]\.date: .*already overridden"):
        load_calendar(overrides=twice)
    bad = write_overrides(tmp_path, "overrides:\n  - {date: 2024-05-07, kind: day_off}\n")
    with pytest.raises(DefinitionError, match=r"late-decrees\.yaml: overrides\[0\]\.name: "):
        load_calendar(overrides=bad)
