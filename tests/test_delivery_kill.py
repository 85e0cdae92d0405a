"""kill -9 of `accoil-map send` at random moments, restarted until done: nothing lost, few repeats.

One input of 20,000 calls, one state folder, the fake Accoil answering at
once. The sender is started, killed with SIGKILL a random moment after it
began sending, started again, at least 20 times, then left to finish. Every
call must have reached the fake; the calls it got twice are at most the
concurrency per kill, and each of them was started twice by the journal's own
account; the last run's summary adds up to the whole input.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from accoil_map.delivery.contract import call_problem
from tests.conftest import ROOT
from tests.fake_accoil import TEST_KEY, FakeAccoil
from tests.sending import call, cli, cli_env, summary_counts, write_lines

CALLS = 20_000
KILLS = 20
CONCURRENCY = 8


def _started_sending(log: Path, size_at_start: int, process: subprocess.Popen) -> bool:
    """Wait until the journal grows (this run sent its first call) or the process ends."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if log.exists() and log.stat().st_size > size_at_start:
            return True
        time.sleep(0.005)
    raise AssertionError("the sender did not start sending within 60 s")


def test_kill_9_at_random_moments_loses_nothing(tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    path = write_lines(tmp_path / "calls.ndjson", [call(n, user=f"user-{n % 500}") for n in range(CALLS)])
    state = tmp_path / "state"
    log = state / "journal.log"
    command = cli("send", str(path), "--state", str(state), "--concurrency", str(CONCURRENCY))
    kills = 0
    with FakeAccoil(check=lambda body: call_problem(body) is None) as fake:
        env = cli_env(ACCOIL_API_KEY=TEST_KEY, ACCOIL_ENDPOINT=fake.url)
        while True:
            size_at_start = log.stat().st_size if log.exists() else 0
            with open(tmp_path / "stderr.txt", "wb") as stderr:
                process = subprocess.Popen(command, env=env, stderr=stderr, cwd=ROOT)
                if kills < KILLS and _started_sending(log, size_at_start, process):
                    time.sleep(rng.uniform(0, 0.15))
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=60)
                    kills += process.returncode == -signal.SIGKILL
                    continue
                assert process.wait(timeout=300) == 0, (seed, (tmp_path / "stderr.txt").read_text())
                break
    assert kills >= KILLS, (seed, kills)  # the input was not finished before the 20th kill
    assert set(fake.accepted_ids) == {f"m{n}" for n in range(CALLS)}, seed
    repeated = {key for key, count in fake.accepted_ids.items() if count > 1}
    duplicates = sum(fake.accepted_ids.values()) - CALLS
    assert duplicates <= CONCURRENCY * kills, (seed, duplicates)
    starts = Counter(line.split()[1] for line in log.read_text().splitlines() if line[0] == "S")
    assert all(starts[str(int(key[1:]) + 1)] >= 2 for key in repeated), seed
    counts = summary_counts((tmp_path / "stderr.txt").read_text())
    assert counts["total"] == CALLS and counts["sent"] + counts["already"] == CALLS, (seed, counts)
    assert counts["dead"] == counts["invalid"] == counts["blank"] == counts["left"] == 0
