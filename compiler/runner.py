"""`run`: NDJSON events through a compiled mapping, one Accoil call body per output line.

Every input line is accounted for: it emitted calls, was skipped (no rule's
condition held), was rejected (bad JSON, not an object, unreadable data, a
call missing a required key), or was blank. Rejected and skipped lines go to
the rejects file with their line number, the reason and the input itself, so
nothing is lost.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from .ir import requirement

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class RunStats:
    """Counts for one run; `lines` equals emitted + skipped + rejected + blank."""

    lines: int = 0
    emitted: int = 0
    calls: int = 0
    skipped: int = 0
    rejected: int = 0
    blank: int = 0
    dropped_calls: int = 0
    reasons: Counter = field(default_factory=Counter)

    def merge(self, other: RunStats) -> None:
        """Add another chunk's counts to these."""
        for name in ("lines", "emitted", "calls", "skipped", "rejected", "blank", "dropped_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)

    def summary(self) -> str:
        """A short human summary, most frequent reasons first."""
        text = (
            f"{self.lines} lines: {self.emitted} emitted ({self.calls} calls), "
            f"{self.skipped} skipped, {self.rejected} rejected"
        )
        if self.blank:
            text += f", {self.blank} blank"
        if self.dropped_calls:
            text += f"; {self.dropped_calls} calls not emitted"
        for reason, count in self.reasons.most_common(10):
            text += f"\n  {count:>8} x {reason}"
        return text


def open_input(path: str) -> BinaryIO:
    """A binary stream of the input; `-` is stdin; gzip is detected by its magic bytes."""
    import sys

    raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    stream = io.BufferedReader(raw, buffer_size=1 << 20) if path == "-" else raw
    if stream.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")
    return stream


def _drop_reason(rule: str, missing: Iterable[str]) -> str:
    return f"rule '{rule}': " + "; ".join(requirement(key) for key in missing)


class _Outcomes:
    """Counts outcomes and writes reject records; kept off the hot path."""

    def __init__(self, write_reject: Callable[[bytes], object] | None):
        self.stats = RunStats()
        self.write_reject = write_reject

    def record(self, lineno: int, status: str, reason: str, raw: bytes, event=None) -> None:
        self.stats.reasons[f"{status}: {reason}"] += 1
        if self.write_reject is None:
            return
        entry = {"line": lineno, "status": status, "reason": reason}
        if event is not None:
            entry["event"] = event
        try:
            self.write_reject(orjson.dumps(entry) + b"\n")
        except (orjson.JSONEncodeError, TypeError):
            # The event cannot be re-encoded (e.g. a huge integer): keep the raw line.
            entry.pop("event", None)
            entry["raw"] = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            self.write_reject(orjson.dumps(entry) + b"\n")

    def reject(self, lineno: int, reason: str, raw: bytes, event=None) -> None:
        self.stats.rejected += 1
        self.record(lineno, "rejected", reason, raw, event)

    def bad_json(self, lineno: int, raw: bytes, error: Exception) -> None:
        if not raw.strip():
            self.stats.blank += 1
            return
        self.stats.rejected += 1
        self.stats.reasons["rejected: invalid JSON"] += 1
        if self.write_reject is not None:
            entry = {"line": lineno, "status": "rejected", "reason": f"invalid JSON: {error}"}
            entry["raw"] = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            self.write_reject(orjson.dumps(entry) + b"\n")

    def drops(self, lineno: int, reasons: list, raw: bytes, event, emitted: bool) -> None:
        """Calls not emitted for lack of a required key; the line is rejected if none was."""
        self.stats.dropped_calls += len(reasons)
        if not emitted:
            self.stats.rejected += 1
        status = "dropped" if emitted else "rejected"
        for rule, missing in reasons:
            self.record(lineno, status, _drop_reason(rule, missing), raw, event)

    def skip(self, lineno: int, raw: bytes, event) -> None:
        self.stats.skipped += 1
        self.record(lineno, "skipped", "no rule's condition held", raw, event)


def process_lines(
    transform: Callable,
    reject_error: type[Exception],
    lines: Iterable[tuple[int, bytes]],
    write: Callable[[bytes], object],
    write_reject: Callable[[bytes], object] | None,
) -> RunStats:
    """Transform numbered NDJSON lines; write payload lines and reject records."""
    outcomes = _Outcomes(write_reject)
    stats = outcomes.stats
    loads, dumps = orjson.loads, orjson.dumps
    reasons: list = []
    for lineno, raw in lines:
        stats.lines += 1
        try:
            event = loads(raw)
        except orjson.JSONDecodeError as exc:
            outcomes.bad_json(lineno, raw, exc)
            continue
        try:
            payloads = transform(event, reasons)
            if payloads:
                write(b"".join([dumps(payload) + b"\n" for payload in payloads]))
        except reject_error as exc:
            outcomes.reject(lineno, str(exc), raw, event)
        except orjson.JSONEncodeError as exc:
            outcomes.reject(lineno, f"a call body cannot be written as JSON: {exc}", raw, event)
        except (RecursionError, MemoryError, ValueError, TypeError) as exc:
            outcomes.reject(lineno, f"unreadable event data ({type(exc).__name__}: {exc})", raw, event)
        else:
            if reasons:
                outcomes.drops(lineno, reasons, raw, event, bool(payloads))
            if payloads:
                stats.emitted += 1
                stats.calls += len(payloads)
            elif not reasons:
                outcomes.skip(lineno, raw, event)
        reasons.clear()
    return stats


def run_stream(module, infile: BinaryIO, outfile: BinaryIO, rejects: BinaryIO | None) -> RunStats:
    """Run a generated module over a whole NDJSON stream in this process."""
    write_reject = rejects.write if rejects is not None else None
    return process_lines(
        module.transform, module.RejectEvent, enumerate(infile, 1), outfile.write, write_reject
    )


# Parallel run ---------------------------------------------------------------

CHUNK_BYTES = 1 << 20
_worker_module = None


def read_chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[tuple[int, bytes]]:
    """(first line number, whole lines) blocks of about `size` bytes each."""
    lineno, pending = 1, b""
    while True:
        block = stream.read(size)
        if not block:
            break
        block = pending + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            pending = block
            continue
        pending = block[cut:]
        yield lineno, block[:cut]
        lineno += block.count(b"\n", 0, cut)
    if pending:
        yield lineno, pending


def _init_worker(source: str, name: str) -> None:
    global _worker_module
    from .modules import import_source

    _worker_module = import_source(source, name)


def _run_chunk(job: tuple[int, bytes, bool]) -> tuple[bytes, bytes, RunStats]:
    start, block, keep_rejects = job
    lines = block.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out: list[bytes] = []
    rejects: list[bytes] = []
    stats = process_lines(
        _worker_module.transform,
        _worker_module.RejectEvent,
        enumerate(lines, start),
        out.append,
        rejects.append if keep_rejects else None,
    )
    return b"".join(out), b"".join(rejects), stats


def run_parallel(
    source: str, name: str, infile: BinaryIO, outfile: BinaryIO, rejects: BinaryIO | None, workers: int
) -> RunStats:
    """Run generated `source` in `workers` processes; output keeps the input order.

    At most two chunks per worker are in flight, so memory does not grow with the input.
    """
    import multiprocessing
    from collections import deque

    stats = RunStats()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(source, name)) as pool:
        pending: deque = deque()
        for start, block in read_chunks(infile):
            pending.append(pool.apply_async(_run_chunk, ((start, block, rejects is not None),)))
            if len(pending) >= 2 * workers:
                _write_result(pending.popleft().get(), outfile, rejects, stats)
        while pending:
            _write_result(pending.popleft().get(), outfile, rejects, stats)
    return stats


def _write_result(result, outfile: BinaryIO, rejects: BinaryIO | None, stats: RunStats) -> None:
    out, rejected, chunk_stats = result
    outfile.write(out)
    if rejects is not None:
        rejects.write(rejected)
    stats.merge(chunk_stats)
