"""The `accoil-map backfill` subcommand: its options, and the run from options to exit code.

Exit codes: 0 every input done; 1 an input failed (each named in the
summary); 2 usage (no such input, an unreadable manifest, the `backfill`
extra missing); 130 interrupted (the manifest keeps what was done).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from collections.abc import Callable
from contextlib import ExitStack

from .adapters import CHOICES as ADAPTERS
from .outputs import COMPRESSIONS
from .task import OUTPUT_FORMATS

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def byte_size(text: str) -> int:
    """`128MiB`, `64M`, `1g` or a number of bytes (binary units)."""
    found = _SIZE.match(text)
    if found is None or int(found.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 128MiB)")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `backfill`."""
    parser.add_argument("mapping", metavar="MAPPING")
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="files, folders, globs or URLs (s3://, gs://, ...)",
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUTDIR", help="output folder or URL"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes of the embedded cluster (default: the cores)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="use the Dask cluster at ADDRESS (tcp://host:8786)"
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=OUTPUT_FORMATS,
        default=OUTPUT_FORMATS[0],
        help="NDJSON call bodies (default), or Accoil's bulk-import CSV files",
    )
    parser.add_argument("--compress", choices=COMPRESSIONS, default="none", help="output files")
    parser.add_argument(
        "--split-size",
        type=byte_size,
        default=128 << 20,
        metavar="SIZE",
        help="split plain files larger than this into parts of whole lines (default 128MiB)",
    )
    parser.add_argument(
        "--adapter",
        choices=ADAPTERS,
        default="auto",
        help="input shape adapter (default: from each file's first record)",
    )
    parser.add_argument(
        "--retries", type=int, default=2, metavar="N", help="retries of a failed task (default 2)"
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="redo every input, even if the manifest has it"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    parser.add_argument(
        "--no-cache", action="store_true", help="check and compile the mapping even if cached"
    )


def run_command(args: argparse.Namespace, compiled: Callable[[], tuple[str, str]]) -> int:
    """Run `backfill` with parsed options; `compiled()` gives the module's (source, name)."""
    from .extra import MissingExtra, require_backfill

    try:
        require_backfill()
    except MissingExtra as exc:
        return _usage(exc)
    source, name = compiled()
    try:
        return _run(args, source, name)
    except KeyboardInterrupt:  # while the cluster starts or stops
        print("accoil-map: backfill interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, source: str, name: str) -> int:
    from .driver import Job, backfill, connect, find_sources
    from .extra import MissingExtra
    from .inputs import InputError
    from .manifest import ManifestError
    from .progress import ProgressBar, Quiet, summary
    from .task import Program

    job = Job(
        program=Program(name, source, hashlib.sha256(source.encode()).hexdigest()),
        inputs=tuple(args.inputs),
        outdir=args.output,
        output_format=args.output_format,
        compress=args.compress,
        split_bytes=args.split_size,
        adapter=args.adapter,
        retries=args.retries,
        resume=not args.no_resume,
    )
    observer = Quiet() if args.quiet else ProgressBar()
    try:
        sources = find_sources(job)  # before the cluster starts: a typo fails at once
        with ExitStack() as stack:
            try:
                client = stack.enter_context(connect(args.scheduler, args.workers))
            except OSError as exc:  # distributed's connection errors and time-outs
                return _usage(f"cannot reach the Dask scheduler at {args.scheduler}: {exc}")
            report = backfill(job, client, observer, sources)
    except (InputError, ManifestError, MissingExtra) as exc:
        return _usage(exc)
    if not args.quiet or not report.ok:
        print(summary(report, args.output), file=sys.stderr)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILED


def _usage(error: Exception | str) -> int:
    print(f"accoil-map: error: {error}", file=sys.stderr)
    return EXIT_USAGE
