"""The office work calendar: when an SOP step's clock runs, and when its time is up.

Working *time* counts only inside the working spans of a day on WIB wall-clock time; breaks,
nights, weekends, holidays and *cuti bersama* do not count. Working *days* count positions on
the calendar: a day is one day whether it has 7.5 working hours or 6.5 (Ramadan), so ``n``
working days after 1/3 of one day's working time is 1/3 into the n-th next working day.

Which spans a date has, in order of precedence: a :class:`WorkDay` override, else nothing if
it is a :class:`DayOff`, else the week of the :class:`Season` holding it, else the regular
week. Days off are only known for the ``covered`` years: beyond them (and beyond every date
named in the data) only the regular week applies, repeated week after week.

Every question must be cheap (a projection asks about a million step executions), so the
constructor tabulates each day of that range once (its spans, the working seconds and the
working days before it, as prefix sums); a question is then a table look-up or a bisection
plus the work inside at most two days, and days beyond the table follow from the week in
closed form. WIB is taken as its fixed offset (UTC+7, unchanged since 1964, no DST).
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import accumulate, pairwise

from ledger.core.clock import WIB
from ledger.core.errors import CalendarError, InvalidTimeError

__all__ = [
    "DAY_NAMES",
    "DAY_OFF_CATEGORIES",
    "CalendarData",
    "DayOff",
    "Season",
    "Span",
    "WeekSchedule",
    "WorkCalendar",
    "WorkDay",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_OFF_CATEGORIES = ("public", "government", "local", "decree")

_SOURCE = "calendar"
_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY = date(1970, 1, 1).weekday()


def _wib_offset() -> int:
    """WIB's offset from UTC in seconds, read from the zone rather than written down."""
    offset = datetime(2000, 1, 1, tzinfo=WIB).utcoffset()
    if offset is None:  # pragma: no cover - a ZoneInfo always has an offset
        raise RuntimeError("Asia/Jakarta has no UTC offset")
    return int(offset.total_seconds())


_OFFSET = _wib_offset()


def _fail(field: str, problem: str) -> CalendarError:
    return CalendarError(_SOURCE, field, problem)


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Span:
    """A working span in WIB wall-clock time, ``start`` inclusive to ``end`` exclusive."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.microsecond:
                raise _fail(
                    "span",
                    f"'{moment}' harus jam dinding WIB tanpa zona dan tanpa mikrodetik / "
                    "must be a WIB wall-clock time without zone or microseconds",
                )
        if self.end <= self.start:
            raise _fail(
                "span",
                f"'{self}' waktu selesai harus setelah waktu mulai / end must be after start",
            )

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    @property
    def seconds(self) -> int:
        return _seconds_of(self.end) - _seconds_of(self.start)


def _seconds_of(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _check_spans(spans: tuple[Span, ...], field: str) -> None:
    """Spans of one day must be sorted and apart: the gaps between them are the breaks."""
    for earlier, later in pairwise(spans):
        if later.start < earlier.end:
            raise _fail(
                field,
                f"'{later}' mulai sebelum '{earlier}' selesai; rentang harus urut dan tidak "
                "tumpang tindih / starts before the previous span ends; spans must be sorted "
                "and must not overlap",
            )


@dataclass(frozen=True, slots=True)
class WeekSchedule:
    """The working spans of each weekday, Monday (0) to Sunday (6)."""

    days: tuple[tuple[Span, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != len(DAY_NAMES):
            raise _fail(
                "week",
                f"harus 7 hari, bukan {len(self.days)} / must have 7 days, not {len(self.days)}",
            )
        for name, spans in zip(DAY_NAMES, self.days, strict=True):
            _check_spans(spans, f"week.{name}")

    @property
    def seconds(self) -> int:
        """Working seconds in one week."""
        return sum(span.seconds for spans in self.days for span in spans)


@dataclass(frozen=True, slots=True)
class Season:
    """Dates (inclusive) on which another week applies, e.g. the Ramadan of one year."""

    name: str
    first: date
    last: date
    week: WeekSchedule

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise _fail(
                f"season {self.name}",
                f"tanggal akhir {self.last} sebelum tanggal awal {self.first} / "
                "last date is before first date",
            )


@dataclass(frozen=True, slots=True)
class DayOff:
    """A whole non-working day: national holiday, cuti bersama, local day off or decree."""

    day: date
    name: str
    category: str

    def __post_init__(self) -> None:
        if self.category not in DAY_OFF_CATEGORIES:
            raise _fail(
                f"day off {self.day}",
                f"kategori '{self.category}' tidak dikenal / unknown category; "
                f"allowed: {', '.join(DAY_OFF_CATEGORIES)}",
            )
        if not self.name:
            raise _fail(f"day off {self.day}", "nama wajib diisi / name is required")


@dataclass(frozen=True, slots=True)
class WorkDay:
    """A date made a working day with the given spans (e.g. a Saturday by decree)."""

    day: date
    name: str
    spans: tuple[Span, ...]

    def __post_init__(self) -> None:
        field = f"work day {self.day}"
        if not self.spans:
            raise _fail(field, "perlu minimal satu rentang kerja / needs at least one span")
        if not self.name:
            raise _fail(field, "nama wajib diisi / name is required")
        _check_spans(self.spans, field)


@dataclass(frozen=True, slots=True)
class CalendarData:
    """Everything a :class:`WorkCalendar` is built from; its canonical form is versioned."""

    name: str
    label: str
    week: WeekSchedule
    seasons: tuple[Season, ...]
    days_off: tuple[DayOff, ...]
    work_days: tuple[WorkDay, ...]
    covered: tuple[int, int]
    provenance: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if not self.name or not self.label:
            raise _fail("name", "nama dan label wajib diisi / name and label are required")
        if self.covered[1] < self.covered[0]:
            raise _fail("covered", f"{self.covered}: tahun akhir < tahun awal / last < first")
        if self.week.seconds <= 0:
            raise _fail("week", "minggu biasa tanpa jam kerja / the regular week has no work")
        _check_unique([off.day for off in self.days_off], "days_off")
        _check_unique([work.day for work in self.work_days], "work_days")
        _check_unique([key for key, _ in self.provenance], "provenance")
        for earlier, later in pairwise(sorted(self.seasons, key=lambda season: season.first)):
            if later.first <= earlier.last:
                raise _fail(
                    "seasons",
                    f"'{later.name}' tumpang tindih dengan '{earlier.name}' / "
                    "overlaps the previous season",
                )


def _check_unique(keys: list[date] | list[str], field: str) -> None:
    seen: set[object] = set()
    for key in keys:
        if key in seen:
            raise _fail(field, f"'{key}' muncul dua kali / appears twice")
        seen.add(key)


# --------------------------------------------------------------------------- tables


def _day_number(day: date) -> int:
    """Days since 1970-01-01: the index of every table."""
    return day.toordinal() - _EPOCH_ORDINAL


def _weekday(day: int) -> int:
    return (day + _EPOCH_WEEKDAY) % 7


@dataclass(frozen=True, slots=True)
class _DayPlan:
    """One day's spans as seconds of the day, with the working seconds before each span."""

    spans: tuple[Span, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    before: tuple[int, ...]
    upto: tuple[int, ...]
    total: int

    @classmethod
    def of(cls, spans: tuple[Span, ...]) -> _DayPlan:
        starts = tuple(_seconds_of(span.start) for span in spans)
        ends = tuple(_seconds_of(span.end) for span in spans)
        upto = tuple(accumulate(end - start for start, end in zip(starts, ends, strict=True)))
        before = (0, *upto[:-1]) if upto else ()
        return cls(spans, starts, ends, before, upto, upto[-1] if upto else 0)

    def elapsed(self, second: int) -> int:
        """Working seconds of the day before ``second`` (seconds since local midnight)."""
        i = bisect_right(self.starts, second) - 1
        if i < 0:
            return 0
        return self.before[i] + min(second, self.ends[i]) - self.starts[i]

    def reaching(self, worked: int) -> int:
        """The earliest second of the day by which ``worked`` (1..total) seconds are done."""
        i = bisect_left(self.upto, worked)
        return self.starts[i] + worked - self.before[i]


@dataclass(frozen=True, slots=True)
class _Periodic:
    """A per-weekday quantity summed over runs of days: the tables' extension past their ends."""

    sums: tuple[tuple[int, ...], ...]  # sums[w][r]: over r consecutive days starting on weekday w

    @classmethod
    def of(cls, per_weekday: tuple[int, ...]) -> _Periodic:
        return cls(
            tuple(
                tuple(accumulate((per_weekday[(w + r) % 7] for r in range(7)), initial=0))
                for w in range(7)
            )
        )

    def over(self, first: int, count: int) -> int:
        """The sum over days ``first .. first + count - 1``."""
        weeks, rest = divmod(count, 7)
        return weeks * self.sums[0][7] + self.sums[_weekday(first)][rest]


def _table_range(data: CalendarData) -> tuple[int, int]:
    """Day numbers [lo, hi) holding the covered years and every date the data names."""
    dates = [date(data.covered[0], 1, 1), date(data.covered[1], 12, 31)]
    dates += [off.day for off in data.days_off] + [work.day for work in data.work_days]
    dates += [day for season in data.seasons for day in (season.first, season.last)]
    return _day_number(min(dates)), _day_number(max(dates)) + 1


def _local_seconds(moment: datetime, field: str) -> int:
    """Whole seconds since 1970-01-01 00:00 WIB wall clock; microseconds are dropped."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTimeError(
            f"{field} harus menyertakan zona waktu / must include a UTC offset "
            "(e.g. 2024-07-01T09:00:00+07:00)",
            field=field,
        )
    delta = moment - _EPOCH
    return delta.days * _DAY + delta.seconds + _OFFSET


def _instant(local: int) -> datetime:
    return _EPOCH + timedelta(seconds=local - _OFFSET)


def _week_out(week: WeekSchedule) -> list[list[list[str]]]:
    return [[[s.start.isoformat(), s.end.isoformat()] for s in spans] for spans in week.days]


def _canonical(data: CalendarData) -> dict[str, object]:
    """The data as plain JSON values, in a fixed order: the input of the version hash."""
    return {
        "name": data.name,
        "label": data.label,
        "week": _week_out(data.week),
        "seasons": [
            {
                "name": s.name,
                "first": s.first.isoformat(),
                "last": s.last.isoformat(),
                "week": _week_out(s.week),
            }
            for s in sorted(data.seasons, key=lambda season: season.first)
        ],
        "days_off": [
            {"day": off.day.isoformat(), "name": off.name, "category": off.category}
            for off in sorted(data.days_off, key=lambda off: off.day)
        ],
        "work_days": [
            {
                "day": work.day.isoformat(),
                "name": work.name,
                "spans": [[s.start.isoformat(), s.end.isoformat()] for s in work.spans],
            }
            for work in sorted(data.work_days, key=lambda work: work.day)
        ],
        "covered": list(data.covered),
        "provenance": [list(pair) for pair in data.provenance],
    }


def _version(data: CalendarData) -> str:
    text = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{data.name}@{data.label}+sha256:{digest}"


# --------------------------------------------------------------------------- calendar


class WorkCalendar:
    """Working seconds and working days between instants, and the deadlines they imply.

    Instants are aware datetimes, truncated to whole seconds; results are exact integers (or
    fractions of a working day) and additive over consecutive intervals.
    """

    __slots__ = (
        "_cum",
        "_data",
        "_days_ext",
        "_days_off",
        "_hi",
        "_index",
        "_lo",
        "_plans",
        "_seconds_ext",
        "_version",
        "_week",
        "_work_dates",
        "_workdays",
    )

    def __init__(self, data: CalendarData) -> None:
        self._data = data
        self._version = _version(data)
        self._week = tuple(_DayPlan.of(spans) for spans in data.week.days)
        self._days_off = {off.day: off for off in data.days_off}
        self._work_dates = frozenset(work.day for work in data.work_days)
        self._lo, self._hi = _table_range(data)
        self._plans = self._day_plans()
        self._cum = list(accumulate((plan.total for plan in self._plans), initial=0))
        self._index = list(accumulate((plan.total > 0 for plan in self._plans), initial=0))
        self._workdays = [self._lo + i for i, plan in enumerate(self._plans) if plan.total]
        self._seconds_ext = _Periodic.of(tuple(plan.total for plan in self._week))
        self._days_ext = _Periodic.of(tuple(int(plan.total > 0) for plan in self._week))

    def _day_plans(self) -> list[_DayPlan]:
        """The plan of every tabulated day, sharing one object per distinct set of spans."""
        special: dict[int, tuple[Span, ...]] = {}
        for season in self._data.seasons:
            for day in range(_day_number(season.first), _day_number(season.last) + 1):
                special[day] = season.week.days[_weekday(day)]
        special.update({_day_number(off.day): () for off in self._data.days_off})
        special.update({_day_number(work.day): work.spans for work in self._data.work_days})
        shared = {plan.spans: plan for plan in self._week}
        plans: list[_DayPlan] = []
        for day in range(self._lo, self._hi):
            spans = special.get(day, self._data.week.days[_weekday(day)])
            plan = shared.get(spans)
            if plan is None:
                plan = shared[spans] = _DayPlan.of(spans)
            plans.append(plan)
        return plans

    def __repr__(self) -> str:
        return f"WorkCalendar({self._version})"

    # ----------------------------------------------------------------- description

    @property
    def version(self) -> str:
        """``name@label+sha256:<16 hex>``: changes with any span, season, day off or source."""
        return self._version

    @property
    def data(self) -> CalendarData:
        return self._data

    @property
    def covered(self) -> tuple[int, int]:
        """First and last year whose days off are known."""
        return self._data.covered

    def describe(self) -> dict[str, object]:
        """What a report manifest records about the calendar it was computed with."""
        counts = dict.fromkeys(DAY_OFF_CATEGORIES, 0)
        for off in self._data.days_off:
            counts[off.category] += 1
        return {
            "name": self._data.name,
            "label": self._data.label,
            "version": self._version,
            "covered": {"first": self._data.covered[0], "last": self._data.covered[1]},
            "days_off": counts,
            "work_days": len(self._data.work_days),
            "seasons": [
                {"name": s.name, "first": s.first.isoformat(), "last": s.last.isoformat()}
                for s in sorted(self._data.seasons, key=lambda season: season.first)
            ],
            "provenance": dict(self._data.provenance),
        }

    # ----------------------------------------------------------------- days

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The working spans of a date; empty when it is not a working day."""
        return self._plan(_day_number(day)).spans

    def is_working_day(self, day: date) -> bool:
        return self._plan(_day_number(day)).total > 0

    def day_off(self, day: date) -> DayOff | None:
        """Why a date is off; None when it is not a listed day off or a WorkDay overrides it."""
        if day in self._work_dates:
            return None
        return self._days_off.get(day)

    # ----------------------------------------------------------------- time

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """Working seconds in [start, end); 0 when end is not after start."""
        first = _local_seconds(start, "start")
        last = _local_seconds(end, "end")
        if last <= first:
            return 0
        return self._worked(last) - self._worked(first)

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant (UTC) by which ``seconds`` working seconds have passed."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        local = _local_seconds(start, "start")
        if seconds == 0:
            return _instant(local)
        target = self._worked(local) + seconds
        day = self._day_reaching(target, local // _DAY)
        worked = target - self._seconds_before(day)
        return _instant(day * _DAY + self._plan(day).reaching(worked))

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        return self.add_working_seconds(start, 60 * minutes)

    def working_days(self, start: datetime, end: datetime) -> Fraction:
        """Working days from start to end, as the difference of their day positions."""
        first = _local_seconds(start, "start")
        last = _local_seconds(end, "end")
        if last <= first:
            return Fraction(0)
        index_a, worked_a, total_a = self._position(first)
        index_b, worked_b, total_b = self._position(last)
        numerator = (index_b - index_a) * total_a * total_b + worked_b * total_a
        return Fraction(numerator - worked_a * total_b, total_a * total_b)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The earliest instant (UTC) at which ``days`` working days have passed.

        From a day boundary (before opening, at closing, on a day off) that is the close of
        the ``days``-th working day; from inside a day it is the same fraction of the
        working time of the ``days``-th next working day, rounded up to a whole second.
        """
        if days < 0:
            raise ValueError(f"days must not be negative, not {days}")
        local = _local_seconds(start, "start")
        if days == 0:
            return _instant(local)
        index, worked, total = self._position(local)
        if worked == 0:
            day = self._working_day(index + days - 1, local // _DAY)
            return _instant(day * _DAY + self._plan(day).ends[-1])
        day = self._working_day(index + days, local // _DAY)
        plan = self._plan(day)
        return _instant(day * _DAY + plan.reaching(-(-worked * plan.total // total)))

    def deadline(self, start: datetime, unit: str, amount: int) -> datetime:
        """The deadline of a time standard: ``minutes`` or ``working_days`` after start."""
        if unit == "minutes":
            return self.add_working_minutes(start, amount)
        if unit == "working_days":
            return self.add_working_days(start, amount)
        raise ValueError(f"unknown time unit {unit!r}; expected 'minutes' or 'working_days'")

    # ----------------------------------------------------------------- tables

    def _plan(self, day: int) -> _DayPlan:
        i = day - self._lo
        if 0 <= i < len(self._plans):
            return self._plans[i]
        return self._week[_weekday(day)]

    def _seconds_before(self, day: int) -> int:
        """Working seconds from the table's first day up to the start of ``day``."""
        i = day - self._lo
        if i < 0:
            return -self._seconds_ext.over(day, -i)
        if i < len(self._cum):
            return self._cum[i]
        return self._cum[-1] + self._seconds_ext.over(self._hi, day - self._hi)

    def _days_before(self, day: int) -> int:
        """Working days from the table's first day up to the start of ``day``."""
        i = day - self._lo
        if i < 0:
            return -self._days_ext.over(day, -i)
        if i < len(self._index):
            return self._index[i]
        return self._index[-1] + self._days_ext.over(self._hi, day - self._hi)

    def _worked(self, local: int) -> int:
        """Working seconds from the table's origin up to a local instant."""
        day, second = divmod(local, _DAY)
        return self._seconds_before(day) + self._plan(day).elapsed(second)

    def _position(self, local: int) -> tuple[int, int, int]:
        """(working-day index, seconds worked that day, day's total); worked 0 at boundaries."""
        day, second = divmod(local, _DAY)
        plan = self._plan(day)
        index = self._days_before(day)
        worked = plan.elapsed(second)
        if worked == 0:
            return index, 0, 1
        if worked == plan.total:
            return index + 1, 0, 1
        return index, worked, plan.total

    def _day_reaching(self, target: int, from_day: int) -> int:
        """The day during which the running working time reaches ``target`` (> its start)."""
        cum = self._cum
        if cum[0] < target <= cum[-1]:
            return self._lo + bisect_left(cum, target) - 1
        if target > cum[-1]:
            first = self._hi
            last = first + 7 * ((target - cum[-1]) // self._seconds_ext.sums[0][7] + 2)
        else:
            first, last = from_day, self._lo
        found = bisect_left(range(first, last + 1), target, key=self._seconds_before)
        return first + found - 1

    def _working_day(self, index: int, from_day: int) -> int:
        """The day number of the working day with the given index (``from_day`` is before)."""
        if 0 <= index < len(self._workdays):
            return self._workdays[index]
        if index >= 0:
            first = self._hi
            last = first + 7 * (index - len(self._workdays) + 2)
        else:
            first, last = from_day, self._lo
        found = bisect_left(range(first, last + 1), index + 1, key=self._days_before)
        return first + found - 1
