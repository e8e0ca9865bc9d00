"""API tokens on both stores: issue, verify, revoke, expire; refusals leave the store alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from api.auth import Scope
from ledger.application import LedgerStore
from ledger.commands import IssueToken, RevokeToken
from ledger.core.access import TokenIssued, TokenRevoked, parse_token
from ledger.core.errors import (
    DirectoryError,
    TokenRequestError,
    UnauthenticatedError,
    UnknownTokenError,
)
from ledger.ledger import Ledger
from support.auth import issue_token
from support.ledgers import FakeClock

KEPALA_BIRO = "197305131997032005"
CLERK = "PTT2023001"


def _refusal(ledger: Ledger, token: str) -> str:
    with pytest.raises(UnauthenticatedError) as refused:
        ledger.verify_token(token)
    return refused.value.reason


@pytest.fixture
def other_process(ledger: Ledger, clock: FakeClock) -> Iterator[Ledger]:
    """A second ledger on the same store with its own caches, as another server process."""
    other = Ledger(LedgerStore(env=dict(ledger.store.env)), clock)
    yield other
    other.close()


def test_an_issued_token_verifies_to_its_person_and_scopes(ledger: Ledger) -> None:
    token = issue_token(ledger, KEPALA_BIRO, Scope.OFFICIAL, Scope.INSPECTOR)
    principal = ledger.verify_token(token)
    assert principal.nip == KEPALA_BIRO
    assert principal.scopes == {Scope.OFFICIAL, Scope.INSPECTOR}
    assert (principal.subject, principal.via) == (parse_token(token)[0], "token")


def test_the_log_records_who_issued_and_revoked_but_never_the_secret(
    ledger: Ledger, clock: FakeClock
) -> None:
    issued = ledger.issue_token(
        IssueToken(nip=CLERK, scopes=("clerk",), label="loket", recorded_by="cli:admin")
    )
    clock.advance(hours=1)
    ledger.revoke_token(
        RevokeToken(token_id=issued.token_id, reason="pindah tugas", recorded_by="cli:security")
    )
    events = [e for _, e in ledger.read_log() if isinstance(e, TokenIssued | TokenRevoked)]
    assert [(type(e), e.recorded_by) for e in events] == [
        (TokenIssued, "cli:admin"),
        (TokenRevoked, "cli:security"),
    ]
    secret = parse_token(issued.token)[1]
    rows = ledger.store.recorder.select_notifications(1, 10_000)
    assert all(secret.encode() not in bytes(row.state) for row in rows)
    (listed,) = ledger.list_tokens()
    assert (listed.token_id, listed.nip, listed.label) == (issued.token_id, CLERK, "loket")
    assert listed.revoked_by == "cli:security"
    assert listed.revoked_at == clock.now
    assert listed.expires_at == clock.now - timedelta(hours=1) + timedelta(days=90)


def test_revocation_takes_effect_on_the_next_check_in_every_process(
    ledger: Ledger, other_process: Ledger
) -> None:
    token = issue_token(ledger, KEPALA_BIRO)
    assert other_process.verify_token(token).nip == KEPALA_BIRO  # now cached over there
    result = ledger.revoke_token(RevokeToken(token_id=parse_token(token)[0]))
    assert result is not None
    assert _refusal(ledger, token) == "revoked"
    assert _refusal(other_process, token) == "revoked"
    assert ledger.revoke_token(RevokeToken(token_id=parse_token(token)[0])) is None


def test_a_token_expires_by_the_ledger_clock(ledger: Ledger, clock: FakeClock) -> None:
    token = issue_token(ledger, KEPALA_BIRO, expires_in=timedelta(hours=8))
    clock.advance(hours=7, minutes=59)
    assert ledger.verify_token(token).nip == KEPALA_BIRO
    clock.advance(minutes=1)
    assert _refusal(ledger, token) == "expired"


def test_unknown_and_tampered_tokens_are_refused(ledger: Ledger) -> None:
    token = issue_token(ledger, KEPALA_BIRO)
    token_id, secret = parse_token(token)
    other_secret = ("A" if secret[0] != "A" else "B") + secret[1:]
    assert _refusal(ledger, f"sopl_{token_id}_{other_secret}") == "unknown"
    assert _refusal(ledger, f"sopl_{'0' * 16}_{secret}") == "unknown"
    assert _refusal(ledger, token[:-10]) == "malformed"


def test_tokens_are_only_issued_to_directory_people_with_known_scopes(ledger: Ledger) -> None:
    before = ledger.max_position()
    with pytest.raises(DirectoryError, match="not in the directory") as unknown:
        ledger.issue_token(IssueToken(nip="196001011990031001", scopes=("official",)))
    assert unknown.value.field == "nip"
    with pytest.raises(TokenRequestError):
        ledger.issue_token(IssueToken(nip=KEPALA_BIRO, scopes=("superuser",)))
    with pytest.raises(TokenRequestError):
        ledger.issue_token(
            IssueToken(nip=KEPALA_BIRO, scopes=("official",), expires_in=timedelta(0))
        )
    with pytest.raises(UnknownTokenError):
        ledger.revoke_token(RevokeToken(token_id="0123456789abcdef"))
    assert ledger.max_position() == before
    assert ledger.list_tokens() == []


def test_every_token_gets_its_own_id_and_secret(ledger: Ledger) -> None:
    tokens = [issue_token(ledger, KEPALA_BIRO) for _ in range(5)]
    assert len({parse_token(t)[0] for t in tokens}) == 5
    assert len({parse_token(t)[1] for t in tokens}) == 5
    assert all(len(parse_token(t)[1]) >= 43 for t in tokens)  # >= 256 bits, base64url
    assert {t.token_id for t in ledger.list_tokens()} == {parse_token(t)[0] for t in tokens}
