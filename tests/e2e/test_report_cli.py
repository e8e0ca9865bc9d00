"""``sop-ledger report sla`` run in-process against a SQLite store holding the demo year."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli import main

Run = Callable[..., Result]
REPORT = ("report", "sla", "--period", "2024-Q3")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The CLI on one data dir, upgraded and filled with the 2024 demo year once."""
    data = tmp_path_factory.mktemp("report-cli") / "data"
    env = {
        "LEDGER_DATA_DIR": str(data),
        "LEDGER_DATABASE_URL": None,
        "LEDGER_VIEWS_URL": None,
        "LEDGER_CALENDAR_FILE": None,
        "LEDGER_CALENDAR_OVERRIDES": None,
    }
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    demo = invoke("demo", "--year", "2024")
    assert demo.exit_code == 0, demo.output
    assert "12 kasus/cases" in demo.output
    return invoke


def footer(output: str) -> dict[str, str]:
    """The ``# key: value`` lines after a CSV body."""
    lines = [line[2:] for line in output.splitlines() if line.startswith("# ")]
    return dict(line.split(": ", 1) for line in lines)


def test_json_has_a_manifest_groups_and_executions(run: Run) -> None:
    result = run(*REPORT, "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    manifest = body["manifest"]
    assert manifest["report"] == "sla"
    assert manifest["period"] == "2024-Q3"
    assert manifest["as_of"] is None
    assert manifest["log_position"] > 0
    assert manifest["calendar_version"].startswith("pemprov-sumbar@")
    assert manifest["software_version"].startswith("sop-ledger ")
    assert manifest["sop_versions"]
    assert body["groups"]
    assert all({"sop_id", "step", "executions", "compliance_pct"} <= set(g) for g in body["groups"])
    assert body["executions"]
    assert {row["quarter"] for row in body["executions"]} == {"2024-Q3"}
    assert sum(g["executions"] for g in body["groups"]) == len(body["executions"])
    assert len(body["content_sha256"]) == 64


def test_csv_has_a_header_and_the_content_hash_footer(run: Run) -> None:
    result = run(*REPORT, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["sop_id", "step", "executions"]
    assert "compliance_pct" in header
    assert "median_seconds" in header
    body = [line for line in lines if not line.startswith("# ")]
    rows = list(csv.DictReader(io.StringIO("\n".join(body))))
    assert rows
    assert all(row["sop_id"] for row in rows)
    assert lines[-1].startswith("# content_sha256: ")
    meta = footer(result.stdout)
    assert int(meta["log_position"]) > 0
    assert meta["period"] == "2024-Q3"
    # the hash is of the content, not of the format: the JSON report carries the same one
    as_json = json.loads(run(*REPORT, "--format", "json").stdout)
    assert meta["content_sha256"] == as_json["content_sha256"]


def test_table_prints_the_manifest_and_the_groups(run: Run) -> None:
    result = run(*REPORT, "--format", "table")
    assert result.exit_code == 0, result.output
    assert "period: 2024-Q3" in result.stdout
    assert "content_sha256: " in result.stdout
    assert "calendar_version: pemprov-sumbar@" in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("sop_id"))
    assert "compliance_pct" in header
    assert "biro-org.pengukuran-kinerja" in result.stdout
    assert run(*REPORT).stdout == result.stdout  # table is the default


def test_the_same_command_twice_prints_the_same_hash(run: Run) -> None:
    first = footer(run(*REPORT, "--format", "csv").stdout)
    second = footer(run(*REPORT, "--format", "csv").stdout)
    assert first["content_sha256"] == second["content_sha256"]
    assert first == second


def test_as_of_replays_the_ledger_as_it_was_known_then(run: Run) -> None:
    now = json.loads(run(*REPORT, "--format", "json").stdout)
    result = run(*REPORT, "--as-of", "2024-10-15T00:00:00+07:00", "--format", "json")
    assert result.exit_code == 0, result.output
    then = json.loads(result.stdout)
    assert then["manifest"]["as_of"] == "2024-10-15T00:00:00+07:00"
    assert 0 < then["manifest"]["log_position"] <= now["manifest"]["log_position"]
    again = run(*REPORT, "--as-of", "2024-10-15T00:00:00+07:00", "--format", "json")
    assert json.loads(again.stdout)["content_sha256"] == then["content_sha256"]


@pytest.mark.parametrize("value", ["2024-10-01T00:00:00", "yesterday", "2024-13-01T00:00+07:00"])
def test_an_as_of_without_offset_or_not_a_time_is_refused(run: Run, value: str) -> None:
    result = run(*REPORT, "--as-of", value)
    assert result.exit_code == 2
    assert "as_of" in result.output
    assert value in result.output or "offset" in result.output
    assert "content_sha256" not in result.output


def test_a_period_that_is_no_quarter_is_refused(run: Run) -> None:
    result = run("report", "sla", "--period", "2024-Q9", "--format", "json")
    assert result.exit_code == 1
    assert "2024-Q9" in result.output
    assert "period" in result.output
    assert "2024-Q3" in result.output  # says what a period looks like
    assert result.stdout == ""


def test_the_data_dir_is_the_one_given(run: Run, tmp_path: Path) -> None:
    """An empty, never upgraded data dir is refused, not silently reported on."""
    runner = CliRunner()
    env = {"LEDGER_DATA_DIR": str(tmp_path / "empty"), "LEDGER_DATABASE_URL": None}
    result = runner.invoke(main, [*REPORT, "--format", "json"], env=env)
    assert result.exit_code == 1
    assert "sop-ledger db upgrade" in result.output
    assert run(*REPORT, "--format", "json").exit_code == 0
