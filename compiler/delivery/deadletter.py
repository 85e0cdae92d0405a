"""The dead-letter file: one NDJSON record per call that was not delivered, and why.

A record: `line` (the input line), `call` (with `run --send`: the call's
ordinal in the mapping's output), `time`, `reason`, `status` and `response`
(the last answer, its text cut to 500 characters), `attempts`, and `body`
(the call, or `raw` when the line is not JSON). The file is appended to,
never truncated: a resumed run adds to what earlier runs wrote. Each record
reaches the operating system before the journal says its call is settled, so
a killed process can repeat a record but never lose one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .policy import Reply


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeadLetters:
    """An open dead-letter file."""

    def __init__(self, path: Path, with_call_numbers: bool):
        self.path = path
        self.with_call_numbers = with_call_numbers
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(
        self, line: int, key: int, body: bytes, reason: str, reply: Reply | None, attempts: int
    ) -> None:
        """Append one record."""
        record: dict = {"line": line}
        if self.with_call_numbers:
            record["call"] = key
        record |= {
            "time": _now(),
            "reason": reason,
            "status": None if reply is None else reply.status,
            "response": None if reply is None or reply.status is None else reply.text,
            "attempts": attempts,
        }
        try:
            record["body"] = orjson.loads(body)
            encoded = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # not JSON, or too deep to write
            record.pop("body", None)
            record["raw"] = body.decode("utf-8", "backslashreplace")
            encoded = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        os.write(self._file, encoded)

    def sync(self) -> None:
        """Make every record so far durable."""
        os.fsync(self._file)

    def close(self) -> None:
        """Sync and close."""
        self.sync()
        os.close(self._file)
