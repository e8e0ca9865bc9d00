"""The pure access module: token strings, hashing, expiry, the token fold, OIDC claim checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import ids
from ledger.core.access import (
    Scope,
    TokenIssued,
    TokenRevoked,
    bearer_token,
    check_claim_times,
    check_token,
    claim_scopes,
    fold_tokens,
    format_token,
    hash_secret,
    is_api_token,
    parse_duration,
    parse_scopes,
    parse_token,
    token_expiry,
)
from ledger.core.errors import TokenRequestError, UnauthenticatedError
from ledger.persistence.mapper import decode_event, encode_event_state

T0 = datetime(2024, 10, 1, 1, 0, tzinfo=UTC)
TOKEN_ID = "0123456789abcdef"
SECRET = "s" * 43


def _stamp(version: int, at: datetime, by: str) -> dict[str, object]:
    event_id = uuid4()
    return {
        "originator_id": ids.token_id(TOKEN_ID),
        "originator_version": version,
        "event_id": event_id,
        "recorded_at": at,
        "recorded_by": by,
        "correlation_id": event_id,
        "causation_id": None,
    }


def _issued(expires_at: datetime = T0 + timedelta(days=1)) -> TokenIssued:
    return TokenIssued(
        token_id=TOKEN_ID,
        nip="197305131997032005",
        scopes=(Scope.OFFICIAL, Scope.ADMIN),
        secret_sha256=hash_secret(SECRET),
        label="uji",
        expires_at=expires_at,
        **_stamp(1, T0, "cli:admin"),  # type: ignore[arg-type]
    )


def _revoked(at: datetime) -> TokenRevoked:
    return TokenRevoked(token_id=TOKEN_ID, reason="hilang", **_stamp(2, at, "cli:security"))  # type: ignore[arg-type]


# --- the token string ----------------------------------------------------------------------


@given(
    st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{43,64}", fullmatch=True),
)
def test_a_formatted_token_parses_back_to_its_id_and_secret(token_id: str, secret: str) -> None:
    token = format_token(token_id, secret)
    assert is_api_token(token)
    assert parse_token(token) == (token_id, secret)


@pytest.mark.parametrize(
    "presented",
    [
        "sopl_",
        "sopl_0123456789abcdef",
        "sopl_0123456789abcdef_",
        "sopl_0123456789ABCDEF_" + SECRET,  # the id is lower-case hex
        "sopl_0123_" + SECRET,
        "sopx_0123456789abcdef_" + SECRET,
        "sopl_0123456789abcdef_short",
        "sopl_0123456789abcdef_" + "s" * 42 + "!",
    ],
)
def test_malformed_tokens_are_refused_as_malformed(presented: str) -> None:
    with pytest.raises(UnauthenticatedError) as refused:
        parse_token(presented)
    assert refused.value.reason == "malformed"
    assert refused.value.code == "unauthenticated"


def test_the_stored_hash_is_sha256_of_the_secret_never_the_secret() -> None:
    assert hash_secret(SECRET) == hashlib.sha256(SECRET.encode()).hexdigest()
    state = encode_event_state(_issued())
    assert SECRET.encode() not in state
    assert hash_secret(SECRET).encode() in state


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Basic dXNlcjpwdw==", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer a b", "malformed"),
    ],
)
def test_the_authorization_header_must_be_one_bearer_token(header: str | None, reason: str) -> None:
    with pytest.raises(UnauthenticatedError) as refused:
        bearer_token(header)
    assert refused.value.reason == reason
    expected = 'Bearer realm="sop-ledger"'
    assert refused.value.challenge.startswith(expected)
    assert ("invalid_token" in refused.value.challenge) == (reason != "missing")


def test_the_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Bearer abc") == "abc"


# --- the fold and the verdict ----------------------------------------------------------------


def test_the_fold_keeps_who_issued_and_who_revoked_when() -> None:
    later = T0 + timedelta(hours=3)
    state = fold_tokens(None, [_issued()])
    assert state is not None
    assert (state.version, state.issued_by, state.issued_at, state.revoked_at) == (
        1,
        "cli:admin",
        T0,
        None,
    )
    assert state.scopes == {Scope.OFFICIAL, Scope.ADMIN}
    revoked = fold_tokens(state, [_revoked(later)])
    assert revoked is not None
    assert (revoked.version, revoked.revoked_at, revoked.revoked_by) == (2, later, "cli:security")
    assert fold_tokens(None, [_revoked(later)]) is None


def test_a_valid_token_yields_its_principal() -> None:
    principal = check_token(fold_tokens(None, [_issued()]), SECRET, T0 + timedelta(hours=1))
    assert principal.nip == "197305131997032005"
    assert principal.scopes == {Scope.OFFICIAL, Scope.ADMIN}
    assert (principal.subject, principal.via) == (TOKEN_ID, "token")


@pytest.mark.parametrize(
    ("events", "secret", "now", "reason"),
    [
        ([], SECRET, T0, "unknown"),
        ([_issued()], "t" * 43, T0, "unknown"),
        ([_issued(), _revoked(T0 + timedelta(minutes=1))], SECRET, T0, "revoked"),
        ([_issued()], SECRET, T0 + timedelta(days=1), "expired"),  # expiry is exclusive
        ([_issued()], SECRET, T0 + timedelta(days=2), "expired"),
    ],
)
def test_refusals_name_what_was_wrong(
    events: list[TokenIssued], secret: str, now: datetime, reason: str
) -> None:
    with pytest.raises(UnauthenticatedError) as refused:
        check_token(fold_tokens(None, events), secret, now)
    assert refused.value.reason == reason
    assert reason in refused.value.message


def test_token_events_round_trip_through_the_wire_format() -> None:
    for event in (_issued(), _revoked(T0)):
        back = decode_event(
            event.TOPIC, event.originator_id, event.originator_version, encode_event_state(event)
        )
        assert back == event
    assert TokenIssued.TOPIC == "access.token_issued"
    assert TokenRevoked.TOPIC == "access.token_revoked"
    assert TokenIssued.class_version == TokenRevoked.class_version == 1


def test_token_aggregate_ids_are_deterministic_per_token_id() -> None:
    assert ids.token_id(TOKEN_ID) == ids.token_id(TOKEN_ID)
    assert ids.token_id(TOKEN_ID) != ids.token_id("fedcba9876543210")


# --- requests for tokens ---------------------------------------------------------------------


def test_scopes_are_known_deduplicated_and_not_empty() -> None:
    assert parse_scopes(["admin", "official", "admin"]) == (Scope.OFFICIAL, Scope.ADMIN)
    with pytest.raises(TokenRequestError):
        parse_scopes(["root"])
    with pytest.raises(TokenRequestError):
        parse_scopes([])


def test_lifetimes_are_bounded_and_durations_parse() -> None:
    assert token_expiry(T0, timedelta(days=90)) == T0 + timedelta(days=90)
    for bad in (timedelta(0), timedelta(seconds=-1), timedelta(days=800)):
        with pytest.raises(TokenRequestError):
            token_expiry(T0, bad)
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("30m") == timedelta(minutes=30)
    with pytest.raises(TokenRequestError):
        parse_duration("soon")


# --- OIDC claims -----------------------------------------------------------------------------


def _at(moment: datetime) -> int:
    return int(moment.timestamp())


def test_claim_times_are_judged_against_the_given_clock_with_leeway() -> None:
    leeway = timedelta(seconds=30)
    check_claim_times({"exp": _at(T0 + timedelta(minutes=5))}, T0, leeway)
    check_claim_times({"exp": _at(T0 - timedelta(seconds=10))}, T0, leeway)  # within leeway
    with pytest.raises(UnauthenticatedError, match="expired") as expired:
        check_claim_times({"exp": _at(T0 - timedelta(minutes=1))}, T0, leeway)
    assert expired.value.reason == "expired"
    with pytest.raises(UnauthenticatedError, match="not valid before"):
        check_claim_times(
            {"exp": _at(T0 + timedelta(hours=1)), "nbf": _at(T0 + timedelta(minutes=5))},
            T0,
            leeway,
        )
    for claims in ({}, {"exp": "tomorrow"}, {"exp": True}):
        with pytest.raises(UnauthenticatedError):
            check_claim_times(claims, T0, leeway)  # type: ignore[arg-type]


def test_claim_scopes_take_lists_or_space_separated_strings_and_ignore_others() -> None:
    assert claim_scopes(["inspector", "openid", 7]) == {Scope.INSPECTOR}
    assert claim_scopes("official clerk email") == {Scope.OFFICIAL, Scope.CLERK}
    assert claim_scopes(None) == frozenset()
    assert claim_scopes({"admin": True}) == frozenset()
