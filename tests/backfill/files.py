"""Input files of every format backfill reads, made in the tests, and what `run` makes of them."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import random
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import orjson

from accoil_map.backfill.driver import Job
from accoil_map.backfill.manifest import MANIFEST
from accoil_map.backfill.task import Program
from accoil_map.runner import run_stream
from bench import corpus

from ..conftest import ROOT, compiled, venv_tool

MAPPINGS = ROOT / "mappings"
SPLIT_BYTES = 64 << 10  # small, so that small test files are split too


def program(mapping: str) -> Program:
    """A shipped mapping's generated module, as backfill ships it to the workers."""
    source, _, checked = compiled(MAPPINGS / f"{mapping}.yaml")
    return Program(checked.mapping.name, source, hashlib.sha256(source.encode()).hexdigest())


def job(mapping: str, inputs, outdir, **options) -> Job:
    """A backfill job of a shipped mapping (small split size unless given)."""
    options.setdefault("split_bytes", SPLIT_BYTES)
    return Job(program(mapping), tuple(str(i) for i in inputs), str(outdir), **options)


@functools.cache
def events(source: str, count: int, seed: int = 7) -> tuple[dict, ...]:
    """Realistic events of a source (bench's corpus), the same for the same arguments."""
    return tuple(corpus.generate(source, count, seed))


def ndjson(rows) -> bytes:
    """NDJSON bytes of JSON values."""
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def gzip_bytes(data: bytes) -> bytes:
    """gzip without a time stamp."""
    return gzip.compress(data, mtime=0)


def zstd_bytes(data: bytes, frames: int = 1) -> bytes:
    """zstd, cut into `frames` frames at line boundaries (readers must read across frames)."""
    import zstandard

    lines = data.splitlines(keepends=True)
    step = -(-len(lines) // frames) or 1
    compressor = zstandard.ZstdCompressor()
    return b"".join(
        compressor.compress(b"".join(lines[i : i + step])) for i in range(0, len(lines), step)
    )


def amplitude_zip(path: Path, project: str, members: list[tuple[str, int, int, bytes]]) -> None:
    """Amplitude's export zip: `{project}/{project}_{date}_{hour}#{n}.json.gz`, stored shuffled."""
    shuffled = list(members)
    random.Random(3).shuffle(shuffled)
    with zipfile.ZipFile(path, "w") as archive:
        for day, hour, number, data in shuffled:
            archive.writestr(f"{project}/{project}_{day}_{hour}#{number}.json.gz", gzip_bytes(data))


def member_order(members: list[tuple[str, int, int, bytes]]) -> bytes:
    """The members' lines in Amplitude's (date, hour, n) order."""
    return b"".join(data for *_, data in sorted(members, key=lambda m: m[:3]))


def posthog_batch_rows(count: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """(batch-export rows, the same events in the webhook shape), timestamps in UTC."""
    batch, webhook = [], []
    for number, event in enumerate(events("posthog", count, seed)):
        stamp = _utc_iso(datetime.fromisoformat(event["timestamp"]))
        person = (event.get("person") or {}).get("properties")
        fields = {key: value for key, value in event.items() if key != "person"}
        fields.update(uuid=event.get("uuid") or f"uuid-{number}", timestamp=stamp)
        batch.append({**fields, "person_properties": person, "created_at": stamp})
        webhook.append({**fields, "person": {"properties": person}})
    return batch, webhook


def _utc_iso(when: datetime) -> str:
    """A time as Parquet gives it back through orjson: `2024-05-01T09:00:00.123000+00:00`."""
    return orjson.dumps(when.astimezone(UTC)).decode().strip('"')


def parquet_bytes(rows: list[dict]) -> bytes:
    """PostHog's Parquet batch export: properties as JSON strings, timestamps as timestamps."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "uuid": [row["uuid"] for row in rows],
        "event": [row.get("event") for row in rows],
        "distinct_id": [row.get("distinct_id") for row in rows],
        "properties": [orjson.dumps(row.get("properties")).decode() for row in rows],
        "person_properties": [orjson.dumps(row.get("person_properties")).decode() for row in rows],
        "timestamp": [datetime.fromisoformat(row["timestamp"]) for row in rows],
    }
    schema = pa.schema(
        [(name, pa.string()) for name in columns if name != "timestamp"]
        + [("timestamp", pa.timestamp("us", tz="UTC"))]
    )
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns, schema=schema), buffer)
    return buffer.getvalue()


def run_in_process(mapping: str, data: bytes) -> tuple[bytes, bytes]:
    """(calls, rejects) of `run_stream` (what `run` does after start-up) on NDJSON bytes."""
    _, module, _ = compiled(MAPPINGS / f"{mapping}.yaml")
    calls, rejects = io.BytesIO(), io.BytesIO()
    run_stream(module, io.BytesIO(data), calls, rejects)
    return calls.getvalue(), rejects.getvalue()


def run_cli(mapping: str, path: Path) -> bytes:
    """The calls of `accoil-map run MAPPING -i PATH`, the command itself."""
    done = subprocess.run(
        [venv_tool("accoil-map"), "run", str(MAPPINGS / f"{mapping}.yaml"), "-i", str(path), "-q"],
        check=True,
        capture_output=True,
    )
    return done.stdout


def manifest_records(outdir: Path) -> list[dict]:
    """The manifest's records, in order."""
    return [orjson.loads(line) for line in (outdir / MANIFEST).read_bytes().splitlines()]


def decompressed(path: Path) -> bytes:
    """A file's bytes, gunzipped or unzstd-ed by its name."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return data


def outputs_of(outdir: Path, record: dict, kind: str) -> bytes:
    """The concatenated files of one kind of one manifest record, decompressed."""
    return b"".join(
        decompressed(outdir / output["path"]) for output in record["outputs"] if output["kind"] == kind
    )


def concatenated(outdir: Path, kind: str = "calls") -> bytes:
    """Every record's files of one kind, in manifest order."""
    return b"".join(outputs_of(outdir, record, kind) for record in manifest_records(outdir))


def leftovers(outdir: Path) -> list[Path]:
    """Temporary files under the output folder (there must be none after a run)."""
    return [path for path in outdir.rglob(".*") if path.name.endswith(".tmp")]
