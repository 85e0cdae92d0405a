"""What `send` delivers: numbered call bodies, from an NDJSON file of calls or from events.

`CallLines` reads call bodies (NDJSON, plain or gzip, or stdin) and checks each
against the contract; `EventCalls` runs a compiled mapping over NDJSON events
(`run --send`) and numbers the calls it emits. Either yields `Call`s; `blank`
counts the lines that held nothing. `fingerprint` identifies an input file for
the journal.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import orjson

from ..runner import GZIP_MAGIC, RunStats, process_lines
from .contract import first_problem


class Call(NamedTuple):
    """One call body to deliver.

    `key` names it in the journal (the input line, or with `run --send` the
    call's ordinal), `line` is its input line, `order` says whose calls must
    keep their input order (None: anyone's), `problem` why it must not be sent.
    A named tuple: one is made per call, in a third of a frozen dataclass's time.
    """

    key: int
    line: int
    body: bytes
    order: Hashable | None = None
    problem: str | None = None


def order_key(body: dict) -> Hashable | None:
    """Whose call this is, for ordering: the user; for a group call without one, the group."""
    user = body.get("userId") or body.get("anonymousId")
    if user is not None:
        return user
    if body.get("type") == "group":
        return ("group", body.get("groupId"))
    return None


def checked_call(key: int, line: int, body: bytes) -> Call:
    """A call from one body's bytes, with the reason it cannot be sent, if any."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return Call(key, line, body, problem=f"invalid JSON: {error}")
    problem = first_problem(parsed)
    if problem is not None:
        return Call(key, line, body, problem=f"invalid call: {problem}")
    return Call(key, line, body, order_key(parsed))


class CallLines:
    """The calls of an NDJSON file of call bodies: one per non-blank line."""

    unit = "lines"
    with_call_numbers = False

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.blank = 0

    def __iter__(self) -> Iterator[Call]:
        for line, raw in enumerate(self.stream, 1):
            body = raw.strip()
            if body:
                yield checked_call(line, line, body)
            else:
                self.blank += 1


class EventCalls:
    """The calls a compiled mapping emits for NDJSON events, numbered 1, 2, ... in output order.

    Events are transformed by the runner (`process_lines`), a chunk of lines at
    a time, so skipped and rejected events are counted and written to the
    rejects file exactly as `run` does.
    """

    unit = "calls"
    with_call_numbers = True
    blank = 0  # calls are never blank; blank event lines are in `stats`
    CHUNK_LINES = 256

    def __init__(self, module, stream: BinaryIO, write_reject: Callable[[bytes], object] | None):
        self.module = module
        self.stream = stream
        self.write_reject = write_reject
        self.stats = RunStats()

    def __iter__(self) -> Iterator[Call]:
        numbered = enumerate(self.stream, 1)
        written: list[tuple[int, bytes]] = []
        current = 0  # the line the runner is transforming: its calls are written next

        def tracked(chunk: list[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
            nonlocal current
            for line, raw in chunk:
                current = line
                yield line, raw

        def write(data: bytes) -> None:
            written.append((current, data))

        ordinal = 0
        transform, reject_error = self.module.transform, self.module.RejectEvent
        decode = self.module.decode_line  # as `run` reads a line
        while chunk := list(itertools.islice(numbered, self.CHUNK_LINES)):
            self.stats.merge(
                process_lines(
                    transform, reject_error, tracked(chunk), write, self.write_reject, decode
                )
            )
            for line, data in written:
                for body in data.splitlines():
                    ordinal += 1
                    yield checked_call(ordinal, line, body)
            written.clear()


@dataclass(frozen=True)
class Fingerprint:
    """An input file as the journal knows it: its size, its sha256 and (plain files) its lines."""

    size: int
    sha256: str
    lines: int | None


def fingerprint(path: str) -> Fingerprint:
    """Read `path` once: size, sha256 and the number of lines (None for gzip)."""
    digest = hashlib.sha256()
    size = newlines = 0
    head = last = b""
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            head = head or block[:2]
            digest.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            last = block[-1:]
    lines = None if head == GZIP_MAGIC else newlines + (last not in (b"", b"\n"))
    return Fingerprint(size, digest.hexdigest(), lines)
