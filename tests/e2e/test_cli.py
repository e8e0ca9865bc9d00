"""The sop-ledger command line, run in-process against a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli import main

BROKEN = Path(__file__).parents[1] / "fixtures" / "broken_sops"
SEEDS = Path(__file__).parents[2] / "ledger" / "catalogue" / "seeds"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_services_refuse_a_store_that_was_not_upgraded(run) -> None:  # type: ignore[no-untyped-def]
    result = run("sops", "list")
    assert result.exit_code == 1
    assert "sop-ledger db upgrade" in result.output


def test_sops_list_shows_the_three_seeds_with_versions(run) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    assert "up to date" in run("db", "upgrade").output
    assert run("sops", "publish").exit_code == 0
    assert "already published" in run("sops", "publish").output
    listing = run("sops", "list").output
    for sop_id, version in (
        ("biro-org.pengukuran-kinerja", "2023-04-06"),
        ("dinas-bmcktr.pengukuran-kinerja", "2024-01-11"),
        ("biro-org.evaluasi-kinerja-internal", "2023-04-06"),
    ):
        assert any(sop_id in line and version in line for line in listing.splitlines())
    shown = run("sops", "show", "dinas-bmcktr.pengukuran-kinerja").output
    assert "returns to [4, 5]" in shown
    assert "inferred" in shown


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("unknown_role.yaml", "steps[1].accountable"),
        ("dangling_next.yaml", ".next"),
        ("loop.yaml", "steps"),
        ("duplicate_step.yaml", "number"),
        ("bad_yaml.yaml", "(file)"),
    ],
)
def test_sops_check_names_file_field_and_problem(run, name: str, field: str) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "sops", "check", str(SEEDS / "biro-org.pengukuran-kinerja.yaml"), str(BROKEN / name)
    )
    assert result.exit_code == 1
    assert f"ok {SEEDS / 'biro-org.pengukuran-kinerja.yaml'}" in result.output
    line = next(x for x in result.output.splitlines() if "INVALID" in x)
    assert str(BROKEN / name) in line
    assert field in line


def test_directory_import_is_all_or_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,parent,kind\nbiro-x,Biro X,,biro\nbiro-x.a,Bagian A,biro-x,bagian\n"
    )
    assert run("directory", "import", str(units)).exit_code == 0
    people = tmp_path / "people.csv"
    header = "nip,name,employee_type,role,unit,valid_from,valid_until,capacity,acting_for,decree\n"
    good = "197305131997032005,Fitriati,pns,kepala_biro,biro-x,2023-01-02T00:00:00+07:00,,,,\n"
    bad = "19730513199703200,Salah,pns,kasubag_tu,biro-x,2023-01-02T00:00:00+07:00,,,,\n"
    people.write_text(header + good + bad)
    refused = run("directory", "import", str(people))
    assert refused.exit_code == 1
    assert f"{people}:3:" in refused.output
    assert "nothing imported" in refused.output
    assert run("directory", "show", "197305131997032005").exit_code == 1
    people.write_text(header + good)
    assert run("directory", "import", str(people)).exit_code == 0
    shown = run("directory", "show", "197305131997032005").output
    assert "kepala_biro" in shown
    assert "biro-x" in shown


def test_open_record_and_show_a_case(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    assert run("sops", "publish").exit_code == 0
    assert run("directory", "demo").exit_code == 0
    opened = run(
        "cases",
        "open",
        "--sop",
        "biro-org.evaluasi-kinerja-internal",
        "--unit",
        "biro-org",
        "--period",
        "2024-TW3",
        "--at",
        "2024-10-01T08:00:00+07:00",
    )
    assert opened.exit_code == 0, opened.output
    case_id = opened.output.split()[0]
    again = run(
        "cases",
        "open",
        "--sop",
        "biro-org.evaluasi-kinerja-internal",
        "--unit",
        "biro-org",
        "--period",
        "2024-Q3",
    )
    assert again.exit_code == 1
    assert "case-already-open" in again.output
    ok = run(
        "record",
        case_id,
        "--step",
        "1",
        "--action",
        "disposition",
        "--actor",
        "197305131997032005",
        "--at",
        "2024-10-01T09:00:00+07:00",
        "--doc",
        "Disposisi|disposisi|001/ORG/2024||paper",
    )
    assert ok.exit_code == 0, ok.output
    wrong = run(
        "record",
        case_id,
        "--step",
        "3",
        "--action",
        "meeting",
        "--actor",
        "197305131997032005",
        "--at",
        "2024-10-01T10:00:00+07:00",
    )
    assert wrong.exit_code == 1
    assert "step-order" in wrong.output
    naive = run(
        "record",
        case_id,
        "--step",
        "2",
        "--action",
        "draft",
        "--actor",
        "198203142006042003",
        "--at",
        "2024-10-01T10:00:00",
    )
    assert naive.exit_code == 2
    assert "offset" in naive.output
    shown = run("cases", "show", case_id).output
    assert "case.disposition" in shown
    assert "2024-10-01 09:00 WIB" in shown
    assert "awaiting: 2" in shown
    assert "2024-Q3" in run("cases", "list").output


def test_demo_fills_an_empty_store_once(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "12 kasus/cases" in first.output
    assert "skipped" in run("demo", "--if-empty").output
    assert run("demo").exit_code == 1
    listing = run("cases", "list").output
    assert listing.count("completed") == 12


def test_a_ragged_or_binary_csv_is_refused_whole(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    ragged = tmp_path / "units.csv"
    ragged.write_text("code,name,parent,kind\nbiro-y,Biro Y,,biro\nbiro-z\n")
    refused = run("directory", "import", str(ragged))
    assert refused.exit_code == 1
    assert "wrong number of cells on line(s) 3" in refused.output
    binary = tmp_path / "people.csv"
    binary.write_bytes(b"nip,name\n\xff\xfe\x00bad\n")
    assert "not a UTF-8 CSV" in run("directory", "import", str(binary)).output
    ragged.write_text("code,name,parent,kind\nbiro-y,Biro Y,,biro\n")
    assert run("directory", "import", str(ragged)).exit_code == 0
