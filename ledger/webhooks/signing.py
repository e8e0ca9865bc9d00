"""Standard Webhooks signatures (https://www.standardwebhooks.com), no I/O.

The secret is ``whsec_`` + base64 of random bytes; the key is those bytes. Each attempt is
signed over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with HMAC-SHA256 and sent as
``webhook-signature: v1,<base64>``, so a receiver can check who sent it and when, and drop
replays (it dedupes on ``webhook-id``, here the event id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A signature that does not verify (bad secret, body, time or header)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after ``whsec_``."""
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one signed attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`SignatureError` unless one of the ``v1`` signatures matches and the
    timestamp is within ``tolerance`` seconds of ``now`` (header names lower-case)."""
    try:
        message_id = received["webhook-id"]
        timestamp = int(received["webhook-timestamp"])
        offered = received["webhook-signature"].split()
    except (KeyError, ValueError) as error:
        raise SignatureError(f"missing or malformed webhook headers: {error}") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
    expected = signature(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError("no matching v1 signature")
