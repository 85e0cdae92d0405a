"""End to end on an NDJSON file: the bare loop, `run_stream`, `python -m accoil_map run`, memory."""

from __future__ import annotations

import filecmp
import gc
import io
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from accoil_map.runner import open_input, run_stream

from .corpus import write_ndjson
from .timing import Result, Row, format_table, judged, measure, ratio, speedup, steady, verdict
from .verify import Mismatch

REPO = Path(__file__).resolve().parent.parent


# Every row reads the file through the same buffer, the one `run` opens it with
# (open_input: 256 KiB): a row's speed is then its own, not its buffer's.


def bare_loop_row(module, path: str, events: int) -> Row:
    """`orjson.loads -> transform -> orjson.dumps` over the file's lines, into /dev/null."""
    loads, dumps, transform = orjson.loads, orjson.dumps, module.transform

    def run() -> None:
        with open_input(path) as infile, open(os.devnull, "wb") as out:
            write = out.write
            for line in infile:
                for payload in transform(loads(line)):
                    write(dumps(payload) + b"\n")

    return Row("bare loop (loads/transform/dumps)", run, events)


def json_floor_file_row(path: str, events: int) -> Row:
    """`orjson.loads -> orjson.dumps` of every line of the file, no transform, into /dev/null."""
    loads, dumps = orjson.loads, orjson.dumps

    def run() -> None:
        with open_input(path) as infile, open(os.devnull, "wb") as out:
            write = out.write
            for line in infile:
                write(dumps(loads(line)) + b"\n")

    return Row("JSON floor (loads+dumps)", run, events, "no transform")


def run_stream_row(module, path: str, events: int) -> Row:
    """`accoil_map.runner.run_stream`, one process: what `run --workers 1` does after startup."""

    def run() -> None:
        with open_input(path) as infile, open(os.devnull, "wb") as out:
            run_stream(module, infile, out, None)

    return Row("runner.run_stream (1 worker)", run, events)


def check_same_output(module, path: str) -> None:
    """Before timing: `run_stream` writes byte for byte what the bare loop writes."""
    loads, dumps = orjson.loads, orjson.dumps
    expected = io.BytesIO()
    with open(path, "rb") as infile:
        for line in infile:
            for payload in module.transform(loads(line)):
                expected.write(dumps(payload) + b"\n")
    got = io.BytesIO()
    with open(path, "rb") as infile:
        run_stream(module, infile, got, None)
    if got.getvalue() != expected.getvalue():
        raise Mismatch(f"OUTPUTS DIFFER: run_stream vs the bare loop on {path}")
    print(f"  outputs identical: run_stream == bare loop ({len(got.getvalue()):,} bytes of calls)")


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


#: CPU seconds (user + system) of the subprocess rows, every round, by row name.
CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_row(mapping: str, path: str, events: int, workers: int) -> Row:
    """The command line in a subprocess: wall time, interpreter startup included; its CPU
    time (workers included) is kept in CPU."""
    name = f"accoil-map run --workers {workers}"

    def run() -> None:
        before = _children_cpu()
        subprocess.run(cli_command(mapping, path, workers), check=True, cwd=REPO)
        CPU.setdefault(name, []).append(_children_cpu() - before)

    return Row(name, run, events, "subprocess, wall time incl. startup", wall=True)


def median_cpu(row: Row) -> float:
    """The median CPU seconds of a subprocess row's rounds."""
    rounds = sorted(CPU[row.name])
    return rounds[len(rounds) // 2]


def reported(lines: list[str], section: str, judged_: bool) -> list[str]:
    """Print a section's verdict lines (a quick run's misses not judged); its missed
    targets."""
    if not judged_:
        lines = [line.replace("MISSED", "missed (quick run, not judged)") for line in lines]
    print("\n".join("  " + line for line in lines))
    return [f"{section}: {line}" for line in lines if line.endswith("MISSED")]


def startup_seconds(mapping: str, empty: str, *extra: str) -> float:
    """Wall time of `accoil-map run` on an empty file: the fixed cost in the subprocess rows."""
    start = time.perf_counter()
    subprocess.run([*cli_command(mapping, empty, 1), *extra], check=True, cwd=REPO)
    return time.perf_counter() - start


def end_to_end(
    module, mapping: str, events: Sequence[dict], path: str, repeat: int, judged_: bool = True
) -> list[str]:
    """Time the ways of running a mapping over the NDJSON file; returns missed targets.

    Unless `judged_`, the subprocess ratios are shown without verdicts: on a small
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
    check_same_output(module, path)
    CPU.clear()
    rows = [
        bare_loop_row(module, path, len(events)),
        json_floor_file_row(path, len(events)),
        run_stream_row(module, path, len(events)),
        cli_row(mapping, path, len(events), 1),
        cli_row(mapping, path, len(events), 2),
    ]
    bare, floor, stream, one, two = results = measure(rows, repeat)
    print(format_table(results, bare, "bare loop"))
    print(
        f"  (startup of `accoil-map run` on an empty file: {startup:.2f} s with the mapping "
        f"cached, included above; {uncached:.2f} s with --no-cache)"
    )
    lines = against_loops(stream, bare, floor, 1.4)
    two_steady, one_steady = steady(two, startup), steady(one, startup)
    scaling = speedup(two_steady, one_steady)
    cpu_one, cpu_two = (median_cpu(row) for row in rows[3:])
    scaling_line = (
        f"run --workers 2 vs --workers 1 (without startup), events/s = {scaling[0]:.2f}x "
        f"(range {scaling[1][0]:.2f}-{scaling[1][1]:.2f}; target >= 1.7x on a quiet machine); "
        f"CPU {cpu_two:.2f} s vs {cpu_one:.2f} s = {cpu_two / cpu_one:.2f}x (target <= 1.15x)"
    )
    lines.append(scaling_line)
    lines.append(
        f"(with startup: --workers 1 vs bare loop = {ratio(bare, one):.2f}x events/s, "
        f"--workers 2 vs --workers 1 = {ratio(one, two):.2f}x)"
    )
    return reported(lines, "end to end", judged_)


def against_loops(stream: Result, bare: Result, floor: Result, target: float) -> list[str]:
    """run_stream's events/s against the bare loop (`target`) and the JSON floor (1.1x)."""
    return [
        judged(label, *speedup(stream, base), f">= {goal:g}x", speedup(stream, base)[0] >= goal)
        for label, base, goal in (
            ("run_stream vs bare loop, events/s", bare, target),
            ("run_stream vs JSON floor (loads+dumps), events/s", floor, 1.1),
        )
    ]


def wide_events(module, events: Sequence[dict], path: str, repeat: int) -> list[str]:
    """The same on events widened to about 5 KB (200 more properties): run_stream vs the
    bare loop and the JSON floor."""
    size = write_ndjson(path, events)
    print(
        f"\n== end to end, wide events: {len(events):,} events of "
        f"{size / len(events) / 1e3:.1f} KB ({size / 1e6:,.0f} MB); median of {repeat} =="
    )
    check_same_output(module, path)
    rows = [
        bare_loop_row(module, path, len(events)),
        json_floor_file_row(path, len(events)),
        run_stream_row(module, path, len(events)),
    ]
    bare, floor, stream = results = measure(rows, repeat)
    print(format_table(results, bare, "bare loop"))
    lines = against_loops(stream, bare, floor, 2)
    print("\n".join("  " + line for line in lines))
    return [f"wide events: {line}" for line in lines if line.endswith("MISSED")]


def stages(module, events: Sequence[dict]) -> str:
    """Where the time of one line goes, by stage, on lines held in memory (best of 3; the
    results are dropped as they come, as in `run`, and the gc paused, as `run` does)."""
    lines = [orjson.dumps(event) for event in events]
    decoded = [module.decode_line(line) for line in lines]
    outputs = [module.transform(event) for event in decoded]
    loads, dumps, decode, transform = (
        orjson.loads,
        orjson.dumps,
        module.decode_line,
        module.transform,
    )

    def each(function, items) -> float:
        times = []
        for _ in range(3):
            gc.disable()
            start = time.perf_counter()
            for item in items:
                function(item)
            times.append(time.perf_counter() - start)
            gc.enable()
        return min(times) / len(lines) * 1e6

    parts = {
        "orjson.loads (whole line)": each(loads, lines),
        "decode_line (fields read)": each(decode, lines),
        "transform": each(transform, decoded),
        "orjson.dumps (calls)": each(dumps, [call for out in outputs for call in out]),
    }
    return "stages, µs per line: " + ", ".join(f"{name} {us:.2f}" for name, us in parts.items())


def main_and_workers_cpu(source: str, name: str, path: str) -> tuple[float, float]:
    """`run_parallel` with 2 workers in this process: CPU seconds of the main process
    (which only hands out positions and writes results) and of the workers."""
    from accoil_map.runner import run_parallel

    before_self, before_children = resource.getrusage(resource.RUSAGE_SELF), _children_cpu()
    with open_input(path) as infile, open(os.devnull, "wb") as out:
        run_parallel(source, name, infile, out, None, workers=2)
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    main = (after_self.ru_utime - before_self.ru_utime) + (
        after_self.ru_stime - before_self.ru_stime
    )
    return main, _children_cpu() - before_children


def cpu_split(source: str, name: str, path: str, events: int) -> str:
    """The main process's share of a 2-worker `run_parallel`, as a line."""
    main, workers = main_and_workers_cpu(source, name, path)
    return (
        f"run_parallel, 2 workers, {events:,} events: main process {main:.2f} s CPU, "
        f"workers {workers:.2f} s ({main / (main + workers):.0%} of the total in the main process)"
    )


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


def check_workers_agree(mapping: str, path: str) -> None:
    """Before timing: `run --workers 2` writes byte for byte what `--workers 1` writes."""
    outputs = [f"{path}.out{workers}" for workers in (1, 2)]
    try:
        for workers, output in zip((1, 2), outputs, strict=True):
            command = cli_command(mapping, path, workers)
            command[command.index(os.devnull)] = output
            subprocess.run(command, check=True, cwd=REPO)
        if not filecmp.cmp(*outputs, shallow=False):
            raise Mismatch(f"OUTPUTS DIFFER: run --workers 2 vs --workers 1 on {path}")
        print(
            f"  outputs identical: --workers 2 == --workers 1 ({os.path.getsize(outputs[0]):,} bytes)"
        )
    finally:
        for output in outputs:
            if os.path.exists(output):
                os.unlink(output)


def parallel(
    mapping: str, source: str, name: str, path: str, events: int, repeat: int, judged_: bool
) -> list[str]:
    """`run --workers 2` against `--workers 1` on a big plain file: wall time (start-up
    taken out), total CPU, and the main process's share of it; returns missed targets
    (none unless `judged_`: on a small file the fixed costs decide)."""
    empty = path + ".empty"
    Path(empty).write_bytes(b"")
    try:
        startup = startup_seconds(mapping, empty)
    finally:
        os.unlink(empty)
    print(f"\n== run --workers 2 vs 1 on {events:,} events (plain file); median of {repeat} ==")
    check_workers_agree(mapping, path)
    CPU.clear()
    rows = [cli_row(mapping, path, events, 1), cli_row(mapping, path, events, 2)]
    one, two = results = measure(rows, repeat)
    print(format_table(results, one, "--workers 1"))
    wall = speedup(steady(two, startup), steady(one, startup))
    cpu_one, cpu_two = (median_cpu(row) for row in rows)
    main, workers = main_and_workers_cpu(source, name, path)
    share = main / (main + workers)
    lines = [
        (
            f"wall, start-up ({startup:.2f} s) taken out: {wall[0]:.2f}x (range "
            f"{wall[1][0]:.2f}-{wall[1][1]:.2f}; target >= 1.7x on a quiet machine, load "
            f"{os.getloadavg()[0]:.1f} now)"
        ),
        verdict(
            f"total CPU, {cpu_two:.2f} s vs {cpu_one:.2f} s",
            cpu_two / cpu_one,
            "<= 1.15x",
            cpu_two / cpu_one <= 1.15,
        ),
        (
            f"main process {main:.2f} s CPU of {main + workers:.2f} s = {share:.1%} "
            f"(target <= 10%): {'ok' if share <= 0.10 else 'MISSED'}"
        ),
    ]
    return reported(lines, "parallel", judged_)


def memory(
    mapping: str,
    events: Sequence[dict],
    directory: str,
    big: int,
    on_big_file: Callable[[str, int], list[str]] | None = None,
) -> list[str]:
    """Peak RSS of `accoil-map run` on 10k events and on `big` events (the corpus repeated);
    then `on_big_file(path, events)` while the big file is there. Returns missed targets."""
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
        return missed + (on_big_file(big_path, big) if on_big_file else [])
    finally:
        for path in (small_path, big_path):
            if os.path.exists(path):
                os.unlink(path)
