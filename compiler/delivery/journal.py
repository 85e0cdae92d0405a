"""The delivery journal: which calls of one input are settled, kept in a state folder.

    STATE/journal.json   what the journal is about: the input (size, sha256, lines)
                         and the endpoint URL; written once, atomically
    STATE/journal.log    appended, one record a line: `S 12` call 12 is about to
                         be sent, `D 12` delivered, `X 12` dead-lettered, `I 12`
                         invalid (never sent); the number is the input line (for
                         `run --send`, the call's ordinal in the mapping's output)
    STATE/lock           locked (flock) while a send runs

A started record goes to the operating system before its call is sent, and
so do dead-lettered and invalid records, each as it happens. A delivered
record waits in memory until the next record of another kind (the next call
started, most often at once) or the next `flush`: one write a call instead of
two. A killed process can lose delivered records only of calls settled since
the last start, and those with the calls still in flight were at most the
calls in flight at that start: the calls it sends again stay within the
concurrency, and each has its start recorded.
`sync` (every second, after a flush, and at the end) makes the records
durable against a machine crash too. A started call without a later record
was in flight when a run stopped: the next run sends it again and counts it
as possibly resent.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

FORMAT = "accoil-map send journal 1"
#: Seconds between fsyncs: a machine crash (not a killed process) may resend this much.
SYNC_INTERVAL = 1.0

STARTED, DELIVERED, DEAD, INVALID = 1, 2, 3, 4
_CODES = {b"S": STARTED, b"D": DELIVERED, b"X": DEAD, b"I": INVALID}
_LETTERS = {code: letter for letter, code in _CODES.items()}


class JournalError(Exception):
    """A state folder that cannot be used for this input (another input, locked, unreadable)."""


@dataclass(frozen=True)
class Earlier:
    """What earlier runs settled, by outcome."""

    delivered: int = 0
    dead: int = 0
    invalid: int = 0
    started: int = 0  # started and never settled: possibly delivered


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class Journal:
    """An open journal: earlier runs' states, and an append-only log for this one."""

    def __init__(self, directory: Path, about: dict):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(directory / "lock", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise JournalError(f"{directory}: another `accoil-map send` is using it") from None
        try:
            self._check_about(directory / "journal.json", about)
            self._states = self._load(directory / "journal.log")
            self._log = os.open(
                directory / "journal.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
            self._unwritten = bytearray()  # delivered records not yet written
        except BaseException:
            os.close(self._lock)
            raise
        self.earlier = Earlier(
            *(self._states.count(code) for code in (DELIVERED, DEAD, INVALID, STARTED))
        )

    @staticmethod
    def _check_about(path: Path, about: dict) -> None:
        """Refuse a journal written for another input or endpoint; start one if none."""
        encoded = json.dumps({"format": FORMAT, **about}, indent=2, sort_keys=True).encode() + b"\n"
        try:
            recorded = json.loads(path.read_bytes())
        except FileNotFoundError:
            _write_atomically(path, encoded)
            return
        except (OSError, ValueError) as error:
            raise JournalError(f"{path}: unreadable ({error})") from None
        if recorded.get("format") != FORMAT:
            raise JournalError(
                f"{path}: not a journal of this version ({recorded.get('format')!r})"
            )
        for key, value in about.items():
            if key != "input_path" and recorded.get(key) != value:
                raise JournalError(
                    f"{path.parent}: this journal is for another {key.replace('_', ' ')} "
                    f"({recorded.get(key)!r}, not {value!r}); use a new --state folder"
                )

    @staticmethod
    def _load(path: Path) -> bytearray:
        """Each key's last state; a torn last record (no newline) is cut off the file."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return bytearray()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            os.truncate(path, complete)
        states = bytearray()
        for record in data[:complete].splitlines():
            code, key = _CODES.get(record[:1]), record[2:]
            if code is None or not key.isdigit():
                continue  # a record damaged by a machine crash: its call is simply sent again
            key = int(key)
            if key >= len(states):
                states.extend(bytes(key + 1 - len(states)))
            if code != STARTED or states[key] == 0:
                states[key] = code
        return states

    def state(self, key: int) -> int:
        """What earlier runs recorded last for `key` (0: nothing)."""
        states = self._states
        return states[key] if key < len(states) else 0

    def record(self, code: int, key: int) -> None:
        """Append one record; any but a delivered one reaches the operating system at once."""
        self._unwritten += b"%s %d\n" % (_LETTERS[code], key)
        if code != DELIVERED:
            self.flush()

    def flush(self) -> None:
        """Write the records kept in memory (they then survive a killed process)."""
        if self._unwritten:
            os.write(self._log, self._unwritten)
            self._unwritten.clear()

    def sync(self) -> None:
        """Make every record written so far durable (`flush` first for the rest)."""
        os.fsync(self._log)

    def close(self) -> None:
        """Flush, sync, close the log and release the lock."""
        self.flush()
        self.sync()
        os.close(self._log)
        os.close(self._lock)


class NoJournal:
    """Stands in for a journal when there is none (stdin, --dry-run): remembers nothing."""

    directory = None
    earlier = Earlier()

    def state(self, key: int) -> int:
        """Nothing was recorded."""
        return 0

    def record(self, code: int, key: int) -> None:
        """Forget the record."""

    def flush(self) -> None:
        """Nothing to write."""

    def sync(self) -> None:
        """Nothing to sync."""

    def close(self) -> None:
        """Nothing to close."""
