"""Read an office calendar file (YAML) and the ``holidays`` package into a WorkCalendar.

The file gives the office hours, the Ramadan hours and dates, which holidays to take from
the ``holidays`` package, and manual overrides (late decrees, local days off, working
Saturdays). Every problem is a :class:`CalendarError` naming the file, the field and what
is wrong. The pure calendar arithmetic lives in :mod:`ledger.core.workcal`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

import holidays
import yaml

from ledger.core.errors import CalendarError
from ledger.core.workcal import (
    DAY_NAMES,
    CalendarData,
    DayOff,
    Season,
    Span,
    WeekSchedule,
    WorkCalendar,
    WorkDay,
)

__all__ = ["BUNDLED", "default_calendar", "load_calendar", "load_calendar_data"]

BUNDLED = Path(__file__).parent / "sumbar.yaml"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
_TIMEZONE = "Asia/Jakarta"
_CATEGORIES = ("public", "government")
_OVERRIDE_CATEGORIES = ("local", "decree", "public", "government")
_SPAN = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_EID = "Eid al-Fitr"
# Ramadan 1445 H ended on 2024-04-09; a Hijri year lasts 354.367 days on average.
_HIJRI_ANCHOR = (1445, date(2024, 4, 9))
_HIJRI_YEAR_DAYS = 354.367
_DERIVED_RAMADAN_DAYS = 30

_Keys = tuple[set[str], set[str]]


@dataclass(frozen=True, slots=True)
class _File:
    """The file being read, for error messages."""

    source: str

    def fail(self, field: str, problem: str) -> NoReturn:
        raise CalendarError(self.source, field, problem)


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice (the plain one keeps the last)."""


def _construct_mapping(loader: _SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: list[object] = []
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is written twice", key_node.start_mark
            )
        seen.append(key)
    return loader.construct_mapping(node, deep=True)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --------------------------------------------------------------------------- entry points


def load_calendar(path: Path | None = None, overrides: Path | None = None) -> WorkCalendar:
    """The work calendar of a file (default: the bundled Sumbar calendar).

    ``overrides`` names a second file holding only an ``overrides:`` list, appended to the
    main file's (late decrees kept outside the bundled data); its path enters the provenance.
    """
    return WorkCalendar(load_calendar_data(path, overrides))


@cache
def default_calendar() -> WorkCalendar:
    """The bundled calendar, built once per process."""
    return load_calendar()


def load_calendar_data(path: Path | None = None, overrides: Path | None = None) -> CalendarData:
    """The :class:`CalendarData` behind :func:`load_calendar`."""
    path = BUNDLED if path is None else path
    main = _File(str(path))
    raw = _record(main, _read(main, path), "(top level)", _TOP_KEYS)
    if raw["timezone"] != _TIMEZONE:
        main.fail(
            "timezone", f"'{raw['timezone']}' belum didukung / not supported; use {_TIMEZONE}"
        )
    week = _week(main, raw["week"], "week")
    first, last = _years(main, raw["holidays"])
    days_off = _holidays(main, raw["holidays"], first, last)
    provenance = [
        ("holidays", version("holidays")),
        ("country", str(raw["holidays"]["country"])),
        ("categories", ",".join(raw["holidays"]["categories"])),
        ("timezone", _TIMEZONE),
        ("source", _shown(path)),
    ]
    entries = [(main, raw.get("overrides", []))]
    if overrides is not None:
        entries.append(_overrides_file(overrides))
        provenance.append(("overrides", _shown(overrides)))
    seasons, derived = _ramadan(main, raw.get("ramadan"), raw["holidays"], (first, last))
    if derived:
        provenance.append(("ramadan_derived", ",".join(str(year) for year in derived)))
    off, work = _overrides(entries)
    try:
        return CalendarData(
            name=_text(main, raw["name"], "name"),
            label=_text(main, raw["label"], "label"),
            week=week,
            seasons=seasons,
            days_off=tuple(sorted({**days_off, **off}.values(), key=lambda d: d.day)),
            work_days=tuple(sorted(work.values(), key=lambda w: w.day)),
            covered=(first, last),
            provenance=tuple(provenance),
        )
    except CalendarError as exc:
        main.fail(exc.field or "(file)", exc.problem)


_TOP_KEYS: _Keys = (
    {"name", "label", "timezone", "week", "holidays"},
    {"ramadan", "overrides"},
)


def _overrides_file(path: Path) -> tuple[_File, object]:
    """The ``overrides:`` list of a separate file of late decrees."""
    file = _File(str(path))
    return file, _record(file, _read(file, path), "(top level)", ({"overrides"}, set()))[
        "overrides"
    ]


def _shown(path: Path) -> str:
    """A path as recorded in provenance: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(_PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- primitives


def _read(file: _File, path: Path) -> object:
    try:
        with path.open("rb") as stream:
            return yaml.load(stream, Loader=_SafeLoader)  # a SafeLoader: no arbitrary objects
    except OSError as exc:
        file.fail("(file)", f"tidak dapat dibaca / cannot be read: {exc}")
    except yaml.YAMLError as exc:
        file.fail("(file)", f"bukan YAML yang sah / is not valid YAML: {exc}")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _record(file: _File, value: object, path: str, keys: _Keys) -> Mapping[str, Any]:
    """A mapping with every required key and no unknown one."""
    if not isinstance(value, Mapping):
        file.fail(path, f"harus berupa mapping / must be a mapping, not {_type_name(value)}")
    required, optional = keys
    prefix = "" if path == "(top level)" else f"{path}."
    for key in value:
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            file.fail(f"{prefix}{key}", f"kunci tidak dikenal / unknown key; allowed: {allowed}")
    for key in sorted(required - set(value)):
        file.fail(f"{prefix}{key}", "kunci wajib tidak ada / required key is missing")
    return value


def _list(file: _File, value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list):
        file.fail(path, f"harus berupa daftar / must be a list, not {_type_name(value)}")
    return value


def _text(file: _File, value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        file.fail(path, "harus teks yang tidak kosong / must be a non-empty text")
    return value


def _date(file: _File, value: object, path: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        file.fail(path, f"'{value}' bukan tanggal / is not a date (write YYYY-MM-DD)")
    return value


def _span(file: _File, value: object, path: str) -> Span:
    match = _SPAN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        file.fail(path, f"'{value}' harus seperti / must look like '07:30-12:00'")
    hour_a, minute_a, hour_b, minute_b = (int(part) for part in match.groups())
    try:
        return Span(time(hour_a, minute_a), time(hour_b, minute_b))
    except ValueError as exc:
        file.fail(path, f"'{value}' jam tidak sah / is not a valid time: {exc}")
    except CalendarError as exc:
        file.fail(path, exc.problem)


def _spans(file: _File, value: object, path: str) -> tuple[Span, ...]:
    return tuple(_span(file, raw, f"{path}[{i}]") for i, raw in enumerate(_list(file, value, path)))


def _week(file: _File, value: object, path: str) -> WeekSchedule:
    raw = _record(file, value, path, (set(DAY_NAMES), set()))
    try:
        return WeekSchedule(tuple(_spans(file, raw[day], f"{path}.{day}") for day in DAY_NAMES))
    except CalendarError as exc:
        file.fail(f"{path}{(exc.field or '').removeprefix('week')}", exc.problem)


# --------------------------------------------------------------------------- holidays


_HOLIDAY_KEYS: _Keys = ({"source", "country", "categories", "years"}, set())


def _years(file: _File, value: object) -> tuple[int, int]:
    raw = _record(file, value, "holidays", _HOLIDAY_KEYS)
    years = raw["years"]
    if not (
        isinstance(years, list)
        and len(years) == 2
        and all(type(year) is int for year in years)
        and years[0] <= years[1]
    ):
        file.fail(
            "holidays.years", f"{years!r}: harus [tahun awal, tahun akhir] / must be [first, last]"
        )
    return years[0], years[1]


def _holidays(file: _File, raw: Mapping[str, Any], first: int, last: int) -> dict[date, DayOff]:
    """The package's holidays of the chosen categories, one DayOff per date."""
    if raw["source"] != "holidays":
        file.fail("holidays.source", "hanya / only 'holidays' (the Python package) is supported")
    categories = _list(file, raw["categories"], "holidays.categories")
    for i, category in enumerate(categories):
        if category not in _CATEGORIES:
            file.fail(
                f"holidays.categories[{i}]", f"'{category}' bukan / is not one of {_CATEGORIES}"
            )
    found: dict[date, DayOff] = {}
    for category in _CATEGORIES:  # a date in both keeps the stronger, public category
        if category in categories:
            for day, name in sorted(_package(file, raw["country"], first, last, category).items()):
                found.setdefault(day, DayOff(day, name, category))
    return found


def _package(file: _File, country: object, first: int, last: int, category: str) -> dict[date, str]:
    try:
        found = holidays.country_holidays(
            str(country), years=range(first, last + 1), categories=(category,), language="en_US"
        )
    except NotImplementedError as exc:
        file.fail("holidays.country", f"'{country}' tidak dikenal / unknown country: {exc}")
    return dict(found.items())


# --------------------------------------------------------------------------- ramadan


def _hijri_year(last_day: date) -> int:
    """The Hijri year of a Ramadan ending on ``last_day`` (exact within centuries)."""
    year, anchor = _HIJRI_ANCHOR
    return year + round((last_day - anchor).days / _HIJRI_YEAR_DAYS)


def _ramadan(
    file: _File, value: object, holiday_raw: Mapping[str, Any], covered: tuple[int, int]
) -> tuple[tuple[Season, ...], list[int]]:
    """Ramadan seasons: the listed ones, plus the 30 days before each other Eid al-Fitr."""
    if value is None:
        return (), []
    raw = _record(file, value, "ramadan", ({"week", "dates"}, set()))
    week = _week(file, raw["week"], "ramadan.week")
    dates = raw["dates"]
    if not isinstance(dates, Mapping):
        file.fail(
            "ramadan.dates", "harus mapping tahun Hijriah: [awal, akhir] / must map Hijri year"
        )
    seasons = [_listed_ramadan(file, year, dates[year], week) for year in dates]
    derived: list[int] = []
    for eid in _eid_dates(file, holiday_raw, covered):
        season = _season(eid - timedelta(days=_DERIVED_RAMADAN_DAYS), eid - timedelta(days=1), week)
        if season.first.year <= covered[1] and not any(_overlap(season, s) for s in seasons):
            seasons.append(season)
            derived.append(eid.year)
    return tuple(sorted(seasons, key=lambda s: s.first)), sorted(set(derived))


def _season(first: date, last: date, week: WeekSchedule) -> Season:
    return Season(f"Ramadan {_hijri_year(last)} H", first, last, week)


def _overlap(a: Season, b: Season) -> bool:
    return a.first <= b.last and b.first <= a.last


def _listed_ramadan(file: _File, year: object, value: object, week: WeekSchedule) -> Season:
    path = f"ramadan.dates.{year}"
    pair = _list(file, value, path)
    if len(pair) != 2:
        file.fail(path, "harus [1 Ramadan, hari terakhir] / must be [first day, last day]")
    first, last = _date(file, pair[0], f"{path}[0]"), _date(file, pair[1], f"{path}[1]")
    length = (last - first).days + 1
    if length not in {29, 30}:
        file.fail(path, f"{length} hari; Ramadan 29 atau 30 hari / Ramadan lasts 29 or 30 days")
    hijri = _hijri_year(last)
    if year != hijri:
        file.fail(
            path,
            f"tanggal ini Ramadan {hijri} H, bukan {year} / these dates are Ramadan {hijri} H, "
            "key them by that Hijri year",
        )
    return _season(first, last, week)


def _eid_dates(file: _File, raw: Mapping[str, Any], covered: tuple[int, int]) -> list[date]:
    """The package's first day of Eid al-Fitr, for the covered years and the one after."""
    names = _package(file, raw["country"], covered[0], covered[1] + 1, "public")
    return sorted(day for day, name in names.items() if _EID in _plain_names(name))


def _plain_names(name: str) -> set[str]:
    return {part.strip().removesuffix(" (estimated)") for part in name.split(";")}


# --------------------------------------------------------------------------- overrides


_DAY_OFF_KEYS: _Keys = ({"date", "kind", "name"}, {"decree", "category"})
_WORK_DAY_KEYS: _Keys = ({"date", "kind", "name", "spans"}, {"decree"})


def _overrides(
    entries: list[tuple[_File, object]],
) -> tuple[dict[date, DayOff], dict[date, WorkDay]]:
    """Override days off and working days, by date; a date may be overridden only once."""
    off: dict[date, DayOff] = {}
    work: dict[date, WorkDay] = {}
    for file, value in entries:
        for i, item in enumerate(_list(file, value, "overrides")):
            where = f"overrides[{i}]"
            found = _override(file, item, where)
            if found.day in off or found.day in work:
                file.fail(f"{where}.date", f"{found.day} sudah ditimpa / is already overridden")
            if isinstance(found, DayOff):
                off[found.day] = found
            else:
                work[found.day] = found
    return off, work


def _override(file: _File, item: object, path: str) -> DayOff | WorkDay:
    kind = item.get("kind") if isinstance(item, Mapping) else None
    if kind not in {"day_off", "work_day"}:
        file.fail(f"{path}.kind", f"'{kind}' harus / must be 'day_off' or 'work_day'")
    raw = _record(file, item, path, _DAY_OFF_KEYS if kind == "day_off" else _WORK_DAY_KEYS)
    day = _date(file, raw["date"], f"{path}.date")
    name = _text(file, raw["name"], f"{path}.name")
    if "decree" in raw:
        name = f"{name} ({_text(file, raw['decree'], f'{path}.decree')})"
    if kind == "work_day":
        spans = _spans(file, raw["spans"], f"{path}.spans")
        try:
            return WorkDay(day, name, spans)
        except CalendarError as exc:
            file.fail(f"{path}.spans", exc.problem)
    category = raw.get("category", "decree")
    if category not in _OVERRIDE_CATEGORIES:
        file.fail(f"{path}.category", f"'{category}' bukan / is not one of {_OVERRIDE_CATEGORIES}")
    return DayOff(day, name, category)
