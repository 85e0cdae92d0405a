"""The `accoil-map run` subcommand: its options, and the run from options to exit code.

Exit codes: 0 done; 1 the run failed (input unreadable past a line, a worker
process died, an output could not be written) or its result is refused
(`--max-rejects`, `--max-reject-rate`, no call at all from a non-empty input
without `--allow-empty`); 2 usage (a missing or unreadable input, two of
input, output, rejects and mapping the same file); 130 Ctrl-C, 143 SIGTERM;
141 the reader of the output went away (`run ... | head`), quietly, as a
tool killed by SIGPIPE. Outputs that are files appear only when the run
succeeded (or its result was refused: they show why); else the previous files
are left as they were.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
from collections.abc import Callable

from .errors import plural

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE_CLOSED = 128 + signal.SIGPIPE
_SIGNAL_EXITS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def reject_rate(text: str) -> float:
    """`0.05` or `5%`: a share of the non-blank lines, from 0 to 1."""
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 0.05 or 5%)")
    return rate


def _count(text: str) -> int:
    """A number of lines, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count: {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `run` other than those of delivery."""
    from .backfill.command import byte_size
    from .runner import MAX_LINE_BYTES

    parser.add_argument("mapping", metavar="MAPPING")
    parser.add_argument(
        "-i", "--input", default="-", metavar="IN", help="NDJSON, plain or gzip (- = stdin)"
    )
    parser.add_argument(
        "-o", "--output", default="-", metavar="OUT", help="NDJSON call bodies (- = stdout)"
    )
    parser.add_argument("--rejects", metavar="FILE", help="write skipped and rejected lines here")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    parser.add_argument(
        "--no-cache", action="store_true", help="check and compile the mapping even if cached"
    )
    parser.add_argument(
        "--max-line-bytes",
        type=byte_size,
        metavar="SIZE",
        help=f"reject a longer line without holding it whole (default {MAX_LINE_BYTES >> 20}MiB)",
    )
    parser.add_argument(
        "--max-rejects", type=_count, metavar="N", help="exit 1 when more than N lines are rejected"
    )
    parser.add_argument(
        "--max-reject-rate",
        type=reject_rate,
        metavar="P",
        help="exit 1 when more than this share of non-blank lines is rejected (0.05 or 5%%)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 even when no line of a non-empty input produced a call",
    )
    parser.add_argument(
        "--send", action="store_true", help="deliver the calls to Accoil (see `send`)"
    )


class _Terminated(BaseException):
    """SIGTERM, raised where the run is, so that it stops as Ctrl-C does."""


def _terminate(signum, frame) -> None:
    raise _Terminated


def run_command(args: argparse.Namespace, compiled: Callable[[], tuple[str, str]]) -> int:
    """Run `run` with parsed options; `compiled()` gives the module's (source, name)."""
    from .runner import MAX_LINE_BYTES, open_input

    problem = _send_conflicts(args) or _same_files(args)
    if problem is not None:
        return _usage(problem)
    if args.max_line_bytes is None:
        args.max_line_bytes = MAX_LINE_BYTES
    source, name = compiled()
    try:
        infile = open_input(args.input)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            return _usage(f"no such file: {args.input}")
        return _usage(f"cannot read {args.input}: {error.strerror}")
    with infile:
        if args.send:
            return _send(args, source, name, infile)
        return _run(args, source, name, infile)


def _send_conflicts(args: argparse.Namespace) -> str | None:
    """`run`'s own options that do not go with --send, and delivery options without it."""
    from .delivery.options import given

    if not args.send:
        return f"{', '.join(given(args))} need --send" if given(args) else None
    if args.output != "-" or args.workers > 1:
        return "--send delivers the calls itself: -o and --workers do not apply"
    named = {
        "--max-line-bytes": args.max_line_bytes is not None,
        "--max-rejects": args.max_rejects is not None,
        "--max-reject-rate": args.max_reject_rate is not None,
        "--allow-empty": args.allow_empty,
    }
    if any(named.values()):
        return f"{', '.join(k for k, v in named.items() if v)}: not supported with --send yet"
    return None


def _same_files(args: argparse.Namespace) -> str | None:
    """Why two of input, output, rejects and mapping must not be the same file, if they are.

    Files are compared by device and inode, links followed; a name not yet
    taken is the same file only under two names of it, and `-` is the standard
    stream (the output and the rejects cannot both be stdout: they interleave)."""
    named = [
        ("input", args.input),
        ("output", args.output),
        ("rejects file", args.rejects),
        ("mapping", args.mapping),
    ]
    if args.output == "-" and args.rejects == "-":
        return "the output and the rejects file are both stdout (-): give --rejects a file"
    seen: dict[tuple, tuple[str, str]] = {}
    for role, path in named:
        if path is None or path == "-":
            continue
        try:
            found = os.stat(path)
        except OSError:  # not there yet (an output): two names of one new file collide
            key: tuple = ("new", os.path.realpath(path))
        else:
            if not stat.S_ISREG(found.st_mode):
                continue  # /dev/null twice is fine; only a file can be destroyed
            key = (found.st_dev, found.st_ino)
        if key in seen:
            other_role, other = seen[key]
            return (
                f"the {role} {path} is the same file as the {other_role} {other}: "
                "give each its own file"
            )
        seen[key] = (role, path)
    return None


def _usage(message: str) -> int:
    print(f"accoil-map: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _open_outputs(paths: list[str | None]):
    """An Output per path (None for None); usage text instead when one cannot be opened."""
    from .outfiles import Output

    opened: list = []
    try:
        for path in paths:
            opened.append(Output(path) if path is not None else None)
    except OSError as error:
        for output in opened:
            if output is not None:
                output.discard()
        return None, f"cannot write {path}: {error.strerror}"
    return opened, None


def _run(args: argparse.Namespace, source: str, name: str, infile) -> int:
    """Transform into the outputs; say what failed and what became of them, if anything did."""
    from .outfiles import OutputClosed, OutputError
    from .runner import InputError, RunError, RunStats

    stats = RunStats()
    outputs: list = []
    previous = signal.signal(signal.SIGTERM, _terminate)  # before any file is made
    try:
        opened, problem = _open_outputs([args.output, args.rejects])
        if problem is not None:
            return _usage(problem)
        outputs = [output for output in opened if output is not None]
        _transform(args, source, name, infile, opened, stats)
    except OutputClosed as error:
        done = [output.discard() for output in outputs]
        if error.label == opened[0].label:  # `| head`: the reader has all it wants
            return EXIT_PIPE_CLOSED
        return _failed(args, stats, str(error), done)
    except (RunError, OutputError) as error:
        where = f"{args.input}: " if isinstance(error, InputError) else ""
        return _failed(args, stats, f"{where}{error}", [output.discard() for output in outputs])
    except (KeyboardInterrupt, _Terminated) as stop:
        done = [output.discard() for output in outputs]
        signum = signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM
        _summary(args, stats)
        print(f"accoil-map: interrupted; {'; '.join(done)}", file=sys.stderr)
        return _SIGNAL_EXITS[signum]
    except BaseException:  # a failure of ours: no partial file stays behind either
        for output in outputs:
            output.discard()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    _summary(args, stats)
    refused = _refusal(args, stats)
    if refused is not None:
        print(f"accoil-map: error: {refused}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _transform(args: argparse.Namespace, source: str, name: str, infile, opened, stats) -> None:
    """The run itself, counted into `stats`; the outputs finished and in place after it."""
    from .modules import import_source
    from .outfiles import finish_all
    from .runner import run_parallel, run_stream

    output, rejects = opened
    reject_stream = rejects.stream if rejects is not None else None
    if args.workers > 1:
        run_parallel(
            source,
            name,
            infile,
            output.stream,
            reject_stream,
            args.workers,
            max_line_bytes=args.max_line_bytes,
            stats=stats,
        )
    else:
        module = import_source(source, name)
        run_stream(module, infile, output.stream, reject_stream, args.max_line_bytes, stats=stats)
    finish_all([output for output in opened if output is not None])


def _summary(args: argparse.Namespace, stats) -> None:
    if not args.quiet:
        print(f"{args.mapping}: {stats.summary()}", file=sys.stderr)


def _failed(args: argparse.Namespace, stats, message: str, done: list[str]) -> int:
    """Say what was read, what failed and what became of the outputs."""
    _summary(args, stats)
    print(f"accoil-map: error: {message}", file=sys.stderr)
    print(f"accoil-map: {'; '.join(done)}", file=sys.stderr)
    return EXIT_FAILED


def _refusal(args: argparse.Namespace, stats) -> str | None:
    """Why a finished run exits 1 all the same: too many rejects, or no call at all."""
    events = stats.lines - stats.blank
    if args.max_rejects is not None and stats.rejected > args.max_rejects:
        return (
            f"{plural(stats.rejected, 'line')} rejected, more than --max-rejects {args.max_rejects}"
        )
    rate = args.max_reject_rate
    if rate is not None and events and stats.rejected / events > rate:
        return (
            f"{stats.rejected} of {plural(events, 'non-blank line')} rejected "
            f"({stats.rejected / events:.1%}), more than --max-reject-rate {rate:g}"
        )
    if events and not stats.calls and not args.allow_empty:
        return (
            f"no line produced a call ({plural(events, 'non-blank line')} read): is this "
            "the mapping for this input? (--allow-empty accepts a run without calls)"
        )
    return None


def _send(args: argparse.Namespace, source: str, name: str, infile) -> int:
    """`run --send`: the delivery does the rest; the rejects file appears unless stopped."""
    from .delivery.command import send_events
    from .modules import import_source
    from .outfiles import OutputError, finish_all

    module = import_source(source, name)
    if args.rejects is None:
        return send_events(args, module, source, infile, None)
    opened, problem = _open_outputs([args.rejects])
    if problem is not None:
        return _usage(problem)
    [rejects] = opened
    try:
        status = send_events(args, module, source, infile, rejects.stream)
        if status not in _SIGNAL_EXITS.values():
            finish_all([rejects])
            return status
    except OutputError as error:
        print(f"accoil-map: error: {error}; {rejects.discard()}", file=sys.stderr)
        return EXIT_FAILED
    except BaseException:
        rejects.discard()
        raise
    print(f"accoil-map: {rejects.discard()}", file=sys.stderr)
    return status
