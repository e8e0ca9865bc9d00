"""Bearer tokens for tests: issue one for a directory person and build the header."""

from __future__ import annotations

from datetime import timedelta

from api.auth import Scope
from ledger.commands import IssueToken
from ledger.ledger import Ledger


def issue_token(
    ledger: Ledger, nip: str, *scopes: Scope, expires_in: timedelta = timedelta(days=1)
) -> str:
    """A fresh opaque API token for ``nip`` holding ``scopes`` (default: official).

    Expiry is judged against the ledger's clock (a FakeClock in tests), so advancing the
    clock past ``expires_in`` makes the token expire.
    """
    issued = ledger.issue_token(
        IssueToken(
            nip=nip,
            scopes=tuple(scopes or (Scope.OFFICIAL,)),
            expires_in=expires_in,
            label="test",
        )
    )
    return issued.token


def auth_header(token: str) -> dict[str, str]:
    """The ``Authorization`` header presenting ``token``."""
    return {"Authorization": f"Bearer {token}"}
