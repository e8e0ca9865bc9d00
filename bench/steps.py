"""The steps of a benchmark run: announced, timed, and a failure recorded instead of raised,
so one broken measurement never loses the others."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager


class Steps:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def say(self, text: str) -> None:
        print(text, flush=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.say(f"- {label} ...")
        started = time.perf_counter()
        try:
            yield
        except Exception as error:  # one broken measurement must not lose the others
            self.failures.append(f"{label}: {error!r}")
            self.say(f"  FAILED: {error!r}")
        else:
            self.say(f"  done in {time.perf_counter() - started:.0f} s")


def parts_of(known: Sequence[str]) -> Callable[[str], frozenset[str]]:
    """The ``--only`` argument type: comma-separated names among ``known``."""

    def parse(text: str) -> frozenset[str]:
        chosen = frozenset(p.strip() for p in text.split(",") if p.strip())
        unknown = chosen - set(known)
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"parts are {', '.join(known)}; got {text!r}")
        return chosen

    return parse


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
