"""``sop-ledger keys``, ``checkpoint``, ``verify`` and ``export``, run in-process on a demo
year in a SQLite data dir (made once, copied per test) and once on PostgreSQL: an honest
store verifies, every tampering an operator could do behind the triggers is named with its
position, evidence bundles verify offline and fail on one changed byte, rotated keys keep
old checkpoints verifiable, and refusals are clear."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from ledger.bootstrap import build_ledger
from ledger.cli import main
from ledger.core.checkpoint import Verifier, generate_signer, open_checkpoint
from ledger.integrity.schema import EVENTS_PG, EVENTS_SQLITE
from ledger.settings import Settings
from support.ledgers import store_settings
from support.pg_server import PostgresUnavailable

KEPALA_BIRO = "197305131997032005"
ORIGIN = "sop-ledger.local/ledger"  # the settings' default origin, the default key name
Run = Callable[..., Result]
_SETTINGS_ENV = ("LEDGER_DATABASE_URL", "LEDGER_SIGNING_KEY_FILE", "LEDGER_CHECKPOINT_ORIGIN")


def _runner(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str | None = None) -> Run:
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    if url is not None:
        monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with an upgraded store and a demo year, made once for the module."""
    data_dir = tmp_path_factory.mktemp("integrity") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        run = _runner(monkeypatch, data_dir)
        assert run("db", "upgrade").exit_code == 0
        demo = run("demo")
        assert demo.exit_code == 0, demo.output
    return data_dir


@pytest.fixture
def data_dir(demo_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(demo_dir, copy)
    return copy


@pytest.fixture
def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    return _runner(monkeypatch, data_dir)


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _sealed(run: Run) -> Verifier:
    """A key generated and a checkpoint signed over the store; the key's verifier."""
    verifier = Verifier.from_text(_ok(run("keys", "generate")).stdout.strip())
    _ok(run("checkpoint"))
    return verifier


def _case_ids(settings: Settings) -> list[str]:
    ledger = build_ledger(settings)
    try:
        return [str(row.case_id) for row in ledger.list_cases()]
    finally:
        ledger.close()


def _flip_digit(data: bytes, start: int = 0) -> tuple[bytes, int]:
    """``data`` with its first ASCII digit at or after ``start`` changed, and where."""
    match = re.compile(rb"[0-9]").search(data, start)
    assert match is not None
    at = match.start()
    digit = data[at : at + 1]
    return data[:at] + (b"1" if digit != b"1" else b"2") + data[at + 1 :], at


def _tamper_sqlite(path: Path) -> int:
    """Drop the append-only triggers, as the file's owner can, and change one byte of the
    state of one case event; its position."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(f"UPDATE {EVENTS_SQLITE} SET state = state")
        triggers = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ]
        for name in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        position, state = conn.execute(
            f"SELECT rowid, state FROM {EVENTS_SQLITE} WHERE topic LIKE 'case.%' "
            "ORDER BY rowid LIMIT 1 OFFSET 5"
        ).fetchone()
        changed, _ = _flip_digit(bytes(state))
        conn.execute(f"UPDATE {EVENTS_SQLITE} SET state = ? WHERE rowid = ?", (changed, position))
    return int(position)


# --- an honest store -------------------------------------------------------------------------


def test_sign_verify_export_and_verify_the_bundle(run: Run, data_dir: Path, tmp_path: Path) -> None:
    no_key = run("checkpoint")
    assert no_key.exit_code == 1
    assert "no signing key at" in no_key.output
    assert "keys generate" in no_key.output

    generated = _ok(run("keys", "generate"))
    verifier = Verifier.from_text(generated.stdout.strip())
    assert verifier.name == ORIGIN
    key_file = data_dir / "keys" / "checkpoint.key"
    assert str(key_file) in generated.stderr
    assert (key_file.stat().st_mode & 0o777) == 0o600
    again = run("keys", "generate")
    assert again.exit_code == 1
    assert "a key already exists" in again.output
    assert "keys rotate" in again.output
    assert key_file.read_text().startswith(f"PRIVATE+KEY+{ORIGIN}+{verifier.key_id.hex()}+")

    signed = _ok(run("checkpoint"))
    head, names = open_checkpoint(signed.stdout.encode(), [verifier])
    assert names == [ORIGIN]
    assert head.size > 200  # the demo year
    unchanged = _ok(run("checkpoint"))
    assert "nothing new" in unchanged.stderr
    assert unchanged.stdout == signed.stdout

    verified = _ok(run("verify"))
    assert "BERES / OK" in verified.output
    report = json.loads(_ok(run("verify", "--json")).stdout)
    assert (report["ok"], report["verified_tree_size"], report["checkpoints"]) == (
        True,
        head.size,
        1,
    )
    assert _ok(run("keys", "list")).output.startswith("active ")

    case_id = _case_ids(Settings(data_dir=data_dir, database_url=None))[0]
    bundle = tmp_path / "case.json"
    _ok(run("export", "case", case_id, "--out", str(bundle)))
    checked = _ok(run("verify", "--bundle", str(bundle)))
    assert "BERES / OK" in checked.output
    assert "keys taken from the bundle itself" in checked.output  # no --key: self-asserted
    key = tmp_path / "trusted.pub"
    key.write_text(verifier.to_text() + "\n")
    pinned = _ok(run("verify", "--bundle", str(bundle), "--key", str(key)))
    assert "keys taken from the bundle itself" not in pinned.output
    period = tmp_path / "q1.json"
    _ok(run("export", "period", "2024-Q1", "--out", str(period)))
    assert json.loads(period.read_bytes())["subject"]["kind"] == "period"
    _ok(run("verify", "--bundle", str(period), "--key", str(key)))


def test_a_bundle_with_one_changed_byte_fails(run: Run, data_dir: Path, tmp_path: Path) -> None:
    _sealed(run)
    case_id = _case_ids(Settings(data_dir=data_dir, database_url=None))[0]
    bundle = tmp_path / "case.json"
    _ok(run("export", "case", case_id, "--out", str(bundle)))
    data = bundle.read_bytes()
    changed, _ = _flip_digit(data, data.index(b'"state"', data.index(b'"events"')))
    assert len(changed) == len(data)
    assert sum(a != b for a, b in zip(data, changed, strict=True)) == 1
    forged = tmp_path / "forged.json"
    forged.write_bytes(changed)
    result = run("verify", "--bundle", str(forged))
    assert result.exit_code == 1, result.output
    assert "GAGAL / FAILED" in result.output
    assert "changed-event" in result.output
    position = json.loads(data)["events"][0]["position"]
    assert re.search(rf"^\s+{position}: changed-event", result.output, re.MULTILINE), result.output
    as_json = json.loads(run("verify", "--bundle", str(forged), "--json").stdout)
    assert as_json["ok"] is False


# --- tampering -------------------------------------------------------------------------------


def test_a_byte_changed_behind_the_triggers_is_named_with_its_position(
    run: Run, data_dir: Path
) -> None:
    _sealed(run)
    position = _tamper_sqlite(data_dir / "ledger.sqlite")
    result = run("verify")
    assert result.exit_code == 1, result.output
    assert f"pertama / first: posisi/position {position}: changed-payload" in result.output
    report = json.loads(run("verify", "--json").stdout)
    assert report["first_problem"]["kind"] == "changed-payload"
    assert report["first_problem"]["position"] == position
    assert "root-mismatch" in {p["kind"] for p in report["problems"]}


# --- keys ------------------------------------------------------------------------------------


def test_after_rotation_old_checkpoints_verify_with_the_retired_key(
    run: Run, data_dir: Path, tmp_path: Path
) -> None:
    old = _sealed(run)
    rotated = _ok(run("keys", "rotate"))
    new = Verifier.from_text(rotated.stdout.strip())
    assert new.key_id != old.key_id
    kept = list((data_dir / "keys").glob("checkpoint.key.retired-*"))
    assert len(kept) == 1
    assert str(kept[0]) in rotated.stderr
    _ok(run("tokens", "create", "--nip", KEPALA_BIRO, "--scope", "inspector"))  # a new event
    signed = _ok(run("checkpoint"))
    assert open_checkpoint(signed.stdout.encode(), [new])[1] == [ORIGIN]
    report = json.loads(_ok(run("verify", "--json")).stdout)
    assert (report["ok"], report["checkpoints"]) == (True, 2)
    listing = _ok(run("keys", "list")).output.splitlines()
    assert [line.split()[0] for line in listing] == ["retired", "active"]
    both = tmp_path / "both.pub"
    both.write_text(f"{old.to_text()}\n{new.to_text()}\n")
    _ok(run("verify", "--key", str(both)))
    only_new = tmp_path / "new.pub"
    only_new.write_text(new.to_text() + "\n")
    refused = run("verify", "--key", str(only_new))
    assert refused.exit_code == 1
    assert "unknown-key" in refused.output


def test_verify_with_an_unrelated_key_names_the_unknown_key(
    run: Run, data_dir: Path, tmp_path: Path
) -> None:
    _sealed(run)
    stranger = tmp_path / "stranger.pub"
    for name in (ORIGIN, "someone.else/log"):  # same name another key, another name
        stranger.write_text(generate_signer(name)[1] + "\n")
        result = run("verify", "--key", str(stranger))
        assert result.exit_code == 1, result.output
        assert "unknown-key" in result.output
    case_id = _case_ids(Settings(data_dir=data_dir, database_url=None))[0]
    bundle = tmp_path / "case.json"
    _ok(run("export", "case", case_id, "--out", str(bundle)))
    refused = run("verify", "--bundle", str(bundle), "--key", str(stranger))
    assert refused.exit_code == 1
    assert "unknown-key" in refused.output
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key\n")
    bad = run("verify", "--key", str(garbage))
    assert bad.exit_code == 2
    assert "--key" in bad.output


def test_refusals_without_a_key_or_a_checkpoint(run: Run, data_dir: Path, tmp_path: Path) -> None:
    rotate = run("keys", "rotate")
    assert rotate.exit_code == 1
    assert "no signing key at" in rotate.output
    case_id = _case_ids(Settings(data_dir=data_dir, database_url=None))[0]
    _ok(run("keys", "generate"))
    export = run("export", "case", case_id, "--out", str(tmp_path / "x.json"))
    assert export.exit_code == 1
    assert "no checkpoint yet" in export.output
    assert not (tmp_path / "x.json").exists()
    assert "BERES / OK" in _ok(run("verify")).output  # nothing signed yet, nothing altered


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def postgres_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Run, Settings]]:
    try:
        with store_settings("postgres") as settings:
            assert settings.database_url is not None
            yield _runner(monkeypatch, tmp_path / "data", settings.database_url), settings
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")


@pytest.mark.postgres
def test_the_same_on_postgresql(postgres_run: tuple[Run, Settings], tmp_path: Path) -> None:
    run, settings = postgres_run
    assert settings.database_url is not None
    _ok(run("db", "upgrade"))
    _ok(run("demo"))
    verifier = _sealed(run)
    assert "BERES / OK" in _ok(run("verify")).output
    bundle = tmp_path / "case.json"
    _ok(run("export", "case", _case_ids(settings)[0], "--out", str(bundle)))
    key = tmp_path / "trusted.pub"
    key.write_text(verifier.to_text() + "\n")
    _ok(run("verify", "--bundle", str(bundle), "--key", str(key)))
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no trigger fires
        row = conn.execute(
            f"SELECT notification_id, state FROM {EVENTS_PG} WHERE topic LIKE 'case.%' "
            "ORDER BY notification_id LIMIT 1 OFFSET 5"
        ).fetchone()
        assert row is not None
        position, state = row
        changed, _ = _flip_digit(bytes(state))
        conn.execute(
            f"UPDATE {EVENTS_PG} SET state = %s WHERE notification_id = %s", (changed, position)
        )
    result = run("verify")
    assert result.exit_code == 1, result.output
    assert f"pertama / first: posisi/position {position}: changed-payload" in result.output
