"""`run`: NDJSON events through a compiled mapping, one Accoil call body per output line.

Every input line is accounted for: it emitted calls, was skipped (no rule's
condition held), was rejected (bad JSON, not an object, unreadable data, a
call missing a required key, longer than the line limit), or was blank.
Rejected and skipped lines go to the rejects file with their line number, the
reason and the input itself, so nothing is lost. A run that cannot finish (the
input unreadable past some line, a worker process dead) raises `RunError`
once the lines before are counted, so the caller can say what was done.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import gzip
import io
import os
import re
import signal
import stat
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from .errors import plural
from .language import NULL_MARK

GZIP_MAGIC = b"\x1f\x8b"
MAX_LINE_BYTES = 8 << 20  # the default of `run --max-line-bytes`
CHUNK_BYTES = 1 << 20
# The token a null inside a call body leaves in its JSON. A literal pattern (no
# backtracking): re finds it in a call line in about half the time of `in`.
_FIND_NULL = re.compile(re.escape(NULL_MARK)).search


class RunError(Exception):
    """`run` could not finish: the output is incomplete."""


class InputError(RunError):
    """The input cannot be read past line `lines_read`; every line up to it was transformed."""

    def __init__(self, reason: str, lines_read: int):
        super().__init__(f"unreadable after line {lines_read}: {reason}")
        self.lines_read = lines_read


class WorkerDied(RunError):
    """A worker process ended before it answered: its chunks' calls are missing."""

    def __init__(self) -> None:
        super().__init__("a worker process died; the output is incomplete")


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
    """A binary stream of the input; `-` is stdin; gzip is detected by its magic bytes.

    OSError (no such file, a directory, no permission) propagates."""
    import sys

    if path == "-":  # its descriptor, unbuffered below ours: a read returns what has come
        stream = io.BufferedReader(io.FileIO(sys.stdin.fileno(), "rb", closefd=False), 1 << 20)
    else:
        stream = open(path, "rb", buffering=1 << 18)  # noqa: SIM115
    try:
        gzipped = stream.peek(2)[:2] == GZIP_MAGIC
    except OSError:  # e.g. a directory opens, then cannot be read
        stream.close()
        raise
    if gzipped:
        return gzip.GzipFile(fileobj=stream, mode="rb")
    return stream


# Reading: whole lines, each at most `max_line_bytes` long --------------------------


@dataclass(frozen=True)
class Span:
    """Whole lines of a plain file, from line `first_line`: `length` bytes at `offset`."""

    first_line: int
    offset: int
    length: int


@dataclass(frozen=True)
class LongLine:
    """A line longer than the limit: skipped as it is read, only its number and length kept."""

    number: int
    length: int


# What a damaged input raises while it is read: gzip's own errors, zlib's, and I/O errors.
_READ_ERRORS = (OSError, EOFError, zlib.error)


@dataclass(frozen=True)
class Lines:
    """Whole lines of the input from line `first_line`, each with its newline (the
    input's last line may lack one)."""

    first_line: int
    lines: list[bytes]


def _read_problem(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the gzip data ends early (a truncated file?)"
    if isinstance(error, gzip.BadGzipFile):
        return f"bad gzip data ({error})"
    if isinstance(error, zlib.error):
        return f"corrupt gzip data ({error})"
    return error.strerror or str(error)


def count_newlines(data: bytes, start: int = 0, end: int | None = None) -> int:
    """The newlines in `data[start:end]`."""
    end = len(data) if end is None else end
    find = data.find
    at = find(b"\n", start, end)
    if 0 <= at - start < _LONG_LINE:
        # bytes.count tests byte by byte (about 0.3 ns a byte here): fastest on short lines
        return data.count(b"\n", start, end)
    # find skips to each newline with memchr (about 0.1 µs a line): fastest on long lines
    count = 0
    while at >= 0:
        count += 1
        at = find(b"\n", at + 1, end)
    return count


#: A line at least this long (its first in a block) makes `count_newlines` jump
#: from newline to newline rather than test every byte.
_LONG_LINE = 400


def scan_lines(
    stream: BinaryIO, size: int = CHUNK_BYTES, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Span | LongLine]:
    """Where the input's lines are, as Spans of whole lines (about `size` bytes each)
    and LongLines, in order: what a parallel run's main process needs of a plain file,
    whose workers read their spans themselves.

    Nothing is copied or kept but the block being read: the scan jumps from newline
    to newline (find, with memchr) and measures each line on the way. When the input
    cannot be read to its end, the spans before are yielded, then InputError.
    """
    number = 1  # the number of the line that starts at `start`
    start = 0  # where the line being scanned starts
    first, offset = 1, 0  # the span being gathered: lines first..number-1, from offset
    position = 0  # where the block starts
    while True:
        try:
            block = stream.read(size)
        except _READ_ERRORS as error:
            if start > offset:
                yield Span(first, offset, start - offset)
            raise InputError(_read_problem(error), number - 1) from None
        if not block:
            break
        find = block.find
        at = find(b"\n")
        while at >= 0:
            end = position + at  # where the newline is
            if end - start > max_line_bytes:
                if start > offset:  # the lines before it go out first
                    yield Span(first, offset, start - offset)
                yield LongLine(number, end - start)
                first, offset = number + 1, end + 1
            number += 1
            start = end + 1
            if start - offset >= size:
                yield Span(first, offset, start - offset)
                first, offset = number, start
            at = find(b"\n", at + 1)
        position += len(block)
    if position - start > max_line_bytes:  # the last line, without a newline
        if start > offset:
            yield Span(first, offset, start - offset)
        yield LongLine(number, position - start)
    elif position > offset:
        yield Span(first, offset, position - offset)


def read_lines(
    stream: BinaryIO, size: int = CHUNK_BYTES, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Lines | LongLine]:
    """The input as Lines (about `size` bytes each) and LongLines, in order.

    A line of more than `max_line_bytes` bytes (its newline not counted) becomes a
    LongLine and is never held whole: the buffered reader cuts lines in C, with
    `readline` limited to one byte more than a line may have, and a longer line is
    read on in such pieces to its newline. When the input cannot be read to its end,
    the lines before are yielded, then InputError.
    """
    readline = stream.readline
    limit = max_line_bytes + 1  # its newline, or one byte too many
    number = 1  # the number of the next line
    lines: list[bytes] = []
    held = 0
    while True:
        try:
            line = readline(limit)
            if len(line) == limit and line[-1] != 10:  # over the limit, its newline unread
                if lines:  # the lines before it go out first: output keeps input order
                    yield Lines(number - len(lines), lines)
                    lines, held = [], 0
                yield LongLine(number, _skip_line(readline, limit, len(line)))
                number += 1
                continue
        except _READ_ERRORS as error:
            if lines:
                yield Lines(number - len(lines), lines)
            raise InputError(_read_problem(error), number - 1) from None
        if not line:
            break
        lines.append(line)
        number += 1
        held += len(line)
        if held >= size:
            yield Lines(number - len(lines), lines)
            lines, held = [], 0
    if lines:
        yield Lines(number - len(lines), lines)


def _skip_line(readline: Callable[[int], bytes], limit: int, length: int) -> int:
    """Read the rest of a long line, `length` bytes of which are read, in pieces of at
    most `limit` bytes: its length without the newline."""
    while piece := readline(limit):
        if piece[-1] == 10:
            return length + len(piece) - 1
        length += len(piece)
    return length


def long_line_outcome(line: LongLine, max_line_bytes: int) -> tuple[bytes, bytes, RunStats]:
    """What a line over the limit gives, as `transform_block` says it: no payload, its
    reject record, its counts."""
    reason = f"line longer than --max-line-bytes ({max_line_bytes} bytes)"
    stats = RunStats(lines=1, rejected=1)
    stats.reasons[f"rejected: {reason}"] += 1
    entry = {"line": line.number, "status": "rejected", "reason": reason, "bytes": line.length}
    return b"", orjson.dumps(entry) + b"\n", stats


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

    The transform does not look for nulls inside values (the contract's costliest
    check, a walk of every value in Python): a JSON line without the token `null`
    has none, and an event whose lines have it is transformed again with the check.
    """
    outcomes = _Outcomes(write_reject)
    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    find_null = _FIND_NULL
    decode = decode or loads
    reasons: list = []
    count = calls = 0  # locals: the loop runs once per line; `emitted` is derived after it
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
        encoding = False  # orjson's JSONEncodeError is a TypeError: which one is it?
        try:
            payloads = transform(event, reasons, False)  # nulls inside: looked for below
            if payloads:  # all of an event's calls, or (if one fails) none
                encoding = True
                data = (
                    dumps(payloads[0], option=newline) if len(payloads) == 1 else _lines(payloads)
                )
                if find_null(data) is not None:  # a null inside a value (or the word in a string)
                    payloads, data = _checked(transform, event, reasons)
                if payloads:
                    write(data)
                    calls += len(payloads)
        except reject_error as exc:
            outcomes.reject(lineno, str(exc), raw)
        except (RecursionError, MemoryError, ValueError, TypeError) as exc:
            if encoding and isinstance(exc, orjson.JSONEncodeError):
                outcomes.reject(lineno, f"a call body cannot be written as JSON: {exc}", raw)
            else:
                outcomes.reject(lineno, f"unreadable event data ({type(exc).__name__}: {exc})", raw)
        else:
            if reasons:
                outcomes.drops(lineno, reasons, raw, bool(payloads))
                reasons.clear()
            elif not payloads:
                outcomes.skip(lineno, raw)
            continue
        reasons.clear()  # after a rejection: the event may have recorded some first
    stats = outcomes.stats
    stats.lines += count
    # Every line is emitted, skipped, rejected or blank: the loop counts only the others.
    stats.emitted += count - stats.skipped - stats.rejected - stats.blank
    stats.calls += calls
    return stats


def _lines(payloads: list) -> bytes:
    """Call bodies as JSON lines."""
    return b"".join(
        [orjson.dumps(payload, option=orjson.OPT_APPEND_NEWLINE) for payload in payloads]
    )


def _checked(transform, event, reasons: list) -> tuple[list, bytes]:
    """An event's calls and their JSON lines, transformed again with the nulls inside
    values looked for (and left out, or the call dropped with its reason)."""
    reasons.clear()  # the first pass recorded them: this one does again
    payloads = transform(event, reasons)
    return payloads, _lines(payloads)


def transform_block(
    module, first_line: int, lines: Iterable[bytes], keep_rejects: bool
) -> tuple[bytes, bytes, RunStats]:
    """Transform whole lines, the first numbered `first_line`: (payload lines, reject
    records, counts).

    The module's `decode_line` reads each line; the cyclic garbage collector is
    paused for the block (the decoded events hold no cycles; collecting them as
    they come costs a fifth of the time). Payload lines are copied into one
    buffer as they come: a list holding each `orjson.dumps` result until the
    block is joined cost more per call (about 1.3 µs here) than the transform.
    """
    out = io.BytesIO()
    rejects: list[bytes] = []
    paused = gc.isenabled()
    gc.disable()
    try:
        stats = process_lines(
            module.transform,
            module.RejectEvent,
            enumerate(lines, first_line),
            out.write,
            rejects.append if keep_rejects else None,
            module.decode_line,
        )
    finally:
        if paused:
            gc.enable()
    return out.getvalue(), b"".join(rejects), stats


def run_stream(
    module,
    infile: BinaryIO,
    outfile: BinaryIO,
    rejects: BinaryIO | None,
    max_line_bytes: int = MAX_LINE_BYTES,
    stats: RunStats | None = None,
) -> RunStats:
    """Run a generated module over a whole NDJSON stream in this process, a block at a time.

    `stats`, when given, is updated block by block, so that a caller whose run
    failed (RunError, KeyboardInterrupt) can still say how far it got.
    """
    stats = RunStats() if stats is None else stats
    for piece in read_lines(infile, CHUNK_BYTES, max_line_bytes):
        if isinstance(piece, LongLine):
            result = long_line_outcome(piece, max_line_bytes)
        else:
            result = transform_block(module, piece.first_line, piece.lines, rejects is not None)
        _write_result(result, outfile, rejects, stats)
    return stats


# Parallel run ---------------------------------------------------------------
#
# The main process cuts the input into chunks of whole lines and hands them to
# the workers round-robin, then writes their results back in input order.
# From a regular file a job is only (line number, offset, length): each worker
# reads its chunk itself with os.pread on the descriptor it inherited, so the
# input never travels through a pipe. Other inputs (stdin, gzip) send the
# bytes. No threads: the main process alone talks to the workers, and a
# worker's results are read in the order its jobs were sent. A line over the
# limit is answered by the main process itself, in its place in that order.


@dataclass(frozen=True)
class _Job:
    """One chunk of whole lines: the bytes, or where they are in the input file."""

    first_line: int
    data: bytes = b""
    offset: int = 0
    length: int = 0


def _jobs(infile: BinaryIO, size: int, fd: int | None, max_line_bytes: int):
    """The input's chunks as jobs (by position in a plain file `fd`, else with their
    bytes), and its over-long lines as LongLines."""
    if fd is not None:
        for piece in scan_lines(infile, size, max_line_bytes):
            if isinstance(piece, LongLine):
                yield piece
            else:
                yield _Job(piece.first_line, offset=piece.offset, length=piece.length)
        return
    for piece in read_lines(infile, size, max_line_bytes):
        if isinstance(piece, LongLine):
            yield piece
        else:
            yield _Job(piece.first_line, data=b"".join(piece.lines))


def _regular_file(stream: BinaryIO) -> int | None:
    """The descriptor of a plain file opened for reading from its start, else None.

    A gzip stream also has a descriptor, but of the compressed file; stdin
    qualifies when it is a file, and not from a pipe.
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
    return transform_block(module, job.first_line, io.BytesIO(block), keep_rejects)  # its lines


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}  # the main process's to handle, not a worker's


def _serve(connection, source: str, name: str, fd: int | None, keep_rejects: bool) -> None:
    """A worker: import the module once, then answer jobs until told to stop (None)."""
    from .modules import import_source

    # Ctrl-C is the main process's to handle (it stops us by closing the pipe); the
    # main process blocked it around the fork, so none arrived before this line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    module = import_source(source, name)
    try:
        while (job := connection.recv()) is not None:
            connection.send(_run_chunk(module, fd, job, keep_rejects))
    except (EOFError, OSError):
        pass  # the main process stopped early (an error of its own): so do we


def run_parallel(
    source: str,
    name: str,
    infile: BinaryIO,
    outfile: BinaryIO,
    rejects: BinaryIO | None,
    workers: int,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    stats: RunStats | None = None,
) -> RunStats:
    """Run generated `source` in `workers` processes; output keeps the input order.

    A bounded number of chunks is in flight, so memory does not grow with the
    input. `stats` as in `run_stream`. A worker that dies raises WorkerDied.
    """
    import multiprocessing

    stats = RunStats() if stats is None else stats
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
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for _ in range(workers):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=_serve,
                    args=(theirs, source, name, fd, rejects is not None),
                    daemon=True,
                )
                process.start()
                theirs.close()
                connections.append(ours)
                processes.append(process)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        waiting: deque = deque()  # the connections (or ready results) to write, in input order
        try:
            for index, job in enumerate(_jobs(infile, chunk_bytes, fd, max_line_bytes)):
                if len(waiting) >= in_flight * workers:
                    _write_result(waiting.popleft(), outfile, rejects, stats)
                if isinstance(job, LongLine):
                    waiting.append(long_line_outcome(job, max_line_bytes))
                    continue
                connection = connections[index % workers]
                try:
                    connection.send(job)
                except OSError:  # EPIPE: it is gone
                    raise WorkerDied from None
                waiting.append(connection)
        except InputError:  # the input broke off: what was read is still written
            _write_results(waiting, outfile, rejects, stats)
            raise
        _write_results(waiting, outfile, rejects, stats)
        for connection in connections:
            with contextlib.suppress(OSError):  # it died idle after its last answer: none missing
                connection.send(None)
        return stats
    except BaseException:
        for process in processes:  # no answer is wanted any more: do not wait for one
            process.kill()
        raise
    finally:
        gc.unfreeze()
        for connection in connections:  # a worker still waiting for a job stops now
            connection.close()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _write_results(waiting: deque, outfile: BinaryIO, rejects: BinaryIO | None, stats: RunStats):
    while waiting:
        _write_result(waiting.popleft(), outfile, rejects, stats)


def _write_result(waiting, outfile: BinaryIO, rejects: BinaryIO | None, stats: RunStats) -> None:
    """Write one chunk's result: (payloads, rejects, counts), or a worker's connection to
    receive it from."""
    if isinstance(waiting, tuple):
        out, rejected, chunk_stats = waiting
    else:
        try:
            out, rejected, chunk_stats = waiting.recv()
        except (EOFError, OSError):  # OSError: ECONNRESET when it died with a job unread
            raise WorkerDied from None
    outfile.write(out)
    if rejects is not None:
        rejects.write(rejected)
    stats.merge(chunk_stats)
