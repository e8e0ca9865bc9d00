"""The published SOP catalogue as folded from ``sop.published`` events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from ledger.core.errors import UnknownSopError
from ledger.core.events import LedgerEvent, SopPublished
from ledger.core.sop import SopDefinition
from ledger.core.sop_schema import definition_from_mapping


@dataclass(frozen=True, slots=True)
class Catalogue:
    id: UUID
    version: int
    definitions: Mapping[tuple[str, str], SopDefinition]

    def get(self, sop_id: str, version: str | None = None, on: date | None = None) -> SopDefinition:
        """An exact version, or the latest one effective on ``on`` (default: the latest)."""
        if version is not None:
            found = self.definitions.get((sop_id, version))
            if found is None:
                raise UnknownSopError(
                    f"SOP {sop_id} versi {version} belum diterbitkan / version not published",
                    field="sop_version",
                )
            return found
        candidates = [d for (sid, _), d in self.definitions.items() if sid == sop_id]
        if on is not None:
            candidates = [d for d in candidates if d.identity.effective <= on]
        if not candidates:
            raise UnknownSopError(
                f"SOP {sop_id!r} tidak ada atau belum berlaku / unknown or not yet effective",
                field="sop_id",
            )
        return max(candidates, key=lambda d: (d.identity.effective, d.version))

    def latest(self) -> list[SopDefinition]:
        ids = sorted({sid for sid, _ in self.definitions})
        return [self.get(sid) for sid in ids]


def evolve_catalogue(catalogue: Catalogue | None, event: LedgerEvent) -> Catalogue:
    assert isinstance(event, SopPublished), event.TOPIC
    definitions = dict(catalogue.definitions) if catalogue else {}
    source = f"ledger:sop.published:{event.sop_id}@{event.version}"
    definitions[(event.sop_id, event.version)] = definition_from_mapping(event.definition, source)
    return Catalogue(event.originator_id, event.originator_version, definitions)
