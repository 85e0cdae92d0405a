"""End to end on an NDJSON file: the bare loop, `run_stream`, `python -m accoil_map run`, memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from accoil_map.runner import run_stream

from .corpus import write_ndjson
from .timing import Row, format_table, measure, ratio, steady, verdict

REPO = Path(__file__).resolve().parent.parent


def bare_loop_row(module, path: str, events: int) -> Row:
    """`orjson.loads -> transform -> orjson.dumps` over the file's lines, into /dev/null."""
    loads, dumps, transform = orjson.loads, orjson.dumps, module.transform

    def run() -> None:
        with open(path, "rb") as infile, open(os.devnull, "wb") as out:
            write = out.write
            for line in infile:
                for payload in transform(loads(line)):
                    write(dumps(payload) + b"\n")

    return Row("bare loop (loads/transform/dumps)", run, events)


def run_stream_row(module, path: str, events: int) -> Row:
    """`accoil_map.runner.run_stream`, one process: what `run --workers 1` does after startup."""

    def run() -> None:
        with open(path, "rb") as infile, open(os.devnull, "wb") as out:
            run_stream(module, infile, out, None)

    return Row("runner.run_stream (1 worker)", run, events)


def cli_command(mapping: str, path: str, workers: int) -> list[str]:
    """`python -m accoil_map run` on a file, output discarded."""
    return [
        sys.executable,
        "-m",
        "accoil_map",
        "run",
        mapping,
        "-i",
        path,
        "-o",
        os.devnull,
        "--workers",
        str(workers),
        "-q",
    ]


def cli_row(mapping: str, path: str, events: int, workers: int) -> Row:
    """The command line in a subprocess: wall time, interpreter startup included."""

    def run() -> None:
        subprocess.run(cli_command(mapping, path, workers), check=True, cwd=REPO)

    return Row(
        f"accoil-map run --workers {workers}", run, events, "subprocess, wall time incl. startup"
    )


def startup_seconds(mapping: str, empty: str, *extra: str) -> float:
    """Wall time of `accoil-map run` on an empty file: the fixed cost in the subprocess rows."""
    start = time.perf_counter()
    subprocess.run([*cli_command(mapping, empty, 1), *extra], check=True, cwd=REPO)
    return time.perf_counter() - start


def end_to_end(
    module, mapping: str, events: Sequence[dict], path: str, repeat: int, judged: bool = True
) -> list[str]:
    """Time the four ways of running a mapping over the NDJSON file; returns missed targets.

    Unless `judged`, the subprocess ratios are shown without verdicts: on a small
    (quick) file the fixed start-up of those rows decides them.
    """
    size = write_ndjson(path, events)
    empty = path + ".empty"
    Path(empty).write_bytes(b"")
    try:
        uncached = startup_seconds(mapping, empty, "--no-cache")
        startup = startup_seconds(mapping, empty)  # the rows below find the mapping cached
    finally:
        os.unlink(empty)
    print(
        f"\n== end to end: {Path(mapping).name} on {len(events):,} events "
        f"({size / 1e6:,.0f} MB NDJSON at {path}); median of {repeat} =="
    )
    rows = [
        bare_loop_row(module, path, len(events)),
        run_stream_row(module, path, len(events)),
        cli_row(mapping, path, len(events), 1),
        cli_row(mapping, path, len(events), 2),
    ]
    bare, stream, one, two = results = measure(rows, repeat)
    print(format_table(results, bare, "bare loop"))
    print(
        f"  (startup of `accoil-map run` on an empty file: {startup:.2f} s with the mapping "
        f"cached, included above; {uncached:.2f} s with --no-cache)"
    )
    checks = [  # (label, value, target, start-up bound)
        ("run_stream vs bare loop, events/s", ratio(bare, stream), ">= 0.9x", False),
        ("run --workers 1 vs bare loop, events/s", ratio(bare, one), ">= 0.9x", True),
        ("run --workers 2 vs --workers 1, events/s", ratio(one, two), ">= 1.6x", True),
    ]
    lines = [
        verdict(label, value, target, value >= float(target[3:-1]))
        if judged or not startup_bound
        else f"{label} = {value:.2f}x (target {target}, judged by the full run only)"
        for label, value, target, startup_bound in checks
    ]
    two_steady = steady(two, startup)
    one_steady = steady(one, startup)
    lines.append(
        f"(without startup: --workers 1 vs bare loop = {ratio(bare, one_steady):.2f}x, "
        f"--workers 2 vs --workers 1 = {ratio(one_steady, two_steady):.2f}x)"
    )
    print("\n".join("  " + line for line in lines))
    return [f"end to end: {line}" for line in lines if line.endswith("MISSED")]



@dataclass(frozen=True)
class Peak:
    """Peak resident memory of one `accoil-map run`."""

    events: int
    workers: int
    kib: int


# Linux keeps a process's peak RSS across exec, so a child forked from this big
# process would report our own peak. A small intermediate Python forks the
# measured command instead and reports its RUSAGE_CHILDREN peak (pool workers
# included: the peak of the largest process).
_MEASURE_RSS = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss_kib(command: Sequence[str], env: dict | None = None) -> int:
    """Peak resident memory of a command, in KiB (its largest process)."""
    measured = [sys.executable, "-c", _MEASURE_RSS, *command]
    done = subprocess.run(measured, check=True, cwd=REPO, capture_output=True, text=True, env=env)
    return int(done.stdout.split()[-1])


def peak_rss(mapping: str, path: str, workers: int, events: int) -> Peak:
    """Peak resident memory of `accoil-map run` on a file, in KiB."""
    return Peak(events, workers, peak_rss_kib(cli_command(mapping, path, workers)))


def memory(mapping: str, events: Sequence[dict], directory: str, big: int) -> list[str]:
    """Peak RSS of `accoil-map run` on 10k events and on `big` events (the corpus repeated)."""
    small_path = os.path.join(directory, "memory-10k.ndjson")
    big_path = os.path.join(directory, "memory-big.ndjson")
    small = min(10_000, len(events))
    repeat = -(-big // len(events))
    try:
        write_ndjson(small_path, events[:small])
        size = write_ndjson(big_path, events, repeat)
        big = len(events) * repeat
        print(
            f"\n== memory: peak RSS of `accoil-map run {Path(mapping).name}` "
            f"({small:,} vs {big:,} events, {size / 1e9:.2f} GB) =="
        )
        missed = []
        for workers in (1, 2):
            low = peak_rss(mapping, small_path, workers, small)
            high = peak_rss(mapping, big_path, workers, big)
            growth = high.kib / low.kib
            line = verdict(
                f"--workers {workers}: {low.kib / 1024:.0f} MiB -> {high.kib / 1024:.0f} MiB, "
                "growth",
                growth,
                "<= 1.2x, streaming",
                growth <= 1.2,
            )
            print("  " + line)
            if line.endswith("MISSED"):
                missed.append(f"memory: {line}")
        return missed
    finally:
        for path in (small_path, big_path):
            if os.path.exists(path):
                os.unlink(path)
