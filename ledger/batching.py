"""Group commit: acts that arrive together are stored in one transaction.

Each transaction on the PostgreSQL store takes a table lock, so single-event saves top out at
a few hundred per second whatever the number of writers. The service hands every act to one
:class:`CommandBatcher`; its worker takes whatever has queued up meanwhile and stores it with
``Ledger.record_batch``, where each act is judged on the state the earlier ones leave. A
refused act fails alone (the rest are retried without it); a conflict with another process
falls back to one transaction per act, so batching never changes an outcome.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ledger.commands import RecordAction, Recorded
from ledger.core import errors
from ledger.core.idempotency import Claim, check_same_request_claims
from ledger.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    command: RecordAction
    claim: Claim | None
    result: Future[Recorded] = field(default_factory=Future)


class CommandBatcher:
    def __init__(self, ledger: Ledger, *, max_batch: int = 64) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.batches = 0
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="command-batcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def record(self, command: RecordAction, claim: Claim | None = None) -> Recorded:
        """Store one act (possibly with others that arrived meanwhile); blocks until done."""
        if self._thread is None:  # not started (e.g. a test without the app's lifespan)
            return self.ledger.record_action(command, claim)
        pending = _Pending(command, claim)
        self._queue.put(pending)
        return pending.result.result()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        firsts, repeats = _split_repeats(batch)
        try:
            if len(firsts) == 1:  # record_action looks up an earlier result itself
                self._single(firsts[0])
            else:
                open_items = [p for p in firsts if not self._answered_earlier(p)]
                if open_items:
                    self._together(open_items)
        except BaseException as error:  # a store failure fails every waiting request
            log.exception("group commit failed")
            for pending in firsts:
                if not pending.result.done():
                    pending.result.set_exception(error)
        for repeat, first in repeats:
            _repeat_outcome(first, repeat)

    def _answered_earlier(self, pending: _Pending) -> bool:
        try:
            earlier = self.ledger.earlier_result(pending.claim)
        except errors.LedgerError as error:
            pending.result.set_exception(error)
            return True
        if earlier is not None:
            pending.result.set_result(earlier)
        return earlier is not None

    def _single(self, pending: _Pending) -> None:
        try:
            pending.result.set_result(self.ledger.record_action(pending.command, pending.claim))
        except errors.LedgerError as error:
            pending.result.set_exception(error)

    def _refuse(self, pending: _Pending, error: errors.LedgerError) -> None:
        """A refusal, unless a duplicate of this keyed request was stored meanwhile."""
        if pending.claim is None or not self._answered_earlier(pending):
            pending.result.set_exception(error)

    def _together(self, batch: list[_Pending]) -> None:
        while batch:
            try:
                results = self.ledger.record_batch(
                    [p.command for p in batch], [p.claim for p in batch]
                )
            except errors.LedgerError as error:
                index = error.batch_index
                if index is None:  # a clash with another writer: judge each on its own
                    for pending in batch:
                        self._single(pending)
                    return
                error.batch_index = None
                self._refuse(batch[index], error)
                batch = batch[:index] + batch[index + 1 :]
                continue
            self.batches += 1
            for pending, recorded in zip(batch, results, strict=True):
                pending.result.set_result(recorded)
            return


def _split_repeats(
    batch: list[_Pending],
) -> tuple[list[_Pending], list[tuple[_Pending, _Pending]]]:
    """The batch without keyed requests that repeat an earlier one's key (a client retrying
    while its first attempt waits), and each repeat with the request it repeats."""
    seen: dict[tuple[str, str], _Pending] = {}
    firsts: list[_Pending] = []
    repeats: list[tuple[_Pending, _Pending]] = []
    for pending in batch:
        key = None if pending.claim is None else (pending.claim.principal, pending.claim.key)
        if key is not None and key in seen:
            repeats.append((pending, seen[key]))
            continue
        if key is not None:
            seen[key] = pending
        firsts.append(pending)
    return firsts, repeats


def _repeat_outcome(first: _Pending, repeat: _Pending) -> None:
    """A repeat gets its first request's outcome; the same key on another request is refused."""
    assert first.claim is not None
    assert repeat.claim is not None
    try:
        check_same_request_claims(first.claim, repeat.claim)
    except errors.LedgerError as error:
        repeat.result.set_exception(error)
        return
    failed = first.result.exception()
    if failed is not None:
        repeat.result.set_exception(failed)
    else:
        repeat.result.set_result(first.result.result())
