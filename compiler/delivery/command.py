"""`accoil-map send` and `accoil-map run --send`: set up a delivery, run it, report, exit.

Exit codes: 0 every valid call delivered, 1 some dead-lettered or invalid,
2 usage (bad options, a journal for another input, a locked state folder),
130 stopped by Ctrl-C (143 by SIGTERM), the journal saved.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..runner import open_input
from .client import AccoilClient
from .concurrency import Limiter, Pacer
from .deadletter import DeadLetters
from .dispatch import Dispatch
from .journal import SYNC_INTERVAL, Journal, JournalError, NoJournal
from .options import SendOptions, UsageProblem, from_args
from .progress import status_display
from .source import CallLines, EventCalls, fingerprint
from .tally import Tally

EXIT_OK, EXIT_UNDELIVERED, EXIT_USAGE = 0, 1, 2
_SIGNAL_EXITS = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended: its counts and the signal that stopped it, if one did."""

    tally: Tally
    stopped_by: int | None


def _usage(message: str) -> int:
    print(f"accoil-map: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _describe_input(path: str, extra: dict) -> tuple[dict, int | None]:
    """What the journal records about the input, and its number of lines if known."""
    if path == "-":
        return {}, None
    seen = fingerprint(path)
    about = {"input_path": path, "input_sha256": seen.sha256, "input_size": seen.size, **extra}
    return about, seen.lines


async def _every(seconds: float, action: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        action()


async def _sync_every(seconds: float, journal, dead_letters) -> None:
    """Write the journal's records kept in memory here, in the loop's thread (they change as
    calls are settled); then fsync in a thread, dead letters before the journal, so a
    record never outlives its letter."""

    def sync_all() -> None:
        dead_letters.sync()
        journal.sync()

    while True:
        await asyncio.sleep(seconds)
        journal.flush()
        await asyncio.to_thread(sync_all)


async def _deliver(
    source, options: SendOptions, journal, dead_letters, tally, status
) -> int | None:
    """Run the delivery; returns the signal that stopped it, or None when it finished."""
    limiter = Limiter(options.concurrency)
    pacer = Pacer(options.rate) if options.rate else None
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if not stopped:
            stopped.append(signum)
            main.cancel()

    def refresh() -> None:
        tally.blank = source.blank
        status.update(tally, limiter)

    for signum in _SIGNAL_EXITS:
        loop.add_signal_handler(signum, stop, signum)
    helpers = [asyncio.create_task(_sync_every(SYNC_INTERVAL, journal, dead_letters))]
    if status is not None:
        status.start()
        helpers.append(asyncio.create_task(_every(status.interval, refresh)))
    try:
        async with AccoilClient(options.endpoint, options.timeout, limiter.ceiling) as client:
            dispatch = Dispatch(
                client, limiter, options.retry, journal, dead_letters, tally, options.ordered, pacer
            )
            await dispatch.run(source)
    except asyncio.CancelledError:
        if not stopped:
            raise
        main.uncancel()
    finally:
        for signum in _SIGNAL_EXITS:
            loop.remove_signal_handler(signum)
        for helper in helpers:
            helper.cancel()
        tally.blank = source.blank
        if status is not None:
            status.stop(tally, limiter)
    return stopped[0] if stopped else None


def deliver(source, label: str, about: dict, total: int | None, options: SendOptions) -> Outcome:
    """Deliver `source`'s calls with a journal and dead letters (the status shown as it goes)."""
    tally = Tally(unit=source.unit)
    with ExitStack() as stack:
        journal = (
            Journal(options.state, {**about, "endpoint": options.endpoint.url})
            if about
            else NoJournal()
        )
        stack.callback(journal.close)
        dead_letters = DeadLetters(options.dead_letter, source.with_call_numbers)
        stack.callback(dead_letters.close)
        status = (
            None
            if options.quiet
            else status_display(f"send {label}", total, options.status_interval)
        )
        stopped_by = asyncio.run(_deliver(source, options, journal, dead_letters, tally, status))
    return Outcome(tally, stopped_by)


def report(label: str, outcome: Outcome, options: SendOptions) -> None:
    """The summary on stderr: the equation, details, where the dead letters and journal are."""
    if options.quiet:
        return
    tally, stopped_by = outcome.tally, outcome.stopped_by
    lines = [f"send {label}: {tally.equation()}", *tally.details()]
    if tally.undelivered:
        lines.append(f"dead letters: {options.dead_letter}")
    if options.state is not None:
        lines.append(
            f"journal: {options.state} (the same command resumes; another --state starts over)"
        )
    if stopped_by is not None:
        lines.append(f"stopped by {signal.Signals(stopped_by).name}: the journal is saved")
    print("\n  ".join(lines), file=sys.stderr)


def exit_code(outcome: Outcome) -> int:
    """130/143 when stopped by a signal, 1 when a call was not delivered, else 0."""
    if outcome.stopped_by is not None:
        return _SIGNAL_EXITS[outcome.stopped_by]
    return EXIT_UNDELIVERED if outcome.tally.undelivered else EXIT_OK


def dry_run(source, label: str, quiet: bool) -> int:
    """Check and count every call, print each problem as `INPUT:LINE: reason`; send nothing."""
    valid = invalid = 0
    for call in source:
        if call.problem is None:
            valid += 1
            continue
        invalid += 1
        print(f"{label}:{call.line}: {call.problem}", file=sys.stderr)
    if not quiet:
        total = valid + invalid + source.blank
        text = f"{total:,} {source.unit} = {valid:,} valid + {invalid:,} invalid"
        if source.unit == "lines":
            text += f" + {source.blank:,} blank"
        print(f"send {label} (dry run, nothing sent): {text}", file=sys.stderr)
    return EXIT_UNDELIVERED if invalid else EXIT_OK


def send_file(path: str, options: SendOptions) -> Outcome:
    """Deliver the calls of an NDJSON file (plain or gzip; `-` is stdin) as `options` say.

    Raises JournalError when the state folder belongs to another input or is in use.
    """
    with open_input(path) as stream:
        about, total = _describe_input(path, {})
        return deliver(CallLines(stream), path, about, total, options)


def send_calls(args) -> int:
    """`accoil-map send [CALLS]`."""
    path = args.calls
    try:
        options = from_args(args, path)
        if args.dry_run:
            with open_input(path) as stream:
                return dry_run(CallLines(stream), path, options.quiet)
        outcome = send_file(path, options)
        report(path, outcome, options)
        return exit_code(outcome)
    except (UsageProblem, JournalError) as problem:
        return _usage(str(problem))
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as error:
        return _usage(f"{error.filename or path}: {error.strerror}")


def send_events(args, module, source_text: str, infile: BinaryIO, rejects: BinaryIO | None) -> int:
    """`accoil-map run MAPPING -i EVENTS --send ...`: transform and deliver in one pass."""
    stem = Path(args.mapping).stem
    try:
        options = from_args(args, args.input, state_suffix=f".{stem}")
    except UsageProblem as problem:
        return _usage(str(problem))
    source = EventCalls(module, infile, rejects.write if rejects is not None else None)
    outcome = None
    if args.dry_run:
        status = dry_run(source, args.mapping, options.quiet)
    else:
        mapping_sha = hashlib.sha256(source_text.encode()).hexdigest()
        about, _ = _describe_input(args.input, {"mapping_sha256": mapping_sha})
        try:
            outcome = deliver(source, args.mapping, about, None, options)
        except JournalError as error:
            return _usage(str(error))
        status = exit_code(outcome)
    if not options.quiet:
        print(f"{args.mapping}: {source.stats.summary()}", file=sys.stderr)
    if outcome is not None:
        report(args.mapping, outcome, options)
    return status
