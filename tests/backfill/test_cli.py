"""`accoil-map backfill` as a person runs it: the command, its exit codes, Ctrl-C and resuming.

The interrupted run starts its own embedded cluster, as `backfill` does by
default; the other runs join the session's cluster with --scheduler, the way
the command is run against a real cluster.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from accoil_map.cli import main

from ..conftest import ROOT, venv_tool
from .files import concatenated, events, gzip_bytes, manifest_records, ndjson, run_cli

AMPLITUDE = str(ROOT / "mappings" / "amplitude.yaml")
SAMPLES = ROOT / "samples" / "amplitude.ndjson"


def backfill_command(*arguments: str) -> list[str]:
    return [venv_tool("accoil-map"), "backfill", AMPLITUDE, *arguments]


def test_backfill_of_the_shipped_samples(client, tmp_path, capsys):
    arguments = [str(SAMPLES), "-o", str(tmp_path), "--scheduler", client.scheduler.address]
    assert main(["backfill", AMPLITUDE, *arguments]) == 0
    err = capsys.readouterr().err
    assert "backfill: 1 inputs: 1 done now, 0 already done (skipped), 0 failed" in err
    assert "10 lines: 8 emitted (8 calls)" in err
    assert concatenated(tmp_path) == run_cli("amplitude", SAMPLES)


def test_a_missing_input_is_a_usage_error_before_any_cluster(tmp_path, capsys):
    started = time.perf_counter()
    assert main(["backfill", AMPLITUDE, str(tmp_path / "nope-*.gz"), "-o", str(tmp_path / "o")]) == 2
    assert "nope-*.gz: no input file matches" in capsys.readouterr().err
    assert time.perf_counter() - started < 5  # no cluster was started for it
    assert not (tmp_path / "o").exists()


def test_without_the_extra_the_message_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert main(["backfill", AMPLITUDE, str(SAMPLES), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "missing: distributed" in err and "pip install 'accoil-map[backfill]'" in err


def test_a_failed_input_exits_1_and_is_named(client, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.ndjson").write_bytes(SAMPLES.read_bytes())
    (tmp_path / "in" / "cut.gz").write_bytes(gzip_bytes(b'{"a":1}\n' * 500)[:-30])
    arguments = [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", "--retries", "0"]
    assert main(["backfill", AMPLITUDE, *arguments, "--scheduler", client.scheduler.address]) == 1
    assert f"failed: {tmp_path / 'in' / 'cut.gz'}: EOFError" in capsys.readouterr().err
    inputs = [record["input"] for record in manifest_records(tmp_path / "out")]
    assert inputs == [str(tmp_path / "in" / "good.ndjson")]


def test_ctrl_c_stops_with_130_and_a_rerun_finishes(client, tmp_path, capsys):
    data = tmp_path / "in"
    data.mkdir()
    lines = ndjson(events("amplitude", 4000)).splitlines(keepends=True)
    contents = [b"".join(lines[n * 160 : n * 160 + 160]) * 3 for n in range(25)]
    for number, content in enumerate(contents):
        (data / f"{number:02d}.ndjson.gz").write_bytes(gzip_bytes(content))
    arguments = [str(data), "-o", str(tmp_path / "out")]
    process = subprocess.Popen(
        backfill_command(*arguments, "--workers", "1"), stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60  # Ctrl-C once the first file is written
    while time.monotonic() < deadline and not list((tmp_path / "out").glob("*.calls.ndjson")):
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "not done (interrupted)" in err
    done_before = len(manifest_records(tmp_path / "out"))
    assert done_before < 25, "the run ended before it could be interrupted"

    assert main(["backfill", AMPLITUDE, *arguments, "--scheduler", client.scheduler.address]) == 0
    assert f"{done_before} already done (skipped)" in capsys.readouterr().err
    assert len(manifest_records(tmp_path / "out")) == 25
    every = tmp_path / "every.ndjson"
    every.write_bytes(b"".join(contents))
    assert concatenated(tmp_path / "out") == run_cli("amplitude", every)


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, capsys):
    import dask

    arguments = [str(SAMPLES), "-o", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["backfill", AMPLITUDE, *arguments]) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
