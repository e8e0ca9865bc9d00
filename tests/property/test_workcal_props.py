"""Laws of the work calendar, on the bundled calendar and on random small calendars.

Instants are whole seconds in 2023-2026 (UTC). The random calendars cover only 2024-2025,
so the laws are also checked where the tables end and only the week applies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.calendars import default_calendar
from ledger.core.clock import WIB
from ledger.core.workcal import (
    DAY_OFF_CATEGORIES,
    CalendarData,
    DayOff,
    Season,
    Span,
    WeekSchedule,
    WorkCalendar,
    WorkDay,
)

SECOND = timedelta(seconds=1)
FIRST = datetime(2023, 1, 1, tzinfo=UTC)
LAST = datetime(2027, 1, 1, tzinfo=UTC)
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2026, 12, 31)


def instants() -> st.SearchStrategy[datetime]:
    span = int((LAST - FIRST).total_seconds())
    return st.integers(0, span).map(lambda s: FIRST + timedelta(seconds=s))


def day_spans() -> st.SearchStrategy[tuple[Span, ...]]:
    """0-3 sorted, separate spans with second precision."""

    def build(bounds: list[int]) -> tuple[Span, ...]:
        edges = sorted(bounds)[: len(bounds) // 2 * 2]
        return tuple(
            Span(clock(start), clock(end))
            for start, end in zip(edges[::2], edges[1::2], strict=True)
        )

    return st.lists(st.integers(0, 86_399), unique=True, max_size=6).map(build)


def clock(second: int) -> time:
    return time(second // 3600, second % 3600 // 60, second % 60)


def weeks() -> st.SearchStrategy[WeekSchedule]:
    return st.tuples(*[day_spans()] * 7).map(WeekSchedule)


@st.composite
def small_calendars(draw: st.DrawFn) -> WorkCalendar:
    week = draw(weeks().filter(lambda week: week.seconds > 0))
    days = st.dates(FIRST_DAY, LAST_DAY)
    off_dates = draw(st.lists(days, unique=True, max_size=25))
    offs = tuple(
        DayOff(day, "Libur", draw(st.sampled_from(DAY_OFF_CATEGORIES))) for day in off_dates
    )
    work_dates = draw(st.lists(days, unique=True, max_size=6))
    works = tuple(WorkDay(day, "Masuk", draw(day_spans().filter(bool))) for day in work_dates)
    seasons: list[Season] = []
    start = draw(days)
    for i in range(draw(st.integers(0, 2))):
        first = start + timedelta(days=draw(st.integers(0, 60)))
        last = first + timedelta(days=draw(st.integers(0, 40)))
        seasons.append(Season(f"season {i}", first, last, draw(weeks())))
        start = last + timedelta(days=1)
    data = CalendarData(
        name="random",
        label="1",
        week=week,
        seasons=tuple(seasons),
        days_off=offs,
        work_days=works,
        covered=(2024, 2025),
        provenance=(("source", "hypothesis"),),
    )
    return WorkCalendar(data)


BUNDLED = default_calendar()
calendars = st.one_of(st.just(BUNDLED), small_calendars())


def ordered(*moments: datetime) -> list[datetime]:
    return sorted(moments)


# --------------------------------------------------------------------------- working time


@given(calendars, instants(), instants(), instants())
def test_working_time_and_days_are_additive(
    cal: WorkCalendar, x: datetime, y: datetime, z: datetime
) -> None:
    a, b, c = ordered(x, y, z)
    assert cal.working_seconds(a, b) + cal.working_seconds(b, c) == cal.working_seconds(a, c)
    assert cal.working_days(a, b) + cal.working_days(b, c) == cal.working_days(a, c)


@given(calendars, instants(), instants(), instants())
def test_working_time_grows_with_the_end_and_shrinks_with_the_start(
    cal: WorkCalendar, x: datetime, y: datetime, z: datetime
) -> None:
    a, b, c = ordered(x, y, z)
    assert cal.working_seconds(a, b) <= cal.working_seconds(a, c)
    assert cal.working_seconds(b, c) <= cal.working_seconds(a, c)
    assert cal.working_days(a, b) <= cal.working_days(a, c)
    assert cal.working_days(b, c) <= cal.working_days(a, c)


@given(calendars, instants(), instants())
def test_working_time_never_exceeds_elapsed_time(
    cal: WorkCalendar, x: datetime, y: datetime
) -> None:
    a, b = ordered(x, y)
    assert 0 <= cal.working_seconds(a, b) <= (b - a).total_seconds()
    assert cal.working_seconds(b, a) == 0
    assert cal.working_days(b, a) == 0


@given(calendars, instants(), st.integers(0, 40 * 86_400))
def test_working_time_matches_a_day_by_day_count(
    cal: WorkCalendar, a: datetime, length: int
) -> None:
    b = a + timedelta(seconds=length)
    assert cal.working_seconds(a, b) == naive_working_seconds(cal, a, b)


def naive_working_seconds(cal: WorkCalendar, a: datetime, b: datetime) -> int:
    """The reference: each day's spans clipped to [a, b], on the WIB wall clock."""
    local_a, local_b = (
        a.astimezone(WIB).replace(tzinfo=None),
        b.astimezone(WIB).replace(tzinfo=None),
    )
    total = 0
    day = local_a.date()
    while day <= local_b.date():
        for span in cal.spans_on(day):
            start = max(datetime.combine(day, span.start), local_a)
            end = min(datetime.combine(day, span.end), local_b)
            total += max(0, int((end - start).total_seconds()))
        day += timedelta(days=1)
    return total


@given(calendars, instants(), st.data())
def test_nothing_counts_inside_one_non_working_gap(
    cal: WorkCalendar, moment: datetime, data: st.DataObject
) -> None:
    start, end = gap_around(cal, moment)
    seconds = int((end - start).total_seconds())
    first = data.draw(st.integers(0, seconds))
    second = data.draw(st.integers(first, seconds))
    a, b = start + first * SECOND, start + second * SECOND
    assert cal.working_seconds(a, b) == 0
    assert cal.working_days(a, b) == 0


def gap_around(cal: WorkCalendar, moment: datetime) -> tuple[datetime, datetime]:
    """The break, night, weekend or holiday holding ``moment`` (or following its span)."""
    local = moment.astimezone(WIB).replace(tzinfo=None)
    for span in cal.spans_on(local.date()):
        if (
            datetime.combine(local.date(), span.start)
            <= local
            < datetime.combine(local.date(), span.end)
        ):
            local = datetime.combine(local.date(), span.end)
    return as_wib(last_end_before(cal, local)), as_wib(first_start_after(cal, local))


def last_end_before(cal: WorkCalendar, local: datetime) -> datetime:
    day = local.date()
    while True:
        ends = [datetime.combine(day, s.end) for s in cal.spans_on(day)]
        before = [end for end in ends if end <= local]
        if before:
            return before[-1]
        day -= timedelta(days=1)


def first_start_after(cal: WorkCalendar, local: datetime) -> datetime:
    day = local.date()
    while True:
        starts = [datetime.combine(day, s.start) for s in cal.spans_on(day)]
        after = [start for start in starts if start >= local]
        if after:
            return after[0]
        day += timedelta(days=1)


def as_wib(local: datetime) -> datetime:
    return local.replace(tzinfo=WIB)


# --------------------------------------------------------------------------- deadlines


@given(calendars, instants(), st.integers(0, 20 * 86_400))
def test_add_working_seconds_is_the_earliest_inverse(
    cal: WorkCalendar, t: datetime, n: int
) -> None:
    found = cal.add_working_seconds(t, n)
    assert found.tzinfo is UTC
    assert found >= t
    assert cal.working_seconds(t, found) == n
    if n > 0:
        assert cal.working_seconds(t, found - SECOND) < n
    else:
        assert found == t
    assert cal.deadline(t, "minutes", n // 60) == cal.add_working_minutes(t, n // 60)
    assert cal.add_working_minutes(t, n // 60) == cal.add_working_seconds(t, n // 60 * 60)


@given(calendars, instants(), instants())
def test_adding_the_working_time_between_does_not_overshoot(
    cal: WorkCalendar, x: datetime, y: datetime
) -> None:
    a, b = ordered(x, y)
    assert cal.add_working_seconds(a, cal.working_seconds(a, b)) <= b


@given(calendars, instants(), st.integers(0, 30))
def test_add_working_days_is_the_earliest_reaching_n_days(
    cal: WorkCalendar, t: datetime, n: int
) -> None:
    found = cal.add_working_days(t, n)
    assert found.tzinfo is UTC
    assert found >= t
    assert cal.working_days(t, found) >= n
    if n > 0:
        assert cal.working_days(t, found - SECOND) < n
    else:
        assert found == t
    assert cal.deadline(t, "working_days", n) == found
