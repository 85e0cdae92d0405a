"""What a person sees while `send` runs: a rich progress bar on a terminal, else status lines.

Both show the same things: units done (of the total when it is known), calls
per second, calls in flight and the limit, retries, dead letters and the time
left. Neither is ever given the API key.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .concurrency import Limiter
from .tally import Tally


class _CallsPerSecond(ProgressColumn):
    """rich's own speed estimate, in calls/s."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("… calls/s" if speed is None else f"{speed:,.0f} calls/s")


class RichStatus:
    """A progress bar, redrawn in place on a terminal."""

    interval = 0.25

    def __init__(self, console: Console, name: str, total: int | None):
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _CallsPerSecond(),
            TextColumn("in flight {task.fields[in_flight]}/{task.fields[limit]}"),
            TextColumn("retried {task.fields[retries]}"),
            TextColumn("dead-lettered {task.fields[dead]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(name, total=total, **_fields(Tally(), None))

    def start(self) -> None:
        """Show the bar."""
        self._progress.start()

    def update(self, tally: Tally, limiter: Limiter | None) -> None:
        """Redraw with the current counts."""
        self._progress.update(self._task, completed=tally.done, **_fields(tally, limiter))

    def stop(self, tally: Tally, limiter: Limiter | None) -> None:
        """Draw the final counts and leave the bar on the screen."""
        self.update(tally, limiter)
        self._progress.stop()


def _fields(tally: Tally, limiter: Limiter | None) -> dict:
    return {
        "in_flight": 0 if limiter is None else limiter.in_flight,
        "limit": "-" if limiter is None else limiter.limit,
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
        line = f"{self.name}: {progress}, {rate:,.0f}/s"
        if limiter is not None:
            line += f", in flight {limiter.in_flight}/{limiter.limit}"
        line += f", retried {tally.retries:,}, dead-lettered {tally.dead:,}"
        if self.total and rate > 0:
            line += f", ETA {timedelta(seconds=round((self.total - done) / rate))}"
        print(line, file=self.stream, flush=True)

    def stop(self, tally: Tally, limiter: Limiter | None) -> None:
        """Nothing to add: the summary follows."""


def status_display(name: str, total: int | None, interval: float) -> RichStatus | PlainStatus:
    """A progress bar when stderr is a terminal, else plain status lines."""
    console = Console(stderr=True)
    if console.is_terminal:
        return RichStatus(console, name, total)
    return PlainStatus(sys.stderr, name, total, interval)
