"""Timing and table helpers shared by every benchmark section."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class Result:
    """One measured row: the median seconds for `events` events."""

    name: str
    seconds: float
    events: int
    note: str = ""
    rounds: tuple[float, ...] = ()  # the seconds of every round, in order

    @property
    def per_event(self) -> float:
        """Seconds per event."""
        return self.seconds / self.events

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


@dataclass(frozen=True)
class Row:
    """Something to time: `run()` processes `events` events once."""

    name: str
    run: Callable[[], object]
    events: int
    note: str = ""
    wall: bool = False  # always timed on the wall clock (a subprocess)


#: The clock of in-process rows: wall time, or this process's CPU time (`--cpu`), which
#: a shared machine's other load moves far less.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def measure(rows: Sequence[Row], repeat: int) -> list[Result]:
    """Median time of each row over `repeat` rounds (`CLOCK`, or the wall clock for rows
    that run a subprocess).

    Rounds interleave the rows (row 1, row 2, ..., row 1, row 2, ...), so a
    noisy neighbour or a CPU frequency change hits every row alike.
    """
    times: dict[str, list[float]] = {row.name: [] for row in rows}
    for _ in range(repeat):
        for row in rows:
            clock = time.perf_counter if row.wall else CLOCK[0]
            start = clock()
            row.run()
            times[row.name].append(clock() - start)
    return [
        Result(
            row.name,
            statistics.median(times[row.name]),
            row.events,
            row.note,
            tuple(times[row.name]),
        )
        for row in rows
    ]


def transform_row(name: str, transform: Callable, events: Sequence[dict], note: str = "") -> Row:
    """`transform(event)` over pre-parsed events; the payloads are dropped."""

    def run() -> None:
        for event in events:
            transform(event)

    return Row(name, run, len(events), note)


def json_floor_row(lines: Sequence[bytes]) -> Row:
    """The floor of any JSON pipeline: `orjson.loads` + `orjson.dumps` of each raw line."""
    loads, dumps = orjson.loads, orjson.dumps

    def run() -> None:
        for line in lines:
            dumps(loads(line))

    return Row("JSON floor (loads+dumps)", run, len(lines), "bytes lines, no transform")


def ratio(result: Result, baseline: Result) -> float:
    """How many times slower per event `result` is than `baseline`."""
    return result.per_event / baseline.per_event


def ratio_range(result: Result, baseline: Result) -> tuple[float, float]:
    """The lowest and highest `ratio` over the rounds (each round times both rows)."""
    ratios = [
        (mine / result.events) / (theirs / baseline.events)
        for mine, theirs in zip(result.rounds, baseline.rounds)
    ] or [ratio(result, baseline)]
    return min(ratios), max(ratios)


def speedup(result: Result, baseline: Result) -> tuple[float, tuple[float, float]]:
    """How many times the events/s of `baseline` `result` reaches: the median and range."""
    low, high = ratio_range(baseline, result)
    return ratio(baseline, result), (low, high)


def judged(label: str, value: float, span: tuple[float, float], target: str, ok: bool) -> str:
    """`label = 1.45x (range 1.40-1.52; target >= 1.4x): ok`."""
    low, high = span
    return (
        f"{label} = {value:.2f}x (range {low:.2f}-{high:.2f}; target {target}): "
        f"{'ok' if ok else 'MISSED'}"
    )


def steady(result: Result, startup: float) -> Result:
    """A wall-time result with a fixed start-up cost taken out."""
    rounds = tuple(max(seconds - startup, 1e-9) for seconds in result.rounds)
    seconds = max(result.seconds - startup, 1e-9)
    return Result(result.name, seconds, result.events, result.note, rounds)


def format_table(results: Sequence[Result], baseline: Result, baseline_label: str) -> str:
    """Rows of events/s, µs/event and time relative to the baseline row."""
    header = f"  {'row':<30} {'events/s':>12} {'µs/event':>10} {'vs ' + baseline_label:>18}  note"
    lines = [header, "  " + "-" * (len(header) + 8)]
    for result in results:
        lines.append(
            f"  {result.name:<30} {result.rate:>12,.0f} {result.per_event * 1e6:>10.2f}"
            f" {ratio(result, baseline):>17.2f}x  {result.note}"
        )
    return "\n".join(lines)


def verdict(label: str, value: float, target: str, ok: bool) -> str:
    """`label = 1.04x (target <= 1.1x): ok` and the like."""
    return f"{label} = {value:.2f}x (target {target}): {'ok' if ok else 'MISSED'}"
