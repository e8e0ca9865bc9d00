"""Who is calling: bearer tokens (opaque API tokens or OIDC JWTs) resolved to a Principal.

Routers depend on ``require(...)``; the work is done by the Authenticator the composition
root put on ``app.state``. Refusals are ledger errors, so they become the same RFC 9457
problems as every other refusal (401 with ``WWW-Authenticate: Bearer``, 403 naming the scope).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.access_service import Authenticator
from ledger.core.access import Principal, Scope
from ledger.core.errors import ForbiddenError

__all__ = ["BEARER", "Principal", "Scope", "authenticate", "require"]

# auto_error=False: a missing header is refused by us, as a problem document, not by FastAPI.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="Token API `sopl_...` (sop-ledger tokens create) atau/or OIDC JWT",
)


def authenticate(request: Request) -> Principal:
    """The caller of ``request`` (verified once per request, then remembered on it)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(request.headers.get("Authorization"))
    request.state.principal = principal
    return principal


def require(*scopes: Scope) -> Callable[[Request], Principal]:
    """A dependency: the caller, if it holds any of ``scopes`` (401 / 403 problem otherwise).

    ``require()`` without scopes admits any caller holding at least one scope.
    """
    wanted = frozenset(scopes or Scope)
    names = " atau/or ".join(s.value for s in Scope if s in wanted)

    def dependency(
        request: Request,
        _bearer: HTTPAuthorizationCredentials | None = Security(BEARER),  # noqa: B008
    ) -> Principal:
        principal = authenticate(request)
        if not principal.scopes & wanted:
            raise ForbiddenError(
                f"memerlukan cakupan / requires scope: {names}", field="Authorization"
            )
        return principal

    return dependency
