"""Authentication through HTTP: API tokens and OIDC JWTs (keys served by a real JWKS server).

Every refusal is an RFC 9457 problem: 401 with ``WWW-Authenticate: Bearer`` naming what was
wrong with the credentials, 403 naming the scope needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from api.app import create_app
from api.auth import Principal, Scope, require
from ledger.access_service import Authenticator
from ledger.bootstrap import build_authenticator
from ledger.commands import RevokeToken
from ledger.core.access import parse_token
from ledger.ledger import Ledger
from ledger.oidc import JwksCache, OidcConfig, OidcVerifier
from ledger.settings import Settings
from support.auth import auth_header, issue_token
from support.ledgers import FakeClock

KEPALA_BIRO = "197305131997032005"
ISSUER = "https://sso.sumbarprov.go.id/realms/asn"
AUDIENCE = "sop-ledger"
PROBLEM = "application/problem+json"


# --- a real JWKS endpoint ----------------------------------------------------------------------


@dataclass
class Keys:
    """Signing keys by kid (private), and which of them the JWKS publishes."""

    private: dict[str, Any] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0

    def add(self, kid: str, alg: str, *, publish: bool = True) -> None:
        if alg == "RS256":
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        elif alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            key = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self.private[kid] = (key, alg)
        if publish:
            self.published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})

    def document(self) -> dict[str, Any]:
        return {"keys": self.published}


@pytest.fixture(scope="module")
def keys() -> Keys:
    found = Keys()
    found.add("rsa-1", "RS256")
    found.add("ec-1", "ES256")
    found.add("ed-1", "EdDSA")
    return found


@pytest.fixture(scope="module")
def jwks_url(keys: Keys) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys.hits += 1
            body = json.dumps(keys.document()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/realms/asn/certs"
    server.shutdown()
    server.server_close()
    thread.join()


def _settings(jwks: str) -> Settings:
    return Settings(
        database_url=None, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=jwks
    )


def _app(ledger: Ledger, authenticator: Authenticator) -> TestClient:
    app = create_app(ledger, authenticator=authenticator)
    _add_probe_routes(app)
    return TestClient(app)


def _add_probe_routes(app: FastAPI) -> None:
    @app.get("/_probe/admin")
    def admin_only(who: Principal = Depends(require(Scope.ADMIN))) -> dict[str, Any]:  # noqa: B008
        return {"nip": who.nip, "via": who.via, "subject": who.subject}

    @app.get("/_probe/any")
    def anyone(who: Principal = Depends(require())) -> dict[str, Any]:  # noqa: B008
        return {"nip": who.nip, "via": who.via, "scopes": sorted(who.scopes)}


@pytest.fixture
def client(ledger: Ledger, jwks_url: str) -> TestClient:
    return _app(ledger, build_authenticator(_settings(jwks_url), ledger))


def _jwt(
    keys: Keys,
    clock: FakeClock,
    kid: str = "rsa-1",
    *,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    key, alg = keys.private[kid]
    now = int(clock.now.timestamp())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3a1c0de-asn",
        "iat": now,
        "exp": now + 300,
        "nip": KEPALA_BIRO,
        "sop_ledger_scopes": ["admin", "official"],
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def _unauthenticated(response: Response, says: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith('Bearer realm="sop-ledger"')
    body = response.json()
    assert body["type"] == "https://sop-ledger.sumbarprov.go.id/problems/unauthenticated"
    assert body["title"] == "Tidak terautentikasi / Unauthenticated"
    assert body["status"] == 401
    assert says in body["detail"], body["detail"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- open and closed endpoints -------------------------------------------------------------------


def test_health_and_docs_answer_without_a_token(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert schema["paths"]["/sops"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


@pytest.mark.parametrize("path", ["/sops", "/sops/biro-org.pengukuran-kinerja", "/cases"])
def test_no_token_is_a_401_problem_with_a_bearer_challenge(client: TestClient, path: str) -> None:
    response = client.get(path)
    _unauthenticated(response, "no bearer token")
    assert response.headers["www-authenticate"] == 'Bearer realm="sop-ledger"'
    assert response.json()["instance"] == path


def test_a_malformed_header_or_token_is_refused(client: TestClient) -> None:
    response = client.get("/sops", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _unauthenticated(response, "malformed Authorization header")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    _unauthenticated(client.get("/sops", headers=_bearer("sopl_nope")), "malformed API token")
    _unauthenticated(client.get("/sops", headers=_bearer("hello")), "unrecognised bearer token")


# --- API tokens ---------------------------------------------------------------------------------


def test_an_api_token_opens_the_reading_endpoints(ledger: Ledger, client: TestClient) -> None:
    token = issue_token(ledger, KEPALA_BIRO, Scope.INSPECTOR)
    response = client.get("/sops", headers=auth_header(token))
    assert response.status_code == 200
    assert len(response.json()) == 3
    assert client.get("/_probe/any", headers=auth_header(token)).json() == {
        "nip": KEPALA_BIRO,
        "via": "token",
        "scopes": ["inspector"],
    }


def test_a_revoked_token_is_refused_on_the_next_request(ledger: Ledger, client: TestClient) -> None:
    token = issue_token(ledger, KEPALA_BIRO, Scope.OFFICIAL)
    assert client.get("/sops", headers=auth_header(token)).status_code == 200
    ledger.revoke_token(RevokeToken(token_id=parse_token(token)[0]))
    _unauthenticated(client.get("/sops", headers=auth_header(token)), "revoked")


def test_an_expired_token_is_refused(ledger: Ledger, client: TestClient, clock: FakeClock) -> None:
    token = issue_token(ledger, KEPALA_BIRO, Scope.OFFICIAL, expires_in=timedelta(hours=1))
    assert client.get("/sops", headers=auth_header(token)).status_code == 200
    clock.advance(hours=1)
    _unauthenticated(client.get("/sops", headers=auth_header(token)), "expired")


def test_an_unknown_token_is_refused(ledger: Ledger, client: TestClient) -> None:
    _, secret = parse_token(issue_token(ledger, KEPALA_BIRO))
    _unauthenticated(client.get("/sops", headers=_bearer(f"sopl_{'a' * 16}_{secret}")), "unknown")


def test_the_wrong_scope_is_a_403_naming_the_scope_needed(
    ledger: Ledger, client: TestClient
) -> None:
    token = issue_token(ledger, KEPALA_BIRO, Scope.OFFICIAL, Scope.INSPECTOR)
    response = client.get("/_probe/admin", headers=auth_header(token))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "https://sop-ledger.sumbarprov.go.id/problems/forbidden"
    assert body["title"] == "Akses ditolak / Forbidden"
    assert "admin" in body["detail"]
    admin = issue_token(ledger, KEPALA_BIRO, Scope.ADMIN)
    assert client.get("/_probe/admin", headers=auth_header(admin)).status_code == 200


# --- OIDC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_an_oidc_jwt_signed_by_a_published_key_works(
    client: TestClient, keys: Keys, clock: FakeClock, kid: str
) -> None:
    token = _jwt(keys, clock, kid)
    assert client.get("/sops", headers=_bearer(token)).status_code == 200
    assert client.get("/_probe/admin", headers=_bearer(token)).json() == {
        "nip": KEPALA_BIRO,
        "via": "oidc",
        "subject": "f3a1c0de-asn",
    }


def test_the_nip_claim_may_be_written_with_spaces(
    client: TestClient, keys: Keys, clock: FakeClock
) -> None:
    token = _jwt(keys, clock, nip="19730513 199703 2 005")
    assert client.get("/_probe/any", headers=_bearer(token)).json()["nip"] == KEPALA_BIRO


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"iss": "https://evil.example/realms/asn"}, "wrong JWT issuer"),
        ({"aud": "another-app"}, "wrong JWT audience"),
        ({"exp": 0}, "JWT expired"),
        ({"sub": None}, "invalid JWT"),
        ({"nip": None}, "has no 'nip' claim"),
        ({"nip": "196001011990031001"}, "not in the directory"),
    ],
)
def test_bad_claims_are_refused(
    client: TestClient, keys: Keys, clock: FakeClock, claims: dict[str, Any], says: str
) -> None:
    _unauthenticated(client.get("/sops", headers=_bearer(_jwt(keys, clock, **claims))), says)


def test_jwt_times_are_judged_by_the_ledger_clock(
    client: TestClient, keys: Keys, clock: FakeClock
) -> None:
    token = _jwt(keys, clock)
    now = int(clock.now.timestamp())
    not_yet = _jwt(keys, clock, nbf=now + 600, exp=now + 3600)
    _unauthenticated(client.get("/sops", headers=_bearer(not_yet)), "not valid before")
    clock.advance(minutes=11)
    assert client.get("/sops", headers=_bearer(not_yet)).status_code == 200
    _unauthenticated(client.get("/sops", headers=_bearer(token)), "JWT expired")


def test_an_unknown_kid_is_refused_without_hammering_the_jwks(
    client: TestClient, keys: Keys, clock: FakeClock
) -> None:
    keys.add("rsa-unpublished", "RS256", publish=False)
    assert client.get("/sops", headers=_bearer(_jwt(keys, clock))).status_code == 200
    before = keys.hits
    for _ in range(5):
        token = _jwt(keys, clock, "rsa-unpublished")
        _unauthenticated(client.get("/sops", headers=_bearer(token)), "unknown signing key")
    assert keys.hits == before  # refetches are bounded (at most one per min_refresh_seconds)


def test_a_bad_signature_is_refused(client: TestClient, keys: Keys, clock: FakeClock) -> None:
    forged = _jwt(keys, clock, "ec-1", headers={"kid": "rsa-1"})  # ES256 key, RSA key's kid
    _unauthenticated(client.get("/sops", headers=_bearer(forged)), "invalid JWT")
    header, _, signature = _jwt(keys, clock).split(".")
    other = _jwt(keys, clock, nip="198203142006042003").split(".")[1]
    tampered = f"{header}.{other}.{signature}"
    _unauthenticated(client.get("/sops", headers=_bearer(tampered)), "bad JWT signature")


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    client: TestClient, keys: Keys, clock: FakeClock
) -> None:
    """Algorithm confusion: an HMAC over the (public) RSA key must not verify."""
    public_pem = (
        keys.private["rsa-1"][0]
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(clock.now.timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "nip": KEPALA_BIRO}
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'rsa-1'})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _unauthenticated(client.get("/sops", headers=_bearer(token)), "invalid JWT")


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_a_jwt_without_scopes_is_authenticated_but_forbidden(
    client: TestClient, keys: Keys, clock: FakeClock
) -> None:
    token = _jwt(keys, clock, sop_ledger_scopes=None)
    assert client.get("/sops", headers=_bearer(token)).status_code == 403
    inspector = _jwt(keys, clock, sop_ledger_scopes="inspector openid")
    assert client.get("/sops", headers=_bearer(inspector)).status_code == 200
    assert client.get("/_probe/admin", headers=_bearer(inspector)).status_code == 403


def test_a_rotated_key_is_fetched_on_first_sight(
    ledger: Ledger, keys: Keys, clock: FakeClock, jwks_url: str
) -> None:
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url)
    cache = JwksCache(jwks_url, min_refresh_seconds=0)
    client = _app(
        ledger, Authenticator(ledger, OidcVerifier(config, cache, ledger.person, ledger.clock))
    )
    assert client.get("/sops", headers=_bearer(_jwt(keys, clock))).status_code == 200
    rotated = f"rsa-{uuid4().hex[:8]}"  # kids are never reused (module-wide key set)
    keys.add(rotated, "RS256")
    assert client.get("/sops", headers=_bearer(_jwt(keys, clock, rotated))).status_code == 200
    assert cache.fetches == 2


def test_a_jwks_file_serves_air_gapped_setups(
    ledger: Ledger, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.document()))
    client = _app(ledger, build_authenticator(_settings(str(path)), ledger))
    assert client.get("/sops", headers=_bearer(_jwt(keys, clock, "ed-1"))).status_code == 200


def test_an_unreachable_jwks_is_a_503_not_a_401(
    ledger: Ledger, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    client = _app(ledger, build_authenticator(_settings(str(tmp_path / "none.json")), ledger))
    response = client.get("/sops", headers=_bearer(_jwt(keys, clock)))
    assert response.status_code == 503
    assert response.json()["type"].endswith("/identity-keys-unavailable")


def test_without_oidc_settings_jwts_are_not_accepted(
    ledger: Ledger, keys: Keys, clock: FakeClock
) -> None:
    client = _app(ledger, build_authenticator(Settings(database_url=None), ledger))
    _unauthenticated(
        client.get("/sops", headers=_bearer(_jwt(keys, clock))), "OIDC is not configured"
    )
