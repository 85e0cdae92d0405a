"""`backfill` over `s3://`: moto's S3 server on 127.0.0.1 (conftest), read and written
through s3fs: Segment's S3 archive layout (`segment-logs/{source}/{day}/*.gz`) and an
Amplitude export zip in a bucket, a glob over them, outputs back into the bucket.
"""

from __future__ import annotations

import hashlib

import orjson
import pytest

from accoil_map.backfill.driver import backfill
from accoil_map.backfill.inputs import discover

from .conftest import BUCKET
from .files import (
    amplitude_zip,
    events,
    gzip_bytes,
    job,
    member_order,
    ndjson,
    run_in_process,
)


@pytest.fixture(scope="module")
def segment_archive(s3) -> list[bytes]:
    """Three days of Segment's archive, two sources; the files' NDJSON in path order."""
    lines = ndjson(events("segment", 900)).splitlines(keepends=True)
    contents = {}
    for number, (source, day) in enumerate(
        [("src-a", "1714521600000"), ("src-a", "1714608000000"), ("src-b", "1714521600000")]
    ):
        for part in range(2):
            key = f"{BUCKET}/segment-logs/{source}/{day}/1714{part}.{number}abc.gz"
            data = b"".join(lines[(2 * number + part) * 150 : (2 * number + part + 1) * 150])
            s3.pipe(key, gzip_bytes(data))
            contents[key] = data
    return [contents[key] for key in sorted(contents)]


def test_segment_archive_from_s3_into_s3(s3, client, segment_archive, tmp_path):
    pattern = f"s3://{BUCKET}/segment-logs/*/*/*.gz"
    assert len(discover([pattern])) == 6
    report = backfill(job("segment", [pattern], f"s3://{BUCKET}/out"), client)
    assert report.ok, report.failures
    manifest = s3.cat(f"{BUCKET}/out/manifest.jsonl")
    records = [orjson.loads(line) for line in manifest.splitlines()]
    assert [r["format"] for r in records] == ["segment-archive.ndjson.gz"] * 6
    assert [r["input"] for r in records] == sorted(r["input"] for r in records)
    calls = b"".join(
        s3.cat(f"{BUCKET}/out/{o['path']}") for r in records for o in r["outputs"] if o["kind"] == "calls"
    )
    assert calls == run_in_process("segment", b"".join(segment_archive))[0]
    for record in records:
        stored = s3.cat(record["input"].removeprefix("s3://"))
        assert record["sha256"] == hashlib.sha256(stored).hexdigest()
    assert not [path for path in s3.find(f"{BUCKET}/out") if path.endswith(".tmp")]

    again = backfill(job("segment", [pattern], f"s3://{BUCKET}/out"), client)
    assert again.ok and again.reused == 6


def test_amplitude_zip_from_s3_to_a_local_folder(s3, client, tmp_path):
    lines = ndjson(events("amplitude", 400)).splitlines(keepends=True)
    members = [("2024-05-02", hour, 0, b"".join(lines[hour * 100 : hour * 100 + 100])) for hour in range(4)]
    amplitude_zip(tmp_path / "export.zip", "42", members)
    s3.put(str(tmp_path / "export.zip"), f"{BUCKET}/amplitude/export.zip")
    report = backfill(job("amplitude", [f"s3://{BUCKET}/amplitude/"], tmp_path / "out"), client)
    assert report.ok, report.failures
    calls = b"".join(
        (tmp_path / "out" / output.path).read_bytes()
        for output in report.records[0].outputs
        if output.kind == "calls"
    )
    assert calls == run_in_process("amplitude", member_order(members))[0]
