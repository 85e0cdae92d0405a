"""One event from the command line: a JSON file, `-` (stdin), or `FILE.ndjson:LINE`."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from .errors import plural

_AT_LINE = re.compile(r"^(?P<file>.+):(?P<line>[1-9][0-9]*)$")


class EventInputError(Exception):
    """The event cannot be read: the place and the reason."""


@dataclass(frozen=True)
class EventInput:
    """An event and where it came from (`file`, `file:line` or `stdin`)."""

    event: object
    origin: str


def read_event(spec: str) -> EventInput:
    """Read the event `spec` names; NDJSON lines may come from plain or gzip files."""
    if spec == "-":
        return EventInput(_parse(sys.stdin.buffer.read(), "stdin"), "stdin")
    match = _AT_LINE.match(spec)
    if match and not Path(spec).exists():
        return _line_of(match["file"], int(match["line"]))
    return EventInput(_parse(_read_bytes(spec), spec), spec)


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise EventInputError(f"no such file: {path}") from None
    except OSError as exc:
        raise EventInputError(f"{path}: {exc.strerror}") from None


def _line_of(path: str, number: int) -> EventInput:
    from .runner import open_input  # plain or gzip, as `run` reads them

    if not Path(path).is_file():
        raise EventInputError(f"no such file: {path}")
    lineno = 0
    with open_input(path) as stream:
        for lineno, line in enumerate(stream, 1):
            if lineno == number:
                return EventInput(_parse(line, f"{path}:{number}"), f"{path}:{number}")
    raise EventInputError(f"{path} has no line {number} (it has {plural(lineno, 'line')})")


def _parse(data: bytes, where: str) -> object:
    if not data.strip():
        raise EventInputError(f"{where}: empty, not an event")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EventInputError(f"{where}: invalid JSON: {exc}") from None
