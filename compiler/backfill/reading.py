"""The numbered lines of an input, or of one part of it, as `run` would read them.

Lines are split at b"\\n" and keep it, numbered from 1 per file (per zip
member), exactly like `run_stream`'s `enumerate(infile, 1)`: the same bytes
reach `process_lines`, so the same calls come out. While a whole file is read,
its bytes (compressed, as stored) are hashed on the way: the manifest's
content hash costs no second read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from ..runner import count_newlines
from .extra import require_parquet
from .formats import GZIP, GZIP_MAGIC, PLAIN, ZSTD, UnknownFormat
from .inputs import _is_local, filesystem

BLOCK_BYTES = 1 << 20


class HashingReader(io.RawIOBase):
    """A raw stream that hashes and counts the bytes read through it."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        count = self.stream.readinto(view)
        if count:
            self.digest.update(view[:count])
            self.count += count
        return count or 0

    def finish(self) -> tuple[str, int]:
        """Read what the decoder left (trailing bytes) and return (sha256 hex, size)."""
        while block := self.stream.read(BLOCK_BYTES):
            self.digest.update(block)
            self.count += len(block)
        return self.digest.hexdigest(), self.count


class RangeReader(io.RawIOBase):
    """`length` bytes of a seekable stream from `offset`."""

    def __init__(self, stream: BinaryIO, offset: int, length: int):
        stream.seek(offset)
        self.stream = stream
        self.left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self.left]
        count = self.stream.readinto(view) or 0
        self.left -= count
        return count


@dataclass(frozen=True)
class Chunk:
    """A run of whole lines of a plain file: where it starts, how long, its first line number."""

    offset: int
    length: int
    first_line: int


@contextmanager
def open_raw(url: str) -> Iterator[BinaryIO]:
    """The file's bytes as stored; a local file without fsspec's wrapper."""
    fs, path = filesystem(url)
    stream = open(path, "rb") if _is_local(fs) else fs.open(path, "rb")  # noqa: SIM115
    try:
        yield stream
    finally:
        stream.close()


def decoded(raw: io.RawIOBase | BinaryIO, container: str) -> BinaryIO:
    """A line-iterable stream of the decompressed bytes of a plain, gzip or zstd stream."""
    buffered = io.BufferedReader(raw, BLOCK_BYTES)
    if container == GZIP:
        return gzip.GzipFile(fileobj=buffered, mode="rb")
    if container == ZSTD:
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        return io.BufferedReader(reader, BLOCK_BYTES)
    if container == PLAIN:
        return buffered
    raise UnknownFormat(f"{container} is not a stream of lines")


def parquet_lines(raw: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Each row of a Parquet file as a numbered JSON line (timestamps as ISO 8601, UTC)."""
    require_parquet()
    from pyarrow import parquet

    options = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
    number = 0
    for batch in parquet.ParquetFile(raw).iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield number, orjson.dumps(row, option=options, default=str)


def parquet_columns(raw: BinaryIO) -> list[str]:
    """The column names of a Parquet file, from its footer."""
    require_parquet()
    from pyarrow import parquet

    return list(parquet.ParquetFile(raw).schema_arrow.names)


@contextmanager
def member_stream(raw: BinaryIO, member: str) -> Iterator[BinaryIO]:
    """A zip member's decompressed lines (a member may itself be gzip, as Amplitude's are)."""
    with zipfile.ZipFile(raw) as archive, archive.open(member) as stream:
        peekable = io.BufferedReader(stream, BLOCK_BYTES)
        container = GZIP if peekable.peek(2)[:2] == GZIP_MAGIC else PLAIN
        yield decoded(peekable, container) if container == GZIP else peekable


def zip_members(raw: BinaryIO) -> list[tuple[str, int]]:
    """(name, compressed size) of every member of a zip file, in the archive's order."""
    with zipfile.ZipFile(raw) as archive:
        return [
            (info.filename, info.compress_size) for info in archive.infolist() if not info.is_dir()
        ]


def hash_stream(raw: BinaryIO) -> tuple[str, int]:
    """(sha256 hex, size) of a whole stream."""
    reader = HashingReader(raw)
    return reader.finish()


def scan_plain(raw: BinaryIO, split_bytes: int) -> tuple[str, int, list[Chunk]]:
    """Hash a plain file and cut it into chunks of whole lines of at least `split_bytes`.

    Each cut is just after the first newline at or past `split_bytes` from the
    chunk's start; each chunk knows the number of its first line, so reject
    records carry the line numbers of the file.
    """
    digest = hashlib.sha256()
    chunks: list[Chunk] = []
    start = position = newlines = 0
    first = 1
    while block := raw.read(BLOCK_BYTES):
        digest.update(block)
        while (cut := block.find(b"\n", max(start + split_bytes - position, 0))) >= 0:
            end = position + cut + 1
            chunks.append(Chunk(start, end - start, first))
            first = 1 + newlines + count_newlines(block, 0, cut + 1)
            start = end
        newlines += count_newlines(block)
        position += len(block)
    if position > start:
        chunks.append(Chunk(start, position - start, first))
    return digest.hexdigest(), position, chunks
