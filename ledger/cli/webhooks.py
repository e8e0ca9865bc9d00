"""``sop-ledger webhooks run``: the webhook dispatcher as its own worker."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from ledger.bootstrap import build_dispatcher
from ledger.cli.context import load_settings, opened_ledger, refusals
from ledger.feed.waiting import LogWaiter
from ledger.settings import Settings
from ledger.webhooks.dispatcher import Dispatcher


@click.group(help="Langganan webhook / webhook subscriptions.")
def webhooks() -> None:
    pass


@webhooks.command("run", help="Kirim webhook / run the webhook dispatcher.")
@click.option(
    "--once", is_flag=True, help="deliver what is due now, then exit / kirim yang jatuh tempo"
)
@refusals
def run(once: bool) -> None:
    """Several dispatchers may run (beside ``serve``'s own): each subscription is delivered
    by one of them at a time, under its lock."""
    settings = load_settings()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with opened_ledger() as ledger:
            dispatcher = build_dispatcher(settings, ledger)
            try:
                _dispatch(dispatcher, settings, stop, once=once)
            finally:
                dispatcher.store.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _dispatch(
    dispatcher: Dispatcher, settings: Settings, stop: threading.Event, *, once: bool
) -> None:
    if once:
        click.echo(f"langkah pengiriman / delivery steps: {drain(dispatcher, stop)}")
        return
    click.echo(f"pengirim webhook berjalan / webhook dispatcher running ({settings.backend})")
    dispatcher.run(stop, LogWaiter(settings.database_url), concurrency=settings.webhook_concurrency)


def drain(dispatcher: Dispatcher, stop: threading.Event) -> int:
    """Passes until one finds nothing due now; the steps taken."""
    total = 0
    while not stop.is_set():
        steps, _next_due = dispatcher.run_once(stop=stop)
        if steps == 0:
            break
        total += steps
    return total
