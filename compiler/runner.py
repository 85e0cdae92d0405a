"""`run`: NDJSON events through a compiled mapping, one Accoil call body per output line.

Every input line is accounted for: it emitted calls, was skipped (no rule's
condition held), was rejected (bad JSON, not an object, unreadable data, a
call missing a required key), or was blank. Rejected and skipped lines go to
the rejects file with their line number, the reason and the input itself, so
nothing is lost.
"""

from __future__ import annotations

import functools
import gc
import gzip
import io
import os
import stat
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from .errors import plural

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
            f"{plural(self.lines, 'line')}: {self.emitted} emitted ({plural(self.calls, 'call')}), "
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


@functools.cache  # few (rule, missing keys) pairs exist, and many lines share one
def _drop_reason(rule: str, missing: tuple[str, ...]) -> str:
    from .language import requirement  # here: a run with nothing dropped never needs it

    return f"rule '{rule}': " + "; ".join(requirement(key) for key in missing)


@functools.cache
def _drop_key(status: str, rule: str, missing: tuple[str, ...]) -> str:
    """The key a dropped call is counted under in RunStats.reasons (as `record` words it)."""
    return f"{status}: {_drop_reason(rule, missing)}"


class _Outcomes:
    """Counts outcomes and writes reject records; kept off the hot path."""

    def __init__(self, write_reject: Callable[[bytes], object] | None):
        self.stats = RunStats()
        self.write_reject = write_reject

    def record(self, lineno: int, status: str, reason: str, raw: bytes) -> None:
        self.stats.reasons[f"{status}: {reason}"] += 1
        if self.write_reject is None:
            return
        entry = {"line": lineno, "status": status, "reason": reason}
        try:
            # The whole event as a full parse gives it (the fast path decodes only what
            # the mapping reads); parsed here, off the hot path.
            entry["event"] = orjson.loads(raw)
            self.write_reject(orjson.dumps(entry) + b"\n")
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
            # Not JSON to orjson (an unread 1e400) or not writable (a huge integer):
            # keep the raw line.
            entry.pop("event", None)
            entry["raw"] = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            self.write_reject(orjson.dumps(entry) + b"\n")

    def reject(self, lineno: int, reason: str, raw: bytes) -> None:
        self.stats.rejected += 1
        self.record(lineno, "rejected", reason, raw)

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

    def drops(self, lineno: int, reasons: list, raw: bytes, emitted: bool) -> None:
        """Calls not emitted for lack of a required key; the line is rejected if none was."""
        self.stats.dropped_calls += len(reasons)
        if not emitted:
            self.stats.rejected += 1
        status = "dropped" if emitted else "rejected"
        for rule, missing in reasons:
            if self.write_reject is None:  # counted only: one cached key, no formatting
                self.stats.reasons[_drop_key(status, rule, missing)] += 1
            else:
                self.record(lineno, status, _drop_reason(rule, missing), raw)

    def skip(self, lineno: int, raw: bytes) -> None:
        self.stats.skipped += 1
        self.record(lineno, "skipped", "no rule's condition held", raw)


def process_lines(
    transform: Callable,
    reject_error: type[Exception],
    lines: Iterable[tuple[int, bytes]],
    write: Callable[[bytes], object],
    write_reject: Callable[[bytes], object] | None,
    decode: Callable[[bytes], object] | None = None,
) -> RunStats:
    """Transform numbered NDJSON lines; write payload lines and reject records.

    `decode` (a module's `decode_line`) reads the fields the mapping reads; a line it
    refuses (ValueError) gets orjson's verdict on the whole line, so invalid lines are
    rejected with the words of a full parse. Without `decode`, orjson parses every line.
    """
    outcomes = _Outcomes(write_reject)
    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    decode = decode or loads
    reasons: list = []
    count = emitted = calls = 0  # locals: the loop runs once per line
    for lineno, raw in lines:
        count += 1
        try:
            event = decode(raw)
        except ValueError:
            try:
                event = loads(raw)  # also where msgspec nests less deep than orjson
            except orjson.JSONDecodeError as exc:
                outcomes.bad_json(lineno, raw, exc)
                continue
        try:
            payloads = transform(event, reasons)
            if len(payloads) == 1:
                write(dumps(payloads[0], option=newline))
            elif payloads:  # all of an event's calls, or (if one fails) none
                write(b"".join([dumps(payload, option=newline) for payload in payloads]))
        except reject_error as exc:
            outcomes.reject(lineno, str(exc), raw)
        except orjson.JSONEncodeError as exc:
            outcomes.reject(lineno, f"a call body cannot be written as JSON: {exc}", raw)
        except (RecursionError, MemoryError, ValueError, TypeError) as exc:
            outcomes.reject(lineno, f"unreadable event data ({type(exc).__name__}: {exc})", raw)
        else:
            if payloads:
                emitted += 1
                calls += len(payloads)
            elif not reasons:
                outcomes.skip(lineno, raw)
            if reasons:
                outcomes.drops(lineno, reasons, raw, bool(payloads))
        if reasons:  # also after a rejection: the event may have recorded some first
            reasons.clear()
    stats = outcomes.stats
    stats.lines += count
    stats.emitted += emitted
    stats.calls += calls
    return stats


def transform_block(
    module, first_line: int, block: bytes, keep_rejects: bool
) -> tuple[bytes, bytes, RunStats]:
    """Transform a block of whole lines: (payload lines, reject records, counts).

    The module's `decode_line` reads each line; the cyclic garbage collector is
    paused for the block (the decoded events hold no cycles; collecting them as
    they come costs a fifth of the time).
    """
    out: list[bytes] = []
    rejects: list[bytes] = []
    paused = gc.isenabled()
    gc.disable()
    try:
        stats = process_lines(
            module.transform,
            module.RejectEvent,
            enumerate(io.BytesIO(block), first_line),  # lines as a file gives them
            out.append,
            rejects.append if keep_rejects else None,
            module.decode_line,
        )
    finally:
        if paused:
            gc.enable()
    return b"".join(out), b"".join(rejects), stats


def run_stream(module, infile: BinaryIO, outfile: BinaryIO, rejects: BinaryIO | None) -> RunStats:
    """Run a generated module over a whole NDJSON stream in this process, a block at a time."""
    stats = RunStats()
    for first_line, block in read_chunks(infile):
        out, rejected, block_stats = transform_block(module, first_line, block, rejects is not None)
        outfile.write(out)
        if rejects is not None:
            rejects.write(rejected)
        stats.merge(block_stats)
    return stats


# Parallel run ---------------------------------------------------------------
#
# The main process cuts the input into chunks of whole lines and hands them to
# the workers round-robin, then writes their results back in input order.
# From a regular file a job is only (line number, offset, length): each worker
# reads its chunk itself with os.pread on the descriptor it inherited, so the
# input never travels through a pipe. Other inputs (stdin, gzip) send the
# bytes. No threads: the main process alone talks to the workers, and a
# worker's results are read in the order its jobs were sent.

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Job:
    """One chunk of whole lines: the bytes, or where they are in the input file."""

    first_line: int
    data: bytes = b""
    offset: int = 0
    length: int = 0


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


def _jobs(infile: BinaryIO, size: int, fd: int | None) -> Iterator[_Job]:
    """The input's chunks as jobs: by position in a plain file (`fd`), else with their bytes."""
    if fd is None:
        for lineno, block in read_chunks(infile, size):
            yield _Job(lineno, data=block)
        return
    offset, lineno, want = 0, 1, size
    while block := os.pread(fd, want, offset):
        cut = block.rfind(b"\n") + 1
        if cut == 0 and len(block) == want:  # a line longer than a chunk: read more of it
            want *= 2
            continue
        cut = cut or len(block)  # the last line, without its newline
        yield _Job(lineno, offset=offset, length=cut)
        lineno += block.count(b"\n", 0, cut)
        offset += cut
        want = size


def _regular_file(stream: BinaryIO) -> int | None:
    """The descriptor of a plain file opened for reading from its start, else None.

    Only `open(path, "rb")` qualifies: a gzip stream also has a descriptor, but
    of the compressed file; stdin may be a pipe.
    """
    if not isinstance(getattr(stream, "raw", None), io.FileIO):
        return None
    fd = stream.fileno()
    return fd if stat.S_ISREG(os.fstat(fd).st_mode) and stream.tell() == 0 else None


def _read_at(fd: int, offset: int, length: int) -> bytes:
    parts = []
    while length > 0:
        part = os.pread(fd, length, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
        length -= len(part)
    return b"".join(parts)


def _run_chunk(module, fd: int | None, job: _Job, keep_rejects: bool):
    """Transform one chunk: (payload lines, reject records, counts)."""
    block = job.data if fd is None else _read_at(fd, job.offset, job.length)
    return transform_block(module, job.first_line, block, keep_rejects)


def _serve(connection, source: str, name: str, fd: int | None, keep_rejects: bool) -> None:
    """A worker: import the module once, then answer jobs until told to stop (None)."""
    from .modules import import_source

    module = import_source(source, name)
    try:
        while (job := connection.recv()) is not None:
            connection.send(_run_chunk(module, fd, job, keep_rejects))
    except (EOFError, BrokenPipeError):
        pass  # the main process stopped early (an error of its own): so do we


def run_parallel(
    source: str,
    name: str,
    infile: BinaryIO,
    outfile: BinaryIO,
    rejects: BinaryIO | None,
    workers: int,
    chunk_bytes: int = CHUNK_BYTES,
) -> RunStats:
    """Run generated `source` in `workers` processes; output keeps the input order.

    A bounded number of chunks is in flight, so memory does not grow with the input.
    """
    import multiprocessing

    fd = _regular_file(infile)
    # Jobs that name a position are small: two can wait in a worker's pipe while it
    # works. Jobs that carry bytes are sent only to a worker that is waiting for one,
    # so that neither side blocks on a full pipe while the other does too.
    in_flight = 2 if fd is not None else 1
    context = multiprocessing.get_context("fork")
    gc.collect()
    gc.freeze()  # the workers inherit our objects: keep their collections off them
    connections, processes = [], []
    try:
        for _ in range(workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, source, name, fd, rejects is not None), daemon=True
            )
            process.start()
            theirs.close()
            connections.append(ours)
            processes.append(process)
        stats = RunStats()
        waiting: deque = deque()  # the connections to read from, in input order
        for index, job in enumerate(_jobs(infile, chunk_bytes, fd)):
            connection = connections[index % workers]
            if len(waiting) >= in_flight * workers:
                _write_result(waiting.popleft(), outfile, rejects, stats)
            connection.send(job)
            waiting.append(connection)
        while waiting:
            _write_result(waiting.popleft(), outfile, rejects, stats)
        for connection in connections:
            connection.send(None)
        return stats
    finally:
        gc.unfreeze()
        for connection in connections:  # a worker still waiting for a job stops now
            connection.close()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _write_result(connection, outfile: BinaryIO, rejects: BinaryIO | None, stats: RunStats) -> None:
    try:
        out, rejected, chunk_stats = connection.recv()
    except EOFError:
        raise RuntimeError("a worker process died; the output is incomplete") from None
    outfile.write(out)
    if rejects is not None:
        rejects.write(rejected)
    stats.merge(chunk_stats)
