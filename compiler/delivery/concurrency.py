"""How many calls are in flight: a fixed number, or adaptive (AIMD, as Vector's ARC); a rate cap.

The adaptive limit follows Vector's adaptive request concurrency: requests
are measured in windows of about one round-trip time; at the end of a window
the limit grows by one when it was reached, nothing pushed back and the mean
round-trip time did not rise above the past average; it shrinks to 90% on
back pressure (429, 503, any retried answer, a timeout) or when the mean
round-trip time rose more than 2.5 standard deviations above the past average
(an exponentially weighted mean and variance, alpha 0.4).

Two departures, both measured (PERFORMANCE.md). A start-up phase, as BBR's:
the limit doubles each window while the calls delivered per second grow by a
quarter or more, and settles at the limit of the fastest window once three
windows in a row bring no such growth (or shrinks at once on back pressure); from a
limit of 1, the additive rule alone would take hundreds of round trips to
reach the ~100 calls in flight that 50 ms of latency needs, and the
round-trip time on a shared machine is too noisy to end a start-up on. And a
noise floor: a rise of less than 10% of the past average never counts as
rising latency.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

#: The adaptive limit's ceiling, Vector's default.
MAX_ADAPTIVE = 200


class _Average:
    """An exponentially weighted mean and variance."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.mean: float | None = None
        self.variance = 0.0

    def update(self, value: float) -> None:
        if self.mean is None:
            self.mean = value
            return
        difference = value - self.mean
        increment = self.alpha * difference
        self.mean += increment
        self.variance = (1 - self.alpha) * (self.variance + difference * increment)


class AdaptiveLimit:
    """The AIMD controller: feed it every attempt's outcome; read `limit`."""

    def __init__(
        self,
        maximum: int = MAX_ADAPTIVE,
        decrease_ratio: float = 0.9,
        alpha: float = 0.4,
        deviation_scale: float = 2.5,
        noise_floor: float = 0.1,
    ):
        self.limit = 1
        self.maximum = maximum
        self.decrease_ratio = decrease_ratio
        self.deviation_scale = deviation_scale
        self.noise_floor = noise_floor
        self.starting = True  # the start-up phase: doubling while throughput grows
        self.reached = False  # the limit was reached during this window
        self._past = _Average(alpha)
        self._window_start = self._next_update = 0.0
        self._window_total = 0.0
        self._window_count = 0
        self._back_pressure = False
        self._best_rate = 0.0
        self._best_limit = 1
        self._stalls = 0

    def observe(self, rtt: float, delivered: bool, back_pressure: bool, now: float) -> None:
        """One attempt's round trip; adjusts the limit at the end of a window (about one RTT)."""
        if back_pressure:
            self._back_pressure = True
        if delivered:
            self._window_total += rtt
            self._window_count += 1
        if now < self._next_update:
            return
        current = self._window_total / self._window_count if self._window_count else None
        if self._past.mean is not None:
            if self.starting:
                self._start_up(self._window_count / max(now - self._window_start, 1e-6))
            else:
                self._adjust(current)
        if current is not None:
            self._past.update(current)
        if self._past.mean is not None:
            self._next_update = now + self._past.mean
        self._window_start = now
        self._window_total, self._window_count = 0.0, 0
        self._back_pressure = self.reached = False

    def _start_up(self, rate: float) -> None:
        """Double the limit each window while throughput grows by a quarter (as BBR's start-up)."""
        if self._back_pressure:
            self.starting = False
            self.limit = max(1, int(self.limit * self.decrease_ratio))
            return
        grew = rate >= self._best_rate * 1.25
        if rate > self._best_rate:
            self._best_rate, self._best_limit = rate, self.limit
        self._stalls = 0 if grew else self._stalls + 1
        if self._stalls == 3:  # more in flight brings no more throughput: settle where it peaked
            self.starting = False
            self.limit = self._best_limit
            return
        if self.reached:
            self.limit = min(self.maximum, self.limit * 2)

    def _adjust(self, current: float | None) -> None:
        """Vector's rule: +1 on a full window with flat latency, x0.9 on back pressure or a rise."""
        past = self._past.mean
        rise = max(math.sqrt(self._past.variance) * self.deviation_scale, past * self.noise_floor)
        if self._back_pressure or (current is not None and current >= past + rise):
            self.limit = max(1, int(self.limit * self.decrease_ratio))
        elif self.reached and current is not None and current <= past and self.limit < self.maximum:
            self.limit += 1


class Limiter:
    """Slots for calls in flight; a call holds its slot from its first try until it is settled."""

    def __init__(self, fixed: int | None):
        self.adaptive = AdaptiveLimit() if fixed is None else None
        self.fixed = fixed
        self.in_flight = 0
        self._waiters: deque[asyncio.Future] = deque()

    @property
    def limit(self) -> int:
        """The current limit."""
        return self.fixed if self.adaptive is None else self.adaptive.limit

    @property
    def ceiling(self) -> int:
        """The most calls that can ever be in flight at once."""
        return self.fixed if self.adaptive is None else self.adaptive.maximum

    def try_acquire(self) -> bool:
        """Take a free slot if there is one, without waiting (no coroutine to make)."""
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over as we were cancelled
            else:
                self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self.in_flight += 1
        if self.adaptive is not None and self.in_flight >= self.adaptive.limit:
            self.adaptive.reached = True

    def release(self) -> None:
        """Give a slot back; wake as many waiters as the limit now allows."""
        self.in_flight -= 1
        self._wake()

    def observe(self, rtt: float, delivered: bool, back_pressure: bool) -> None:
        """Tell the adaptive limit about one attempt (no-op for a fixed limit)."""
        if self.adaptive is not None:
            self.adaptive.observe(rtt, delivered, back_pressure, time.monotonic())
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)


class Pacer:
    """At most `rate` attempts a second, evenly spaced (`--rate`)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next attempt may start."""
        now = time.monotonic()
        if self._next <= now:
            self._next = now + self.interval
            return
        delay = self._next - now
        self._next += self.interval
        await asyncio.sleep(delay)
