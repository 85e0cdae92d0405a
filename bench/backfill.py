"""`python -m bench --backfill`: `accoil-map backfill` against itself and against `run`.

A corpus of Amplitude events in 8 gzip files (1M events by default), then,
as subprocesses timed on the wall clock, start-up included:

- `accoil-map backfill mappings/amplitude.yaml DIR -o OUT --workers 1`
- the same with `--workers 2`
- `accoil-map run mappings/amplitude.yaml -i ALL.gz -o OUT --workers 2`, where
  ALL.gz is the 8 files concatenated (a valid multi-member gzip file): `run`
  over the same files in the same order.

First the outputs are checked identical (backfill's calls files in manifest
order against `run`'s output). Targets: 2 workers at least 1.7x one worker;
backfill's cost per event within 1.2x of `run --workers 2`; the peak memory
of a worker (from backfill's summary) no higher over 8 files than over 2.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from . import corpus
from .timing import Row, format_table, measure, ratio, steady, verdict

REPO = Path(__file__).resolve().parent.parent
MAPPING = str(REPO / "mappings" / "amplitude.yaml")
FILES = 8
DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 80_000
_PEAK = re.compile(r"peak memory of a worker: ([\d,]+) MiB")


def write_corpus(folder: Path, events: int) -> int:
    """`events` Amplitude events in FILES gzip files (level 1: quick to make, as quick to read)."""
    folder.mkdir(parents=True, exist_ok=True)
    per_file = events // FILES
    for number in range(FILES):
        path = folder / f"amplitude-{number}.json.gz"
        if path.exists():
            continue
        lines = b"".join(
            orjson.dumps(event) + b"\n" for event in corpus.generate("amplitude", per_file, number)
        )
        partial = path.with_suffix(".partial")  # a kept corpus is never half a file
        with gzip.open(partial, "wb", compresslevel=1) as out:
            out.write(lines)
        partial.replace(path)
    return per_file * FILES


def backfill_command(inputs: list[str], outdir: str, workers: int) -> list[str]:
    """`accoil-map backfill` of the Amplitude mapping, the progress bar off."""
    return [
        sys.executable, "-m", "accoil_map", "backfill", MAPPING, *inputs,
        "-o", outdir, "--workers", str(workers), "--no-resume",
    ]  # fmt: skip


def run_command(infile: str, outfile: str, workers: int) -> list[str]:
    """`accoil-map run` of the Amplitude mapping."""
    return [
        sys.executable, "-m", "accoil_map", "run", MAPPING, "-i", infile, "-o", outfile,
        "--workers", str(workers), "-q",
    ]  # fmt: skip


def _quiet(command: list[str]) -> list[str]:
    return [*command, "-q"]


def concatenated_calls(outdir: Path) -> bytes:
    """Backfill's calls files in manifest order."""
    out = []
    for line in (outdir / "manifest.jsonl").read_bytes().splitlines():
        for output in orjson.loads(line)["outputs"]:
            if output["kind"] == "calls":
                out.append((outdir / output["path"]).read_bytes())
    return b"".join(out)


def peak_worker_mib(inputs: list[str], outdir: str) -> int:
    """The peak memory of a worker that backfill reports in its summary."""
    done = subprocess.run(
        backfill_command(inputs, outdir, 2), check=True, capture_output=True, text=True, cwd=REPO
    )
    found = _PEAK.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no peak memory in backfill's summary:\n{done.stderr}")
    return int(found.group(1).replace(",", ""))


def task_cpu(path: str) -> tuple[int, float]:
    """(events, CPU seconds) of one backfill task on one file, in this process.

    CPU time, unlike wall time, barely moves when other processes share the
    cores: this is the per-core throughput the scale model in PERFORMANCE.md uses.
    """
    import hashlib

    from accoil_map import check, compile_source
    from accoil_map.backfill import task
    from accoil_map.backfill.inputs import discover

    source = compile_source(check(MAPPING))
    program = task.Program("amplitude", source, hashlib.sha256(source.encode()).hexdigest())
    task.install(program)
    (found,) = discover([path])
    with tempfile.TemporaryDirectory(prefix="accoil-bench-task-") as out:
        started = time.process_time()
        outcome = task.process_source(found, task.Settings(out, program.sha256))
        return outcome.result.stats.lines, time.process_time() - started


def startup_seconds(empty: str, outdir: str, workers: int) -> float:
    """Wall time of `accoil-map backfill` on one empty file: the fixed cost in the rows."""
    start = time.perf_counter()
    subprocess.run(_quiet(backfill_command([empty], outdir, workers)), check=True, cwd=REPO)
    return time.perf_counter() - start


def backfill_section(events: int, repeat: int, folder: str | None, judged: bool = True) -> list[str]:
    """Time backfill with 1 and 2 workers and `run --workers 2`; returns missed targets.

    Unless `judged` (a quick run), the time ratios are shown without verdicts:
    on a small corpus the cluster's start-up decides them.
    """
    with tempfile.TemporaryDirectory(prefix="accoil-bench-backfill-") as scratch:
        data = Path(folder) if folder else Path(scratch) / "corpus"
        started = time.perf_counter()
        total = write_corpus(data, events)
        inputs = sorted(str(path) for path in data.glob("amplitude-*.json.gz"))[:FILES]
        size = sum(os.path.getsize(path) for path in inputs)
        print(
            f"\n== backfill: {total:,} Amplitude events in {FILES} gzip files "
            f"({size / 1e6:,.0f} MB, made in {time.perf_counter() - started:.0f} s, at {data}) =="
        )
        joined = Path(scratch) / "all.json.gz"  # gzip members may follow one another
        with open(joined, "wb") as out:
            for path in inputs:
                with open(path, "rb") as part:
                    shutil.copyfileobj(part, out)
        out1, out2, run_out = (str(Path(scratch) / name) for name in ("w1", "w2", "run.ndjson"))
        subprocess.run(_quiet(backfill_command(inputs, out2, 2)), check=True, cwd=REPO)
        subprocess.run(run_command(str(joined), run_out, 2), check=True, cwd=REPO)
        if concatenated_calls(Path(out2)) != Path(run_out).read_bytes():
            raise SystemExit("backfill's calls differ from run's: no timing")
        print(f"  outputs identical: backfill's calls in manifest order == run's ({run_out})")
        count, cpu = task_cpu(inputs[0])
        print(
            f"  one task in process: {count:,} events of {Path(inputs[0]).name} in {cpu:.2f} s of CPU: "
            f"{cpu / count * 1e6:.1f} µs/event, {count / cpu:,.0f} events per CPU-second"
        )
        rows = [
            _row("accoil-map backfill --workers 1", _quiet(backfill_command(inputs, out1, 1)), total),
            _row("accoil-map backfill --workers 2", _quiet(backfill_command(inputs, out2, 2)), total),
            _row("accoil-map run --workers 2", run_command(str(joined), run_out, 2), total),
        ]
        one, two, run = results = measure(rows, repeat)
        print(format_table(results, run, "run -w 2"))
        empty = Path(scratch) / "empty.ndjson"
        empty.write_bytes(b"")
        startup = {n: startup_seconds(str(empty), str(Path(scratch) / "s"), n) for n in (1, 2)}
        print(
            f"  (start-up of `accoil-map backfill` on an empty file, cluster included: "
            f"{startup[1]:.1f} s with 1 worker, {startup[2]:.1f} s with 2; included above)"
        )
        low = peak_worker_mib(inputs[:2], str(Path(scratch) / "m2"))
        high = peak_worker_mib(inputs, str(Path(scratch) / "m8"))
        checks = [
            ("backfill 2 workers vs 1, events/s", ratio(one, two), ">= 1.7x", ratio(one, two) >= 1.7),
            ("backfill -w 2 vs run -w 2, time per event", ratio(two, run), "<= 1.2x",
             ratio(two, run) <= 1.2),
        ]  # fmt: skip
        lines = [
            verdict(*check) if judged else f"{check[0]} = {check[1]:.2f}x (target {check[2]}, "
            "judged by the full run only)"
            for check in checks
        ]
        lines.append(
            verdict(f"peak worker memory, 2 -> {FILES} files: {low} -> {high} MiB, growth",
                    high / low, "<= 1.2x", high / low <= 1.2)
        )  # fmt: skip
        one_steady = steady(one, startup[1])
        two_steady = steady(two, startup[2])
        lines.append(
            f"(without start-up: 1 worker {one_steady.rate:,.0f} events/s, 2 workers "
            f"{two_steady.rate:,.0f} events/s, 2 vs 1 = {ratio(one_steady, two_steady):.2f}x)"
        )
        print("\n".join("  " + line for line in lines))
        return [f"backfill: {line}" for line in lines if line.endswith("MISSED")]



def _row(name: str, command: list[str], events: int) -> Row:
    def run() -> None:
        subprocess.run(command, check=True, cwd=REPO)

    return Row(name, run, events, "subprocess, wall time incl. start-up")
