"""Before anything is timed: every transform row must give the same payloads on the corpus.

The whole corpus is checked, chunk by chunk, comparing the `orjson.dumps` bytes
of each row's output lists. The slow rows (interpreter, naive) make this the
longest step, so the chunks run in forked worker processes, one per CPU.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Sequence

import orjson

CHUNK = 5_000

# Set just before the pool forks, so workers inherit the transforms and events
# without pickling them.
_TRANSFORMS: dict[str, Callable] = {}
_EVENTS: Sequence[dict] = ()


class Mismatch(SystemExit):
    """Rows disagree: the benchmark stops (exit status 1) rather than time wrong code."""


def _digest(job: tuple[str, int]) -> tuple[str, int, str]:
    """sha256 of the output lists of one row on one chunk of events."""
    name, start = job
    transform = _TRANSFORMS[name]
    outputs = [transform(event) for event in _EVENTS[start : start + CHUNK]]
    return name, start, hashlib.sha256(orjson.dumps(outputs)).hexdigest()


def check_identical(transforms: dict[str, Callable], events: Sequence[dict]) -> None:
    """Raise Mismatch, showing the first differing event, unless all rows agree everywhere."""
    global _TRANSFORMS, _EVENTS
    _TRANSFORMS, _EVENTS = transforms, events
    jobs = [(name, start) for start in range(0, len(events), CHUNK) for name in transforms]
    workers = max(1, min(os.cpu_count() or 1, 4))
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            digests = pool.map(_digest, jobs, chunksize=1)
    finally:
        _TRANSFORMS, _EVENTS = {}, ()
    reference = next(iter(transforms))
    expected = {start: digest for name, start, digest in digests if name == reference}
    for name, start, digest in digests:
        if digest != expected[start]:
            _explain(
                transforms[reference],
                reference,
                transforms[name],
                name,
                events[start : start + CHUNK],
            )


def _explain(
    expected: Callable, expected_name: str, got: Callable, got_name: str, events: Sequence[dict]
) -> None:
    """Find and show the first event on which two rows differ, then stop."""
    for event in events:
        want, have = orjson.dumps(expected(event)), orjson.dumps(got(event))
        if want != have:
            raise Mismatch(
                f"PAYLOADS DIFFER: {got_name} vs {expected_name}\n"
                f"  event: {orjson.dumps(event).decode()}\n"
                f"  {expected_name}: {want.decode()}\n  {got_name}: {have.decode()}"
            )
    raise Mismatch(f"PAYLOADS DIFFER: {got_name} vs {expected_name} (not reproducible in-process)")
