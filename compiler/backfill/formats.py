"""What an input file holds, from its name and first bytes.

The container comes from the first bytes, as `run` tells gzip from its magic
number: a name can lie (`events.json` that is gzip), the bytes cannot. The
name only adds what bytes cannot say: that a file is part of Segment's S3
archive, or that a `.br` file is brotli (which has no magic number).

- plain NDJSON, gzip NDJSON (`.gz`, also Segment's `segment-logs/{source}/{day}/*.gz`),
  zstd NDJSON (`.zst`);
- zip: Amplitude's Export API archive, `{project}/{project}_{date}_{hour}#{n}.json.gz`
  members, each gzip NDJSON, read in (date, hour, n) order;
- Parquet: PostHog batch exports.

The shape is `posthog-batch-export` when the first record (or the Parquet
schema) has PostHog's batch-export fields (`uuid`, `event`, `distinct_id`,
`person_properties`) and no `person` object; see `adapters`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 1 << 16  # enough for the first record of any export seen in practice

PLAIN, GZIP, ZSTD, ZIP, PARQUET = "plain", "gzip", "zstd", "zip", "parquet"
AS_EXPORTED, POSTHOG_BATCH = "as-exported", "posthog-batch-export"
POSTHOG_BATCH_FIELDS = frozenset({"uuid", "event", "distinct_id", "person_properties"})

_MAGICS = ((GZIP_MAGIC, GZIP), (ZSTD_MAGIC, ZSTD), (ZIP_MAGIC, ZIP), (PARQUET_MAGIC, PARQUET))
_SUFFIX = {PLAIN: "ndjson", GZIP: "ndjson.gz", ZSTD: "ndjson.zst", ZIP: "zip", PARQUET: "parquet"}
_AMPLITUDE_MEMBER = re.compile(r"(?:^|/)[^/]*_(\d{4}-\d{2}-\d{2})_(\d+)#(\d+)\.json(?:\.gz)?$")


class UnknownFormat(ValueError):
    """The file is none of the formats backfill reads; the message says what it looks like."""


@dataclass(frozen=True)
class Format:
    """A file's container and shape, with where its name places it."""

    container: str
    shape: str = AS_EXPORTED
    layout: str = ""

    @property
    def label(self) -> str:
        """`ndjson.gz`, `posthog-batch-export.parquet`, `amplitude-export.zip`, ..."""
        prefix = self.shape if self.shape != AS_EXPORTED else self.layout
        suffix = _SUFFIX[self.container]
        if prefix and self.container == PLAIN:
            return f"{prefix}.ndjson"
        return f"{prefix}.{suffix}" if prefix else suffix


def container_of(head: bytes, name: str) -> str:
    """The container, from the first bytes; UnknownFormat for data backfill cannot read."""
    for magic, container in _MAGICS:
        if head.startswith(magic):
            return container
    if name.endswith(".br"):
        raise UnknownFormat(
            "brotli-compressed (.br): not supported; export with gzip compression instead"
        )
    if b"\x00" in head:
        raise UnknownFormat(
            f"binary data that is not gzip, zstd, zip or Parquet (first bytes {head[:8].hex()})"
        )
    return PLAIN


def layout_of(path: str, container: str) -> str:
    """Where the name places the file: Segment's S3 archive, Amplitude's export zip, or ''."""
    if container == ZIP:
        return "amplitude-export"
    if "segment-logs/" in path and container == GZIP:
        return "segment-archive"
    return ""


def first_line(head: bytes, container: str) -> bytes:
    """The first line of a plain, gzip or zstd file, from its first bytes ('' if unknown)."""
    if container == GZIP:
        head = zlib.decompressobj(wbits=31).decompress(head, HEAD_BYTES)
    elif container == ZSTD:
        import zstandard

        try:
            head = zstandard.ZstdDecompressor().decompressobj().decompress(head)
        except zstandard.ZstdError:
            return b""
    elif container != PLAIN:
        return b""
    return head.split(b"\n", 1)[0]


def shape_of_line(line: bytes) -> str:
    """`posthog-batch-export` when a JSON record has PostHog's batch-export fields."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return AS_EXPORTED
    return shape_of_fields(record.keys()) if isinstance(record, dict) else AS_EXPORTED


def shape_of_fields(fields: Iterable[str]) -> str:
    """The shape told by a record's keys or a Parquet file's column names."""
    names = set(fields)
    if POSTHOG_BATCH_FIELDS <= names and "person" not in names:
        return POSTHOG_BATCH
    return AS_EXPORTED


def member_order(name: str) -> tuple:
    """Sort key of zip members: Amplitude's (date, hour, n) when the name has them, else the name.

    Amplitude writes the hour without padding (`_5#0`, `_17#0`): by name alone
    hour 17 would come before hour 5.
    """
    found = _AMPLITUDE_MEMBER.search(name)
    if found is None:
        return (1, name, 0, 0)
    day, hour, number = found.groups()
    return (0, day, int(hour), int(number), name)


def is_data_member(name: str) -> bool:
    """Zip members that hold events (folders and dot files do not)."""
    base = name.rsplit("/", 1)[-1]
    return bool(base) and not base.startswith((".", "_")) and not name.startswith("__MACOSX/")
