"""`accoil-map send` and `run --send` as a user runs them: exit codes, output, Ctrl-C, the key.

Each test starts the command line in a subprocess against the fake Accoil on
127.0.0.1 and reads what it printed and wrote.
"""

from __future__ import annotations

import base64
import gzip
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from accoil_map.cli import main
from tests.conftest import ROOT
from tests.fake_accoil import TEST_KEY, FakeAccoil
from tests.sending import call, cli, cli_env, dead_letters, summary_counts, write_lines

SAMPLE = ROOT / "samples" / "amplitude.ndjson"
MAPPING = ROOT / "mappings" / "amplitude.yaml"


def run_cli(*args: str, env: dict | None = None, stdin: bytes | None = None):
    return subprocess.run(
        cli(*args), input=stdin, capture_output=True, env=env or cli_env(), timeout=120, cwd=ROOT,
        check=False,
    )


def fake_env(fake: FakeAccoil, key: str = TEST_KEY) -> dict:
    return cli_env(ACCOIL_API_KEY=key, ACCOIL_ENDPOINT=fake.url)


def test_send_delivers_a_file_and_exits_0(tmp_path):
    path = write_lines(tmp_path / "calls.ndjson", [call(n) for n in range(30)] + [b""])
    with FakeAccoil() as fake:
        done = run_cli("send", str(path), env=fake_env(fake))
    assert done.returncode == 0, done.stderr
    counts = summary_counts(done.stderr.decode())
    assert (counts["total"], counts["sent"], counts["blank"]) == (31, 30, 1)
    assert sorted(fake.accepted) == sorted(orjson.dumps(call(n)) for n in range(30))
    state = Path(f"{path}.send-state")
    assert (state / "journal.json").exists() and (state / "journal.log").exists()
    assert done.stdout == b""


def test_send_exits_1_when_a_call_is_dead_lettered(tmp_path):
    path = write_lines(tmp_path / "calls.ndjson", [call(0), call(1), {"type": "track"}])
    with FakeAccoil(plan={"m1": ["400"]}) as fake:
        done = run_cli("send", str(path), "--state", str(tmp_path / "s"), env=fake_env(fake))
    assert done.returncode == 1
    counts = summary_counts(done.stderr.decode())
    assert (counts["sent"], counts["dead"], counts["invalid"]) == (1, 1, 1)
    records = dead_letters(tmp_path / "s" / "dead-letter.ndjson")
    assert sorted((r["line"], r["reason"][:13]) for r in records) == [
        (2, "not retried: "), (3, "invalid call:")
    ]
    assert f"dead letters: {tmp_path / 's' / 'dead-letter.ndjson'}" in done.stderr.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "CALLS"], "no API key: give --api-key or set ACCOIL_API_KEY"),
        (["send", "-", "--api-key", "k-1234"], "reading stdin: give --dead-letter FILE"),
        (["send", "-", "--api-key", "k-1234", "--state", "s"], "--state needs an input file"),
        (["send", "missing.ndjson", "--api-key", "k-1234"], "missing.ndjson: No such file or directory"),
        (["send", "CALLS", "--api-key", "k-1234", "--endpoint", "http://example.com/segment"],
         "plain http would send the API key in clear"),
        (["send", "CALLS", "--concurrency", "0"], "must be more than 0"),
        (["send", "CALLS", "--retry-window", "soon"], "not a duration"),
        (["run", str(MAPPING), "-i", str(SAMPLE), "--api-key", "k-1234"], "--api-key need --send"),
        (["run", str(MAPPING), "-i", str(SAMPLE), "--send", "-o", "x"], "-o and --workers do not apply"),
    ],
)
def test_usage_errors_exit_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.delenv("ACCOIL_API_KEY", raising=False)
    monkeypatch.delenv("ACCOIL_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    path = write_lines(tmp_path / "calls.ndjson", [call(0)])
    try:
        code = main([str(path) if arg == "CALLS" else arg for arg in args])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err
    assert "k-1234" not in out + err


def test_dry_run_checks_and_counts_without_a_key_or_a_server(tmp_path, capsys):
    path = write_lines(tmp_path / "calls.ndjson", [call(0), {"type": "group"}, b"", b"{oops"])
    assert main(["send", str(path), "--dry-run"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"{path}:2: invalid call: groupId: missing, required in a group call"
    assert lines[1].startswith(f"{path}:4: invalid JSON: ")
    assert lines[2] == f"send {path} (dry run, nothing sent): 4 lines = 1 valid + 2 invalid + 1 blank"
    assert not Path(f"{path}.send-state").exists()
    clean = write_lines(tmp_path / "clean.ndjson", [call(0)])
    assert main(["send", str(clean), "--dry-run"]) == 0


def test_stdin_and_gzip_inputs(tmp_path):
    calls = [call(n) for n in range(12)]
    plain = write_lines(tmp_path / "calls.ndjson", calls)
    packed = tmp_path / "calls.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with FakeAccoil() as fake:
        piped = run_cli("send", "-", "--dead-letter", str(tmp_path / "dl.ndjson"),
                        env=fake_env(fake), stdin=plain.read_bytes())
        zipped = run_cli("send", str(packed), env=fake_env(fake))
    assert piped.returncode == zipped.returncode == 0, (piped.stderr, zipped.stderr)
    assert summary_counts(piped.stderr.decode())["sent"] == 12
    assert summary_counts(zipped.stderr.decode())["sent"] == 12
    assert "journal:" not in piped.stderr.decode()  # stdin cannot be resumed: no journal
    assert sorted(fake.accepted) == sorted(orjson.dumps(c) for c in calls + calls)
    assert Path(f"{packed}.send-state/journal.log").read_bytes().count(b"D ") == 12


def test_run_send_transforms_and_delivers_in_one_pass(tmp_path):
    expected = subprocess.run(cli("run", str(MAPPING), "-i", str(SAMPLE)), capture_output=True,
                              check=True, env=cli_env()).stdout.splitlines()
    state = tmp_path / "state"
    args = ("run", str(MAPPING), "-i", str(SAMPLE), "--send", "--state", str(state),
            "--rejects", str(tmp_path / "rejects.ndjson"))
    with FakeAccoil() as fake:
        first = run_cli(*args, env=fake_env(fake))
        again = run_cli(*args, env=fake_env(fake))
    assert first.returncode == again.returncode == 0, first.stderr
    assert sorted(fake.accepted) == sorted(expected)
    text = first.stderr.decode()
    counts = summary_counts(text)
    assert counts["total"] == counts["sent"] == len(expected)
    assert "10 lines: 8 emitted (8 calls), 0 skipped, 2 rejected" in text
    assert len((tmp_path / "rejects.ndjson").read_bytes().splitlines()) == 2
    assert summary_counts(again.stderr.decode())["already"] == len(expected)
    journal = orjson.loads((state / "journal.json").read_bytes())
    assert set(journal) >= {"input_sha256", "input_size", "mapping_sha256", "endpoint"}


def test_run_send_dry_run_counts_the_calls(capsys):
    assert main(["run", str(MAPPING), "-i", str(SAMPLE), "--send", "--dry-run"]) == 0
    assert "(dry run, nothing sent): 8 calls = 8 valid + 0 invalid" in capsys.readouterr().err


def _wait_for_deliveries(log: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and log.read_bytes().count(b"D ") >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the sender did not get going")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_saves_the_journal_and_the_next_run_finishes(tmp_path, signum, code):
    """Ctrl-C (or SIGTERM) mid-run: exit 130 (143), a summary that adds up, nothing lost."""
    total = 200
    path = write_lines(tmp_path / "calls.ndjson", [call(n) for n in range(total)])
    state = tmp_path / "state"
    args = ("send", str(path), "--state", str(state), "--concurrency", "4")
    with FakeAccoil(latency=0.05) as fake:
        process = subprocess.Popen(cli(*args), env=fake_env(fake), stderr=subprocess.PIPE, cwd=ROOT)
        _wait_for_deliveries(state / "journal.log", 20, process)
        process.send_signal(signum)
        stopped = process.communicate(timeout=60)[1].decode()
        assert process.returncode == code, stopped
        first = summary_counts(stopped)
        assert first["left"] > 0 and first["sent"] >= 20
        assert f"stopped by {signal.Signals(signum).name}: the journal is saved" in stopped
        resumed = run_cli(*args, env=fake_env(fake))
    assert resumed.returncode == 0, resumed.stderr
    second = summary_counts(resumed.stderr.decode())
    assert second["already"] == first["sent"] and second["sent"] == total - first["sent"]
    assert set(fake.accepted_ids) == {f"m{n}" for n in range(total)}
    # The calls cancelled in flight may have reached Accoil: the next run says how many it sent
    # again (at most the concurrency), and those are the only possible duplicates.
    resent = re.search(r"(\d+) sent again: in flight when an earlier run stopped", resumed.stderr.decode())
    assert resent is not None and 1 <= int(resent[1]) <= 4, resumed.stderr
    assert sum(fake.accepted_ids.values()) - total <= int(resent[1])


def test_status_lines_when_stderr_is_not_a_terminal(tmp_path):
    path = write_lines(tmp_path / "calls.ndjson", [call(n) for n in range(60)])
    with FakeAccoil(latency=0.02) as fake:
        done = run_cli("send", str(path), "--concurrency", "2", "--status-interval", "0.1",
                       env=fake_env(fake))
    status = [line for line in done.stderr.decode().splitlines() if "/s, in flight" in line]
    assert len(status) >= 3, done.stderr
    assert status[0].startswith(f"send {path}: ") and "/60 lines (" in status[0]
    assert "in flight 2/2, retried 0, dead-lettered 0, ETA " in status[1]


def run_in_terminal(command: list[str], env: dict) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; (exit code, everything the terminal showed)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, env=env | {"COLUMNS": "200"}, stdout=subprocess.PIPE,
                               stderr=follower, stdin=subprocess.DEVNULL, cwd=ROOT)
    os.close(follower)
    shown = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("no output from the terminal for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out = process.communicate(timeout=60)[0]
    return process.wait(), (bytes(shown) + out).decode("utf-8", "replace")


def test_a_progress_bar_on_a_terminal(tmp_path):
    path = write_lines(tmp_path / "calls.ndjson", [call(n) for n in range(80)])
    with FakeAccoil(latency=0.02) as fake:
        code, shown = run_in_terminal(cli("send", str(path), "--concurrency", "4"), fake_env(fake))
    assert code == 0, shown
    for column in ("80/80", "calls/s", "in flight", "retried 0", "dead-lettered 0"):
        assert column in shown, (column, shown)
    assert "\x1b[" in shown  # drawn with terminal control sequences, not status lines
    summary_counts(shown)


def test_the_api_key_never_appears_anywhere(tmp_path):
    """Not in stdout, stderr, the terminal, the journal, the state folder or the dead letters."""
    key = "stg_Sekr3t-Key-8d1f44c2a9"
    stripped = key[4:]
    forms = [key, stripped, base64.b64encode(f"{stripped}:".encode()).decode()]
    path = write_lines(tmp_path / "calls.ndjson", [call(n) for n in range(40)] + [{"type": "x"}])
    plan = {"m1": ["400"], "m2": ["503", "413"], "m3": ["429"], "m4": ["reset"]}
    outputs = []
    with FakeAccoil(api_key=stripped, plan=plan, echo_auth=True) as fake:
        by_option = run_cli("send", str(path), "--api-key", key, "--state", str(tmp_path / "a"),
                            "--status-interval", "0.01", env=cli_env(ACCOIL_ENDPOINT=fake.url))
        by_environment = run_cli("run", str(MAPPING), "-i", str(SAMPLE), "--send",
                                 "--state", str(tmp_path / "b"), env=fake_env(fake, key))
        outputs += [by_option.stdout, by_option.stderr, by_environment.stdout, by_environment.stderr]
        code, shown = run_in_terminal(
            cli("send", str(path), "--state", str(tmp_path / "c")), fake_env(fake, key)
        )
        outputs.append(shown.encode())
        assert fake.unauthorized == 0  # the stg_ prefix was stripped before use
    assert (by_option.returncode, by_environment.returncode, code) == (1, 0, 1)
    records = dead_letters(tmp_path / "a" / "dead-letter.ndjson")
    assert any("for Basic [redacted]" in (record["response"] or "") for record in records)
    files = [file for file in tmp_path.rglob("*") if file.is_file() and file != path]
    assert len(files) >= 9
    for text in outputs + [file.read_bytes() for file in files]:
        for form in forms:
            assert form.encode() not in text
