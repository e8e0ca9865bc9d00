"""``sop-ledger projections``: run the read-model worker, show its progress."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from ledger.bootstrap import build_runner
from ledger.cli.context import load_settings, opened_ledger, refusals
from projections.runner import RunnerBusyError


@click.group(help="Proyeksi (tampilan baca) / projections (read models).")
def projections() -> None:
    pass


@projections.command("run", help="Jalankan pekerja proyeksi / run the projection worker.")
@click.option("--once", is_flag=True, help="catch up, then exit / kejar ketertinggalan lalu keluar")
@click.option("--page-size", type=click.IntRange(min=1), default=5_000, show_default=True)
@refusals
def run(once: bool, page_size: int) -> None:
    settings = load_settings()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with opened_ledger() as ledger:
        runner = build_runner(settings, ledger, page_size=page_size)
        try:
            with runner.store.lock(runner.projection.name) as held:
                if not held:
                    raise RunnerBusyError(
                        "proyeksi sedang dijalankan pekerja lain / "
                        "another worker is running this projection"
                    )
                generation = runner.prepare()
                click.echo(
                    f"proyeksi/projection {generation.projection} g{generation.number} "
                    f"({generation.state}) dari posisi/from position {generation.position}"
                )
                runner.catch_up()
                if not once:
                    runner.follow(stop)
        except RunnerBusyError as error:
            raise click.ClickException(str(error)) from None
        finally:
            runner.store.close()
        progress = runner.progress()
        click.echo(
            f"posisi/position {progress.position}, kepala log/head {progress.head}, "
            f"tertinggal/lag {progress.lag}"
        )


@projections.command("status", help="Posisi dan ketertinggalan / position and lag.")
@refusals
def status() -> None:
    settings = load_settings()
    with opened_ledger() as ledger:
        runner = build_runner(settings, ledger)
        try:
            head = ledger.max_position()
            for g in runner.store.generations(runner.projection.name):
                current = (
                    "  <- versi kode ini / this code's version"
                    if (g.version == runner.projection.version)
                    else ""
                )
                click.echo(
                    f"g{g.number} {g.state:<8} posisi/position {g.position:>9}  "
                    f"lag {max(0, head - g.position):>7}  {g.version}{current}"
                )
        finally:
            runner.store.close()
