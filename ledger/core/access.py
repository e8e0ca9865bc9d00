"""Access tokens, pure: scopes, the two token events, the token fold, the token string, expiry.

An opaque API token reads ``sopl_<token id>_<secret>``. The ledger stores only the SHA-256 of
the secret (in ``access.token_issued``), so the log never holds a usable credential; the
token id names the aggregate and is safe to show (``tokens list``, audit trails). Issuing and
revoking are events like any other act: who issued or revoked which token, and when, is
in the log. Generating the secret (randomness) is the handler's job, not this module's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ledger.core.errors import TokenRequestError, UnauthenticatedError
from ledger.core.events import LedgerEvent

TOKEN_PREFIX = "sopl"
TOKEN_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{43,128}")
MAX_LIFETIME = timedelta(days=731)


class Scope(StrEnum):
    """What a caller may do through the API (the person's SOP roles are checked by the core)."""

    OFFICIAL = "official"  # records steps of the roles the person holds at that moment
    CLERK = "clerk"  # records on behalf of a named official (paper records)
    INSPECTOR = "inspector"  # reads everything, writes nothing
    INTEGRATOR = "integrator"  # reads the event feed, manages webhook subscriptions
    ADMIN = "admin"  # publishes SOPs, manages the directory and tokens


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a directory person holding some scopes."""

    nip: str
    scopes: frozenset[Scope]
    subject: str  # token id or JWT `sub`
    via: str  # "token" | "oidc"


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TokenIssued(LedgerEvent):
    """An API token for ``nip`` with ``scopes`` until ``expires_at``; only the hash is kept."""

    TOPIC = "access.token_issued"
    token_id: str
    nip: str
    scopes: tuple[Scope, ...]
    secret_sha256: str
    label: str | None
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(LedgerEvent):
    TOPIC = "access.token_revoked"
    token_id: str
    reason: str | None


# --- state -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """One issued token as the log knows it now (never the secret itself)."""

    id: UUID
    version: int
    token_id: str
    nip: str
    scopes: frozenset[Scope]
    secret_sha256: str
    label: str | None
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def principal(self) -> Principal:
        return Principal(self.nip, self.scopes, self.token_id, "token")


def evolve_token(state: Token | None, event: LedgerEvent) -> Token | None:
    """Fold one token event; other events leave the state alone."""
    if isinstance(event, TokenIssued):
        return Token(
            id=event.originator_id,
            version=event.originator_version,
            token_id=event.token_id,
            nip=event.nip,
            scopes=frozenset(event.scopes),
            secret_sha256=event.secret_sha256,
            label=event.label,
            issued_at=event.recorded_at,
            issued_by=event.recorded_by,
            expires_at=event.expires_at,
        )
    if isinstance(event, TokenRevoked) and state is not None:
        return replace(
            state,
            version=event.originator_version,
            revoked_at=event.recorded_at,
            revoked_by=event.recorded_by,
        )
    return state


def fold_tokens(state: Token | None, events: Iterable[LedgerEvent]) -> Token | None:
    for event in events:
        state = evolve_token(state, event)
    return state


# --- the token string ------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def format_token(token_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def is_api_token(presented: str) -> bool:
    """Whether ``presented`` claims to be an opaque API token (rather than a JWT)."""
    return presented.startswith(f"{TOKEN_PREFIX}_")


def parse_token(presented: str) -> tuple[str, str]:
    """``(token id, secret)`` of an opaque token; a malformed one is refused (401)."""
    parts = presented.split("_", 2)
    if (
        len(parts) != 3
        or parts[0] != TOKEN_PREFIX
        or not TOKEN_ID_PATTERN.fullmatch(parts[1])
        or not SECRET_PATTERN.fullmatch(parts[2])
    ):
        raise UnauthenticatedError(
            "format token API salah / malformed API token (expected sopl_<id>_<secret>)",
            reason="malformed",
        )
    return parts[1], parts[2]


def bearer_token(authorization: str | None) -> str:
    """The credentials of an ``Authorization: Bearer <token>`` header (RFC 6750)."""
    if authorization is None or not authorization.strip():
        raise UnauthenticatedError(
            "token bearer tidak ada / no bearer token (send Authorization: Bearer <token>)",
            reason="missing",
        )
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        raise UnauthenticatedError(
            "header Authorization salah / malformed Authorization header "
            "(expected: Bearer <token>)",
            reason="malformed",
        )
    return credentials


# --- judging a presented token ---------------------------------------------------------------


def check_token(state: Token | None, secret: str, now: datetime) -> Principal:
    """The token's principal, if the secret matches and it is neither revoked nor expired."""
    if state is None or not hmac.compare_digest(hash_secret(secret), state.secret_sha256):
        raise UnauthenticatedError("token tidak dikenal / unknown token", reason="unknown")
    if state.revoked_at is not None:
        raise UnauthenticatedError(
            f"token {state.token_id} telah dicabut / was revoked ({state.revoked_at.isoformat()})",
            reason="revoked",
        )
    if is_expired(state.expires_at, now):
        raise UnauthenticatedError(
            f"token {state.token_id} kedaluwarsa / expired ({state.expires_at.isoformat()})",
            reason="expired",
        )
    return state.principal()


def is_expired(expires_at: datetime, now: datetime) -> bool:
    """Expiry is exclusive: at ``expires_at`` the token no longer works."""
    return now >= expires_at


def token_expiry(now: datetime, expires_in: timedelta) -> datetime:
    """When a token issued ``now`` for ``expires_in`` expires (bounded lifetime)."""
    if expires_in <= timedelta(0) or expires_in > MAX_LIFETIME:
        raise TokenRequestError(
            f"masa berlaku token harus 1 detik - {MAX_LIFETIME.days} hari / token lifetime "
            f"must be between 1 second and {MAX_LIFETIME.days} days",
            field="expires_in",
        )
    return now + expires_in


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes, deduplicated in declaration order; at least one."""
    wanted = set()
    for value in values:
        try:
            wanted.add(Scope(value))
        except ValueError:
            raise TokenRequestError(
                f"cakupan {value!r} tidak dikenal / unknown scope "
                f"(one of {', '.join(s.value for s in Scope)})",
                field="scopes",
            ) from None
    if not wanted:
        raise TokenRequestError("minimal satu cakupan / at least one scope", field="scopes")
    return tuple(s for s in Scope if s in wanted)


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w`` (as the CLI's ``--expires-in`` takes them)."""
    match = re.fullmatch(r"\s*(\d+)\s*([wdhm])\s*", text)
    if match is None:
        raise TokenRequestError(
            f"durasi {text!r} tidak valid / invalid duration (e.g. 90d, 12h, 30m, 2w)",
            field="expires_in",
        )
    amount, unit = int(match.group(1)), match.group(2)
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
    return timedelta(**{units[unit]: amount})


# --- judging OIDC claims (the signature, issuer and audience are checked by the verifier) ----


def check_claim_times(claims: dict[str, object], now: datetime, leeway: timedelta) -> None:
    """``exp`` (required) and ``nbf`` (if present) against ``now``, with clock-skew leeway."""
    expires = _claim_time(claims, "exp")
    if expires is None:
        raise UnauthenticatedError("JWT tanpa exp / JWT has no exp claim", reason="invalid")
    if is_expired(expires + leeway, now):
        raise UnauthenticatedError(
            f"JWT kedaluwarsa / JWT expired ({expires.isoformat()})", reason="expired"
        )
    not_before = _claim_time(claims, "nbf")
    if not_before is not None and now < not_before - leeway:
        raise UnauthenticatedError(
            f"JWT belum berlaku / JWT not valid before {not_before.isoformat()}",
            reason="invalid",
        )


def _claim_time(claims: dict[str, object], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnauthenticatedError(
            f"klaim {name} harus NumericDate / claim {name} must be a NumericDate",
            reason="invalid",
        )
    return datetime.fromtimestamp(value, UTC)


def claim_scopes(value: object) -> frozenset[Scope]:
    """Scopes from a claim: a list of names or one space-separated string (as OAuth's
    ``scope``). Names this service does not know are ignored: the IdP may carry others."""
    if isinstance(value, str):
        names: list[object] = list(value.split())
    elif isinstance(value, list):
        names = list(value)
    else:
        return frozenset()
    known = {s.value for s in Scope}
    return frozenset(Scope(n) for n in names if isinstance(n, str) and n in known)
