"""Shared CLI plumbing: settings, building the ledger, printing refusals."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from ledger.bootstrap import SchemaNotReadyError, build_ledger
from ledger.core.clock import as_utc, as_wib
from ledger.core.errors import LedgerError
from ledger.ledger import Ledger
from ledger.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise click.ClickException(f"pengaturan tidak valid / invalid settings: {error}") from None


@contextmanager
def opened_ledger() -> Iterator[Ledger]:
    try:
        ledger = build_ledger(load_settings())
    except SchemaNotReadyError as error:
        raise click.ClickException(str(error)) from None
    try:
        yield ledger
    finally:
        ledger.close()


def refusals(function: F) -> F:
    """Print a ledger refusal as one clear line and exit 1 (nothing was written)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except LedgerError as error:
            where = f" [{error.field}]" if error.field else ""
            click.echo(f"ditolak / refused ({error.code}){where}: {error.message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def parse_time(value: str | None, field: str = "occurred_at") -> datetime | None:
    """RFC 3339 with offset; a naive time is refused rather than guessed."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} bukan waktu RFC 3339 / is not an RFC 3339 time "
            "(e.g. 2024-07-01T09:00:00+07:00)",
            param_hint=field,
        ) from None
    try:
        return as_utc(parsed, field)
    except LedgerError as error:
        raise click.BadParameter(error.message, param_hint=field) from None


def wib(moment: datetime | None) -> str:
    return "-" if moment is None else as_wib(moment).strftime("%Y-%m-%d %H:%M WIB")


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        click.echo(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
