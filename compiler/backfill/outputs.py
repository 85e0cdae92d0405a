"""Output files that appear whole or not at all, under names derived from the input.

Every file is written to a temporary name and only then given its final
name: in a local (or mounted) output folder a hidden `.NAME.RANDOM.tmp`
beside it, renamed with `os.replace` after an fsync; in an object store
(`-o s3://...`) a local temporary file uploaded with one `put`, which S3
publishes only once complete. A task that dies leaves at most a temporary
file, which the driver removes at the end of the run; a task that is run
again writes the same bytes under the same name. Compressed files are
deterministic too (gzip without a name or time stamp; zstd level 3).

Names: `{input file name}-{first 12 hex digits of sha256(input URL)}`, so two
inputs with the same file name in different folders never collide, and a
rerun finds its files again. A part of a split file adds `.part00003`; a zip
member adds `/00002-{member name}` (one folder per zip).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from .inputs import _is_local, filesystem

BLOCK_BYTES = 1 << 20
NONE, GZIP, ZST = "none", "gzip", "zst"
COMPRESSIONS = (NONE, GZIP, ZST)
SUFFIXES = {NONE: "", GZIP: ".gz", ZST: ".zst"}
ZSTD_LEVEL = 3
TEMPORARY_SUFFIX = ".tmp"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class OutputFile:
    """A finished output file: its path under the output folder, what it holds, size and sha256."""

    path: str
    kind: str
    bytes: int
    sha256: str

    def to_json(self) -> dict:
        """The manifest's form."""
        return {"path": self.path, "kind": self.kind, "bytes": self.bytes, "sha256": self.sha256}


def safe_name(text: str, limit: int = 96) -> str:
    """`text` with every run of characters outside [A-Za-z0-9._-] as one '_', at most `limit` long."""
    return _UNSAFE.sub("_", text).strip("_.")[:limit] or "input"


def base_name(url: str) -> str:
    """The stem of every output of the input at `url` (see the module docstring)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"{safe_name(url.rstrip('/').rsplit('/', 1)[-1])}-{digest}"


class Destination:
    """The output folder, local or any fsspec URL."""

    def __init__(self, url: str):
        self.url = url
        self.fs, root = filesystem(url)
        self.root = root.rstrip("/")
        self.local = _is_local(self.fs)

    def path(self, relative: str) -> str:
        """The filesystem path of a file under the folder."""
        return f"{self.root}/{relative}"

    def prepare(self) -> None:
        """Create the folder (object stores need none)."""
        if self.local:
            os.makedirs(self.root, exist_ok=True)

    def create(self, relative: str, kind: str, compress: str) -> AtomicOutput:
        """A new output file, published by its `commit()`."""
        final = self.path(relative)
        if self.local:
            folder, name = os.path.split(final)
            os.makedirs(folder, exist_ok=True)
            temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
        else:
            handle, temporary = tempfile.mkstemp(prefix="accoil-map-", suffix=TEMPORARY_SUFFIX)
            os.close(handle)
        return AtomicOutput(self, relative, kind, compress, temporary)

    def publish(self, temporary: str, relative: str) -> None:
        """Give a finished temporary file its final name, in one step."""
        if self.local:
            os.replace(temporary, self.path(relative))
            return
        try:
            self.fs.put_file(temporary, self.path(relative))
        finally:
            os.unlink(temporary)

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write a small file (the manifest) atomically."""
        output = self.create(relative, "manifest", NONE)
        try:
            output.write(data)
        except BaseException:
            output.abort()
            raise
        output.commit()

    def read_bytes(self, relative: str) -> bytes | None:
        """A file's bytes, or None when it does not exist."""
        try:
            with self.fs.open(self.path(relative), "rb") as stream:
                return stream.read()
        except FileNotFoundError:
            return None

    def sizes(self) -> dict[str, int]:
        """The size of every file under the folder, by relative path (one listing)."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        prefix = self.root + "/"
        return {
            name.removeprefix(prefix): int(info.get("size") or 0)
            for name, info in found.items()
            if info.get("type") == "file"
        }

    def remove(self, relative: str) -> None:
        """Delete a file if it exists."""
        try:
            self.fs.rm_file(self.path(relative))
        except FileNotFoundError:
            pass

    def remove_temporaries(self) -> int:
        """Delete the temporary files that interrupted tasks left; how many there were."""
        if not self.local or not os.path.isdir(self.root):
            return 0
        removed = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(".") and name.endswith(TEMPORARY_SUFFIX):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
        return removed


class _HashingWriter(io.RawIOBase):
    """Writes through to a file, hashing and counting the bytes as stored."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.stream is None:  # aborted: the layers above are being closed
            return len(data)
        self.digest.update(data)
        self.count += len(data)
        self.stream.write(data)
        return len(data)


def _compressor(stored: BinaryIO, compress: str):
    if compress == GZIP:
        # No file name and time 0 in the header: the same calls give the same bytes.
        return gzip.GzipFile(fileobj=stored, mode="wb", filename="", mtime=0)
    if compress == ZST:
        import zstandard

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(stored, closefd=False)
    if compress == NONE:
        return None
    raise ValueError(f"unknown compression {compress!r}")


class AtomicOutput:
    """An output file being written: `write`, then `commit()` or `abort()`."""

    def __init__(
        self, destination: Destination, relative: str, kind: str, compress: str, temporary: str
    ):
        self.destination, self.relative, self.kind = destination, relative, kind
        self.temporary = temporary
        self._file = open(temporary, "wb", buffering=0)  # noqa: SIM115
        self._hashing = _HashingWriter(self._file)
        self._stored = io.BufferedWriter(self._hashing, BLOCK_BYTES)
        self._compressor = _compressor(self._stored, compress)
        # Callers write one call at a time: buffer before the compressor, not after only.
        self._stream = (
            io.BufferedWriter(self._compressor, BLOCK_BYTES) if self._compressor else self._stored
        )
        self.write = self._stream.write

    def commit(self) -> OutputFile:
        """Finish the file, give it its final name and describe it."""
        self._stream.flush()
        if self._compressor is not None:
            self._stream.detach()
            self._compressor.close()
        self._stored.flush()
        self._stored.detach()
        os.fsync(self._file.fileno())
        self._file.close()
        self.destination.publish(self.temporary, self.relative)
        return OutputFile(
            self.relative, self.kind, self._hashing.count, self._hashing.digest.hexdigest()
        )

    def abort(self) -> None:
        """Drop the file: nothing under its final name changes."""
        self._hashing.stream = None
        for layer in (self._stream, self._compressor, self._stored):
            if layer is not None:
                try:
                    layer.close()
                except ValueError:  # already detached by a commit that failed later
                    pass
        self._file.close()
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass
