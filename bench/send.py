"""`send` against the fake Accoil (another process on 127.0.0.1): speed, adaptive concurrency, memory.

Three measurements, each against baselines taken in the same run:

1. The fake answering at once: `send` (the whole delivery: reading, contract
   check, journal, ordering, the retry policy) against a bare aiohttp loop with
   the same client settings and the same number of requests in flight, which
   only reads lines and POSTs them. Target: send >= 0.8x the bare loop's calls/s.
2. The fake answering after 50 ms: `--concurrency auto` against fixed limits.
   Target: auto >= 0.8x the best fixed limit's calls/s.
3. Peak RSS of `accoil-map send` on 10k calls and on 1M calls. Target: flat
   (growth <= 1.2x).

Before timing, every row delivers the file once and the fake's count of
accepted calls must grow by exactly the number of calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import orjson
from yarl import URL

from accoil_map import load
from accoil_map.delivery.client import AccoilClient
from accoil_map.delivery.command import send_file
from accoil_map.delivery.endpoint import resolve
from accoil_map.delivery.options import SendOptions
from accoil_map.delivery.policy import RetryPolicy

from . import corpus
from .endtoend import REPO, peak_rss_kib
from .timing import Row, format_table, measure, verdict

KEY = "bench-key-0d6f1e"
LATENCY = 0.05
IN_FLIGHT = 32
FIXED = (25, 50, 100, 200)


def write_calls(path: str, calls: int) -> int:
    """An NDJSON file of `calls` Accoil calls: the Segment mapping over its corpus, repeated."""
    module = load(str(REPO / "mappings" / "segment.yaml"))
    events = corpus.generate("segment", min(calls, 20_000))
    lines = [orjson.dumps(body) for event in events for body in module.transform(event)]
    with open(path, "wb") as out:
        written = 0
        while written < calls:
            chunk = lines[: calls - written]
            out.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
    return written


@contextmanager
def fake_accoil(latency: float = 0.0) -> Iterator[str]:
    """The fake in its own process (its own core), checking nothing, counting calls; its URL."""
    command = [sys.executable, "-m", "tests.fake_accoil", "--serve", "--no-check", "--no-record",
               "--api-key", KEY, "--latency", str(latency)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
    try:
        yield process.stdout.readline().decode().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def accepted(url: str) -> int:
    """How many calls the fake has accepted so far."""
    with urllib.request.urlopen(url.replace("/segment", "/stats")) as answer:
        return json.load(answer)["accepted"]


async def _bare_loop(lines: Iterator[bytes], url: str, in_flight: int) -> None:
    target = URL(url)
    async with AccoilClient(resolve(KEY, url), timeout=10.0, connections=in_flight) as client:
        session = client.session  # the same session settings as send's

        async def worker() -> None:
            for line in lines:
                async with session.post(target, data=line.rstrip(b"\n")) as response:
                    await response.read()
                    assert response.status == 202

        await asyncio.gather(*(worker() for _ in range(in_flight)))


def bare_row(path: str, url: str, calls: int, in_flight: int) -> Row:
    """POST every line, `in_flight` at a time: the floor of any sender on this client."""

    def run() -> None:
        with open(path, "rb") as lines:
            asyncio.run(_bare_loop(lines, url, in_flight))

    return Row(f"bare aiohttp loop, {in_flight} in flight", run, calls)


def send_row(path: str, options: SendOptions, calls: int, name: str, states: str) -> Row:
    """`send_file` with a new state folder each time (else everything is already sent)."""

    def run() -> None:
        state = Path(tempfile.mkdtemp(dir=states))
        outcome = send_file(path, replace(options, state=state, dead_letter=state / "dead.ndjson"))
        assert outcome.tally.sent == calls, outcome.tally

    return Row(name, run, calls)


def _options(url: str, concurrency: int | None, ordered: bool = True) -> SendOptions:
    return SendOptions(
        endpoint=resolve(KEY, url), state=None, dead_letter=None, concurrency=concurrency,
        rate=None, retry=RetryPolicy(window=4 * 3600.0), timeout=10.0, ordered=ordered,
        status_interval=60.0, quiet=True,
    )


def _checked(rows: list[Row], url: str) -> None:
    """Each row once, untimed: the fake must accept exactly its calls."""
    for row in rows:
        before = accepted(url)
        row.run()
        delivered = accepted(url) - before
        assert delivered == row.events, f"{row.name}: the fake accepted {delivered} of {row.events}"


def against_bare_loop(path: str, calls: int, repeat: int, states: str) -> list[str]:
    """Section 1: send vs a bare aiohttp loop, the fake answering at once."""
    print(f"\n== send: {calls:,} calls to the fake answering at once (another process); "
          f"median of {repeat} ==")
    with fake_accoil() as url:
        rows = [
            bare_row(path, url, calls, IN_FLIGHT),
            send_row(path, _options(url, IN_FLIGHT), calls, f"send --concurrency {IN_FLIGHT}", states),
            send_row(path, _options(url, IN_FLIGHT, ordered=False), calls,
                     f"send --concurrency {IN_FLIGHT} --unordered", states),
            send_row(path, _options(url, None), calls, "send --concurrency auto", states),
        ]
        _checked(rows, url)
        results = measure(rows, repeat)
    print(format_table(results, results[0], "bare loop").replace("events/s", " calls/s"))
    share = results[0].seconds / results[1].seconds
    line = verdict(f"send vs bare loop ({IN_FLIGHT} in flight), calls/s", share, ">= 0.8x", share >= 0.8)
    print("  " + line)
    return [f"send: {line}"] if line.endswith("MISSED") else []


def against_fixed_limits(path: str, calls: int, repeat: int, states: str) -> list[str]:
    """Section 2: auto vs fixed concurrency, the fake answering after 50 ms."""
    print(f"\n== send: {calls:,} calls, the fake answering after {LATENCY * 1000:.0f} ms; "
          f"median of {repeat} ==")
    with fake_accoil(LATENCY) as url:
        rows = [send_row(path, _options(url, limit), calls, f"send --concurrency {limit}", states)
                for limit in FIXED]
        rows.append(send_row(path, _options(url, None), calls, "send --concurrency auto", states))
        _checked(rows[-1:], url)
        results = measure(rows, repeat)
    best = max(results[:-1], key=lambda result: result.rate)
    print(format_table(results, best, "best fixed").replace("events/s", " calls/s"))
    share = results[-1].rate / best.rate
    line = verdict(f"auto vs best fixed ({best.name.split()[-1]}), calls/s", share, ">= 0.8x", share >= 0.8)
    print("  " + line)
    return [f"send: {line}"] if line.endswith("MISSED") else []


def memory(directory: str, big: int) -> list[str]:
    """Section 3: peak RSS of `accoil-map send` on 10k calls and on `big` calls."""
    small_path, big_path = os.path.join(directory, "10k.ndjson"), os.path.join(directory, "big.ndjson")
    write_calls(small_path, 10_000)
    write_calls(big_path, big)
    print(f"\n== send: peak RSS of `accoil-map send` (10,000 vs {big:,} calls, auto concurrency) ==")
    with fake_accoil() as url:
        env = {**os.environ, "ACCOIL_API_KEY": KEY, "ACCOIL_ENDPOINT": url}
        low, high = (
            peak_rss_kib([sys.executable, "-m", "accoil_map", "send", path, "-q", "--state",
                          path + ".state"], env)
            for path in (small_path, big_path)
        )
    growth = high / low
    line = verdict(f"{low / 1024:.0f} MiB -> {high / 1024:.0f} MiB, growth", growth,
                   "<= 1.2x, streaming", growth <= 1.2)
    print("  " + line)
    return [f"send memory: {line}"] if line.endswith("MISSED") else []


def send_sections(calls: int, repeat: int, big: int, skip_memory: bool) -> list[str]:
    """All three sections; returns the missed targets."""
    with tempfile.TemporaryDirectory(prefix="accoil-bench-send-") as directory:
        path = os.path.join(directory, "calls.ndjson")
        write_calls(path, calls)
        missed = against_bare_loop(path, calls, repeat, directory)
        missed += against_fixed_limits(path, calls, repeat, directory)
        if not skip_memory:
            missed += memory(directory, big)
    return missed
