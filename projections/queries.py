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
from fractions import Fraction
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
FINISHED = ("completed", "returned")  # finished executions: judged and timed
OUTCOMES = ("completed", "returned", "cancelled")
PERCENTILES = (("median", Fraction(1, 2)), ("p90", Fraction(9, 10)))  # nearest-rank


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
    wanted = [([r for r in (s["roles"] or "").split(",") if r], s["holder_unit"]) for s in steps]
    holders = _Holders(store, now).of_each(wanted)
    by_case: dict[str, list[Record]] = defaultdict(list)
    for step, (roles, _), held in zip(steps, wanted, holders, strict=True):
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
                "holders": held,
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

    def _lineage(self, unit: str | None) -> list[str]:
        if self._parents is None:
            rows = self.store.query("SELECT code, parent FROM units")
            self._parents = {r["code"]: r["parent"] for r in rows}
        chain: list[str] = []
        current = unit
        while current is not None and current not in chain:
            chain.append(current)
            current = self._parents.get(current)
        return chain

    def of_each(self, wanted: Sequence[tuple[Sequence[str], str | None]]) -> list[list[Record]]:
        """The holders of each (roles, unit), fetched in one query for the whole page (a
        query per open step made the overdue board 50+ round trips)."""
        lineages = [self._lineage(unit) if roles else [] for roles, unit in wanted]
        roles = sorted({role for wanted_roles, _ in wanted for role in wanted_roles})
        units = sorted({unit for lineage in lineages for unit in lineage})
        rows = self._current(roles, units) if roles and units else []
        return [
            [dict(h) for h in rows if h["role"] in step_roles and h["unit"] in lineage]
            for (step_roles, _), lineage in zip(wanted, lineages, strict=True)
        ]

    def _current(self, roles: Sequence[str], units: Sequence[str]) -> list[Record]:
        marks_r, marks_u = ",".join("?" * len(roles)), ",".join("?" * len(units))
        return self.store.query(
            "SELECT h.nip, p.name, h.role, h.unit, h.capacity, h.acting_for "
            "FROM role_holders h LEFT JOIN people p ON p.nip = h.nip "
            f"WHERE h.role IN ({marks_r}) AND h.unit IN ({marks_u}) AND h.valid_from <= ? "
            "AND (h.valid_until IS NULL OR h.valid_until > ?) "
            "ORDER BY h.role, h.nip, h.unit, h.assignment_id",
            [*roles, *units, self.now, self.now],
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
    return sorted_values[nearest_rank(len(sorted_values), share) - 1]


def nearest_rank(count: int, share: float) -> int:
    """The 1-based rank of the ``share`` percentile among ``count`` sorted values."""
    return max(1, math.ceil(share * count))


def _pct(part: int, whole: int) -> float | None:
    """Percent with one decimal, rounded half up as people round by hand (6.25 -> 6.3)."""
    if not whole:
        return None
    exact = Decimal(100 * part) / Decimal(whole)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _group_order(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in key)


def summarise(rows: Iterable[Record], by: Sequence[str]) -> list[Record]:
    """Counts, compliance and working-time percentiles of finished executions per group."""
    groups: dict[tuple[Any, ...], list[Record]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in by)].append(row)
    out = []
    for key in sorted(groups, key=_group_order):
        members = groups[key]
        finished = [r for r in members if r["outcome"] in FINISHED]
        judged = [r for r in finished if r["met"] is not None]
        used = sorted(r["working_seconds"] for r in finished if r["working_seconds"] is not None)
        counts = {
            "executions": len(members),
            **{o: sum(1 for r in members if r["outcome"] == o) for o in OUTCOMES},
            "judged": len(judged),
            "met": sum(1 for r in judged if r["met"]),
            **{name: percentile(used, float(share)) for name, share in PERCENTILES},
        }
        out.append(_figures(dict(zip(by, key, strict=True)), counts))
    return out


def _figures(key: Record, n: Record) -> Record:
    """One summary group from its counts, whether counted in Python or in SQL."""
    return {
        **key,
        "executions": n["executions"],
        **{outcome: n[outcome] for outcome in OUTCOMES},
        "met": n["met"],
        "breached": n["judged"] - n["met"],
        "compliance_pct": _pct(n["met"], n["judged"]),
        "median_seconds": n["median"],
        "p90_seconds": n["p90"],
    }


_FINISHED_SQL = "outcome IN (" + ", ".join(f"'{o}'" for o in FINISHED) + ")"
_TIMED_SQL = f"{_FINISHED_SQL} AND working_seconds IS NOT NULL"


def _counts_sql() -> str:
    outcomes = "".join(
        f"sum(CASE WHEN outcome = '{o}' THEN 1 ELSE 0 END) AS {o}, " for o in OUTCOMES
    )
    return (
        f"count(*) AS executions, {outcomes}"
        f"sum(CASE WHEN {_FINISHED_SQL} AND met IS NOT NULL THEN 1 ELSE 0 END) AS judged, "
        f"sum(CASE WHEN {_FINISHED_SQL} AND met <> 0 THEN 1 ELSE 0 END) AS met, "
        f"sum(CASE WHEN {_TIMED_SQL} THEN 1 ELSE 0 END) AS timed"
    )


def _summary_sql(by: Sequence[str], where: str, backend: str) -> str:
    """Counts (and on PostgreSQL the percentiles) per group, computed by the database: a
    quarter of one SOP and unit is thousands of rows, too many to fetch and convert."""
    keys = ", ".join(by)
    ranks = ""
    if backend == "postgres":
        # percentile_disc(f): the first value at rank ceil(f x n), f the same double as ours
        ranks = "".join(
            f", percentile_disc({float(share)}) WITHIN GROUP (ORDER BY working_seconds) "
            f"FILTER (WHERE {_TIMED_SQL}) AS {name}"
            for name, share in PERCENTILES
        )
    return f"SELECT {keys}, {_counts_sql()}{ranks} FROM sla_executions{where} GROUP BY {keys}"


def _rank_here(
    store: ViewStore, groups: list[Record], by: Sequence[str], where: str, params: list[Any]
) -> None:
    """Percentiles on SQLite, which has no percentile aggregate: the database numbers the
    timed rows of each group and returns only those at the wanted ranks (fetching and
    converting every row cost more than the whole query)."""

    def key(row: Record) -> tuple[Any, ...]:
        return tuple(row[k] for k in by)

    wanted = {
        (key(group), name): nearest_rank(group["timed"], float(share))
        for group in groups
        if group["timed"]
        for name, share in PERCENTILES
    }
    found: dict[tuple[Any, ...], Any] = {}
    if wanted:
        ranks = sorted(set(wanted.values()))
        keys = ", ".join(by)
        clause = (f"{where} AND " if where else " WHERE ") + _TIMED_SQL
        rows = store.query(
            f"SELECT {keys}, pos, working_seconds FROM (SELECT {keys}, working_seconds, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY working_seconds) AS pos "
            f"FROM sla_executions{clause}) AS ranked WHERE pos IN ({','.join('?' * len(ranks))})",
            [*params, *ranks],
        )
        found = {(key(row), row["pos"]): row["working_seconds"] for row in rows}
    for group in groups:
        for name, _ in PERCENTILES:
            group[name] = found.get((key(group), wanted.get((key(group), name))))


def sla_summary(
    store: ViewStore,
    quarter: str,
    *,
    by: str = "step",
    sop_id: str | None = None,
    unit: str | None = None,
) -> list[Record]:
    """What :func:`summarise` gives for the quarter's executions, counted by the database."""
    keys = GROUPINGS[by]
    where, params = _where({"quarter": quarter, "sop_id": sop_id, "unit": unit})
    groups = store.query(_summary_sql(keys, where, store.backend), params)
    if store.backend != "postgres":
        _rank_here(store, groups, keys, where, params)
    groups.sort(key=lambda r: _group_order(tuple(r[k] for k in keys)))
    return [_figures({k: r[k] for k in keys}, r) for r in groups]


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
