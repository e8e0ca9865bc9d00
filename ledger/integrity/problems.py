"""What a verification can find wrong, in the store or in an evidence bundle."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    CHANGED = "changed-payload"  # an event's stored bytes no longer give its sealed leaf
    CHANGED_EVENT = "changed-event"  # a bundle's event and its leaf hash disagree
    MISSING = "missing-event"
    INSERTED = "inserted-event"
    REORDERED = "reordered"
    CHAIN = "broken-chain"
    ROOT = "root-mismatch"
    TRUNCATED = "truncated"
    BAD_PROOF = "bad-proof"
    MISMATCH = "checkpoint-mismatch"
    FORGED = "forged-checkpoint"
    UNKNOWN_KEY = "unknown-key"


TITLES = {
    Kind.CHANGED: "isi peristiwa berubah / event payload changed",
    Kind.CHANGED_EVENT: "isi peristiwa berubah / event changed",
    Kind.MISSING: "peristiwa hilang / event missing",
    Kind.INSERTED: "peristiwa disisipkan / event inserted",
    Kind.REORDERED: "urutan peristiwa berubah / events reordered",
    Kind.CHAIN: "rantai hash kasus putus / case hash chain broken",
    Kind.ROOT: "akar pohon tidak cocok dengan checkpoint / tree root differs from checkpoint",
    Kind.TRUNCATED: "ekor log terpotong / log tail truncated",
    Kind.BAD_PROOF: "bukti inklusi tidak sah / inclusion proof does not verify",
    Kind.MISMATCH: "checkpoint tidak cocok dengan berkas / checkpoint differs from bundle",
    Kind.FORGED: "checkpoint palsu / forged checkpoint",
    Kind.UNKNOWN_KEY: "checkpoint ditandatangani kunci tak dikenal / signed by an unknown key",
}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    position: int | None
    detail: str

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "position": self.position,
            "title": self.title,
            "detail": self.detail,
        }
