"""OIDC access tokens (JWTs): signature by the identity provider's JWKS, then the claims.

The signing keys come from an ``http(s)://`` JWKS URL or, for air-gapped setups, a JWKS file.
They are cached; a token naming a key id the cache does not know triggers one refetch (key
rotation), but at most once per ``min_refresh_seconds``, so a stream of made-up key ids
cannot turn into a stream of requests to the identity provider.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from threading import Lock
from typing import Any

import jwt

from ledger.core.access import Principal, check_claim_times, claim_scopes
from ledger.core.directory import Person
from ledger.core.errors import InvalidNipError, KeysUnavailableError, UnauthenticatedError
from ledger.core.nip import normalise_nip, validate_nip

ALGORITHMS = ("RS256", "ES256", "EdDSA")


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    nip_claim: str = "nip"
    scopes_claim: str = "sop_ledger_scopes"
    leeway: timedelta = timedelta(seconds=30)


def read_jwks(source: str, timeout: float = 5.0) -> dict[str, Any]:
    """The JWKS document at an http(s) URL, a file:// URL or a file path."""
    try:
        if source.startswith(("https://", "http://")):
            with urllib.request.urlopen(source, timeout=timeout) as response:
                document = json.loads(response.read())
        else:
            path = Path(source.removeprefix("file://"))
            document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeysUnavailableError(
            f"JWKS {source} tidak dapat dibaca / cannot be read: {error}"
        ) from None
    if not isinstance(document, dict):
        raise KeysUnavailableError(f"JWKS {source}: bukan objek JSON / not a JSON object")
    return document


class JwksCache:
    """The identity provider's public keys by ``kid`` (only RS256, ES256 and EdDSA keys)."""

    def __init__(
        self,
        source: str,
        *,
        max_age_seconds: float = 3600.0,
        min_refresh_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], dict[str, Any]] = read_jwks,
    ) -> None:
        self.source = source
        self.max_age = max_age_seconds
        self.min_refresh = min_refresh_seconds
        self._monotonic = monotonic
        self._fetch = fetch
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._lock = Lock()
        self.fetches = 0

    def key(self, kid: str | None) -> jwt.PyJWK:
        """The key named ``kid`` (or the only key, for a token without ``kid``)."""
        with self._lock:
            now = self._monotonic()
            if self._loaded_at is None or now - self._loaded_at >= self.max_age:
                self._load(now)
            found = self._find(kid)
            if found is None and now - (self._loaded_at or 0.0) >= self.min_refresh:
                self._load(now)
                found = self._find(kid)
        if found is None:
            raise UnauthenticatedError(
                f"kunci {kid!r} tidak dikenal penyedia identitas / unknown signing key id",
                reason="invalid",
            )
        return found

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _load(self, now: float) -> None:
        """Refetch; on failure keep serving the keys already known, if any."""
        self.fetches += 1
        try:
            document = self._fetch(self.source)
        except KeysUnavailableError:
            if not self._keys:
                raise
            self._loaded_at = now
            return
        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            key = _usable_key(entry)
            if key is not None:
                keys[key.key_id] = key
        self._keys, self._loaded_at = keys, now


def _usable_key(entry: object) -> jwt.PyJWK | None:
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    try:
        key = jwt.PyJWK(entry)
    except jwt.PyJWTError:
        return None
    return key if key.algorithm_name in ALGORITHMS else None


class OidcVerifier:
    """A JWT's principal: signature, issuer, audience, exp/nbf, then a directory NIP."""

    def __init__(
        self,
        config: OidcConfig,
        keys: JwksCache,
        people: Callable[[str], Person | None],
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.keys = keys
        self._people = people
        self._clock = clock

    def verify(self, token: str) -> Principal:
        claims = self._claims(token)
        check_claim_times(claims, self._clock(), self.config.leeway)
        subject = claims.get("sub")
        return Principal(
            nip=self._nip(claims.get(self.config.nip_claim)),
            scopes=claim_scopes(claims.get(self.config.scopes_claim)),
            subject=str(subject) if subject is not None else "",
            via="oidc",
        )

    def _claims(self, token: str) -> dict[str, Any]:
        """Claims of a JWT whose signature, issuer and audience check out (times: ours)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("JWT rusak / malformed JWT", "malformed") from None
        kid = header.get("kid")
        key = self.keys.key(kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "verify_exp": False,  # judged against the ledger's clock below
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iss", "aud", "sub"],
                },
            )
        except jwt.InvalidIssuerError:
            raise _invalid("penerbit JWT salah / wrong JWT issuer", "invalid") from None
        except jwt.InvalidAudienceError:
            raise _invalid("audiens JWT salah / wrong JWT audience", "invalid") from None
        except jwt.InvalidSignatureError:
            raise _invalid("tanda tangan JWT salah / bad JWT signature", "invalid") from None
        except jwt.PyJWTError as error:
            raise _invalid(f"JWT tidak valid / invalid JWT: {error}", "invalid") from None
        return claims

    def _nip(self, claim: object) -> str:
        name = self.config.nip_claim
        if not isinstance(claim, str) or not claim.strip():
            raise _invalid(f"klaim {name!r} tidak ada / JWT has no {name!r} claim", "invalid")
        nip = normalise_nip(claim)
        person = self._people(nip)
        if person is None:
            raise _invalid(
                f"NIP {nip} tidak terdaftar di direktori / not in the directory", "unknown"
            )
        try:
            validate_nip(nip, person.employee_type)
        except InvalidNipError as error:
            raise _invalid(error.message, "invalid") from None
        return person.nip


def _invalid(message: str, reason: str) -> UnauthenticatedError:
    return UnauthenticatedError(message, reason=reason)
