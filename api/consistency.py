"""Consistency over HTTP: read-your-writes (``min_position`` waits, boundedly, for the
views) and the refusals of malformed preconditions."""

from __future__ import annotations

import time

from ledger.core.errors import LedgerError
from projections.service import ViewService


class PreconditionHeaderError(LedgerError):
    code = "invalid-if-match"
    title_id = "Header If-Match tidak valid"
    title_en = "Invalid If-Match header"


class ViewsUnavailableError(LedgerError):
    code = "views-unavailable"
    title_id = "Tampilan baca belum tersedia"
    title_en = "Read models not available"


class ViewsBehindError(LedgerError):
    """The views had not reached ``min_position`` within the wait."""

    code = "views-behind"
    title_id = "Tampilan baca belum mencapai posisi yang diminta"
    title_en = "Read models have not reached the requested position"

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message, field="min_position")
        self.position = position

    @property
    def extensions(self) -> dict[str, object]:
        return {"position": self.position}


def wait_for(views: ViewService | None, min_position: int | None, timeout: float) -> int:
    """The views' position once they are built and at >= ``min_position``; after
    ``timeout`` seconds ViewsBehindError, or ViewsUnavailableError while the first build
    has not finished (the caller may retry either); ViewsUnavailableError without views."""
    if views is None:
        raise ViewsUnavailableError(
            "layanan ini berjalan tanpa tampilan baca / this service runs without read models"
        )
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        live = views.live()
        position = 0 if live is None else live.position
        if live is not None and (min_position is None or position >= min_position):
            return position
        if time.monotonic() >= deadline:
            if live is None:
                raise ViewsUnavailableError(
                    "tampilan baca sedang dibangun / the read models are still being built; "
                    "retry shortly"
                )
            raise ViewsBehindError(
                f"tampilan baca di posisi {position}, diminta {min_position} / read models are "
                f"at position {position}, {min_position} requested; retry shortly",
                position=position,
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
