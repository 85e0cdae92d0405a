"""The parts of `backfill` that need no cluster: formats, splitting, names, atomic files,
the import CSV, the PostHog adapter, input discovery, the manifest, the tasks in this process.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accoil_map.backfill import accoil_import, formats, task
from accoil_map.backfill.adapters import adapted_transform, chosen, posthog_batch_export
from accoil_map.backfill.command import byte_size
from accoil_map.backfill.inputs import InputError, discover
from accoil_map.backfill.manifest import ManifestError, Record, load
from accoil_map.backfill.outputs import Destination, base_name
from accoil_map.backfill.reading import scan_plain
from accoil_map.runner import RunStats, process_lines

from ..conftest import compiled
from .files import (
    MAPPINGS,
    amplitude_zip,
    events,
    gzip_bytes,
    ndjson,
    parquet_bytes,
    posthog_batch_rows,
    program,
    run_in_process,
    zstd_bytes,
)

# Formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    "head,name,container",
    [
        (b"\x1f\x8b\x08\x00", "x.json", formats.GZIP),  # the bytes decide, not the name
        (b"\x28\xb5\x2f\xfd\x00", "x.zst", formats.ZSTD),
        (b"PK\x03\x04", "export.zip", formats.ZIP),
        (b"PAR1\x15", "x.parquet", formats.PARQUET),
        (b'{"a": 1}\n', "x.gz", formats.PLAIN),
        (b"", "empty.ndjson", formats.PLAIN),
    ],
)
def test_container_from_first_bytes(head, name, container):
    assert formats.container_of(head, name) == container


@pytest.mark.parametrize(
    "head,name,message",
    [
        (b"\x0b\x02\x80", "events.jsonl.br", "brotli"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a.png", "binary data"),
    ],
)
def test_unreadable_containers_are_named(head, name, message):
    with pytest.raises(formats.UnknownFormat, match=message):
        formats.container_of(head, name)


def test_amplitude_members_sort_by_date_hour_and_number():
    names = [
        "1/1_2024-05-01_17#0.json.gz",
        "1/1_2024-05-01_5#1.json.gz",
        "1/1_2024-04-30_23#0.json.gz",
        "1/1_2024-05-01_5#0.json.gz",
    ]
    assert sorted(names, key=formats.member_order) == [names[2], names[3], names[1], names[0]]


def test_posthog_batch_shape_is_told_by_its_fields():
    batch, webhook = posthog_batch_rows(2)
    assert formats.shape_of_line(orjson.dumps(batch[0])) == formats.POSTHOG_BATCH
    assert formats.shape_of_line(orjson.dumps(webhook[0])) == formats.AS_EXPORTED
    assert formats.shape_of_line(b"not json") == formats.AS_EXPORTED
    gz = gzip_bytes(ndjson(batch))
    assert formats.shape_of_line(formats.first_line(gz, formats.GZIP)) == formats.POSTHOG_BATCH
    zst = zstd_bytes(ndjson(batch))
    assert formats.shape_of_line(formats.first_line(zst, formats.ZSTD)) == formats.POSTHOG_BATCH


# Splitting ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    last_newline=st.booleans(),
    split=st.integers(1, 200),
)
def test_chunks_are_whole_lines_that_cover_the_file(lines, last_newline, split):
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    digest, size, chunks = scan_plain(io.BytesIO(data), split)
    assert size == len(data) and digest == hashlib.sha256(data).hexdigest()
    assert b"".join(data[c.offset : c.offset + c.length] for c in chunks) == data
    numbered = list(enumerate(io.BytesIO(data), 1))
    for chunk in chunks:
        piece = data[chunk.offset : chunk.offset + chunk.length]
        assert list(enumerate(io.BytesIO(piece), chunk.first_line)) == [
            pair for pair in numbered if chunk.offset <= _start(data, pair[0]) < chunk.offset + chunk.length
        ]
    assert all(c.length >= split for c in chunks[:-1])
    assert all(data[c.offset + c.length - 1 : c.offset + c.length] == b"\n" for c in chunks[:-1])


def _start(data: bytes, line: int) -> int:
    position = 0
    for _ in range(line - 1):
        position = data.index(b"\n", position) + 1
    return position


@pytest.mark.parametrize(
    "text,size", [("128MiB", 128 << 20), ("64m", 64 << 20), ("1G", 1 << 30), ("4096", 4096)]
)
def test_split_sizes(text, size):
    assert byte_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "12 parsecs", "-5M"])
def test_bad_split_sizes(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        byte_size(text)


# Names and atomic files ------------------------------------------------------


def test_names_come_from_the_input_path():
    first = base_name("s3://bucket/segment-logs/src/1714521600000/part #1.gz")
    assert first == base_name("s3://bucket/segment-logs/src/1714521600000/part #1.gz")
    assert first.startswith("part_1.gz-")
    assert first != base_name("s3://bucket/segment-logs/other/1714521600000/part #1.gz")


def test_an_aborted_file_leaves_nothing_and_a_committed_one_appears_whole(tmp_path):
    destination = Destination(str(tmp_path))
    aborted = destination.create("a.ndjson", "calls", "gzip")
    aborted.write(b"half")
    aborted.abort()
    assert list(tmp_path.iterdir()) == []
    output = destination.create("b.ndjson.gz", "calls", "gzip")
    output.write(b'{"x":1}\n' * 1000)
    (temporary,) = tmp_path.iterdir()
    assert temporary.name.startswith(".b.ndjson.gz.") and temporary.name.endswith(".tmp")
    described = output.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["b.ndjson.gz"]
    data = (tmp_path / "b.ndjson.gz").read_bytes()
    assert gzip.decompress(data) == b'{"x":1}\n' * 1000
    assert described.bytes == len(data)
    again = destination.create("c.ndjson.gz", "calls", "gzip")
    again.write(b'{"x":1}\n' * 1000)
    again.commit()
    assert (tmp_path / "c.ndjson.gz").read_bytes() == data  # deterministic: no name, no time


# Accoil's import CSV ---------------------------------------------------------


def _rows(body: dict):
    return [(kind, row) for kind, row, _ in accoil_import.rows_of(body)]


def test_import_rows_of_each_call_type():
    ts = "2024-05-01T09:00:00.000Z"
    track = {"type": "track", "event": "Report Created", "userId": "u1", "timestamp": ts,
             "groupTraits": [{"groupId": "210000", "traits": {"name": "Acme", "group_type": "Account"}}]}
    assert _rows(track) == [
        ("events", ("track", "Report Created", ts, "u1")),
        ("groups", ("210000", "u1", ts, '{"name":"Acme","group_type":"Account"}')),
    ]
    assert _rows({"type": "page", "name": "Billing", "userId": "u1", "timestamp": ts}) == [
        ("events", ("track", "Page Viewed Billing", ts, "u1"))
    ]
    assert _rows({"type": "screen", "name": "Home", "userId": 7, "timestamp": ts}) == [
        ("events", ("track", "Screen Viewed Home", ts, "7"))
    ]
    assert _rows({"type": "identify", "userId": "u1", "timestamp": ts}) == [
        ("identifies", ("u1", ts, "{}"))
    ]
    assert _rows({"type": "group", "groupId": "g", "userId": "u1", "timestamp": ts,
                  "traits": {"mrr": 12.5}}) == [("groups", ("g", "u1", ts, '{"mrr":12.5}'))]


@pytest.mark.parametrize(
    "body,message",
    [
        ({"type": "group", "groupId": "g", "anonymousId": "a", "timestamp": "t"}, "needs user_id"),
        ({"type": "page", "userId": "u", "timestamp": "t"}, "needs name"),
        ({"type": "alias", "userId": "u", "timestamp": "t"}, "has no import file"),
    ],
)
def test_calls_the_import_cannot_take(body, message):
    with pytest.raises(accoil_import.NotImportable, match=message):
        accoil_import.rows_of(body)


def test_import_writer_quotes_like_accoils_example_and_keeps_refusals():
    files: dict[str, io.BytesIO] = {}
    refused = []

    def open_file(kind):
        return files.setdefault(kind, io.BytesIO()).write

    writer = accoil_import.ImportWriter(open_file, lambda reason, body: refused.append(reason))
    group = {"groupId": "company_123", "traits": {"name": "Acme Corp", "industry": "technology"}}
    for second in (1, 2):
        call = {"type": "track", "event": "Feature Used", "userId": "user_123",
                "timestamp": f"2025-07-29T10:30:0{second}Z", "groupTraits": [group]}
        writer.write(orjson.dumps(call) + b"\n")
    writer.write(b'{"type":"group","groupId":"g","timestamp":"t"}\n')
    assert files["groups"].getvalue().decode() == (
        "group_id,user_id,timestamp,traits\n"
        'company_123,user_123,2025-07-29T10:30:01Z,"{""name"":""Acme Corp"",""industry"":""technology""}"\n'
    )  # the same (group, user, traits) again: no second row
    assert list(csv.reader(io.StringIO(files["events"].getvalue().decode())))[1:] == [
        ["track", "Feature Used", "2025-07-29T10:30:01Z", "user_123"],
        ["track", "Feature Used", "2025-07-29T10:30:02Z", "user_123"],
    ]
    assert len(refused) == 1 and "user_id" in refused[0]
    assert "identifies" not in files  # no row, no file


# The PostHog adapter ---------------------------------------------------------


def test_posthog_adapter_gives_the_webhook_shape():
    batch, webhook = posthog_batch_rows(40)
    _, module, _ = compiled(MAPPINGS / "posthog.yaml")
    for row, hook in zip(batch, webhook, strict=True):
        stringly = {**row, "properties": orjson.dumps(row["properties"]).decode()}
        assert module.transform(posthog_batch_export(stringly), []) == module.transform(hook, [])
    assert "person" not in batch[0]  # the event itself is left as it was
    assert posthog_batch_export([1, 2]) == [1, 2]
    assert chosen("auto", formats.POSTHOG_BATCH) == formats.POSTHOG_BATCH
    assert chosen("auto", formats.AS_EXPORTED) == "none"


def test_posthog_adapter_rejects_bad_json_strings_with_the_line():
    _, module, _ = compiled(MAPPINGS / "posthog.yaml")
    transform = adapted_transform(module.transform, formats.POSTHOG_BATCH)
    line = orjson.dumps({"event": "x", "distinct_id": "u", "properties": "{oops", "uuid": "1"})
    rejects = []
    stats = process_lines(transform, module.RejectEvent, [(5, line)], [].append, rejects.append)
    assert stats.rejected == 1
    record = orjson.loads(rejects[0])
    assert record["line"] == 5 and "JSONDecodeError" in record["reason"]
    assert record["event"]["properties"] == "{oops"  # as exported


# Inputs ----------------------------------------------------------------------


def test_discovery_order_hidden_files_and_the_output_folder(tmp_path):
    for name in ("b/2.gz", "b/1.gz", "a.ndjson", ".hidden", "b/_SUCCESS", "out/x.calls.ndjson"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"{}\n")
    found = discover([str(tmp_path / "b"), str(tmp_path), str(tmp_path / "*.ndjson")],
                     exclude=str(tmp_path / "out"))
    assert [os.path.relpath(s.url, tmp_path) for s in found] == ["b/1.gz", "b/2.gz", "a.ndjson"]
    assert all(s.size == 3 for s in found)
    with pytest.raises(InputError, match="no such file"):
        discover([str(tmp_path / "missing.gz")])
    with pytest.raises(InputError, match="no input file matches"):
        discover([str(tmp_path / "*.parquet")])


# The manifest ----------------------------------------------------------------


def test_manifest_round_trip_and_damage(tmp_path):
    stats = RunStats(lines=3, emitted=2, calls=2, skipped=1)
    stats.reasons["skipped: no rule's condition held"] = 1
    record = Record("/x.gz", "ndjson.gz", 10, "ab" * 32, "f" * 64, stats, 0, ())
    assert Record.from_json(orjson.loads(record.to_line())) == record
    destination = Destination(str(tmp_path))
    (tmp_path / "manifest.jsonl").write_bytes(record.to_line() + b'{"input": "/y"}\n')
    with pytest.raises(ManifestError, match="manifest.jsonl:2"):
        load(destination)


# Tasks in this process -------------------------------------------------------


@pytest.fixture
def installed():
    prog = program("amplitude")
    task.install(prog)
    return prog


@pytest.mark.parametrize("container", ["plain", "gzip", "zstd"])
def test_process_source_of_each_stream_format(installed, tmp_path, container):
    data = ndjson(events("amplitude", 120)) + b"\n{bad\n"
    stored = {"plain": data, "gzip": gzip_bytes(data), "zstd": zstd_bytes(data, frames=2)}[container]
    (tmp_path / "in").write_bytes(stored)
    from accoil_map.backfill.inputs import Source

    source = Source(str(tmp_path / "in"), len(stored))
    settings_ = task.Settings(str(tmp_path / "out"), installed.sha256, split_bytes=1 << 30)
    outcome = task.process_source(source, settings_)
    assert isinstance(outcome, task.Whole) and outcome.format.container == container
    assert outcome.size == len(stored)
    calls, rejects = run_in_process("amplitude", data)
    names = {o.kind: o.path for o in outcome.result.outputs}
    assert (tmp_path / "out" / names["calls"]).read_bytes() == calls
    assert (tmp_path / "out" / names["rejects"]).read_bytes() == rejects
    assert outcome.result.stats.blank == 1 and outcome.result.stats.rejected >= 1


def test_a_zip_and_a_large_plain_file_come_back_as_parts(installed, tmp_path):
    from accoil_map.backfill.inputs import Source

    data = ndjson(events("amplitude", 200))
    (tmp_path / "big.ndjson").write_bytes(data)
    amplitude_zip(tmp_path / "e.zip", "9", [("2024-05-01", 1, 0, data[:5000].rsplit(b"\n", 1)[0] + b"\n")])
    settings_ = task.Settings(str(tmp_path / "out"), installed.sha256, split_bytes=20_000)
    split = task.process_source(Source(str(tmp_path / "big.ndjson"), len(data)), settings_)
    assert isinstance(split, task.Split) and len(split.parts) > 5
    results = [task.process_part(part, settings_) for part in split.parts]
    calls = b"".join(
        (tmp_path / "out" / o.path).read_bytes() for r in results for o in r.outputs if o.kind == "calls"
    )
    assert calls == run_in_process("amplitude", data)[0]
    zipped = task.process_source(Source(str(tmp_path / "e.zip"), 0), settings_)
    assert isinstance(zipped, task.Split) and [p.member for p in zipped.parts] == ["9/9_2024-05-01_1#0.json.gz"]


def test_parquet_source(installed, tmp_path):
    from accoil_map.backfill.inputs import Source

    task.install(posthog := program("posthog"))
    batch, webhook = posthog_batch_rows(50)
    stored = parquet_bytes(batch)
    (tmp_path / "x.parquet").write_bytes(stored)
    settings_ = task.Settings(str(tmp_path / "out"), posthog.sha256)
    outcome = task.process_source(Source(str(tmp_path / "x.parquet"), len(stored)), settings_)
    assert outcome.format.label == "posthog-batch-export.parquet"
    calls = (tmp_path / "out" / outcome.result.outputs[0].path).read_bytes()
    assert calls == run_in_process("posthog", ndjson(webhook))[0]
