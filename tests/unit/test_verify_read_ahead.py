"""The verifier reads the next page on a thread while it hashes this one: every page
arrives once and in order, a failure while reading reaches the walk, and a walk that
stops early (its problem limit reached) stops the reader, which closes the scan."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

from ledger.integrity.verify import _read_ahead

Page = list[tuple[Any, ...]]


def pages(count: int, log: list[str], fail_at: int | None = None) -> Generator[Page, None, None]:
    try:
        for number in range(count):
            if number == fail_at:
                raise OSError(f"connection lost at page {number}")
            log.append(f"read {number} on {threading.current_thread().name}")
            yield [(number, "row")]
    finally:
        log.append(f"closed on {threading.current_thread().name}")


def test_every_page_arrives_once_in_order_read_on_the_reader_thread() -> None:
    log: list[str] = []
    with _read_ahead(pages(25, log)) as ahead:
        seen = [page[0][0] for page in ahead]
    assert seen == list(range(25))
    assert all(line.endswith("verify-read-ahead") for line in log)
    assert log[-1] == "closed on verify-read-ahead"


def test_a_failure_while_reading_reaches_the_walk() -> None:
    log: list[str] = []
    seen: list[int] = []

    def walk() -> None:
        with _read_ahead(pages(10, log, fail_at=3)) as ahead:
            seen.extend(page[0][0] for page in ahead)

    with pytest.raises(OSError, match="page 3"):
        walk()
    assert seen == [0, 1, 2]
    assert log[-1] == "closed on verify-read-ahead"


def test_stopping_early_stops_the_reader_and_closes_the_scan() -> None:
    log: list[str] = []
    with _read_ahead(pages(10_000, log), depth=2) as ahead:
        for page in ahead:
            if page[0][0] == 4:
                break
    assert log[-1] == "closed on verify-read-ahead"
    read = [line for line in log if line.startswith("read")]
    assert len(read) <= 4 + 1 + 2 + 1  # at most the pages taken, the queue and one in hand
    assert not any(t.name == "verify-read-ahead" for t in threading.enumerate())
