"""A bounded cache of folded aggregate states, fast-forwarded from the store on every read.

The library's repository cache keeps the state it first built and, for immutable states,
refolds every newer event on each read. This cache stores the state it last folded, so a
read costs one indexed query for events newer than the cached version (usually none).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from threading import Lock
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import EventStore

from ledger.persistence.multi_read import select_newer


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=Versioned)
Fold = Callable[[Any, Iterable[Any]], Any]


class StateCache:
    def __init__(self, events: EventStore[UUID], maxsize: int) -> None:
        self._recorder = events.recorder
        self._mapper = events.mapper
        self._maxsize = maxsize
        self._states: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = Lock()

    def get(self, aggregate_id: UUID, fold: Fold) -> Any:
        """The current state (None if the aggregate has no events)."""
        return self.get_many([(aggregate_id, fold)])[0]

    def get_many(self, wanted: Sequence[tuple[UUID, Fold]]) -> list[Any]:
        """Several current states from one query for everything newer than the cache."""
        with self._lock:
            cached = [self._states.get(aggregate_id) for aggregate_id, _ in wanted]
        versions = [
            (i, 0 if c is None else c.version) for (i, _), c in zip(wanted, cached, strict=True)
        ]
        newer = select_newer(self._recorder, versions)
        states = []
        for (aggregate_id, fold), before in zip(wanted, cached, strict=True):
            rows = newer[aggregate_id]
            if not rows:
                states.append(before)
                continue
            state = fold(before, (self._mapper.to_domain_event(row) for row in rows))
            self.put(aggregate_id, state)
            states.append(state)
        return states

    def put(self, aggregate_id: UUID, state: Any) -> None:
        """Remember a state the caller has just folded (e.g. after its own save)."""
        if state is not None and self._maxsize > 0:
            self._put(aggregate_id, state)

    def _put(self, aggregate_id: UUID, state: Any) -> None:
        with self._lock:
            current = self._states.get(aggregate_id)
            if current is None or current.version <= state.version:
                self._states[aggregate_id] = state
                self._states.move_to_end(aggregate_id)
            while len(self._states) > self._maxsize:
                self._states.popitem(last=False)
