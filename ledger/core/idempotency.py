"""Idempotency keys: a retried request gets the first result, never a second event.

A request that carries ``Idempotency-Key`` stores, in the same transaction as its events, a
``request.accepted`` event on an aggregate named by (caller, key). A retry finds it and
returns the recorded result; a concurrent duplicate collides on that aggregate's version 1
and loses. The fingerprint (SHA-256 of the request's canonical JSON) tells a true retry from
a key reused for a different request, which is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from ledger.core.errors import LedgerError
from ledger.core.events import LedgerEvent

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class IdempotencyKeyError(LedgerError):
    """The key is malformed, or was already used for a different request."""

    code = "idempotency-key-reused"
    title_id = "Kunci idempotensi sudah dipakai untuk permintaan lain"
    title_en = "Idempotency key reused for a different request"


class InvalidIdempotencyKeyError(IdempotencyKeyError):
    code = "invalid-idempotency-key"
    title_id = "Kunci idempotensi tidak valid"
    title_en = "Invalid idempotency key"


@dataclass(frozen=True, kw_only=True)
class RequestAccepted(LedgerEvent):
    """A keyed request was carried out; ``result_*`` name what it stored."""

    TOPIC = "request.accepted"

    key: str
    principal: str
    fingerprint: str
    result_id: UUID
    result_event_id: UUID
    result_version: int


@dataclass(frozen=True, slots=True)
class Claim:
    """Who sent which key for which request (the fingerprint)."""

    principal: str
    key: str
    fingerprint: str


def claim(principal: str, key: str, request: Any) -> Claim:
    """A claim on ``key`` for ``request`` (any JSON-able value), or a named refusal."""
    if not _KEY.match(key):
        raise InvalidIdempotencyKeyError(
            "Idempotency-Key harus 1-200 karakter ASCII tampak / must be 1-200 visible "
            "ASCII characters",
            field="Idempotency-Key",
        )
    canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    return Claim(principal, key, hashlib.sha256(canonical).hexdigest())


def check_same_request(earlier: RequestAccepted, claim: Claim) -> None:
    check_same_request_claims(Claim(earlier.principal, earlier.key, earlier.fingerprint), claim)


def check_same_request_claims(earlier: Claim, claim: Claim) -> None:
    if earlier.fingerprint != claim.fingerprint:
        raise IdempotencyKeyError(
            f"kunci {claim.key!r} sudah dipakai untuk permintaan lain / was already used for a "
            "different request; use a new key",
            field="Idempotency-Key",
        )
