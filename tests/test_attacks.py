"""Attacks on `run`, end to end: nothing silently lost, nothing that looks complete and is not.

Each test does what a hostile or careless user (or a bad day) does to a run:
kills a worker, closes a pipe, interrupts it, points the output at the input,
feeds a damaged gzip file, a directory, a full disk, a line of hundreds of
megabytes. The answer is always a one-line error and a non-zero exit (or, for
`| head`, a quiet 141), never a traceback, and an output file that is either
the previous one or the complete new one. Most run `python -m accoil_map run`
as a real process; the tables run `main` in-process, which is faster.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accoil_map.cli import main
from tests.conftest import ROOT

SEGMENT = str(ROOT / "mappings" / "segment.yaml")
TRACK = {"type": "track", "event": "A", "userId": "u", "timestamp": "2024-05-01T12:00:00Z"}
GOOD = orjson.dumps(TRACK) + b"\n"
SKIPPED = b'{"type": "alias"}\n'
BAD = b"not json\n"
SUMMARY = re.compile(
    r"(\d+) lines?: (\d+) emitted \((\d+) calls?\), (\d+) skipped, (\d+) rejected(?:, (\d+) blank)?"
)
WAIT = 60  # seconds: a bound on a hung process, never a speed measurement


# --- helpers -----------------------------------------------------------------------------


def command(*argv: str | bytes) -> list:
    return [sys.executable, "-m", "accoil_map", "run", *argv]


def start(*argv: str | bytes, **kwargs) -> subprocess.Popen:
    """`accoil-map run ARGV` as a real process, its stderr piped."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    return subprocess.Popen(command(*argv), stderr=subprocess.PIPE, **kwargs)


def finish(process: subprocess.Popen, data: bytes | None = None) -> str:
    """Feed `data` (if any), close stdin, wait: the stderr text."""
    if process.stdin is not None and process.stdin.closed:
        process.stdin = None  # closed by the test already: communicate() would flush it
    _, err = process.communicate(data, timeout=WAIT)
    return err.decode("utf-8", "backslashreplace")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def wait_for(condition, what: str):
    """Poll `condition()` until it is true; its value."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def workers_of(process: subprocess.Popen, count: int = 2) -> list[int]:
    return wait_for(lambda: len(found := children(process.pid)) == count and found, "workers")


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def summary(err: str) -> tuple[int, ...]:
    """(lines, emitted, calls, skipped, rejected, blank) from a run's summary."""
    found = SUMMARY.search(err)
    assert found, err
    return tuple(int(group or 0) for group in found.groups())


def assert_one_line_error(err: str, *words: str) -> None:
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("accoil-map: error: ")]
    assert len(errors) == 1, err
    for word in words:
        assert word in errors[0], (word, err)


@pytest.fixture
def cli(capsys):
    """`cli(*argv)` runs `accoil-map run ARGV` in-process: (exit code, stderr)."""

    def run(*argv: str) -> tuple[int, str]:
        try:
            code = main(["run", *argv])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        return code, capsys.readouterr().err

    return run


# --- 4. broken pipes: only the output's reader leaving early is quiet -----------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stdout_closed_early_is_quiet_with_141(tmp_path, workers):
    """`run | head`: exit 141 as for a tool that SIGPIPE ended, and nothing on stderr."""
    events = tmp_path / "in.ndjson"
    events.write_bytes(GOOD * 30_000)  # far more output than a pipe holds
    process = start(SEGMENT, "-i", str(events), "--workers", workers, stdout=subprocess.PIPE)
    assert process.stdout.read(100)
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=WAIT) == 141
    assert err == ""


def test_other_commands_end_quietly_with_141_on_a_closed_stdout():
    """`main` treats a broken pipe as stdout's (`run` sorts out its own first)."""
    reader, writer = os.pipe()
    os.close(reader)  # gone before anything is written
    try:
        done = subprocess.run(
            [sys.executable, "-m", "accoil_map", "compile", SEGMENT, "-o", "-"],
            stdout=writer, stderr=subprocess.PIPE, timeout=WAIT, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (141, b"")


def test_the_rejects_pipe_closed_early_is_an_error(tmp_path):
    """Rejects on a pipe whose reader went away: rejects lost, so exit 1 and no output file."""
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes((GOOD + BAD) * 1000)
    reader, writer = os.pipe()
    os.close(reader)  # gone before the run writes a reject
    try:
        process = start(SEGMENT, "-i", str(events), "-o", str(out), "--rejects", "-", stdout=writer)
    finally:
        os.close(writer)
    err = finish(process)
    assert process.returncode == 1
    assert_one_line_error(err, "stdout", "closed the pipe")
    assert "out.ndjson not written" in err
    assert not out.exists() and not temporaries(tmp_path)


def test_a_killed_idle_worker_fails_the_run(tmp_path):
    """kill -9 a worker waiting for work: the next job to it finds it gone."""
    out = tmp_path / "out.ndjson"
    process = start(SEGMENT, "-o", str(out), "--workers", "2", stdin=subprocess.PIPE)
    process.stdin.write(GOOD)  # the run starts once it has seen whether the input is gzip
    process.stdin.flush()
    workers = workers_of(process)
    os.kill(workers[0], signal.SIGKILL)
    err = finish(process, GOOD * 20_000)  # several chunks: each worker is sent one
    assert process.returncode == 1
    assert_one_line_error(err, "a worker process died; the output is incomplete")
    assert "out.ndjson not written" in err
    assert not out.exists() and not temporaries(tmp_path)


# --- 7. a worker that dies while busy ---------------------------------------------------------


def test_a_worker_killed_while_busy_is_a_one_line_error(tmp_path):
    """Both workers hold a job they never answer (stopped, then killed): no raw
    ConnectionResetError, the message, exit 1, and the previous output kept."""
    out = tmp_path / "out.ndjson"
    out.write_bytes(b"previous\n")
    process = start(SEGMENT, "-o", str(out), "--workers", "2", stdin=subprocess.PIPE)
    process.stdin.write(GOOD)
    process.stdin.flush()
    workers = workers_of(process)
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    process.stdin.write(GOOD * 100)
    process.stdin.close()  # one small job, sent to a stopped worker, then the main one waits
    time.sleep(0.3)  # (not a measurement: either way the run must fail the same)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):  # the run may have ended it already
            os.kill(pid, signal.SIGKILL)
    err = finish(process)
    assert process.returncode == 1
    assert_one_line_error(err, "a worker process died; the output is incomplete")
    assert "out.ndjson left as it was" in err
    assert out.read_bytes() == b"previous\n" and not temporaries(tmp_path)


# --- 6. outputs appear whole or not at all; SIGINT 130, SIGTERM 143 -----------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_keeps_the_previous_outputs(tmp_path, workers, signum, code):
    """Ctrl-C (to the whole process group, as a terminal sends it) or SIGTERM mid-run."""
    out, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.ndjson"
    out.write_bytes(b"previous output\n")
    process = start(
        SEGMENT, "-o", str(out), "--rejects", str(rejects), "--workers", workers,
        stdin=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    process.stdin.write((GOOD + BAD) * 2000)
    process.stdin.flush()  # ... and more is still to come: the run is under way
    wait_for(lambda: len(temporaries(tmp_path)) == 2, "the temporary outputs")
    if workers == "2":
        workers_of(process)
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)  # the workers get it too, and must stay quiet
    else:
        os.kill(process.pid, signum)
    err = finish(process)
    assert process.returncode == code
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert f"accoil-map: interrupted; {out} left as it was; {rejects} not written" in err
    assert out.read_bytes() == b"previous output\n"
    assert not rejects.exists() and not temporaries(tmp_path)


def test_a_finished_run_replaces_the_output_keeping_its_mode(tmp_path):
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes(GOOD * 3)
    out.write_bytes(b"previous output\n")
    out.chmod(0o640)
    link = tmp_path / "link.ndjson"
    link.symlink_to(out)
    process = start(SEGMENT, "-i", str(events), "-o", str(link))
    finish(process)
    assert process.returncode == 0
    assert link.is_symlink()  # followed, not replaced
    assert out.read_bytes() == GOOD * 3
    assert out.stat().st_mode & 0o777 == 0o640
    assert not temporaries(tmp_path)


def test_an_unexpected_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    """A bug of ours mid-run propagates as itself, but the outputs are cleaned up first."""
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes(GOOD)
    out.write_bytes(b"previous\n")

    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr("accoil_map.modules.import_source", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["run", SEGMENT, "-i", str(events), "-o", str(out), "--rejects", str(tmp_path / "r")])
    assert out.read_bytes() == b"previous\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.ndjson", "out.ndjson"]


# --- 5. one file as two of input, output, rejects and mapping --------------------------------


SAME_FILE_CASES = {
    "input as output": ("-i", "{events}", "-o", "{events}"),
    "input as rejects": ("-i", "{events}", "-o", "{out}", "--rejects", "{events}"),
    "output as rejects": ("-i", "{events}", "-o", "{out}", "--rejects", "{out}"),
    "a new output as rejects": ("-i", "{events}", "-o", "{new}", "--rejects", "{tmp}/./new"),
    "mapping as output": ("-i", "{events}", "-o", "{mapping}"),
    "mapping as input": ("-i", "{mapping}", "-o", "{out}"),
    "a link to the input as output": ("-i", "{events}", "-o", "{link}"),
    "a hard link to the input as rejects": ("-i", "{events}", "--rejects", "{hard}"),
    "stdout twice": ("-i", "{events}", "-o", "-", "--rejects", "-"),
}


@pytest.mark.parametrize("case", SAME_FILE_CASES)
def test_the_same_file_twice_is_refused_and_nothing_is_touched(cli, tmp_path, case):
    mapping = tmp_path / "segment.yaml"
    mapping.write_bytes(Path(SEGMENT).read_bytes())
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes(GOOD + BAD)
    out.write_bytes(b"previous\n")
    (tmp_path / "link.ndjson").symlink_to(events)
    os.link(events, tmp_path / "hard.ndjson")
    names = {
        "events": events, "out": out, "mapping": mapping, "new": tmp_path / "new",
        "link": tmp_path / "link.ndjson", "hard": tmp_path / "hard.ndjson", "tmp": tmp_path,
    }  # fmt: skip
    before = {path: path.read_bytes() for path in tmp_path.iterdir()}
    code, err = cli(str(mapping), *(arg.format(**names) for arg in SAME_FILE_CASES[case]))
    assert code == 2
    assert_one_line_error(err)
    assert "same file" in err or "both stdout" in err
    assert {path: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_devices_twice_are_not_the_same_file(cli, tmp_path):
    events = tmp_path / "in.ndjson"
    events.write_bytes(GOOD + BAD)
    code, err = cli(SEGMENT, "-i", str(events), "-o", os.devnull, "--rejects", os.devnull)
    assert code == 0, err


# --- 12. --max-line-bytes --------------------------------------------------------------------


def long_event(size: int) -> bytes:
    """A valid event line of about `size` bytes: it would emit a call if it were read."""
    return orjson.dumps({**TRACK, "properties": {"blob": "x" * size}}) + b"\n"


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("shape", ["plain", "gzip", "stdin"])
def test_a_line_over_the_limit_is_rejected_with_its_number(tmp_path, shape, workers):
    data = GOOD + long_event(3000) + GOOD + long_event(900) + long_event(5000).rstrip(b"\n")
    events = tmp_path / "in.ndjson"
    events.write_bytes(gzip.compress(data) if shape == "gzip" else data)
    out, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.ndjson"
    source = ["-i", str(events)] if shape != "stdin" else []
    process = start(
        SEGMENT, *source, "-o", str(out), "--rejects", str(rejects), "--workers", workers,
        "--max-line-bytes", "1KiB", stdin=subprocess.PIPE,
    )  # fmt: skip
    err = finish(process, data if shape == "stdin" else b"")
    assert process.returncode == 0, err
    assert summary(err) == (5, 3, 3, 0, 2, 0)
    assert "2 x rejected: line longer than --max-line-bytes (1024 bytes)" in err
    assert len(out.read_bytes().splitlines()) == 3
    records = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    reason = "line longer than --max-line-bytes (1024 bytes)"
    assert records == [
        {"line": 2, "status": "rejected", "reason": reason, "bytes": len(long_event(3000)) - 1},
        {"line": 5, "status": "rejected", "reason": reason, "bytes": len(long_event(5000)) - 1},
    ]


# A process started from pytest inherits pytest's own peak memory as its ru_maxrss
# (Linux keeps the peak across exec, and pytest may be large by then): a small
# Python in between starts the run and reports the run's own peak (workers included).
_PEAK = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def start_measured(*argv: str, **kwargs) -> subprocess.Popen:
    """`accoil-map run ARGV` under _PEAK: its stdout says (exit code, peak KiB)."""
    return subprocess.Popen(
        [sys.executable, "-c", _PEAK, *command(*argv)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def gzip_with_a_huge_line(path: Path, size: int) -> None:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: the gzip format
    piece = b"x" * (1 << 20)
    with path.open("wb") as out:
        out.write(compressor.compress(GOOD + b'{"blob": "'))
        for _ in range(size >> 20):
            out.write(compressor.compress(piece))
        out.write(compressor.compress(b'"}\n' + GOOD) + compressor.flush())


@pytest.mark.parametrize("shape", ["gzip", "stdin"])
def test_a_huge_line_is_never_held_whole(tmp_path, shape):
    """A 192 MiB line through --workers 2 (the default limit, 8 MiB): peak memory stays
    far below the line, which used to be held several times over."""
    huge = 192 << 20
    out, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.ndjson"
    source = []
    if shape == "gzip":
        gzip_with_a_huge_line(tmp_path / "in.ndjson.gz", huge)
        source = ["-i", str(tmp_path / "in.ndjson.gz")]
    process = start_measured(
        SEGMENT, *source, "-o", str(out), "--rejects", str(rejects), "--workers", "2",
        stdin=subprocess.PIPE,
    )  # fmt: skip
    if shape == "stdin":
        process.stdin.write(GOOD + b'{"blob": "')
        piece = b"x" * (1 << 20)
        for _ in range(huge >> 20):
            process.stdin.write(piece)
        process.stdin.write(b'"}\n' + GOOD)
    process.stdin.close()
    process.stdin = None  # closed here: communicate() would flush it
    measured, err = process.communicate(timeout=WAIT)
    code, peak_kib = (int(word) for word in measured.split())
    err = err.decode()
    peak = peak_kib / 1024
    assert code == 0, err
    assert summary(err) == (3, 2, 2, 0, 1, 0)
    [record] = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert (record["line"], record["bytes"]) == (2, huge + len(b'{"blob": ""}'))
    assert peak < 96, f"peak {peak:.0f} MiB for a {huge >> 20} MiB line"


# --- 13. one-line errors -----------------------------------------------------------------


def damaged_gzip(kind: str) -> tuple[bytes, int]:
    """A damaged gzip file of whole lines, and how many lines it holds intact."""
    data = b"".join(GOOD if n % 3 else BAD for n in range(1, 20_001))
    packed = gzip.compress(data, compresslevel=1)
    if kind == "truncated":
        cut = packed[: len(packed) // 2]
        lines = zlib.decompressobj(31).decompress(cut).count(b"\n")
        return cut, lines
    if kind == "trailing garbage":
        return packed + b"garbage after the end\n", 20_000
    return packed[:-8] + b"\0\0\0\0" + packed[-4:], 20_000  # a wrong CRC


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("kind", ["truncated", "trailing garbage", "bad checksum"])
def test_a_damaged_gzip_input_fails_after_every_readable_line(cli, tmp_path, kind, workers):
    """Every line before the damage is transformed and counted in the summary; then the
    error, exit 1, and the previous output kept (the run did not finish)."""
    data, lines = damaged_gzip(kind)
    events, out = tmp_path / "in.ndjson.gz", tmp_path / "out.ndjson"
    events.write_bytes(data)
    out.write_bytes(b"previous\n")
    code, err = cli(SEGMENT, "-i", str(events), "-o", str(out), "--workers", workers)
    assert code == 1
    assert_one_line_error(err, f"in.ndjson.gz: unreadable after line {lines}", "gzip")
    counted = summary(err)
    assert counted[0] == lines == sum(counted[1:2]) + sum(counted[3:])
    assert "out.ndjson left as it was" in err
    assert out.read_bytes() == b"previous\n" and not temporaries(tmp_path)


def test_a_directory_as_input_or_output(cli, tmp_path):
    events = tmp_path / "in.ndjson"
    events.write_bytes(GOOD)
    code, err = cli(SEGMENT, "-i", str(tmp_path), "-o", str(tmp_path / "out.ndjson"))
    assert code == 2
    assert_one_line_error(err, "cannot read", "Is a directory")
    code, err = cli(SEGMENT, "-i", str(events), "-o", str(tmp_path))
    assert code == 2
    assert_one_line_error(err, "cannot write", "Is a directory")
    assert not (tmp_path / "out.ndjson").exists() and not temporaries(tmp_path)


@pytest.mark.parametrize("option", ["-o", "--rejects"])
def test_a_full_disk_is_a_one_line_error(tmp_path, option):
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes((GOOD + BAD) * 2000)
    outputs = ["-o", "/dev/full"] if option == "-o" else ["-o", str(out), "--rejects", "/dev/full"]
    process = start(SEGMENT, "-i", str(events), *outputs)
    err = finish(process)
    assert process.returncode == 1
    assert_one_line_error(err, "cannot write /dev/full: No space left on device")
    assert "/dev/full is incomplete" in err
    assert not out.exists() and not temporaries(tmp_path)


def test_a_mapping_with_a_non_utf8_name_runs_and_is_cached(tmp_path):
    name = os.fsencode(tmp_path) + b"/segment-\xff\xfe.yaml"
    Path(os.fsdecode(name)).write_bytes(Path(SEGMENT).read_bytes())
    events = tmp_path / "in.ndjson"
    events.write_bytes(GOOD + SKIPPED)
    cache = tmp_path / "cache"
    env = {**os.environ, "ACCOIL_MAP_CACHE_DIR": str(cache)}
    outputs = []
    for attempt in ("compiled", "cached"):
        out = tmp_path / f"{attempt}.ndjson"
        process = start(name, "-i", str(events), "-o", str(out), env=env)
        err = finish(process)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert err.startswith(f"{tmp_path}/segment-\\udcff\\udcfe.yaml: 2 lines: 1 emitted")
        outputs.append([orjson.loads(line) for line in out.read_bytes().splitlines()])
    assert outputs == [[TRACK]] * 2
    assert len(list(cache.glob("*.json"))) == 1


# --- issue 11: reject limits and the run that produced nothing --------------------------------

MIXED = GOOD * 2 + BAD * 3 + SKIPPED + b"\n"  # 7 lines: 6 not blank, 3 of them rejected


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        ((), 0, None),
        (("--max-rejects", "3"), 0, None),
        (("--max-rejects", "2"), 1, "3 lines rejected, more than --max-rejects 2"),
        (("--max-reject-rate", "0.5"), 0, None),
        (("--max-reject-rate", "40%"), 1, "3 of 6 non-blank lines rejected (50.0%), more than"),
    ],
)
def test_reject_limits(cli, tmp_path, options, code, message):
    """Over a limit the run still writes its outputs (they show why), then exits 1."""
    events, out, rejects = tmp_path / "in.ndjson", tmp_path / "out.ndjson", tmp_path / "r.ndjson"
    events.write_bytes(MIXED)
    got, err = cli(SEGMENT, "-i", str(events), "-o", str(out), "--rejects", str(rejects), *options)
    assert got == code, err
    assert summary(err) == (7, 2, 2, 1, 3, 1)
    if message is None:
        assert "error" not in err
    else:
        assert_one_line_error(err, message)
    assert len(out.read_bytes().splitlines()) == 2
    assert len(rejects.read_bytes().splitlines()) == 4


@pytest.mark.parametrize(
    ("data", "options", "code"),
    [
        (BAD * 3 + SKIPPED, (), 1),
        (BAD * 3 + SKIPPED, ("--allow-empty",), 0),
        (b"\n \n", (), 0),  # nothing to transform: nothing expected
        (b"", (), 0),
    ],
)
def test_a_run_without_any_call(cli, tmp_path, data, options, code):
    events, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    events.write_bytes(data)
    got, err = cli(SEGMENT, "-i", str(events), "-o", str(out), *options)
    assert got == code, err
    if code:
        assert_one_line_error(err, "no line produced a call (4 non-blank lines read)")
    assert out.read_bytes() == b""


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--max-reject-rate", "2", "not a rate"),
        ("--max-reject-rate", "-1", "not a rate"),
        ("--max-reject-rate", "101%", "not a rate"),
        ("--max-reject-rate", "nan", "not a rate"),
        ("--max-rejects", "-1", "not a count"),
        ("--max-line-bytes", "0", "not a size"),
    ],
)
def test_limits_are_checked_as_options(cli, option, value, problem):
    code, err = cli(SEGMENT, f"{option}={value}")
    assert code == 2
    assert problem in err


# --- the invariant: exit 0 only with every line accounted for and every call written ----------

LINES = st.sampled_from([GOOD, SKIPPED, BAD, b"\n", b"  \r\n", b"[1]\n", long_event(300)])


# capsys is read (and so emptied) once per example
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(LINES, max_size=40),
    shape=st.sampled_from(["plain", "gzip", "truncated gzip"]),
    workers=st.sampled_from(["1", "2"]),
    limit=st.sampled_from(["100", "1KiB", "8MiB"]),
    newline_at_end=st.booleans(),
)
def test_exit_0_means_the_summary_adds_up_and_the_output_has_its_calls(
    tmp_path_factory, capsys, lines, shape, workers, limit, newline_at_end
):
    folder = tmp_path_factory.mktemp("invariant")
    data = b"".join(lines)
    if not newline_at_end:
        data = data.rstrip(b"\n")
    events, out = folder / "in", folder / "out.ndjson"
    packed = gzip.compress(data, compresslevel=1)
    events.write_bytes(
        {"plain": data, "gzip": packed, "truncated gzip": packed[: len(packed) // 2]}[shape]
    )
    argv = [SEGMENT, "-i", str(events), "-o", str(out), "--workers", workers]
    code = main(["run", *argv, "--max-line-bytes", limit, "--allow-empty"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if shape == "truncated gzip":
        assert code == 1 and not out.exists()
        return
    assert code == 0, err
    total, emitted, calls, skipped, rejected, blank = summary(err)
    assert total == len(data.splitlines())
    assert total == emitted + skipped + rejected + blank
    assert len(out.read_bytes().splitlines()) == calls
