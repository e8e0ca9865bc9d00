"""The Ledger facade: every command and the few queries the core serves directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger.core.events import CaseCancelled, CaseCompleted, CaseOpened
from ledger.core.sop import SopDefinition
from ledger.handlers.cases import CaseCommands
from ledger.handlers.reads import ReadAudit
from ledger.handlers.registry import RegistryCommands
from ledger.handlers.tokens import TokenCommands


@dataclass(frozen=True, slots=True)
class CaseSummary:
    case_id: UUID
    sop_id: str
    sop_version: str
    unit: str
    period: str
    opened_at: datetime
    status: str
    position: int


class Ledger(CaseCommands, RegistryCommands, TokenCommands, ReadAudit):
    """Commands (open_case, record_action, publish_sop, record_read, ...) and log-backed
    queries.

    Richer read models (status board, SLA, archive index) are projections of the log.
    """

    def list_sops(self) -> list[SopDefinition]:
        return self.catalogue(refresh=True).latest()

    def list_cases(self) -> list[CaseSummary]:
        """Every case with its status, by scanning the lifecycle events of the log."""
        topics = (CaseOpened.TOPIC, CaseCompleted.TOPIC, CaseCancelled.TOPIC)
        cases: dict[UUID, CaseSummary] = {}
        status = {CaseCompleted.TOPIC: "completed", CaseCancelled.TOPIC: "cancelled"}
        for position, event in self.read_log(topics=topics):
            if isinstance(event, CaseOpened):
                cases[event.originator_id] = CaseSummary(
                    event.originator_id,
                    event.sop_id,
                    event.sop_version,
                    event.unit,
                    event.period,
                    event.occurred_at,
                    "open",
                    position,
                )
            elif event.originator_id in cases:
                old = cases[event.originator_id]
                cases[event.originator_id] = CaseSummary(
                    old.case_id,
                    old.sop_id,
                    old.sop_version,
                    old.unit,
                    old.period,
                    old.opened_at,
                    status[event.TOPIC],
                    old.position,
                )
        return list(cases.values())

    def close(self) -> None:
        self.store.close()
