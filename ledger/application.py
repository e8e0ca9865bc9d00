"""The ledger application: commands in, events stored in one transaction, or a named refusal.

Built on the eventsourcing library's Application (recorders, event store, notification log),
with immutable aggregates folded by the pure core and a wire-name mapper. A command reads the
aggregates it needs (served from the library's cache, fast-forwarded from the store), lets
the core judge it, and saves every resulting event - including derived ones such as
``case.completed`` or the hand-over act in the next SOP's case - atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, Recording
from eventsourcing.utils import Environment

from ledger import ids
from ledger.commands import Command, Recorded
from ledger.core import errors
from ledger.core.case import CaseState, evolve
from ledger.core.directory import OrgChart, Person, evolve_chart, evolve_person
from ledger.core.events import CaseOpened, LedgerEvent
from ledger.core.published import Catalogue, evolve_catalogue
from ledger.core.sop import SopDefinition
from ledger.persistence.mapper import LedgerMapper, decode_event
from ledger.persistence.multi_read import select_with_positions
from ledger.persistence.state_cache import StateCache

Clock = Callable[[], datetime]
S = TypeVar("S")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _folder(
    evolve_one: Callable[[Any, LedgerEvent], Any],
) -> Callable[[Any, Iterable[Any]], Any]:
    def fold(state: Any, events: Iterable[Any]) -> Any:
        for event in events:
            state = evolve_one(state, event)
        return state

    return fold


def _case_folder(fold: Callable[[Any, Iterable[Any]], Any]) -> Callable[[Any, Iterable[Any]], Any]:
    """``fold`` for cases only: another kind of aggregate under the id (a person, a token:
    ids come from requests) is left as it is, and events not opening a case fold to None."""

    def fold_case(state: Any, events: Iterable[Any]) -> Any:
        if state is not None and not isinstance(state, CaseState):
            return state
        pending = iter(events)
        if state is None:
            first = next(pending, None)
            if not isinstance(first, CaseOpened):
                return None
            state = fold(None, [first])
        return fold(state, pending)

    return fold_case


class LedgerStore(Application[UUID]):
    """The eventsourcing Application, configured only from the env it is given."""

    name = "Ledger"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return LedgerMapper()

    def append(self, events: list[LedgerEvent]) -> list[Recording[UUID]]:
        """``save`` for ready-made events: one transaction, no aggregate collection."""
        recordings = self.events.put(events)
        self._notify(recordings)
        return recordings


class LedgerBase:
    """Shared plumbing of the command handlers: loading state, stamping and saving events."""

    def __init__(
        self, store: LedgerStore, clock: Clock = utc_now, cache_size: int = 20_000
    ) -> None:
        self.store = store
        self.clock = clock
        self._cache = StateCache(store.events, cache_size)
        self._fold_case = _case_folder(_folder(lambda s, e: evolve(s, e, self.sop_version)))
        self._fold_person = _folder(evolve_person)
        self._fold_chart = _folder(evolve_chart)
        self._fold_catalogue = _folder(evolve_catalogue)
        self._catalogue: Catalogue | None = None
        self._chart: OrgChart | None = None

    # --- loading -------------------------------------------------------------------------

    def _get(self, aggregate_id: UUID, fold: Callable[[Any, Iterable[Any]], S]) -> S | None:
        found: S | None = self._cache.get(aggregate_id, fold)
        return found

    def catalogue(self, *, refresh: bool = False) -> Catalogue:
        if self._catalogue is None or refresh:
            found = self._get(ids.CATALOGUE_ID, self._fold_catalogue)
            self._catalogue = found or Catalogue(ids.CATALOGUE_ID, 0, {})
        return self._catalogue

    def sop_version(self, sop_id: str, version: str) -> SopDefinition:
        """A published version never changes, so a cached copy is always right."""
        found = self.catalogue().definitions.get((sop_id, version))
        if found is None:
            return self.catalogue(refresh=True).get(sop_id, version)
        return found

    def org_chart(self, *, refresh: bool = False) -> OrgChart:
        if self._chart is None or refresh:
            found = self._get(ids.ORG_CHART_ID, self._fold_chart)
            self._chart = found or OrgChart(ids.ORG_CHART_ID, 0, {})
        return self._chart

    def chart_with(self, *units: str) -> OrgChart:
        """The org chart, refreshed if it does not know some of ``units`` yet."""
        chart = self.org_chart()
        if all(u in chart.units for u in units):
            return chart
        return self.org_chart(refresh=True)

    def person(self, nip: str) -> Person | None:
        return self._get(ids.person_id(nip), self._fold_person)

    def require_person(self, nip: str, field: str = "actor") -> Person:
        found = self.person(nip)
        if found is None:
            raise errors.DirectoryError(
                f"NIP {nip} tidak terdaftar / person not in the directory", field=field
            )
        return found

    def case(self, case_id: UUID) -> CaseState:
        found = self._get(case_id, self._fold_case)
        if not isinstance(found, CaseState):
            raise errors.CaseNotFoundError(f"kasus {case_id} tidak ditemukan / not found")
        return found

    def case_and_person(self, case_id: UUID, nip: str) -> tuple[CaseState, Person | None]:
        """A case and a person from one query (the two reads every act needs)."""
        case, person = self._cache.get_many(
            [(case_id, self._fold_case), (ids.person_id(nip), self._fold_person)]
        )
        if not isinstance(case, CaseState):
            raise errors.CaseNotFoundError(f"kasus {case_id} tidak ditemukan / not found")
        return case, person

    def cases_and_people(
        self, case_ids: list[UUID], nips: list[str]
    ) -> tuple[dict[UUID, CaseState], dict[str, Person]]:
        """Many cases and people from one query (found ones only)."""
        unique_cases, unique_nips = list(dict.fromkeys(case_ids)), list(dict.fromkeys(nips))
        states = self._cache.get_many(
            [(i, self._fold_case) for i in unique_cases]
            + [(ids.person_id(n), self._fold_person) for n in unique_nips]
        )
        cases = dict(zip(unique_cases, states[: len(unique_cases)], strict=True))
        people = dict(zip(unique_nips, states[len(unique_cases) :], strict=True))
        return (
            {i: s for i, s in cases.items() if isinstance(s, CaseState)},
            {n: p for n, p in people.items() if p is not None},
        )

    def remember(self, aggregate_id: UUID, state: object) -> None:
        self._cache.put(aggregate_id, state)

    def find_case(self, case_id: UUID) -> CaseState | None:
        found = self._get(case_id, self._fold_case)
        return found if isinstance(found, CaseState) else None

    # --- saving --------------------------------------------------------------------------

    def stamp(
        self, command: Command, now: datetime, causation: UUID | None = None
    ) -> dict[str, Any]:
        """The fields every event gets from the command and the server; ``recorded_at`` is
        stored in UTC whatever the clock's zone (the log's indexed text times compare in
        time order only when they share one offset)."""
        event_id = uuid4()
        return {
            "event_id": event_id,
            "recorded_at": now.astimezone(UTC),
            "recorded_by": command.recorded_by,
            "correlation_id": command.correlation_id or causation or event_id,
            "causation_id": causation or command.causation_id,
        }

    def save(
        self, events: list[LedgerEvent], conflict: Callable[[], errors.LedgerError]
    ) -> Recorded:
        """Store ``events`` in one transaction; a unique-key clash becomes ``conflict()``."""
        return self.save_many([events], conflict)[0]

    def save_many(
        self, groups: list[list[LedgerEvent]], conflict: Callable[[], errors.LedgerError]
    ) -> list[Recorded]:
        """Store several commands' events in one transaction; one Recorded per group."""
        events = [event for group in groups for event in group]
        try:
            recordings = self.store.append(events)
        except IntegrityError:
            raise conflict() from None
        self._invalidate({e.originator_id for e in events})
        positions = {r.domain_event.event_id: r.notification.id for r in recordings}  # type: ignore[attr-defined]
        return [_recorded(group, positions) for group in groups]

    def _invalidate(self, touched: set[UUID]) -> None:
        if ids.CATALOGUE_ID in touched:
            self._catalogue = None
        if ids.ORG_CHART_ID in touched:
            self._chart = None

    # --- reading the log -------------------------------------------------------------------

    def read_log(
        self, start: int = 1, *, topics: tuple[str, ...] = (), page: int = 1000
    ) -> Iterator[tuple[int, LedgerEvent]]:
        """Every stored event from position ``start`` on, in log order."""
        while True:
            rows = self.store.recorder.select_notifications(start, page, topics=topics)
            for row in rows:
                event = decode_event(
                    row.topic, _as_uuid(row.originator_id), row.originator_version, row.state
                )
                yield row.id, event
            if len(rows) < page:
                return
            start = rows[-1].id + 1

    def timeline(self, aggregate_id: UUID) -> list[tuple[int, LedgerEvent]]:
        """A case's events with their log positions (CaseNotFoundError if ``aggregate_id``
        is no case: nothing, or another kind of aggregate such as a person or a token)."""
        rows = select_with_positions(self.store.recorder, aggregate_id, 2**62)
        decode = self.store.mapper.to_domain_event
        events = [(p, cast(LedgerEvent, decode(stored))) for p, stored in rows]
        if not events or not isinstance(events[0][1], CaseOpened):
            raise errors.CaseNotFoundError(f"kasus {aggregate_id} tidak ditemukan / not found")
        return events

    def max_position(self) -> int:
        return self.store.recorder.max_notification_id() or 0


def _recorded(group: list[LedgerEvent], positions: dict[UUID, int]) -> Recorded:
    first = group[0]
    version = max(e.originator_version for e in group if e.originator_id == first.originator_id)
    return Recorded(first.originator_id, first.event_id, version, positions[group[-1].event_id])


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
