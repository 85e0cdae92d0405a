"""What a person sees while `send` runs: status lines, or on a terminal a progress bar.

The bar is in `terminal` (rich, imported only then). Both show the same
things: units done (of the total when it is known), calls per second, calls
in flight and the limit, retries, dead letters and the time left. Neither is
ever given the API key.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import TextIO

from .concurrency import Limiter
from .tally import Tally


def fields(tally: Tally, limiter: Limiter | None) -> dict[str, str]:
    """The counts both displays show besides progress and rate."""
    return {
        "in_flight": "0" if limiter is None else str(limiter.in_flight),
        "limit": "-" if limiter is None else str(limiter.limit),
        "retries": f"{tally.retries:,}",
        "dead": f"{tally.dead:,}",
    }


class PlainStatus:
    """A status line every `interval` seconds, for logs and pipes."""

    def __init__(self, stream: TextIO, name: str, total: int | None, interval: float):
        self.stream = stream
        self.name = name
        self.total = total
        self.interval = interval
        self._last = (time.monotonic(), 0)

    def start(self) -> None:
        """Start measuring the rate."""
        self._last = (time.monotonic(), 0)

    def update(self, tally: Tally, limiter: Limiter | None) -> None:
        """Print one line: progress, rate, in flight, retries, dead letters, time left."""
        now, done = time.monotonic(), tally.done
        then, before = self._last
        rate = (done - before) / (now - then) if now > then else 0.0
        self._last = (now, done)
        progress = f"{done:,}"
        if self.total:
            progress += f"/{self.total:,} {tally.unit} ({100 * done / self.total:.0f}%)"
        else:
            progress += f" {tally.unit}"
        shown = fields(tally, limiter)
        line = (
            f"{self.name}: {progress}, {rate:,.0f}/s, in flight {shown['in_flight']}/{shown['limit']}"
            f", retried {shown['retries']}, dead-lettered {shown['dead']}"
        )
        if self.total and rate > 0:
            line += f", ETA {timedelta(seconds=round((self.total - done) / rate))}"
        print(line, file=self.stream, flush=True)

    def stop(self, tally: Tally, limiter: Limiter | None) -> None:
        """Nothing to add: the summary follows."""


def status_display(name: str, total: int | None, interval: float):
    """A progress bar (rich) when stderr is a terminal, else plain status lines."""
    if sys.stderr.isatty():
        from .terminal import ProgressBar  # rich is imported only for a terminal

        return ProgressBar(name, total)
    return PlainStatus(sys.stderr, name, total, interval)
