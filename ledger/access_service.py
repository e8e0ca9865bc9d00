"""Authentication: an ``Authorization`` header in, a Principal out (or a 401 refusal).

Two kinds of bearer token: the ledger's own opaque API tokens (``sopl_...``, checked against
the token's events) and, when configured, OIDC JWTs from the provincial identity provider.
Scopes are only what the caller may ask for; whether the person may do a given SOP act is
still judged by the core (roles, lanes, segregation of duties).
"""

from __future__ import annotations

from ledger.core.access import Principal, bearer_token, is_api_token
from ledger.core.errors import UnauthenticatedError
from ledger.ledger import Ledger
from ledger.oidc import OidcVerifier


class Authenticator:
    def __init__(self, ledger: Ledger, oidc: OidcVerifier | None = None) -> None:
        self.ledger = ledger
        self.oidc = oidc

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header value."""
        token = bearer_token(authorization)
        if is_api_token(token):
            return self.ledger.verify_token(token)
        if self.oidc is not None and token.count(".") == 2:
            return self.oidc.verify(token)
        raise UnauthenticatedError(
            "token tidak dikenali / unrecognised bearer token (neither sopl_... nor "
            + ("a JWT)" if self.oidc is not None else "accepted: OIDC is not configured)"),
            reason="malformed",
        )
