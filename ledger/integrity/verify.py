"""``sop-ledger verify``: walk the store, recompute every leaf, chain and root, check every
signed checkpoint, and name the first bad position and what is wrong there.

The walk is one merge of the events table with the leaf rows, in log order. Each event's
leaf is recomputed from its stored bytes and the *stored* leaf of its case's previous
event, so a change shows at the event changed (and, when the forger re-hashed it, at the
next event of the case, whose chain no longer matches); the tree is rebuilt from the
recomputed leaves, so every signed root is checked against what the events say now.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ledger.core import merkle
from ledger.core.checkpoint import (
    BadSignatureError,
    NoteError,
    NoTrustedSignatureError,
    Verifier,
    open_checkpoint,
)
from ledger.core.eventhash import stored_leaf_hash
from ledger.integrity.problems import Kind, Problem
from ledger.integrity.store import IntegrityStore, StoredCheckpoint

__all__ = ["Kind", "Problem", "Report", "verify_store"]


@dataclass
class Report:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    verified_size: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The problem at the lowest position (checkpoint problems without one last)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.position is None, p.position or 0))

    def as_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "events": self.events,
            "leaves": self.leaves,
            "checkpoints": self.checkpoints,
            "verified_tree_size": self.verified_size,
            "seconds": round(self.seconds, 3),
            "first_problem": None if first is None else first.as_json(),
            "problems": [p.as_json() for p in self.problems],
        }


def verify_store(
    store: IntegrityStore,
    trusted: Sequence[Verifier] | None = None,
    *,
    first: int | None = None,
    last: int | None = None,
    limit: int = 100,
) -> Report:
    """Verify the whole store (or events at positions ``first``..``last``; the tree and the
    checkpoints are still checked from the start). ``trusted`` keys default to the keys the
    ledger registered; give them explicitly to pin what you trust."""
    started = time.perf_counter()
    report = Report()
    verifiers = list(trusted) if trusted is not None else [k.verifier for k in store.signing_keys()]
    checkpoints = store.checkpoints()
    report.checkpoints = len(checkpoints)
    heads = _check_notes(checkpoints, verifiers, report)
    walk = _Walk(report, heads, first or 0, last, limit)
    with _read_ahead(store.scan()) as pages:
        for rows in pages:
            walk.feed(rows)
            if len(report.problems) >= limit:
                break
        else:
            walk.finish()
    report.seconds = time.perf_counter() - started
    return report


_Page = Sequence[tuple[Any, ...]]


@contextmanager
def _read_ahead(pages: Generator[_Page, None, None], depth: int = 2) -> Iterator[Iterator[_Page]]:
    """``pages`` fetched on a thread, up to ``depth`` ahead of the walk: the database
    joins and sends the next page while this one is hashed (reading is mostly waiting on
    the server, so the two overlap instead of adding up). Leaving early stops the reader,
    which closes ``pages`` (and its snapshot) on its own thread."""
    ahead: queue.Queue[_Page | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: _Page | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not put(page):
                    break
            else:
                put(None)
        except BaseException as error:  # handed to the walk, which raises it
            put(error)
        finally:
            pages.close()

    def taken() -> Iterator[_Page]:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=read, name="verify-read-ahead", daemon=True)
    reader.start()
    try:
        yield taken()
    finally:
        stop.set()
        reader.join()


def _check_notes(
    checkpoints: Iterable[StoredCheckpoint], verifiers: Sequence[Verifier], report: Report
) -> dict[int, bytes]:
    """Signed tree heads to compare roots with: size -> root, from notes that verify."""
    heads: dict[int, bytes] = {}
    for stored in checkpoints:
        try:
            head, _ = open_checkpoint(stored.note.encode(), verifiers)
        except BadSignatureError as error:
            report.problems.append(Problem(Kind.FORGED, None, _at(stored, str(error))))
            continue
        except NoTrustedSignatureError as error:
            report.problems.append(Problem(Kind.UNKNOWN_KEY, None, _at(stored, str(error))))
            continue
        except NoteError as error:
            report.problems.append(Problem(Kind.FORGED, None, _at(stored, str(error))))
            continue
        if head.size != stored.tree_size or head.root_hash != stored.root_hash:
            report.problems.append(
                Problem(
                    Kind.FORGED,
                    None,
                    _at(
                        stored,
                        f"catatan menyebut ukuran {head.size} / the note says size "
                        f"{head.size}, root {head.root_hash.hex()[:16]}",
                    ),
                )
            )
            continue
        heads[stored.tree_size] = stored.root_hash
    return heads


def _at(stored: StoredCheckpoint, text: str) -> str:
    return f"checkpoint ukuran/size {stored.tree_size}: {text}"


class _Walk:
    """The merge of events and leaf rows, in log order, with the tree rebuilt beside it."""

    def __init__(
        self, report: Report, heads: dict[int, bytes], first: int, last: int | None, limit: int
    ) -> None:
        self.report = report
        self.heads = heads
        self.first = first
        self.last = last
        self.limit = limit
        self.expected_index = 0
        # case id as stored -> (version, stored leaf, the id as the canonical form has it)
        self.chain: dict[str, tuple[int, bytes, str]] = {}
        self.stack: list[tuple[int, bytes]] = []  # the tree's right edge: (level, hash)
        self.last_position = 0

    def problem(self, kind: Kind, position: int | None, detail: str) -> None:
        if position is None or (
            position >= self.first and (self.last is None or position <= self.last)
        ):
            self.report.problems.append(Problem(kind, position, detail))

    def feed(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows in log order. The usual row (sealed at the next leaf, the same event as
        sealed, the next version of its case) takes the fast path; any other goes through
        :meth:`_row`, which says what is wrong."""
        chain, stack, heads, report = self.chain, self.stack, self.heads, self.report
        node = merkle.node_hash
        for row in rows:
            position, case, version, topic, state, index, _, sealed_case, sealed_v, stored = row
            before = chain.get(case)
            if (
                index != self.expected_index
                or position is None
                or case != sealed_case
                or version != sealed_v
                or version != (1 if before is None else before[0] + 1)
            ):
                self._row(*row)
                continue
            text = _hyphenated(case) if before is None else before[2]
            leaf = stored_leaf_hash(
                position, text, version, topic, state, None if before is None else before[1]
            )
            if leaf != stored:
                self._row(*row)
                continue
            chain[case] = (version, stored, text)
            report.events += 1
            self.last_position = position
            level, current = 0, leaf
            while stack and stack[-1][0] == level:
                current = node(stack.pop()[1], current)
                level += 1
            stack.append((level, current))
            self.expected_index = size = index + 1
            report.leaves += 1
            if size in heads:
                self._check_root(size)

    def _row(  # noqa: PLR0917 - one row of the merge
        self,
        position: int | None,
        case: str | None,
        version: int | None,
        topic: str | None,
        state: bytes | None,
        leaf_index: int | None,
        sealed_position: int | None,
        sealed_case: str | None,
        sealed_version: int | None,
        stored_leaf: bytes | None,
    ) -> None:
        report = self.report
        if position is not None:
            report.events += 1
            self.last_position = position
        if leaf_index is None:
            assert position is not None
            self.problem(
                Kind.INSERTED,
                position,
                f"posisi {position} tidak pernah disegel / position {position} was never sealed "
                f"(case {case} v{version})",
            )
            return
        assert sealed_position is not None
        assert stored_leaf is not None
        if leaf_index != self.expected_index:
            kind = Kind.MISSING if leaf_index > self.expected_index else Kind.REORDERED
            self.problem(
                kind,
                sealed_position,
                f"daun {leaf_index} di posisi {sealed_position}, seharusnya daun "
                f"{self.expected_index} / leaf {leaf_index} at position {sealed_position}, "
                f"expected leaf {self.expected_index}",
            )
            self.expected_index = leaf_index
        if position is None:
            self.problem(
                Kind.MISSING,
                sealed_position,
                f"peristiwa posisi {sealed_position} (case {sealed_case} v{sealed_version}) "
                f"hilang / the event at position {sealed_position} is gone",
            )
            leaf = stored_leaf
        else:
            assert case is not None
            assert version is not None
            assert topic is not None
            assert state is not None
            leaf = self._event_leaf(
                position, case, version, topic, state, sealed_case, sealed_version, stored_leaf
            )
        self._grow(leaf)

    def _event_leaf(  # noqa: PLR0917
        self,
        position: int,
        case: str,
        version: int,
        topic: str,
        state: bytes,
        sealed_case: str | None,
        sealed_version: int | None,
        stored_leaf: bytes,
    ) -> bytes:
        if (case, version) != (sealed_case, sealed_version):
            self.problem(
                Kind.REORDERED,
                position,
                f"posisi {position} memuat case {case} v{version}, tersegel case {sealed_case} "
                f"v{sealed_version} / position {position} holds case {case} v{version} but "
                f"sealed case {sealed_case} v{sealed_version}",
            )
        before = self.chain.get(case)
        previous = None if before is None else before[1]
        expected_version = 1 if before is None else before[0] + 1
        if version != expected_version:
            self.problem(
                Kind.MISSING,
                position,
                f"case {case}: v{version} setelah v{expected_version - 1} / case {case} jumps "
                f"from v{expected_version - 1} to v{version}",
            )
        leaf = stored_leaf_hash(position, _hyphenated(case), version, topic, state, previous)
        if leaf != stored_leaf:
            kind = Kind.CHANGED
            if before is not None:
                # Re-hashed by a forger? Then the leaf matches some other previous.
                kind = Kind.CHANGED
            self.problem(
                kind,
                position,
                f"hash daun posisi {position} (case {case} v{version}) tidak cocok / the leaf "
                f"hash at position {position} does not match its event",
            )
        self.chain[case] = (version, stored_leaf, _hyphenated(case))
        return leaf

    def _grow(self, leaf: bytes) -> None:
        level, current = 0, leaf
        stack = self.stack
        while stack and stack[-1][0] == level:
            current = merkle.node_hash(stack.pop()[1], current)
            level += 1
        stack.append((level, current))
        self.expected_index += 1
        self.report.leaves += 1
        if self.expected_index in self.heads:
            self._check_root(self.expected_index)

    def _check_root(self, size: int) -> None:
        root = merkle.root_from_frontier([h for _, h in self.stack])
        if root != self.heads[size]:
            self.problem(
                Kind.ROOT,
                self.last_position,
                f"akar {size} daun tidak cocok dengan checkpoint bertanda tangan / the root "
                f"of the first {size} leaves differs from the signed checkpoint",
            )
        else:
            self.report.verified_size = size

    def finish(self) -> None:
        sealed = self.expected_index
        beyond = [size for size in self.heads if size > sealed]
        if beyond:
            self.problem(
                Kind.TRUNCATED,
                self.last_position + 1,
                f"checkpoint menandatangani {max(beyond)} daun, log hanya {sealed} / a "
                f"checkpoint signs {max(beyond)} leaves but the log holds {sealed}",
            )


def _hyphenated(case: str) -> str:
    """SQLite keeps ids as 32 hex digits; the canonical form has the 8-4-4-4-12 form."""
    if len(case) != 32:
        return case
    return f"{case[:8]}-{case[8:12]}-{case[12:16]}-{case[16:20]}-{case[20:]}"
