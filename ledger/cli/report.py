"""``sop-ledger report sla``: a quarter's SLA figures, replayed from the log."""

from __future__ import annotations

import csv
import io
import sys

import click
import orjson

from ledger.bootstrap import load_work_calendar, report_runners
from ledger.cli.context import load_settings, opened_ledger, parse_time, refusals, table
from projections.queries import GROUPINGS
from projections.report import SlaReport, build_sla_report


@click.group(help="Laporan / reports.")
def report() -> None:
    pass


@report.command("sla", help="Kepatuhan waktu per langkah / per-step SLA compliance.")
@click.option("--period", required=True, help="2024-Q3 atau/or 2024-TW3")
@click.option("--as-of", "as_of", default=None, help="RFC 3339: as the ledger knew it then")
@click.option("--by", type=click.Choice(sorted(GROUPINGS)), default="step", show_default=True)
@click.option("--sop", "sop_id", default=None)
@click.option("--unit", default=None)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@refusals
def sla(
    period: str, as_of: str | None, by: str, sop_id: str | None, unit: str | None, fmt: str
) -> None:
    settings = load_settings()
    cutoff = parse_time(as_of, "as_of")
    calendar = load_work_calendar(settings)
    with opened_ledger() as ledger:
        result = build_sla_report(
            report_runners(settings, ledger, calendar),
            period,
            as_of=cutoff,
            by=by,
            sop_id=sop_id,
            unit=unit,
        )
    _print(result, fmt)


def _print(result: SlaReport, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return
    if fmt == "csv":
        out = io.StringIO()
        if result.groups:
            writer = csv.DictWriter(out, fieldnames=list(result.groups[0]))
            writer.writeheader()
            writer.writerows(result.groups)
        sys.stdout.write(out.getvalue())
        for key, value in result.manifest.items():
            sys.stdout.write(f"# {key}: {value}\n")
        sys.stdout.write(f"# content_sha256: {result.content_sha256}\n")
        return
    for key, value in result.manifest.items():
        click.echo(f"{key}: {value}")
    click.echo(f"content_sha256: {result.content_sha256}")
    click.echo("")
    if not result.groups:
        click.echo("tidak ada eksekusi langkah / no step executions in this period")
        return
    header = tuple(result.groups[0])
    table([tuple(_cell(v) for v in g.values()) for g in result.groups], header)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return str(value)
