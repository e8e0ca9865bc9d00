"""The steps of a benchmark run: announced, timed, and a failure recorded instead of raised,
so one broken measurement never loses the others."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
