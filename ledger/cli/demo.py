"""``sop-ledger demo``: a realistic year in the store (seeds, directory, 12 cases)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ledger.bootstrap import SchemaNotReadyError, build_ledger
from ledger.cli.context import load_settings
from ledger.demo.org import install_directory, publish_seeds


@click.command(help="Isi data contoh satu tahun / fill the store with a demo year.")
@click.option("--year", type=int, default=2024, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--if-empty", is_flag=True, help="lewati bila tidak kosong / skip unless empty")
def demo(year: int, seed: int, if_empty: bool) -> None:
    from ledger.demo.year import SimClock, generate_year

    clock = SimClock(datetime(year, 1, 2, tzinfo=UTC))
    try:
        ledger = build_ledger(load_settings(), clock)
    except SchemaNotReadyError as error:
        raise click.ClickException(str(error)) from None
    try:
        if ledger.max_position():
            if if_empty:
                click.echo("penyimpanan berisi; demo dilewati / store not empty; demo skipped")
                return
            raise click.ClickException(
                "demo hanya untuk penyimpanan kosong / demo needs an empty store "
                "(its simulated clock would run behind the recorded history)"
            )
        publish_seeds(ledger)
        install_directory(ledger)
        with click.progressbar(length=1, label="tahun contoh / demo year") as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            summary = generate_year(ledger, clock, year, seed=seed, progress=progress)
    finally:
        ledger.close()
    click.echo(
        f"{summary.cases} kasus/cases, {summary.events} peristiwa/events, "
        f"{summary.returns} pengembalian/returns, {summary.late_steps} langkah terlambat/late, "
        f"{summary.back_dated} dicatat mundur/back-dated"
    )
