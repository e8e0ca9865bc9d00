"""One transaction shape for the side tables the ledger keeps beside its log.

The SQL is written once with ``?`` placeholders; :class:`SqliteTx` and :class:`PostgresTx`
run it. SQLite write transactions begin ``IMMEDIATE`` (they take the write lock first, so
two processes never deadlock upgrading a read lock).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


class Tx(Protocol):
    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        """Run ``text``; the number of rows it changed."""

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class SqliteTx:
    def __init__(self, conn: sqlite3.Connection, convert: Convert = _same) -> None:
        self.conn = conn
        self.convert = convert

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(text, [self.convert(p) for p in params]).rowcount

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(text, ([self.convert(p) for p in row] for row in rows))

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(text, [self.convert(p) for p in params]).fetchall())


class PostgresTx:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self.cur = cur

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        self.cur.execute(text.replace("?", "%s").encode(), list(params))
        return self.cur.rowcount

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        self.cur.executemany(text.replace("?", "%s").encode(), [list(r) for r in rows])

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(text.replace("?", "%s").encode(), list(params))
        return list(self.cur.fetchall())


@contextmanager
def sqlite_transaction(
    path: Path, *, write: bool = True, convert: Convert = _same
) -> Iterator[SqliteTx]:
    """A transaction on its own connection: ``BEGIN IMMEDIATE`` to write, else a read
    snapshot (``BEGIN``) that later appends do not disturb."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield SqliteTx(conn, convert)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
