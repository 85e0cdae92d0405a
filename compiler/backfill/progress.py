"""What a person sees: a progress bar while the backfill runs, a summary at the end.

The bar counts files and events done, events per second and the time left
(estimated from the bytes of input done, the one total known in advance),
and shows the Dask dashboard's address when the scheduler serves one. It
moves as tasks finish: one task is one compressed file or one part of a
large one.
"""

from __future__ import annotations

from typing import Protocol

from ..runner import RunStats


class Observer(Protocol):
    """Told how the backfill advances (the progress bar, or a test's recorder)."""

    def start(self, files: int, total_bytes: int, dashboard: str | None) -> None: ...

    def advance(self, *, files: int = 0, done_bytes: int = 0, events: int = 0) -> None: ...

    def stop(self) -> None: ...


class Quiet:
    """An observer that shows nothing (`--quiet`, and the Python API by default)."""

    def start(self, files: int, total_bytes: int, dashboard: str | None) -> None:
        pass

    def advance(self, *, files: int = 0, done_bytes: int = 0, events: int = 0) -> None:
        pass

    def stop(self) -> None:
        pass


class ProgressBar:
    """A rich progress bar on stderr."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self._progress = None
        self._task = None

    def start(self, files: int, total_bytes: int, dashboard: str | None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        if dashboard:
            self.console.print(f"Dask dashboard: {dashboard}")
        self._progress = Progress(
            TextColumn("backfill"),
            BarColumn(),
            TextColumn("{task.fields[files]:,}/{task.fields[total_files]:,} files"),
            TextColumn("{task.fields[events]:,} events"),
            _event_rate_column(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "backfill", total=max(total_bytes, 1), files=0, total_files=files, events=0
        )

    def advance(self, *, files: int = 0, done_bytes: int = 0, events: int = 0) -> None:
        task = self._progress.tasks[0]
        self._progress.update(
            self._task,
            advance=done_bytes,
            files=task.fields["files"] + files,
            events=task.fields["events"] + events,
        )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _event_rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class EventRate(ProgressColumn):
        """Events per second since the start."""

        def render(self, task) -> Text:
            elapsed = task.elapsed or 0.0
            rate = task.fields["events"] / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:,.0f} events/s")

    return EventRate()


def summary(report, outdir: str) -> str:
    """The final summary: inputs, counts added up over every input, failures by name."""
    done = len(report.records)
    head = (
        f"backfill: {report.inputs} inputs: {done - report.reused} done now, "
        f"{report.reused} already done (skipped), {len(report.failures)} failed"
    )
    if report.interrupted:
        head += f", {report.inputs - done - len(report.failures)} not done (interrupted)"
    lines = [head, _indent(report.stats.summary())]
    if report.not_imported:
        lines.append(f"  {report.not_imported} calls not imported (see the rejects files)")
    lines.append(f"  outputs and manifest.jsonl in {outdir}")
    if report.peak_rss_kib:
        lines.append(f"  peak memory of a worker: {report.peak_rss_kib / 1024:,.0f} MiB")
    for url, error in report.failures:
        lines.append(f"failed: {url}: {error}")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def total(records) -> RunStats:
    """The counts of many records, added up."""
    stats = RunStats()
    for record in records:
        stats.merge(record.stats)
    return stats
