"""Commands that issue and revoke API tokens, and the check of a presented token.

A token is its own aggregate (uuid5 of its public id), so checking one reads one short
stream through the state cache. That cache fast-forwards from the store on every read (one
indexed query for events newer than the cached version), so a revocation recorded by any
process is seen by every process on its next request: there is no TTL to wait out and no
invalidation message to lose.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from ledger import ids
from ledger.application import LedgerBase
from ledger.commands import IssueToken, Recorded, RevokeToken
from ledger.core import errors
from ledger.core.access import (
    TOKEN_ID_PATTERN,
    Principal,
    Token,
    TokenIssued,
    TokenRevoked,
    check_token,
    fold_tokens,
    format_token,
    hash_secret,
    parse_scopes,
    parse_token,
    token_expiry,
)

SECRET_BYTES = 32  # 256 bits from the OS's CSPRNG
TOKEN_ID_BYTES = 8


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued token: ``token`` is the only place the secret ever appears."""

    token_id: str
    token: str
    expires_at: datetime
    recorded: Recorded


class TokenCommands(LedgerBase):
    def issue_token(self, command: IssueToken) -> IssuedToken:
        """A new token for a person in the directory, valid for ``command.expires_in``."""
        person = self.require_person(command.nip, field="nip")
        scopes = parse_scopes(command.scopes)
        now = self.clock()
        expires_at = token_expiry(now, command.expires_in)
        token_id = secrets.token_hex(TOKEN_ID_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        event = TokenIssued(
            originator_id=ids.token_id(token_id),
            originator_version=1,
            token_id=token_id,
            nip=person.nip,
            scopes=scopes,
            secret_sha256=hash_secret(secret),
            label=(command.label or "").strip() or None,
            expires_at=expires_at,
            **self.stamp(command, now),
        )
        recorded = self.save(
            [event],
            lambda: errors.TokenRequestError("id token bentrok / token id clash, retry"),
        )
        return IssuedToken(token_id, format_token(token_id, secret), expires_at, recorded)

    def revoke_token(self, command: RevokeToken) -> Recorded | None:
        """Revoke a token from the next request on; ``None`` if it already was revoked."""
        state = self.token(command.token_id)
        if state is None:
            raise errors.UnknownTokenError(
                f"token {command.token_id!r} tidak ditemukan / not found", field="token_id"
            )
        if state.revoked_at is not None:
            return None
        event = TokenRevoked(
            originator_id=state.id,
            originator_version=state.version + 1,
            token_id=state.token_id,
            reason=command.reason,
            **self.stamp(command, self.clock()),
        )
        return self.save(
            [event],
            lambda: errors.StaleVersionError("token berubah bersamaan / token changed, retry"),
        )

    def token(self, token_id: str) -> Token | None:
        """A token's current state (``None`` if never issued)."""
        if not TOKEN_ID_PATTERN.fullmatch(token_id):
            return None
        return self._get(ids.token_id(token_id), fold_tokens)

    def verify_token(self, presented: str) -> Principal:
        """The principal of a presented ``sopl_...`` token, judged at the ledger's clock.

        Raises UnauthenticatedError saying whether it was malformed, unknown, revoked or
        expired.
        """
        token_id, secret = parse_token(presented)
        return check_token(self.token(token_id), secret, self.clock())

    def list_tokens(self) -> list[Token]:
        """Every token ever issued, oldest first (from the log: revocations included)."""
        states: dict[str, Token] = {}
        topics = (TokenIssued.TOPIC, TokenRevoked.TOPIC)
        for _, event in self.read_log(topics=topics):
            token_id = event.token_id  # type: ignore[attr-defined]
            folded = fold_tokens(states.get(token_id), [event])
            if folded is not None:
                states[token_id] = folded
        return list(states.values())
