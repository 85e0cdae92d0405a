"""Output files of `run` that appear whole or not at all.

A regular file (or a name not yet taken) is written to a temporary file beside
it, created with mkstemp in the same folder, and renamed over the name only
when the run succeeded: a failed or interrupted run leaves the previous file
as it was and no partial file under the final name. A device or a pipe
(`/dev/null`, `-` for stdout, a FIFO) cannot be replaced and is written in
place. A write error names its file; the reader of a pipe going away raises
`OutputClosed`, so `run | head` can end quietly.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
import tempfile
from pathlib import Path


class OutputError(Exception):
    """An output (`label`) cannot be written: it is incomplete."""

    def __init__(self, message: str, label: str):
        super().__init__(message)
        self.label = label


class OutputClosed(OutputError):
    """The reader of an output pipe went away (`| head`)."""


class _Descriptor(io.FileIO):
    """One output's file descriptor: errors name the output; after one, writes are dropped.

    Dropping them keeps the buffered writer above from raising again (and
    printing "Exception ignored") when it is flushed or collected later: the
    run is failing already and says so once.
    """

    def __init__(self, fd: int, label: str, closefd: bool = True):
        super().__init__(fd, "wb", closefd=closefd)
        self.label = label
        self.failed = False

    def write(self, data) -> int:
        if self.failed:
            return len(data)
        try:
            return super().write(data)
        except BrokenPipeError:
            self.failed = True
            raise OutputClosed(f"{self.label}: the reader closed the pipe", self.label) from None
        except OSError as error:
            self.failed = True
            raise OutputError(f"cannot write {self.label}: {error.strerror}", self.label) from None


def _default_mode() -> int:
    umask = os.umask(0)  # the only way to read it; set back at once (no threads yet)
    os.umask(umask)
    return 0o666 & ~umask


class Output:
    """An output of `run`: `stream` to write to, then `finish()` and `publish()`, or `discard()`."""

    BUFFER = 1 << 16

    def __init__(self, path: str):
        """Open `path` (`-` is stdout); OSError when its folder cannot be made or written."""
        self.temporary: str | None = None
        self.target: Path | None = None  # the file a temporary one replaces
        if path == "-":
            self.label = "stdout"
            raw = _Descriptor(sys.stdout.fileno(), self.label, closefd=False)
        else:
            self.label = path
            try:
                mode = os.stat(path).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None and stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
            if mode is None or stat.S_ISREG(mode):
                self.target = Path(os.path.realpath(path))  # a link is followed, not replaced
                raw = self._temporary(self.target, mode)
            else:  # a device or a pipe (/dev/fd/N too): it cannot be replaced, only written
                raw = _Descriptor(os.open(path, os.O_WRONLY | os.O_CLOEXEC), path)
        self.stream = io.BufferedWriter(raw, buffer_size=self.BUFFER)

    def _temporary(self, target: Path, mode: int | None) -> _Descriptor:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, self.temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".tmp"
        )
        try:
            os.fchmod(fd, stat.S_IMODE(mode) if mode is not None else _default_mode())
        except OSError:
            os.close(fd)
            os.unlink(self.temporary)
            raise
        return _Descriptor(fd, self.label)

    def finish(self) -> None:
        """Flush and close the output, on disk for a file; OutputError if that fails."""
        self.stream.flush()
        if self.temporary is not None:
            try:
                os.fsync(self.stream.fileno())  # on disk before the name points at it
            except OSError as error:
                message = f"cannot write {self.label}: {error.strerror}"
                raise OutputError(message, self.label) from None
        self.stream.close()

    def publish(self) -> None:
        """Put a finished file in place of the previous one (nothing to do for a stream)."""
        if self.temporary is not None:
            os.replace(self.temporary, self.target)
            self.temporary = None

    def discard(self) -> str:
        """Drop what was written, where it can be; say what became of the output."""
        self.stream.raw.failed = True  # what is still buffered goes nowhere on close
        with contextlib.suppress(OSError):
            self.stream.close()
        if self.temporary is None:
            return f"{self.label} is incomplete"
        with contextlib.suppress(OSError):
            os.unlink(self.temporary)
        self.temporary = None
        return (
            f"{self.label} left as it was" if self.target.exists() else f"{self.label} not written"
        )


def finish_all(outputs: list[Output]) -> None:
    """Finish every output, then publish them: a failure in one leaves all unpublished."""
    for output in outputs:
        output.finish()
    for output in outputs:
        output.publish()
