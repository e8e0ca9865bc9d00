"""``sop-ledger tokens create | list | revoke``, run in-process against a real SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.bootstrap import build_ledger
from ledger.cli import main
from ledger.core.access import parse_token
from ledger.core.errors import UnauthenticatedError
from ledger.settings import Settings

KEPALA_BIRO = "197305131997032005"
Run = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    assert invoke("directory", "demo").exit_code == 0
    return invoke


def _verify(data_dir: Path, token: str) -> str:
    """The NIP the token stands for, or the reason it is refused."""
    ledger = build_ledger(Settings(data_dir=data_dir, database_url=None))
    try:
        return ledger.verify_token(token).nip
    except UnauthenticatedError as error:
        return error.reason
    finally:
        ledger.close()


def _create(run: Run, *extra: str) -> str:
    result = run("tokens", "create", "--nip", KEPALA_BIRO, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_create_prints_the_token_once_and_alone_on_stdout(run: Run, data_dir: Path) -> None:
    result = run(
        "tokens", "create", "--nip", KEPALA_BIRO, "--scope", "official", "--scope", "inspector",
        "--expires-in", "7d", "--label", "loket arsip",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token
    token_id, _ = parse_token(token)
    assert "official,inspector" in result.stderr
    assert "not shown again" in result.stderr
    assert _verify(data_dir, token) == KEPALA_BIRO
    listing = run("tokens", "list").output
    line = next(x for x in listing.splitlines() if x.startswith(token_id))
    for shown in (KEPALA_BIRO, "official,inspector", "loket arsip", "WIB"):
        assert shown in line
    assert parse_token(token)[1] not in listing


def test_revoke_stops_the_token_and_is_listed(run: Run, data_dir: Path) -> None:
    token = _create(run, "--scope", "official")
    token_id, _ = parse_token(token)
    revoked = run("tokens", "revoke", token_id, "--reason", "laptop hilang")
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    assert _verify(data_dir, token) == "revoked"
    assert "already revoked" in run("tokens", "revoke", token).output  # the whole token works
    line = next(x for x in run("tokens", "list").output.splitlines() if x.startswith(token_id))
    assert line.rstrip().endswith("WIB")
    assert line.count("WIB") == 3  # created, expires, revoked


def test_refusals_exit_1_and_name_the_problem(run: Run) -> None:
    unknown = run("tokens", "create", "--nip", "196001011990031001", "--scope", "admin")
    assert unknown.exit_code == 1
    assert "not in the directory" in unknown.output
    bad_duration = run(
        "tokens", "create", "--nip", KEPALA_BIRO, "--scope", "admin", "--expires-in", "forever"
    )
    assert bad_duration.exit_code == 1
    assert "invalid duration" in bad_duration.output
    too_long = run(
        "tokens", "create", "--nip", KEPALA_BIRO, "--scope", "admin", "--expires-in", "1000d"
    )
    assert too_long.exit_code == 1
    bad_scope = run("tokens", "create", "--nip", KEPALA_BIRO, "--scope", "root")
    assert bad_scope.exit_code == 2
    no_such = run("tokens", "revoke", "0123456789abcdef")
    assert no_such.exit_code == 1
    assert "unknown-token" in no_such.output
    assert "no tokens issued yet" in run("tokens", "list").output
