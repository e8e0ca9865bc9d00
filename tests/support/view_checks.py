"""Comparing view stores: full dumps, tracked positions and the log up to a position."""

from __future__ import annotations

from typing import Any

from ledger.core.events import LedgerEvent
from ledger.ledger import Ledger
from projections.case_views import NAME
from projections.tables import ALL
from projections.viewstore.base import ViewStore
from support.views import view_store

Dump = dict[str, list[tuple[Any, ...]]]


separate_view_store = view_store  # every test view store is separate


def dump_views(store: ViewStore) -> Dump:
    """Every row of every live view, all columns, in a canonical order."""
    dump: Dump = {}
    for table in ALL:
        found = store.query(f"SELECT {', '.join(table.column_names)} FROM {table.name}")
        rows = [tuple(record[name] for name in table.column_names) for record in found]
        dump[table.name] = sorted(rows, key=repr)
    return dump


def tracked_position(store: ViewStore) -> int:
    """The position the live generation of the ledger views has reached (0: none yet)."""
    live = store.live(NAME)
    return 0 if live is None else live.position


def log_upto(ledger: Ledger, position: int | None = None) -> list[tuple[int, LedgerEvent]]:
    """The log in order, up to and including ``position`` (default: all of it)."""
    return [(p, e) for p, e in ledger.read_log() if position is None or p <= position]
