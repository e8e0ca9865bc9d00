"""Reads over the live views: the status board, SLA rows and figures, archive, activity, ESR.

Every function takes a :class:`ViewStore` and plain filters and returns plain dicts; the
HTTP layer and the CLI only format them. Queries name the SQL views (``case_status``), which
always show the live generation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from projections.viewstore.base import ViewStore

Record = dict[str, Any]

GROUPINGS: dict[str, tuple[str, ...]] = {
    "sop": ("sop_id",),
    "step": ("sop_id", "step"),
    "unit": ("sop_id", "unit"),
    "role": ("role",),
    "person": ("actor",),
}


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    used = {k: v for k, v in filters.items() if v is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{k} = ?" for k in used), list(used.values())


def cases(
    store: ViewStore,
    *,
    now: datetime,
    sop_id: str | None = None,
    unit: str | None = None,
    period: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Record]:
    """The status board: one row per case with its open steps and who must act now."""
    where, params = _where({"sop_id": sop_id, "unit": unit, "period": period, "status": status})
    if overdue is not None:
        clause = "next_due_at < ?" if overdue else "(next_due_at IS NULL OR next_due_at >= ?)"
        where += (" AND " if where else " WHERE ") + clause
        params.append(now)
    found = store.query(
        f"SELECT * FROM case_status{where} ORDER BY opened_at, case_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return _with_open_steps(store, found, now)


def case(store: ViewStore, case_id: str, *, now: datetime) -> Record | None:
    found = store.query("SELECT * FROM case_status WHERE case_id = ?", [case_id])
    return _with_open_steps(store, found, now)[0] if found else None


def _with_open_steps(store: ViewStore, found: list[Record], now: datetime) -> list[Record]:
    if not found:
        return found
    ids = [r["case_id"] for r in found]
    marks = ",".join("?" * len(ids))
    steps = store.query(
        f"SELECT * FROM case_open_steps WHERE case_id IN ({marks}) ORDER BY step, branch", ids
    )
    holders = _Holders(store, now)
    by_case: dict[str, list[Record]] = defaultdict(list)
    for step in steps:
        roles = [r for r in (step["roles"] or "").split(",") if r]
        due = step["due_at"]
        by_case[step["case_id"]].append(
            {
                "step": step["step"],
                "branch": step["branch"],
                "roles": roles,
                "repetition": step["repetition"],
                "since": step["since"],
                "due_at": due,
                "overdue": due is not None and due < now,
                "holders": holders.of(roles, step["holder_unit"]),
            }
        )
    for record in found:
        record["open"] = by_case.get(record["case_id"], [])
        record["returned"] = bool(record["returned"])
        due = record["next_due_at"]
        record["overdue"] = due is not None and due < now
    return found


class _Holders:
    """Who holds a role for a unit now: the unit itself or one of its ancestors."""

    def __init__(self, store: ViewStore, now: datetime) -> None:
        self.store, self.now = store, now
        self._parents: dict[str, str | None] | None = None

    def _lineage(self, unit: str) -> list[str]:
        if self._parents is None:
            rows = self.store.query("SELECT code, parent FROM units")
            self._parents = {r["code"]: r["parent"] for r in rows}
        chain: list[str] = []
        current: str | None = unit
        while current is not None and current not in chain:
            chain.append(current)
            current = self._parents.get(current)
        return chain

    def of(self, roles: Sequence[str], unit: str) -> list[Record]:
        if not roles:
            return []
        lineage = self._lineage(unit)
        marks_r, marks_u = ",".join("?" * len(roles)), ",".join("?" * len(lineage))
        return self.store.query(
            "SELECT h.nip, p.name, h.role, h.unit, h.capacity, h.acting_for "
            "FROM role_holders h LEFT JOIN people p ON p.nip = h.nip "
            f"WHERE h.role IN ({marks_r}) AND h.unit IN ({marks_u}) AND h.valid_from <= ? "
            "AND (h.valid_until IS NULL OR h.valid_until > ?) ORDER BY h.role, h.nip",
            [*roles, *lineage, self.now, self.now],
        )


def sla_executions(store: ViewStore, **filters: Any) -> list[Record]:
    """Step executions, filtered by any SLA column (case_id, quarter, sop_id, unit, ...)."""
    where, params = _where(filters)
    rows = store.query(f"SELECT * FROM sla_executions{where} ORDER BY case_id, seq", params)
    for row in rows:
        if row["met"] is not None:
            row["met"] = bool(row["met"])
    return rows


def percentile(sorted_values: Sequence[int], share: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least ``share`` of values at or
    below it (exact, no interpolation, so hand-checkable)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _pct(part: int, whole: int) -> float | None:
    """Percent with one decimal, rounded half up as people round by hand (6.25 -> 6.3)."""
    if not whole:
        return None
    exact = Decimal(100 * part) / Decimal(whole)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def summarise(rows: Iterable[Record], by: Sequence[str]) -> list[Record]:
    """Counts, compliance and working-time percentiles of finished executions per group."""
    groups: dict[tuple[Any, ...], list[Record]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in by)].append(row)
    out = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        members = groups[key]
        finished = [r for r in members if r["outcome"] in ("completed", "returned")]
        judged = [r for r in finished if r["met"] is not None]
        met = sum(1 for r in judged if r["met"])
        used = sorted(r["working_seconds"] for r in finished if r["working_seconds"] is not None)
        out.append(
            {
                **dict(zip(by, key, strict=True)),
                "executions": len(members),
                "completed": sum(1 for r in members if r["outcome"] == "completed"),
                "returned": sum(1 for r in members if r["outcome"] == "returned"),
                "cancelled": sum(1 for r in members if r["outcome"] == "cancelled"),
                "met": met,
                "breached": len(judged) - met,
                "compliance_pct": _pct(met, len(judged)),
                "median_seconds": percentile(used, 0.5),
                "p90_seconds": percentile(used, 0.9),
            }
        )
    return out


def sla_summary(
    store: ViewStore,
    quarter: str,
    *,
    by: str = "step",
    sop_id: str | None = None,
    unit: str | None = None,
) -> list[Record]:
    rows = sla_executions(store, quarter=quarter, sop_id=sop_id, unit=unit)
    return summarise(rows, GROUPINGS[by])


def archive(store: ViewStore, *, title_contains: str | None = None, **filters: Any) -> list[Record]:
    """Archive entries matching every given field (exact) and a title fragment."""
    where, params = _where(filters)
    if title_contains:
        where += (" AND " if where else " WHERE ") + "lower(title) LIKE ?"
        params.append(f"%{title_contains.lower()}%")
    return store.query(f"SELECT * FROM archive_entries{where} ORDER BY first_at, doc_key", params)


def activity(
    store: ViewStore,
    *,
    actor: str | None = None,
    role: str | None = None,
    case_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Record]:
    where, params = _where({"actor": actor, "role": role, "case_id": case_id})
    for clause, value in (("occurred_at >= ?", since), ("occurred_at < ?", until)):
        if value is not None:
            where += (" AND " if where else " WHERE ") + clause
            params.append(value)
    return store.query(
        f"SELECT * FROM activity{where} ORDER BY occurred_at, position LIMIT ?", [*params, limit]
    )


def esr(store: ViewStore, period: str) -> Record:
    """The ESR register of a quarter: who uploaded, who has not yet, and units with no
    case for the quarter although they had one in another quarter."""
    rows = store.query("SELECT * FROM esr_register WHERE period = ? ORDER BY unit", [period])
    seen = {r["unit"] for r in rows}
    known = {r["unit"] for r in store.query("SELECT DISTINCT unit FROM esr_register")}
    return {
        "period": period,
        "uploaded": [r for r in rows if r["status"] == "uploaded"],
        "pending": [r for r in rows if r["status"] == "pending"],
        "cancelled": [r for r in rows if r["status"] == "cancelled"],
        "units_without_case": sorted(known - seen),
    }
