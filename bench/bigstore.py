"""Big event stores for the projection benchmark, built fast from clones of one demo year.

Running a million events through the ledger's commands would take hours, so one demo year
(12 cases, ~226 case events, with returns, parallel branches and back-dated paper records) is
generated once through the real ledger on a scratch SQLite store, and its case events are
then appended many times over, as *clones*, straight into the target store with
``ledger.store.append`` in large batches (after ``upgrade_schema``, ``publish_seeds`` and
``install_directory`` on it, so the catalogue and the directory are real).

A clone is the template year with fresh identities and another year:

- every case id and event id is replaced by a new UUID (consistently within the clone, so
  ``correlation_id``, ``causation_id``, ``handed_over_from`` and ``target_event_id`` still
  point at the clone's own events); the originator versions stay, each clone's cases being
  new aggregates;
- every datetime is shifted by a whole number of 364-day years (weekdays are kept), the
  case's ``period`` and the period in document numbers move to the matching year;
- units, people, SOP versions and document hashes are kept (the fold does not check them).

Clones are spread over :data:`YEARS` consecutive years; the clones of one year are
interleaved in log order (merged by ``recorded_at``: each template event is emitted for every
clone of the year before the next template event), so the log looks like many units working
at once. The clone count is chosen so that the store ends in the middle of its last year:
that year's cases are still open, as they would be in a live ledger.

Generated stores are cached (a PostgreSQL database ``bench_proj_<size>``, a SQLite file in
the cache directory) and reused while their fingerprint and event count match.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql

from ledger.bootstrap import build_ledger, upgrade_schema
from ledger.core.events import Document, LedgerEvent
from ledger.demo.org import install_directory, publish_seeds
from ledger.demo.year import SimClock, generate_year
from ledger.ledger import Ledger
from ledger.settings import Settings

TEMPLATE_YEAR = 2024
SEED = 7
FIRST_YEAR = 2007  # clones cover FIRST_YEAR .. FIRST_YEAR + YEARS - 1
YEARS = 20
YEAR_DAYS = 364  # whole weeks: a shifted act keeps its weekday
# Events per ledger.store.append call. On PostgreSQL one append of 12,000 clones (~8.5 MB of
# parameters) never returned: psycopg's pipeline sync in eventsourcing's insert_events
# (eventsourcing/postgres.py:663) waited forever with the server in ClientRead; 10,000 passed.
BATCH = 5_000
DIRECTORY_SINCE = datetime(FIRST_YEAR - 1, 12, 1, tzinfo=UTC)  # recorded_at of seeds/directory
FINGERPRINT = (
    f"clones-v1 template={TEMPLATE_YEAR} seed={SEED} years={FIRST_YEAR}+{YEARS} "
    f"shift={YEAR_DAYS}d batch-order=recorded_at"
)
META_TABLE = "bench_proj_store_meta"
_REFERENCES = ("correlation_id", "causation_id", "handed_over_from", "target_event_id")

Progress = Callable[[int, int], None]


# --- the template year -----------------------------------------------------------------


def template_events() -> list[LedgerEvent]:
    """One demo year through the real ledger (scratch SQLite); its case events in log order."""
    with tempfile.TemporaryDirectory(prefix="bench-proj-template-") as directory:
        settings = Settings(data_dir=Path(directory), database_url=None)
        upgrade_schema(settings)
        clock = SimClock(datetime(TEMPLATE_YEAR, 1, 2, tzinfo=UTC))
        ledger = build_ledger(settings, clock)
        try:
            publish_seeds(ledger)
            install_directory(ledger)
            generate_year(ledger, clock, TEMPLATE_YEAR, seed=SEED)
            return [
                event
                for _, event in ledger.read_log()
                if event.TOPIC.startswith("case.") or event.TOPIC == "entry.annotated"
            ]
        finally:
            ledger.close()


# --- clones ----------------------------------------------------------------------------


def _retitled(value: str, year: int) -> str:
    """``"2024-Q3"`` and ``"2024-Q3/5/biro-org"`` -> the same in ``year``."""
    prefix = f"{TEMPLATE_YEAR}-Q"
    return f"{year}-Q{value[len(prefix) :]}" if value.startswith(prefix) else value


def _shifted_fields(event: LedgerEvent, year: int) -> dict[str, Any]:
    """The event's fields moved to ``year``: datetimes, period, document numbers."""
    shift = timedelta(days=YEAR_DAYS * (year - TEMPLATE_YEAR))
    values: dict[str, Any] = {}
    for name, value in vars(event).items():
        if isinstance(value, datetime):
            values[name] = value + shift
        elif name == "period" and isinstance(value, str):
            values[name] = _retitled(value, year)
        elif name == "documents":
            values[name] = tuple(
                replace(d, number=_retitled(d.number, year)) if d.number else d
                for d in value
                if isinstance(d, Document)
            )
        else:
            values[name] = value
    return values


class _Ids:
    """Fresh, reproducible version-4 UUIDs."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def new(self) -> UUID:
        return UUID(int=self._random.getrandbits(128), version=4)


def _clone(
    cls: type[LedgerEvent], shifted: dict[str, Any], names: dict[UUID, UUID], ids: _Ids
) -> LedgerEvent:
    values = dict(shifted)
    for field in ("originator_id", "event_id", *_REFERENCES):
        old = values.get(field)
        if isinstance(old, UUID):
            new = names.get(old)
            if new is None:
                new = names[old] = ids.new()
            values[field] = new
    # Built the way the ledger's mapper builds a decoded event (frozen dataclass, no checks).
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", values)
    return event


@dataclass(frozen=True, slots=True)
class Plan:
    """How many clones each year gets so that the store holds ``total`` events."""

    total: int
    base: int
    template: int
    per_year: int

    @classmethod
    def of(cls, total: int, base: int, template: int) -> Plan:
        # YEARS - 0.5 years' worth: the last year is cut off about half-way.
        per_year = max(1, math.ceil((total - base) / (template * (YEARS - 0.5))))
        return cls(total, base, template, per_year)


def clone_stream(template: list[LedgerEvent], plan: Plan) -> Iterator[LedgerEvent]:
    """The clones in log order, ``plan.total - plan.base`` of them."""
    wanted = plan.total - plan.base
    ids = _Ids(SEED)
    emitted = 0
    for year in range(FIRST_YEAR, FIRST_YEAR + YEARS + 100):
        names: list[dict[UUID, UUID]] = [{} for _ in range(plan.per_year)]
        for event in template:
            shifted = _shifted_fields(event, year)
            cls = type(event)
            for clone in names:
                if emitted == wanted:
                    return
                yield _clone(cls, shifted, clone, ids)
                emitted += 1


def _batches(events: Iterator[LedgerEvent], size: int) -> Iterator[list[LedgerEvent]]:
    batch: list[LedgerEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """A generated store: where it is, what it holds, and how it was made."""

    backend: str
    settings: Settings
    events: int
    case_events: int
    cases: int
    clones_per_year: int
    first_year: int
    last_year: int
    last_recorded_at: str
    fingerprint: str
    build_seconds: float | None  # None: reused from the cache

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "events": self.events,
            "case_events": self.case_events,
            "cases": self.cases,
            "clones_per_year": self.clones_per_year,
            "years": f"{self.first_year}-{self.last_year}",
            "last_recorded_at": self.last_recorded_at,
            "fingerprint": self.fingerprint,
            "build_seconds": None if self.build_seconds is None else round(self.build_seconds, 1),
            "reused_from_cache": self.build_seconds is None,
        }


def _fill(
    settings: Settings, total: int, template: list[LedgerEvent], progress: Progress | None
) -> dict[str, Any]:
    """Seeds, directory and clones into an empty store; returns what it wrote."""
    upgrade_schema(settings)
    clock = SimClock(DIRECTORY_SINCE)
    ledger = build_ledger(settings, clock)
    try:
        publish_seeds(ledger)
        install_directory(ledger)
        base = ledger.max_position()
        plan = Plan.of(total, base, len(template))
        written = base
        cases = 0
        last = DIRECTORY_SINCE
        for batch in _batches(clone_stream(template, plan), BATCH):
            ledger.store.append(batch)
            written += len(batch)
            cases += sum(1 for e in batch if e.TOPIC == "case.opened")
            last = batch[-1].recorded_at
            if progress is not None:
                progress(written, total)
        if ledger.max_position() != total:
            raise RuntimeError(f"store holds {ledger.max_position()} events, wanted {total}")
        years = math.ceil((total - base) / (plan.per_year * len(template)))
        return {
            "events": total,
            "case_events": total - base,
            "cases": cases,
            "clones_per_year": plan.per_year,
            "first_year": FIRST_YEAR,
            "last_year": FIRST_YEAR + years - 1,
            "last_recorded_at": last.isoformat(),
            "fingerprint": FINGERPRINT,
        }
    finally:
        ledger.close()


def size_label(count: int) -> str:
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count % 1_000 == 0:
        return f"{count // 1_000}k"
    return str(count)


# --- PostgreSQL ------------------------------------------------------------------------


def with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(base_url: str, name: str) -> str:
    if not name.startswith("bench_proj_"):
        raise ValueError(f"refusing to create {name!r}: bench databases are bench_proj_*")
    drop_database(base_url, name)
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    if not name.startswith("bench_proj_"):
        raise ValueError(f"refusing to drop {name!r}: bench databases are bench_proj_*")
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _pg_cached(url: str, total: int) -> dict[str, Any] | None:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'store'").fetchone()
            head = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    except psycopg.Error:
        return None
    if found is None or head is None:
        return None
    meta: dict[str, Any] = json.loads(found[0])
    if meta.get("fingerprint") != FINGERPRINT or meta.get("events") != total or head[0] != total:
        return None
    return meta


def postgres_store(
    base_url: str,
    total: int,
    template: Callable[[], list[LedgerEvent]],
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> StoreInfo:
    """The ``bench_proj_<size>`` database with ``total`` events (reused when it matches)."""
    name = f"bench_proj_{size_label(total)}"
    url = with_dbname(base_url, name)
    meta = None if rebuild else _pg_cached(url, total)
    seconds: float | None = None
    if meta is None:
        started = time.perf_counter()
        create_database(base_url, name)
        meta = _fill(Settings(database_url=url), total, template(), progress)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE ledger_events")
            conn.execute(f"CREATE TABLE {META_TABLE} (key text PRIMARY KEY, value text)")
            conn.execute(f"INSERT INTO {META_TABLE} VALUES ('store', %s)", (json.dumps(meta),))
        seconds = time.perf_counter() - started
    else:
        upgrade_schema(Settings(database_url=url))  # a store cached before a migration
    return StoreInfo("postgres", Settings(database_url=url), build_seconds=seconds, **meta)


# --- SQLite ----------------------------------------------------------------------------


def _sqlite_cached(directory: Path, total: int) -> dict[str, Any] | None:
    meta_file = directory / "store.json"
    database = directory / "ledger.sqlite"
    if not meta_file.exists() or not database.exists():
        return None
    meta: dict[str, Any] = json.loads(meta_file.read_text())
    lite = sqlite3.connect(database)
    try:
        (head,) = lite.execute("SELECT max(rowid) FROM stored_events").fetchone()
    except sqlite3.Error:
        return None
    finally:
        lite.close()
    if meta.get("fingerprint") != FINGERPRINT or meta.get("events") != total or head != total:
        return None
    return meta


def sqlite_store(
    cache_dir: Path,
    total: int,
    template: Callable[[], list[LedgerEvent]],
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> StoreInfo:
    """``<cache_dir>/sqlite_<size>/ledger.sqlite`` with ``total`` events (reused when it
    matches)."""
    directory = cache_dir / f"sqlite_{size_label(total)}"
    meta = None if rebuild else _sqlite_cached(directory, total)
    seconds: float | None = None
    if meta is None:
        started = time.perf_counter()
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.iterdir():
            stale.unlink()
        meta = _fill(Settings(data_dir=directory, database_url=None), total, template(), progress)
        (directory / "store.json").write_text(json.dumps(meta, indent=1))
        seconds = time.perf_counter() - started
    settings = Settings(data_dir=directory, database_url=None)
    if seconds is None:
        upgrade_schema(settings)  # a store cached before a migration
    return StoreInfo("sqlite", settings, build_seconds=seconds, **meta)


def open_ledger(settings: Settings) -> Ledger:
    """A ledger on a generated store (its clock is never used: nothing is commanded)."""
    return build_ledger(settings, lambda: datetime.now(UTC))
