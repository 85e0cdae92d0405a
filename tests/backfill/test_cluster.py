"""`backfill` on a real Dask cluster: a LocalCluster of two worker processes (conftest).

Every format, made here on small files; outputs checked byte for byte against
`run` over the same inputs in the same order; resuming after an interrupted
run; a worker killed while it works; inputs that fail.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from accoil_map.backfill.adapters import NONE
from accoil_map.backfill.driver import backfill
from accoil_map.backfill.formats import POSTHOG_BATCH

from .files import (
    amplitude_zip,
    concatenated,
    events,
    gzip_bytes,
    job,
    leftovers,
    manifest_records,
    member_order,
    ndjson,
    outputs_of,
    parquet_bytes,
    posthog_batch_rows,
    run_cli,
    run_in_process,
    zstd_bytes,
)


@pytest.fixture(scope="module")
def amplitude_inputs(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A folder with Amplitude events in every container, and each file's NDJSON content."""
    folder = tmp_path_factory.mktemp("amplitude")
    lines = ndjson(events("amplitude", 1600))
    parts = lines.splitlines(keepends=True)
    bad = b'{"event_type": "Report Created", "user_id": \n\n[1, 2]\n'  # bad JSON, blank, not an object
    # Values the mapping does not read are not converted, as `run` reads a line: an
    # infinite number, an integer past 64 bits, bytes that are not UTF-8.
    known = b'"event_type": "Report Created", "user_id": "u1", "event_time": "2024-05-01 12:00:00"'
    bad += b"{" + known + b', "unread": 1e400, "big": 123456789012345678901234567890}\n'
    bad += b"{" + known + b', "unread": "\xff"}\n'
    contents = {
        "a.ndjson": b"".join(parts[:150]),
        "b.ndjson.gz": b"".join(parts[150:400]),
        "big.ndjson": b"".join(parts[400:700]) + bad + b"".join(parts[700:900]),
        "c.ndjson.zst": b"".join(parts[900:1100]),
    }
    (folder / "a.ndjson").write_bytes(contents["a.ndjson"])
    (folder / "b.ndjson.gz").write_bytes(gzip_bytes(contents["b.ndjson.gz"]))
    (folder / "big.ndjson").write_bytes(contents["big.ndjson"])
    (folder / "c.ndjson.zst").write_bytes(zstd_bytes(contents["c.ndjson.zst"], frames=3))
    members = [
        ("2024-05-01", 10, 0, b"".join(parts[1100:1250])),
        ("2024-05-01", 2, 0, b"".join(parts[1250:1350])),
        ("2024-05-01", 2, 1, b"".join(parts[1350:1450])),
        ("2024-04-30", 23, 0, b"".join(parts[1450:1600])),
    ]
    amplitude_zip(folder / "export.zip", "187520", members)
    contents["export.zip"] = member_order(members)
    (folder / ".DS_Store").write_bytes(b"\x00\x01 not an input")
    return folder, contents


def test_every_format_gives_what_run_gives(client, amplitude_inputs, tmp_path):
    folder, contents = amplitude_inputs
    report = backfill(job("amplitude", [folder], tmp_path / "out"), client)
    assert report.ok and report.reused == 0 and not report.failures

    out = tmp_path / "out"
    records = manifest_records(out)
    names = sorted(contents)  # a folder is read in path order
    assert [Path(r["input"]).name for r in records] == names
    assert [r["format"] for r in records] == [
        "ndjson",
        "ndjson.gz",
        "ndjson",
        "ndjson.zst",
        "amplitude-export.zip",
    ]
    everything = tmp_path / "everything.ndjson"
    everything.write_bytes(b"".join(contents[name] for name in names))
    # The calls, in manifest order, are what `accoil-map run` gives for the same lines.
    assert concatenated(out) == run_cli("amplitude", everything)
    for record, name in zip(records, names, strict=True):
        _check_record(out, folder / name, record, contents[name])
    big = next(r for r in records if r["input"].endswith("big.ndjson"))
    assert len([o for o in big["outputs"] if o["kind"] == "calls"]) > 3  # split in parts
    assert big["rejected"] >= 2 and big["blank"] == 1
    assert len([o for o in records[-1]["outputs"] if o["kind"] == "calls"]) == 4  # zip members
    assert not leftovers(out)


def _check_record(out: Path, path: Path, record: dict, content: bytes) -> None:
    """A record's size, hashes and counts, and its rejects file against `run`'s."""
    stored = path.read_bytes()
    assert (record["size"], record["sha256"]) == (len(stored), hashlib.sha256(stored).hexdigest())
    for output in record["outputs"]:
        data = (out / output["path"]).read_bytes()
        assert (output["bytes"], output["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    counted = record["emitted"] + record["skipped"] + record["rejected"] + record["blank"]
    assert record["lines"] == counted == content.count(b"\n")
    if path.suffix == ".zip":
        return  # lines are numbered per member there; checked in the format tests
    calls, rejects = run_in_process("amplitude", content)
    assert outputs_of(out, record, "calls") == calls
    assert outputs_of(out, record, "rejects") == rejects  # line numbers of the whole file


def test_zip_members_keep_their_own_line_numbers(client, tmp_path):
    bad_members = [("2024-05-01", 1, 0, b"not json\n"), ("2024-05-01", 3, 0, b"{}\n[]\n")]
    amplitude_zip(tmp_path / "bad.zip", "1", bad_members)
    report = backfill(job("amplitude", [tmp_path / "bad.zip"], tmp_path / "out"), client)
    assert report.ok
    (record,) = manifest_records(tmp_path / "out")
    expected = b"".join(run_in_process("amplitude", data)[1] for *_, data in bad_members)
    assert outputs_of(tmp_path / "out", record, "rejects") == expected
    assert record["rejected"] == 3


def test_posthog_batch_exports_read_like_webhook_events(client, tmp_path):
    batch, webhook = posthog_batch_rows(600)
    data = tmp_path / "exports"
    data.mkdir()
    (data / "2024-05-01T00:00:00-2024-05-01T01:00:00.jsonl.gz").write_bytes(gzip_bytes(ndjson(batch[:300])))
    (data / "2024-05-01T01:00:00-2024-05-01T02:00:00.parquet").write_bytes(parquet_bytes(batch[300:]))
    report = backfill(job("posthog", [data], tmp_path / "out"), client)
    assert report.ok
    records = manifest_records(tmp_path / "out")
    assert [r["format"] for r in records] == [
        f"{POSTHOG_BATCH}.ndjson.gz",
        f"{POSTHOG_BATCH}.parquet",
    ]
    expected, _ = run_in_process("posthog", ndjson(webhook))
    assert concatenated(tmp_path / "out") == expected
    assert b'"type":"identify"' in expected and b'"email"' in expected  # person properties read

    # Without the adapter the webhook mapping finds no person properties: different calls.
    plain = backfill(job("posthog", [data], tmp_path / "plain", adapter=NONE), client)
    assert plain.ok and concatenated(tmp_path / "plain") != expected


def test_accoil_import_files(client, amplitude_inputs, tmp_path):
    import csv
    import io

    from accoil_map.backfill.accoil_import import COLUMNS, NotImportable, rows_of

    folder, contents = amplitude_inputs
    options = {"output_format": "accoil-import", "compress": "zst", "split_bytes": 1 << 30}
    report = backfill(job("amplitude", [folder / "a.ndjson"], tmp_path / "out", **options), client)
    assert report.ok
    (record,) = manifest_records(tmp_path / "out")
    kinds = [output["kind"] for output in record["outputs"]]
    assert kinds == ["events", "groups", "identifies", "rejects"]
    assert all(output["path"].endswith(".zst") for output in record["outputs"])
    calls, _ = run_in_process("amplitude", contents["a.ndjson"])
    expected: dict[str, list] = {kind: [] for kind in COLUMNS}
    refused, derived_seen = 0, set()
    for line in calls.splitlines():
        try:
            rows = rows_of(orjson.loads(line))
        except NotImportable:
            refused += 1
            continue
        for kind, row, derived in rows:
            key = (row[0], row[1], row[-1])  # a derived groups row: group, user, traits
            if not (derived and key in derived_seen):
                expected[kind].append(row)
            if derived:
                derived_seen.add(key)
    for kind in ("events", "groups", "identifies"):
        table = list(csv.reader(io.StringIO(outputs_of(tmp_path / "out", record, kind).decode())))
        assert tuple(table[0]) == COLUMNS[kind]
        assert [tuple(row) for row in table[1:]] == [tuple(row) for row in expected[kind]]
    assert refused == record["not_imported"]
    rejects = outputs_of(tmp_path / "out", record, "rejects").decode()
    assert rejects.count('"status":"not imported"') == refused


def test_gzip_outputs_hold_the_same_calls(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    inputs = [folder / "a.ndjson", folder / "big.ndjson"]
    assert backfill(job("amplitude", inputs, tmp_path / "gz", compress="gzip"), client).ok
    assert backfill(job("amplitude", inputs, tmp_path / "plain"), client).ok
    assert concatenated(tmp_path / "gz") == concatenated(tmp_path / "plain")
    first = manifest_records(tmp_path / "gz")[0]["outputs"][0]["path"]
    assert gzip.decompress((tmp_path / "gz" / first).read_bytes())
    assert first.endswith(".calls.ndjson.gz")


def test_rerun_skips_what_is_done_and_redoes_what_changed(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.ndjson", "b.ndjson.gz", "c.ndjson.zst"):
        (data / name).write_bytes((folder / name).read_bytes())
    first = backfill(job("amplitude", [data], tmp_path / "out"), client)
    before = (tmp_path / "out" / "manifest.jsonl").read_bytes()
    again = backfill(job("amplitude", [data], tmp_path / "out"), client)
    assert (again.reused, len(again.records)) == (3, 3)
    assert (tmp_path / "out" / "manifest.jsonl").read_bytes() == before

    # Same size, other bytes: the hash tells; then a new size.
    text = (data / "a.ndjson").read_bytes()
    (data / "a.ndjson").write_bytes(text.replace(b"Report Created", b"Report Deleted"))
    changed = backfill(job("amplitude", [data], tmp_path / "out"), client)
    assert changed.reused == 2 and changed.ok
    assert b"Report Deleted" in concatenated(tmp_path / "out")
    (data / "b.ndjson.gz").write_bytes(gzip_bytes(b"{}\n"))
    resized = backfill(job("amplitude", [data], tmp_path / "out"), client)
    assert resized.reused == 2 and resized.stats.lines == first.stats.lines - 250 + 1


class _StopAfter:
    """An observer that interrupts the run (as Ctrl-C would) after `count` inputs are done."""

    def __init__(self, count: int):
        self.count = count

    def start(self, files, total_bytes, dashboard):
        pass

    def advance(self, *, files=0, done_bytes=0, events=0):
        self.count -= files
        if self.count <= 0:
            raise KeyboardInterrupt

    def stop(self):
        pass


def test_interrupted_run_resumes_to_the_same_outputs(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    whole = backfill(job("amplitude", [folder], tmp_path / "whole"), client)
    assert whole.ok

    stopped = backfill(job("amplitude", [folder], tmp_path / "out"), client, _StopAfter(2))
    assert stopped.interrupted and not stopped.ok
    assert 2 <= len(manifest_records(tmp_path / "out")) < 5
    assert not leftovers(tmp_path / "out")

    resumed = backfill(job("amplitude", [folder], tmp_path / "out"), client)
    assert resumed.ok and resumed.reused == len(stopped.records)
    assert manifest_records(tmp_path / "out") == manifest_records(tmp_path / "whole")
    assert concatenated(tmp_path / "out") == concatenated(tmp_path / "whole")


class _Killer:
    """Kills (SIGKILL) a worker that is running a task when the n-th progress report comes."""

    def __init__(self, client, at: tuple[int, ...] = (1,)):
        self.client = client
        self.at = at
        self.reports = 0
        self.killed: list[int] = []

    def start(self, files, total_bytes, dashboard):
        pass

    def advance(self, *, files=0, done_bytes=0, events=0):
        self.reports += 1
        if self.reports not in self.at:
            return
        pids = self.client.run(os.getpid)
        for _ in range(500):
            busy = [address for address, keys in self.client.processing().items() if keys]
            if busy and busy[0] in pids:
                os.kill(pids[busy[0]], signal.SIGKILL)
                self.killed.append(pids[busy[0]])
                return
            time.sleep(0.01)

    def stop(self):
        pass


def test_worker_killed_mid_run_changes_nothing(client, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = ndjson(events("amplitude", 4000)).splitlines(keepends=True)
    for number in range(8):
        (data / f"part-{number}.ndjson.gz").write_bytes(gzip_bytes(b"".join(lines[number::8])))
    killer = _Killer(client)
    report = backfill(job("amplitude", [data], tmp_path / "out"), client, killer)
    assert killer.killed, "no worker was busy to kill"
    assert report.ok, report.failures
    expected = b"".join(
        run_in_process("amplitude", b"".join(lines[number::8]))[0] for number in range(8)
    )
    assert concatenated(tmp_path / "out") == expected
    assert not leftovers(tmp_path / "out")
    client.wait_for_workers(2, timeout=30)  # the nanny restarted it, for the tests after


def test_failed_inputs_are_named_and_the_rest_is_done(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.ndjson").write_bytes((folder / "a.ndjson").read_bytes())
    (data / "truncated.ndjson.gz").write_bytes((folder / "b.ndjson.gz").read_bytes()[:-200])
    (data / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    report = backfill(job("amplitude", [data], tmp_path / "out", retries=0), client)
    assert not report.ok
    failed = dict(report.failures)
    assert set(failed) == {str(data / "truncated.ndjson.gz"), str(data / "image.png")}
    assert "EOFError" in failed[str(data / "truncated.ndjson.gz")]
    assert "binary data" in failed[str(data / "image.png")]
    assert [Path(r["input"]).name for r in manifest_records(tmp_path / "out")] == ["good.ndjson"]
    (record,) = manifest_records(tmp_path / "out")
    on_disk = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert on_disk == sorted([output["path"] for output in record["outputs"]] + ["manifest.jsonl"])


def test_outputs_of_older_settings_are_replaced(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    inputs = [folder / "a.ndjson"]
    assert backfill(job("amplitude", inputs, tmp_path / "out"), client).ok
    assert backfill(job("amplitude", inputs, tmp_path / "out", compress="gzip"), client).ok
    (record,) = manifest_records(tmp_path / "out")
    on_disk = sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != "manifest.jsonl")
    assert on_disk == sorted(output["path"] for output in record["outputs"])


def test_checkpoint_keeps_records_of_inputs_not_named_again(client, amplitude_inputs, tmp_path):
    folder, _ = amplitude_inputs
    assert backfill(job("amplitude", [folder / "a.ndjson"], tmp_path / "out"), client).ok
    assert backfill(job("amplitude", [folder / "c.ndjson.zst"], tmp_path / "out"), client).ok
    names = [Path(r["input"]).name for r in manifest_records(tmp_path / "out")]
    assert names == ["c.ndjson.zst", "a.ndjson"]


@pytest.mark.deep
def test_deep_many_files_a_large_split_file_and_two_kills(deep, client, tmp_path):
    lines = ndjson(events("amplitude", 40_000)).splitlines(keepends=True)
    data = tmp_path / "data"
    data.mkdir()
    contents = {f"{n:02d}.ndjson.gz": b"".join(lines[n::16]) for n in range(16)}
    contents["zz-large.ndjson"] = b"".join(lines)
    for name, content in contents.items():
        stored = gzip_bytes(content) if name.endswith(".gz") else content
        (data / name).write_bytes(stored)
    killer = _Killer(client, at=(2, 12))
    report = backfill(job("amplitude", [data], tmp_path / "out", split_bytes=1 << 20), client, killer)
    assert len(killer.killed) == 2
    assert report.ok, report.failures
    everything = tmp_path / "everything.ndjson"
    everything.write_bytes(b"".join(contents[name] for name in sorted(contents)))
    assert concatenated(tmp_path / "out") == run_cli("amplitude", everything)
    assert not leftovers(tmp_path / "out")
    client.wait_for_workers(2, timeout=30)
