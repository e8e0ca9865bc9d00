"""Keyed requests: find the first result of a retried request, or store the claim with it."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from ledger import ids
from ledger.application import LedgerBase
from ledger.commands import Recorded
from ledger.core.events import LedgerEvent
from ledger.core.idempotency import Claim, RequestAccepted, check_same_request
from ledger.persistence.multi_read import select_with_positions


class IdempotentRequests(LedgerBase):
    def earlier_result(self, claim: Claim | None) -> Recorded | None:
        """The result stored under ``claim``'s key, if any; a different request with the
        same key is refused (IdempotencyKeyError)."""
        if claim is None:
            return None
        request = ids.request_id(claim.principal, claim.key)
        rows = select_with_positions(self.store.recorder, request, 2)
        if not rows:
            return None
        position, stored = rows[0]
        accepted = self.store.mapper.to_domain_event(stored)
        assert isinstance(accepted, RequestAccepted)
        check_same_request(accepted, claim)
        return Recorded(
            accepted.result_id, accepted.result_event_id, accepted.result_version, position
        )

    def with_claim(
        self, group: list[LedgerEvent], claim: Claim | None, now: datetime
    ) -> list[LedgerEvent]:
        """``group`` plus, for a keyed request, the claim saved in the same transaction (last,
        so the returned position is the one at which the whole result is visible)."""
        if claim is None:
            return group
        first = group[0]
        version = max(e.originator_version for e in group if e.originator_id == first.originator_id)
        accepted = RequestAccepted(
            originator_id=ids.request_id(claim.principal, claim.key),
            originator_version=1,
            key=claim.key,
            principal=claim.principal,
            fingerprint=claim.fingerprint,
            result_id=first.originator_id,
            result_event_id=first.event_id,
            result_version=version,
            event_id=uuid4(),
            recorded_at=now,
            recorded_by=claim.principal,
            correlation_id=first.correlation_id,
            causation_id=first.event_id,
        )
        return [*group, accepted]
