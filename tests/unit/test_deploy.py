"""The deployment files name only settings and commands that exist, and keep the schema
owner's URL away from everything but the migration."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.integrity.schema import APP_ROLE
from ledger.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def env_example() -> dict[str, str]:
    found = {}
    for line in (DEPLOY / "sop-ledger.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = value
    return found


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_the_env_example_is_valid_settings_with_the_service_on_the_app_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = env_example()
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.database_url is not None
    assert settings.database_url.startswith(f"postgresql://{APP_ROLE}:")
    assert settings.migration_database_url is not None
    assert not settings.migration_database_url.startswith(f"postgresql://{APP_ROLE}:")
    assert settings.views_url != settings.database_url
    known = {f"LEDGER_{name.upper()}" for name in Settings.model_fields}
    assert set(values) <= known


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_every_unit_runs_an_existing_command(path: Path) -> None:
    service = unit(path)["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/sop-ledger")
    words = [w for w in command[1:] if not w.startswith("-")]
    subcommand = words[:2] if words[0] in {"db", "projections", "webhooks"} else words[:1]
    result = CliRunner().invoke(main, [*subcommand, "--help"])
    assert result.exit_code == 0, result.output
    options = [w.split("=")[0] for w in command[1:] if w.startswith("--")]
    for option in options:
        assert option in result.output, f"{path.name}: {option} is no option of {subcommand}"
    assert service["EnvironmentFile"] == "/etc/sop-ledger/sop-ledger.env"


def test_only_the_migration_unit_keeps_the_owner_url() -> None:
    for path in UNITS:
        service = unit(path)["Service"]
        migrates = "db upgrade" in service["ExecStart"]
        unset = service.get("UnsetEnvironment", "")
        assert migrates != ("LEDGER_MIGRATION_DATABASE_URL" in unset), path.name
