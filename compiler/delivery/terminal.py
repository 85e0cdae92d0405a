"""The progress bar of `send` on a terminal (rich): done of total, calls/s, in flight, ETA."""

from __future__ import annotations

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
from .progress import fields
from .tally import Tally


class _CallsPerSecond(ProgressColumn):
    """rich's own speed estimate, in calls/s."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("… calls/s" if speed is None else f"{speed:,.0f} calls/s")


class ProgressBar:
    """A progress bar, redrawn in place on a terminal."""

    interval = 0.25

    def __init__(self, name: str, total: int | None):
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _CallsPerSecond(),
            TextColumn("in flight {task.fields[in_flight]}/{task.fields[limit]}"),
            TextColumn("retried {task.fields[retries]}"),
            TextColumn("dead-lettered {task.fields[dead]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(name, total=total, **fields(Tally(), None))

    def start(self) -> None:
        """Show the bar."""
        self._progress.start()

    def update(self, tally: Tally, limiter: Limiter | None) -> None:
        """Redraw with the current counts."""
        self._progress.update(self._task, completed=tally.done, **fields(tally, limiter))

    def stop(self, tally: Tally, limiter: Limiter | None) -> None:
        """Draw the final counts and leave the bar on the screen."""
        self.update(tally, limiter)
        self._progress.stop()
