"""Worker exclusion on PostgreSQL: a session advisory lock held on its own connection."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def session_lock(url: str, key: int) -> Iterator[bool]:
    """Hold advisory lock ``key`` for the block; yields False if another session holds it.
    The lock is released when the block ends, not when the server process of the closed
    session gets round to exiting (a worker taking over at once would find it held)."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        held = bool(found and found[0])
        try:
            yield held
        finally:
            if held:
                with suppress(psycopg.Error):  # a broken session has lost it anyway
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
