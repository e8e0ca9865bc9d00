"""The ledger's read models as one projection: case status, open steps, per-step SLA,
archive index, activity, ESR register, and the directory the status board names people from.

Case events go through the pure fold (:mod:`projections.casefold`); the folded views of the
cases a batch touched become that batch's rows. Folded views are kept in a bounded LRU; a
case that was put aside is refolded from its own earlier events when it acts again, so
nothing but the tables and the tracking position needs to survive a restart.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from uuid import UUID

from ledger.core.events import (
    CaseOpened,
    LedgerEvent,
    RoleEnded,
)
from projections import rows, tables
from projections.casefold import CaseView, Execution, FoldEnv, apply
from projections.source import Positioned
from projections.viewstore.base import Changes, Row

NAME = "ledger_views"
SCHEMA_VERSION = "2"  # 2: case_status index on next_due_at

History = Callable[[UUID, int], list[Positioned]]

_CASE_ROWS: dict[str, Callable[[CaseView], list[Row]]] = {
    tables.CASE_STATUS.name: lambda view: [rows.status_row(view)],
    tables.OPEN_STEPS.name: rows.open_step_rows,
    tables.ARCHIVE.name: rows.archive_rows,
    tables.ESR.name: rows.esr_rows,
}


class _SlaRows:
    """SLA rows per execution, remembered while the execution object is unchanged (a
    case's finished executions are re-emitted each time the case acts again)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[UUID, int], tuple[Execution, Row]] = {}

    def __call__(self, view: CaseView) -> list[Row]:
        out = []
        for ex in view.executions:
            key = (view.case_id, ex.seq)
            found = self._memo.get(key)
            if found is None or found[0] is not ex:
                found = self._memo[key] = (ex, rows.sla_row(view, ex))
            out.append(found[1])
        return out

    def forget(self, view: CaseView) -> None:
        for ex in view.executions:
            self._memo.pop((view.case_id, ex.seq), None)

    def clear(self) -> None:
        self._memo.clear()


class CaseViews:
    """Events in, :class:`Changes` out; one instance per running projection."""

    name = NAME

    def __init__(
        self,
        env: FoldEnv,
        history: History,
        table_set: Sequence[tables.Table] = tables.ALL,
        cache_size: int = 5_000,
    ) -> None:
        self.env = env
        self.history = history
        self.tables = tuple(table_set)
        self._names = {t.name for t in self.tables}
        self._sla = _SlaRows()
        makers: dict[str, Callable[[CaseView], list[Row]]] = {
            **_CASE_ROWS,
            tables.SLA.name: self._sla,
        }
        self._case_rows = [(tables.BY_NAME[n], f) for n, f in makers.items() if n in self._names]
        self._activity = tables.ACTIVITY.name in self._names
        self._cache: OrderedDict[UUID, CaseView] = OrderedDict()
        self._cache_size = cache_size
        self._touched: set[UUID] = set()
        self._changes = Changes()
        self.refolds = 0
        self.last_position = 0

    @property
    def version(self) -> str:
        """Changes whenever the rows could: schema, table set or calendar."""
        names = ",".join(sorted(self._names))
        return f"{SCHEMA_VERSION};{self.env.calendar.version};{names}"

    def apply(self, position: int, event: LedgerEvent) -> None:
        self.last_position = max(self.last_position, position)
        topic = event.TOPIC
        if topic.startswith("case.") or topic == "entry.annotated":
            self._case_event(position, event)
        elif topic.startswith("directory."):
            self._directory_event(event)

    def flush(self) -> Changes:
        """This batch's changes; the folded views stay for the next batch."""
        changes, self._changes = self._changes, Changes()
        for case_id in self._touched:
            view = self._cache[case_id]
            for table, make in self._case_rows:
                changes.replace(table, str(case_id), make(view))
        self._touched = set()
        while len(self._cache) > self._cache_size:
            self._sla.forget(self._cache.popitem(last=False)[1])
        return changes

    def reset(self) -> None:
        """Forget everything unsaved (after a failed commit) so the batch can be redone."""
        self._cache.clear()
        self._sla.clear()
        self._touched = set()
        self._changes = Changes()

    def _case_event(self, position: int, event: LedgerEvent) -> None:
        case_id = event.originator_id
        view = self._cache.get(case_id)
        if view is None and not isinstance(event, CaseOpened):
            view = self._refold(case_id, event.originator_version)
        view = apply(view, event, position, self.env)
        self._cache[case_id] = view
        self._cache.move_to_end(case_id)
        self._touched.add(case_id)
        if self._activity:
            row = rows.activity_row(view, event, position)
            if row is not None:
                self._changes.append(tables.ACTIVITY, row)

    def _refold(self, case_id: UUID, below_version: int) -> CaseView:
        self.refolds += 1
        view: CaseView | None = None
        for position, earlier in self.history(case_id, below_version):
            view = apply(view, earlier, position, self.env)
        if view is None:
            raise LookupError(f"case {case_id} has no events before v{below_version}")
        return view

    def _directory_event(self, event: LedgerEvent) -> None:
        if isinstance(event, RoleEnded):
            if tables.ROLE_HOLDERS.name in self._names:
                self._changes.update(
                    tables.ROLE_HOLDERS,
                    "valid_until",
                    event.valid_until,
                    "assignment_id",
                    str(event.assignment_id),
                )
            return
        found = rows.directory_row(event)
        if found is not None and found[0].name in self._names:
            table, row = found
            self._changes.replace(table, str(row[0]), [row])
