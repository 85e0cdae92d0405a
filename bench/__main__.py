"""`python -m bench`: the benchmark suite of accoil-map.

Per shipped mapping, on a generated corpus, in one process: the generated
module, a hand-written transform, the reference interpreter, a naive
jmespath+jinja2 transform and the JSON floor; then `run` end to end on an
NDJSON file, and the peak memory of `run` on a small and a large file; then
`send` against a fake Accoil (bench/send.py). `--backfill` runs the backfill
section instead (bench/backfill.py).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import orjson

from accoil_map import check, compile_source, load
from accoil_map.interpreter import Interpreter

from . import backfill, corpus, endtoend, handwritten, send, timing
from .naive import NaiveTransform
from .timing import (
    format_table,
    json_floor_row,
    judged,
    measure,
    ratio,
    ratio_range,
    transform_row,
    verdict,
)
from .verify import check_identical

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
SLOW_SUBSET = 10_000
QUICK_SLOW_SUBSET = 2_000
QUICK_EVENTS = 20_000
MEMORY_BIG = 1_000_000
QUICK_MEMORY_BIG = 40_000
SEND_CALLS = 20_000
QUICK_SEND_CALLS = 5_000
QUICK_SEND_BIG = 100_000
WIDE = 40_000  # events of the wide-event rows (about 5 KB each)
QUICK_WIDE = 5_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; --quick sets smaller defaults that explicit flags override."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(corpus.GENERATORS), help="one workload only")
    parser.add_argument(
        "--events",
        type=int,
        metavar="N",
        help="events per workload (default: 200k Amplitude, 100k Segment and PostHog)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_EVENTS:,} events, 3 repetitions, small memory check",
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="repetitions per row (default 5)")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time in-process rows by this process's CPU time (less moved by other load)",
    )
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end section")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory checks")
    parser.add_argument("--skip-send", action="store_true", help="skip the `send` section")
    parser.add_argument(
        "--send-only",
        action="store_true",
        help="only the `send` section (delivery to a fake Accoil)",
    )
    parser.add_argument(
        "--write-ndjson",
        metavar="PATH",
        help="keep the end-to-end NDJSON file here (default: a temporary file)",
    )
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="only the backfill section: `accoil-map backfill` with 1 and 2 workers vs `run` "
        f"on {backfill.DEFAULT_EVENTS:,} Amplitude events in {backfill.FILES} gzip files",
    )
    parser.add_argument(
        "--backfill-dir",
        metavar="DIR",
        help="keep (and reuse) the backfill corpus here (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if (args.events is not None and args.events < 1) or args.repeat < 1:
        parser.error("--events and --repeat must be at least 1")
    return args


def corpus_for(source: str, args: argparse.Namespace) -> list[dict]:
    """The workload's events, generated, then frozen out of the garbage collector's scans."""
    count = args.events or (QUICK_EVENTS if args.quick else corpus.DEFAULT_SIZES[source])
    start = time.perf_counter()
    events = corpus.generate(source, count)
    gc.collect()
    gc.freeze()  # the corpus lives all run long: keep full collections from rescanning it
    print(f"\n== {source}: {count:,} events, generated in {time.perf_counter() - start:.1f} s ==")
    return events


def workload(
    source: str, events: list[dict], repeat: int, slow_subset: int
) -> tuple[object, list[str]]:
    """Check, time and tabulate the five rows of one mapping; returns (module, missed targets)."""
    mapping = str(MAPPINGS / f"{source}.yaml")
    module = load(mapping)
    transforms = {
        "generated module": module.transform,
        "hand-written": handwritten.TRANSFORMS[source],
        "reference interpreter": Interpreter(check(mapping).mapping).transform,
        "naive jmespath+jinja2": NaiveTransform(mapping).transform,
    }
    start = time.perf_counter()
    check_identical(transforms, events)
    lines = [orjson.dumps(event) for event in events]
    calls = sum(len(module.transform(event)) for event in events)
    print(
        f"  {calls:,} calls; average event {sum(map(len, lines)) / len(lines):,.0f} B; payloads of "
        f"all {len(transforms)} transform rows identical on every event "
        f"(checked in {time.perf_counter() - start:.0f} s)"
    )
    subset = events[:slow_subset]
    note = f"first {len(subset):,} events" if len(subset) < len(events) else ""
    rows = [
        transform_row(name, transform, subset, note)
        if name in _SLOW
        else transform_row(name, transform, events)
        for name, transform in transforms.items()
    ]
    rows.append(json_floor_row(lines))
    results = measure(rows, repeat)
    generated, hand, _, naive, _ = results
    print(format_table(results, hand, "hand-written"))
    verdicts = [
        judged(
            "generated vs hand-written, time",
            ratio(generated, hand),
            ratio_range(generated, hand),
            "<= 1.0x",
            ratio(generated, hand) <= 1.0,
        ),
        verdict(
            "naive vs generated, time",
            ratio(naive, generated),
            ">= 8x",
            ratio(naive, generated) >= 8,
        ),
    ]
    print("\n".join("  " + line for line in verdicts))
    return module, [f"{source}: {line}" for line in verdicts if line.endswith("MISSED")]


_SLOW = ("reference interpreter", "naive jmespath+jinja2")


def slow_subset(args: argparse.Namespace) -> int:
    """Events timed for the slow rows (they are still checked on the whole corpus)."""
    return QUICK_SLOW_SUBSET if args.quick else SLOW_SUBSET


def header(args: argparse.Namespace) -> str:
    """What ran where: the numbers only mean something next to this."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"accoil-map benchmarks: Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}\n"
        f"median of {args.repeat} interleaved repetitions per row; "
        f"{'time.process_time (CPU)' if args.cpu else 'time.perf_counter'} for in-process rows; "
        f"gc enabled for every row (corpus frozen with gc.freeze); events pre-parsed for "
        f"transform rows; the interpreter and naive rows time only the first "
        f"{slow_subset(args):,} events (their µs/event is still comparable)"
    )


def e2e_repeat(args: argparse.Namespace) -> int:
    """Rounds of the end-to-end rows: each is a whole file, so fewer than the rows above."""
    return min(args.repeat, 2 if args.quick else 3)


def end_to_end_sections(
    module, source: str, events: list[dict], args: argparse.Namespace
) -> list[str]:
    """The end-to-end and memory sections on one workload's corpus; returns missed targets."""
    mapping = str(MAPPINGS / f"{source}.yaml")
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="accoil-bench-") as directory:
        if not args.skip_e2e:
            path = args.write_ndjson or os.path.join(directory, f"{source}.ndjson")
            missed += endtoend.end_to_end(
                module, mapping, events, path, e2e_repeat(args), judged_=not args.quick
            )
            print("  " + endtoend.stages(module, events[:20_000]))
            print("  " + endtoend.cpu_split(compile_source(mapping), source, path, len(events)))
            wide = corpus.widened(events[: QUICK_WIDE if args.quick else WIDE])
            wide_path = os.path.join(directory, f"{source}-wide.ndjson")
            missed += endtoend.wide_events(module, wide, wide_path, e2e_repeat(args))
            os.unlink(wide_path)
        if not args.skip_memory:
            big = QUICK_MEMORY_BIG if args.quick else MEMORY_BIG
            missed += endtoend.memory(
                mapping,
                events,
                directory,
                big,
                lambda path, count: endtoend.parallel(
                    mapping,
                    compile_source(mapping),
                    source,
                    path,
                    count,
                    e2e_repeat(args),
                    judged_=not args.quick,
                ),
            )
    return missed


def backfill_only(args: argparse.Namespace) -> list[str]:
    """The backfill section on its own; returns missed targets."""
    events = args.events or (backfill.QUICK_EVENTS if args.quick else backfill.DEFAULT_EVENTS)
    return backfill.backfill_section(
        events, e2e_repeat(args), args.backfill_dir, judged=not args.quick
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu:
        timing.CLOCK[0] = time.process_time
    print(header(args))
    started = time.perf_counter()
    if args.backfill:
        missed = backfill_only(args)
        print(f"\n== summary ({time.perf_counter() - started:.0f} s) ==")
        print("\n".join(f"  {line}" for line in missed) if missed else "  every target met")
        return 0
    sources = [] if args.send_only else [args.only] if args.only else list(corpus.GENERATORS)
    missed: list[str] = []
    kept: tuple | None = None
    for source in sources:
        events = corpus_for(source, args)
        module, misses = workload(source, events, args.repeat, slow_subset(args))
        missed += misses
        if kept is None:  # the first workload (Amplitude by default) runs end to end
            kept = (module, source, events)
        del events
    if kept is not None and not (args.skip_e2e and args.skip_memory):
        missed += end_to_end_sections(*kept, args)
    if not args.skip_send:
        missed += send.send_sections(
            QUICK_SEND_CALLS if args.quick else SEND_CALLS,
            e2e_repeat(args),
            QUICK_SEND_BIG if args.quick else MEMORY_BIG,
            args.skip_memory,
        )
    print(f"\n== summary ({time.perf_counter() - started:.0f} s) ==")
    print("\n".join(f"  {line}" for line in missed) if missed else "  every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
