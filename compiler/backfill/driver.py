"""The backfill itself: inputs -> Dask tasks -> output files and the manifest.

One task per input file (`task.process_source`); a zip or a large plain file
comes back as parts, each a task of its own (`task.process_part`). Dask
retries a task that raised (`retries`) and reschedules the tasks of a worker
that died; since every output file appears whole under a name fixed by its
input, a task run twice leaves the same files once.

Resuming: an input with a manifest record made with the same settings, the
same size and output files still present is hashed again (a task, far
cheaper than transforming it); when its sha256 is unchanged it is skipped.

The driver keeps results in input order and rewrites the manifest every
`CHECKPOINT_SECONDS` and at the end (also when interrupted).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..runner import RunStats
from . import manifest
from .inputs import Source, discover
from .manifest import Record
from .outputs import Destination
from .progress import Observer, Quiet, total
from .task import (
    Part,
    PartResult,
    Program,
    Settings,
    Split,
    Whole,
    hash_source,
    process_part,
    process_source,
    program_plugin,
)

CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    """What to backfill, where to, and how."""

    program: Program
    inputs: tuple[str, ...]
    outdir: str
    output_format: str = "ndjson"
    compress: str = "none"
    split_bytes: int = 128 << 20
    adapter: str = "auto"
    retries: int = 2
    resume: bool = True

    def settings(self) -> Settings:
        """What the tasks need to know."""
        return Settings(
            self.outdir,
            self.program.sha256,
            self.output_format,
            self.compress,
            self.split_bytes,
            self.adapter,
        )

    def fingerprint(self) -> str:
        """The manifest fingerprint of these settings (see `manifest`)."""
        return manifest.fingerprint(
            self.program.sha256, self.output_format, self.compress, self.adapter, self.split_bytes
        )


@dataclass
class Report:
    """How a backfill went; `records` are this run's inputs done, in input order."""

    inputs: int
    records: list[Record] = field(default_factory=list)
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    peak_rss_kib: int = 0
    dashboard: str | None = None

    @property
    def stats(self) -> RunStats:
        """The counts of every input done, added up."""
        return total(self.records)

    @property
    def not_imported(self) -> int:
        """Calls that Accoil's import format could not take."""
        return sum(record.not_imported for record in self.records)

    @property
    def ok(self) -> bool:
        """Every input done."""
        return not self.failures and not self.interrupted and len(self.records) == self.inputs


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A Dask client: of the cluster at `scheduler`, else of a new local cluster of processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":8787" if has_bokeh() else ":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def has_bokeh() -> bool:
    """Whether this process can draw the dashboard (distributed serves it only with bokeh)."""
    return importlib.util.find_spec("bokeh") is not None


def dashboard_link(client) -> str | None:
    """The dashboard's address when the scheduler serves one."""
    if "dashboard" not in client.scheduler_info().get("services", {}):
        return None
    try:
        serving = client.run_on_scheduler(has_bokeh)
    except Exception:  # noqa: BLE001 - a scheduler without accoil-map: assume it has a dashboard
        serving = True
    return client.dashboard_link if serving else None


def find_sources(job: Job) -> list[Source]:
    """The job's input files (InputError when an argument names none)."""
    return discover(list(job.inputs), exclude=job.outdir)


def backfill(
    job: Job, client, observer: Observer | None = None, sources: list[Source] | None = None
) -> Report:
    """Run a backfill on a Dask client; KeyboardInterrupt stops it cleanly (report.interrupted).

    `sources` are the job's input files when already found (`find_sources`).
    """
    observer = observer or Quiet()
    sources = find_sources(job) if sources is None else sources
    destination = Destination(job.outdir)
    destination.prepare()
    destination.remove_temporaries()
    run = _Run(job, sources, destination, client, observer)
    observer.start(len(sources), sum(source.size for source in sources), dashboard_link(client))
    try:
        run.execute()
    except KeyboardInterrupt:
        run.report.interrupted = True
        run.cancel()
    finally:
        observer.stop()
        run.checkpoint()
        destination.remove_temporaries()
    return run.report


#: How long an interrupted run waits for the tasks its workers are still running.
CANCEL_WAIT_SECONDS = 10.0


def _holds_task(prefix: str, dask_worker) -> bool:
    """Whether a worker still holds a task whose key starts with `prefix` (queued,
    running, or cancelled while running: it keeps it until its code returns)."""
    return any(str(key).startswith(prefix) for key in dask_worker.state.tasks)


def _wait_until_released(client, prefix: str, seconds: float) -> None:
    """Wait until no worker holds a task of this run, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    holds = functools.partial(_holds_task, prefix)
    while time.monotonic() < deadline:
        try:
            if not any(client.run(holds).values()):
                return
        except Exception:  # noqa: BLE001 - a worker gone or a cluster stopping: nothing to wait for
            return
        time.sleep(0.05)


class _Run:
    """The state of one backfill while its tasks run."""

    def __init__(self, job: Job, sources: list[Source], destination: Destination, client, observer):
        self.job, self.sources, self.destination = job, sources, destination
        self.client, self.observer = client, observer
        self.settings = job.settings()
        self.fingerprint = job.fingerprint()
        self.report = Report(len(sources))
        self.previous = manifest.load(destination) if job.resume else {}
        self.present = destination.sizes() if self.previous else {}
        self.done: dict[int, Record] = {}
        self.stale: set[str] = set()  # inputs whose earlier record no longer holds
        self.splits: dict[int, tuple[Split, list[PartResult | None]]] = {}
        self.meta: dict = {}  # future -> (kind, source index, part)
        self.prefix = f"accoil-map-{uuid.uuid4().hex[:8]}-"  # this run's task keys
        self.keys = (f"{self.prefix}{n}" for n in itertools.count())
        self.saved_at = time.monotonic()
        self.completed = None

    def execute(self) -> None:
        from distributed import as_completed

        self.client.register_plugin(program_plugin(self.job.program))
        self.completed = as_completed()
        for index, source in enumerate(self.sources):
            if self._reusable(source):
                self._submit("verify", index, hash_source, source)
            else:
                self._submit("source", index, process_source, source, self.settings)
        for future in self.completed:
            if future.status not in ("finished", "error", "cancelled"):
                # Done, then lost with the worker that held its result: Dask computes it
                # again, so wait for it once more.
                self.completed.add(future)
                continue
            kind, index, part = self.meta.pop(future)
            if future.status != "finished":
                self._fail(index, future)
            else:
                getattr(self, f"_on_{kind}")(index, part, future.result())
            future.release()
            if time.monotonic() - self.saved_at >= CHECKPOINT_SECONDS:
                self.checkpoint()

    def cancel(self) -> None:
        """Stop every task still queued, and wait (a while) for those already running:
        Dask cannot stop a task's code, and one still writing would leave its temporary
        file behind the clean-up."""
        if self.meta:
            self.client.cancel(list(self.meta))
            self.meta.clear()
            _wait_until_released(self.client, self.prefix, CANCEL_WAIT_SECONDS)

    def checkpoint(self) -> None:
        """Write the manifest: this run's inputs in order, then other inputs recorded before."""
        records = []
        for index, source in enumerate(self.sources):
            record = self.done.get(index)
            if record is None and source.url not in self.stale:
                record = self.previous.get(source.url)
            if record is not None:
                records.append(record)
        named = {source.url for source in self.sources}
        records += [record for url, record in self.previous.items() if url not in named]
        manifest.write(self.destination, records)
        self.report.records = [self.done[index] for index in sorted(self.done)]
        self.saved_at = time.monotonic()

    # Submitting and receiving --------------------------------------------------

    def _submit(self, kind: str, index: int, function, *args, part: Part | None = None) -> None:
        future = self.client.submit(
            function, *args, key=next(self.keys), retries=self.job.retries, pure=False
        )
        self.meta[future] = (kind, index, part)
        self.completed.add(future)

    def _reusable(self, source: Source) -> bool:
        record = self.previous.get(source.url)
        return (
            record is not None
            and record.fingerprint == self.fingerprint
            and record.size == source.size
            and all(self.present.get(out.path) == out.bytes for out in record.outputs)
        )

    def _on_verify(self, index: int, _, digest: tuple[str, int]) -> None:
        source = self.sources[index]
        record = self.previous[source.url]
        if digest == (record.sha256, record.size):
            self.done[index] = record
            self.report.reused += 1
            self.observer.advance(files=1, done_bytes=source.size)
            return
        self.stale.add(source.url)  # changed since: do it again
        self._submit("source", index, process_source, source, self.settings)

    def _on_source(self, index: int, _, outcome: Whole | Split) -> None:
        if isinstance(outcome, Whole):
            self._record(index, outcome, [outcome.result])
            return
        self.splits[index] = (outcome, [None] * len(outcome.parts))
        for part in outcome.parts:
            self._submit("part", index, process_part, part, self.settings, part=part)
        if not outcome.parts:  # a zip without members
            self._record(index, outcome, [])

    def _on_part(self, index: int, part: Part, result: PartResult) -> None:
        if index not in self.splits:  # the input failed in another part
            return
        split, results = self.splits[index]
        results[part.index] = result
        self.observer.advance(done_bytes=part.size, events=result.stats.lines)
        if all(result is not None for result in results):
            del self.splits[index]
            self._record(index, split, results)

    def _record(self, index: int, outcome: Whole | Split, results: list[PartResult]) -> None:
        stats = RunStats()
        for result in results:
            stats.merge(result.stats)
            self.report.peak_rss_kib = max(self.report.peak_rss_kib, result.peak_rss_kib)
        self.done[index] = Record(
            input=outcome.source.url,
            format=outcome.format.label,
            size=outcome.size,
            sha256=outcome.sha256,
            fingerprint=self.fingerprint,
            stats=stats,
            not_imported=sum(result.not_imported for result in results),
            outputs=tuple(output for result in results for output in result.outputs),
        )
        self._remove_superseded(self.done[index])
        if isinstance(outcome, Whole):
            self.observer.advance(files=1, done_bytes=outcome.size, events=stats.lines)
        else:
            left = outcome.size - sum(part.size for part in outcome.parts)
            self.observer.advance(files=1, done_bytes=max(left, 0))

    def _remove_superseded(self, record: Record) -> None:
        """Delete the files of the input's earlier record (other settings) that it no longer has."""
        earlier = self.previous.get(record.input)
        if earlier is not None:
            kept = {output.path for output in record.outputs}
            for output in earlier.outputs:
                if output.path not in kept:
                    self.destination.remove(output.path)

    def _fail(self, index: int, future) -> None:
        source = self.sources[index]
        self.splits.pop(index, None)
        if any(failed == source.url for failed, _ in self.report.failures):
            return
        try:
            error = future.exception()
            message = f"{type(error).__name__}: {error}"
        except Exception as exc:  # noqa: BLE001 - a cancelled future has no exception to show
            message = f"{type(exc).__name__}: {exc}"
        self.report.failures.append((source.url, message))
        self.observer.advance(files=1, done_bytes=source.size)
