"""Deterministic identities: the same natural key always names the same aggregate."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6c1a5e2e-1b7e-4f0a-9a43-5d0d2f0c8a11")
CATALOGUE_ID = uuid5(NAMESPACE, "catalogue")
ORG_CHART_ID = uuid5(NAMESPACE, "org-chart")


def request_id(principal: str, key: str) -> UUID:
    """The aggregate that records one caller's use of one idempotency key."""
    return uuid5(NAMESPACE, f"request:{principal}:{key}")


def person_id(nip: str) -> UUID:
    return uuid5(NAMESPACE, f"person:{nip}")


def case_id(sop_id: str, unit: str, period: str, attempt: int) -> UUID:
    """A case is keyed by SOP + unit + period; ``attempt`` > 1 only after a cancellation."""
    return uuid5(NAMESPACE, f"case:{sop_id}:{unit}:{period}:{attempt}")


def token_id(token: str) -> UUID:
    """The aggregate of the API token whose public id is ``token`` (``sopl_<token>_...``)."""
    return uuid5(NAMESPACE, f"token:{token}")


def case_reads_id(case_id: UUID) -> UUID:
    """The read log of one case: who read its state, timeline or evidence."""
    return uuid5(NAMESPACE, f"reads/case/{case_id}")


def period_reads_id(quarter: str) -> UUID:
    """The read log of one quarter's evidence exports (``quarter`` canonical: ``2024-Q3``)."""
    return uuid5(NAMESPACE, f"reads/period/{quarter}")
