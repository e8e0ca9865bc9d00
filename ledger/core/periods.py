"""Reporting periods: triwulan (quarters), written ``2024-Q3`` or ``2024-TW3``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ledger.core.errors import LedgerError

_PERIOD = re.compile(r"^(\d{4})-(?:Q|TW)([1-4])$", re.IGNORECASE)


class InvalidPeriodError(LedgerError):
    code = "invalid-period"
    title_id = "Periode tidak valid"
    title_en = "Invalid period"


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, raw: str) -> Quarter:
        match = _PERIOD.match(raw.strip())
        if not match or int(match.group(1)) == 0:
            raise InvalidPeriodError(
                f"periode {raw!r} harus seperti 2024-Q3 atau 2024-TW3 / "
                "period must look like 2024-Q3 or 2024-TW3",
                field="period",
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def label_id(self) -> str:
        return f"Triwulan {['I', 'II', 'III', 'IV'][self.quarter - 1]} {self.year}"
