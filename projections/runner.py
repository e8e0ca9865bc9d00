"""The projection runner: log pages in, one transaction per page out, for either store.

Each page (thousands of events) is folded in memory and written - every view change plus
the new tracking position - in one transaction, so a crash at any point leaves the views
exactly at some page boundary and a restart carries on from there: nothing is applied
twice or skipped. If the stored views were built by another version of the projection (its
code, calendar or table set), a new generation is built beside the live one, which keeps
serving, and is switched in once it has caught up.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace

from projections.case_views import CaseViews
from projections.source import LogSource
from projections.tables import Table
from projections.viewstore.base import Changes, Generation, ViewStore


class RunnerBusyError(RuntimeError):
    """Another worker holds this projection."""


@dataclass(frozen=True, slots=True)
class Progress:
    projection: str
    generation: int
    state: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class Runner:
    def __init__(
        self,
        source: LogSource,
        store: ViewStore,
        projection: CaseViews,
        *,
        page_size: int = 5_000,
        analyze_after: int = 50_000,
    ) -> None:
        self.source = source
        self.store = store
        self.projection = projection
        self.page_size = page_size
        self.analyze_after = analyze_after
        self.generation: Generation | None = None
        self.applied = 0
        self.head = 0

    def prepare(self) -> Generation:
        """Pick the generation this code version writes: the live one if it matches,
        else a matching one under construction, else a new one (live if none is)."""
        name, version = self.projection.name, self.projection.version
        live = self.store.live(name)
        if live is not None and live.version == version:
            self.generation = live
        else:
            building = self.store.building(name, version)
            self.generation = building or self.store.create_generation(
                name, version, self.projection.tables, live=live is None
            )
        return self.generation

    def catch_up(self, upto: int | None = None) -> int:
        """Apply everything up to ``upto`` (default: the head now); events applied.
        After a bulk catch-up (a rebuild from zero, a long backlog, or before a switch)
        the generation's planner statistics are refreshed."""
        generation = self.generation or self.prepare()
        target = self.source.head() if upto is None else upto
        self.head = max(self.head, target)
        start = generation.position
        with _bulk_gc(target - start > self.page_size) as after_page:
            generation, applied = self._apply_pages(
                generation, target, after_page, bulk=target - start > self.page_size
            )
        switching = generation.state == "building" and generation.position >= target
        if switching or (applied and (start == 0 or applied >= self.analyze_after)):
            self.store.analyze(generation, self.projection.tables)
        if switching:
            self.generation = self.store.switch(generation, self.projection.tables)
        self.applied += applied
        return applied

    def _apply_pages(
        self, generation: Generation, target: int, after_page: Callable[[], None], *, bulk: bool
    ) -> tuple[Generation, int]:
        """Read, fold and commit page after page up to ``target``.

        In a bulk catch-up into a store that allows it (PostgreSQL) each page is
        committed on a thread (:class:`_WriteBehind`) while the next one is read and
        folded, so the database's share of a commit runs beside the fold instead of
        after it. Commits still happen one after another, in log order, each moving the
        tracking position from where the previous one left it; a failure anywhere drops
        the unsaved fold and leaves the views at the last committed page."""
        threaded = bulk and self.store.commits_beside_fold
        writer = _WriteBehind(self.store, self.projection.tables, threaded=threaded)
        applied = 0
        try:
            while generation.position < target:
                events, covered = self.source.read(generation.position, self.page_size, target)
                for position, event in events:
                    self.projection.apply(position, event)
                changes = self.projection.flush()
                applied += self._committed(writer)
                writer.submit(generation, changes, covered, len(events))
                generation = replace(generation, position=covered)
                after_page()
            applied += self._committed(writer)
        except BaseException:
            self.projection.reset()
            with suppress(Exception):  # a commit still in flight lands or fails on its own
                self._committed(writer)
            raise
        finally:
            writer.close()
        return generation, applied

    def _committed(self, writer: _WriteBehind) -> int:
        """Wait for the page being committed; the events it applied."""
        done = writer.wait()
        if done is None:
            return 0
        self.generation, events = done
        return events

    def progress(self) -> Progress:
        generation = self.generation or self.prepare()
        self.head = max(self.head, self.source.head())
        return Progress(
            self.projection.name,
            generation.number,
            generation.state,
            generation.position,
            self.head,
        )

    def follow(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Keep the views current until ``stop`` is set: catch up, then wait for appends."""
        self.source.listen()
        try:
            while not stop.is_set():
                if self.catch_up() == 0:
                    self.source.wait(idle_wait)
        finally:
            self.source.close()

    def run_locked(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """:meth:`follow` under the projection's worker lock (one worker per projection)."""
        with self.store.lock(self.projection.name) as held:
            if not held:
                raise RunnerBusyError(
                    f"proyeksi {self.projection.name} sedang dijalankan pekerja lain / "
                    "another worker is running this projection"
                )
            self.follow(stop, idle_wait)


class _WriteBehind:
    """Commits pages in log order: on one thread beside the fold, or inline."""

    def __init__(self, store: ViewStore, tables: Sequence[Table], *, threaded: bool) -> None:
        self.store = store
        self.tables = tables
        self._pool = (
            ThreadPoolExecutor(1, thread_name_prefix="projection-write") if threaded else None
        )
        self._pending: Future[tuple[Generation, int]] | tuple[Generation, int] | None = None

    def submit(self, generation: Generation, changes: Changes, position: int, events: int) -> None:
        def commit() -> tuple[Generation, int]:
            committed = self.store.commit(
                generation, self.tables, changes, position, generation.position
            )
            return committed, events

        self._pending = commit() if self._pool is None else self._pool.submit(commit)

    def wait(self) -> tuple[Generation, int] | None:
        """The last submitted commit's generation and events (None if none is pending)."""
        pending, self._pending = self._pending, None
        return pending.result() if isinstance(pending, Future) else pending

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _nothing() -> None:
    pass


_BULK_GEN0 = 50_000  # new objects between young collections during a bulk catch-up


@contextmanager
def _bulk_gc(bulk: bool) -> Iterator[Callable[[], None]]:
    """During a bulk catch-up, keep the cyclic garbage collector off what already lived:
    objects surviving a page are frozen (:func:`gc.freeze`), so collections no longer walk
    the thousands of cached folded cases (full collections were a third of rebuild time),
    and young collections wait for 50,000 new objects instead of 700 (a page's survivors
    are frozen at its end anyway; collecting every 700 walked them over and over, 8% of a
    million-event rebuild). Both are undone at the end; a process that froze objects of
    its own is left alone."""
    if not bulk or not gc.isenabled() or gc.get_freeze_count():
        yield _nothing
        return
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], _BULK_GEN0), *threshold[1:])
    try:
        yield gc.freeze
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
