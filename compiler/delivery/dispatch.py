"""The delivery loop: take calls from the input, send each until it is settled, record it.

A call is settled when Accoil took it (journal `D`) or when it is
dead-lettered (dead-letter record, then journal `X`); an invalid call is
dead-lettered without being sent (journal `I`). A call holds a slot of the
limiter from its first try to its settlement, retries included, so the calls
that may be sent twice after a crash are never more than the limit.

Calls of one user keep their input order unless `ordered` is off: a call
waits until the previous call of its user is settled, so an identify or a
group reaches Accoil before the track calls that follow it. The calls taken
from the input but not yet sent (in flight or waiting behind their user) are
bounded, so memory does not grow with the input.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Hashable, Iterable, Iterator

from .client import AccoilClient
from .concurrency import Limiter, Pacer
from .deadletter import DeadLetters
from .journal import DEAD, DELIVERED, INVALID, STARTED, Journal, NoJournal
from .policy import Reply, RetryPolicy
from .source import Call
from .tally import Tally


def window_text(seconds: float) -> str:
    """A retry window as a person writes it: `4h`, `90s`, `1h30m`."""
    whole = round(seconds)
    if whole != seconds or whole < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)


#: What `_next_call` returns while the calls taken and not settled are at their bound.
_FULL = object()


class Dispatch:
    """Delivers the calls of one input; counts go to `tally`."""

    def __init__(
        self,
        client: AccoilClient,
        limiter: Limiter,
        policy: RetryPolicy,
        journal: Journal | NoJournal,
        dead_letters: DeadLetters,
        tally: Tally,
        ordered: bool = True,
        pacer: Pacer | None = None,
    ):
        self.client = client
        self.limiter = limiter
        self.policy = policy
        self.journal = journal
        self.dead_letters = dead_letters
        self.tally = tally
        self.ordered = ordered
        self.pacer = pacer
        self.max_pending = 1024 + 4 * limiter.ceiling
        self._pending = 0  # taken from the input, not yet settled
        self._room: asyncio.Future | None = None  # workers wait here while pending is full
        # The users with a call pending: the calls waiting behind it (None until one waits:
        # most users have no second call pending, and a deque per call costs).
        self._queues: dict[Hashable, deque[Call] | None] = {}
        self._calls: Iterator[Call] = iter(())
        # A first attempt is the client's post itself when there is nothing to pace or
        # time; a call can have been sent already only if an earlier run left one started.
        self._direct = pacer is None and limiter.adaptive is None
        self._resuming = journal.earlier.started > 0

    async def run(self, calls: Iterable[Call]) -> None:
        """Deliver every call; returns when all are settled."""
        self._calls = iter(calls)
        async with asyncio.TaskGroup() as workers:
            # As many workers as slots can ever be, each taking the next call itself, as
            # a bare loop does: no task per call, no handover between tasks.
            for _ in range(self.limiter.ceiling):
                workers.create_task(self._work())

    async def _work(self) -> None:
        """A worker: with a slot, take the next call, send it, then its user's followers.

        The steps that need not wait are plain calls, so a call that finds a free slot
        and room makes no coroutine but its delivery's.
        """
        limiter = self.limiter
        while True:
            if not limiter.try_acquire():
                await limiter.acquire()
            try:
                call = self._next_call()
                while call is _FULL:
                    await self._room_to_take()
                    call = self._next_call()
                if call is None:
                    return
                while call is not None:  # one slot for the call and those behind it
                    await self._deliver(call)
                    call = self._settled(call)
            finally:
                limiter.release()

    async def _room_to_take(self) -> None:
        """Wait until a pending call is settled (the pending calls are bounded)."""
        if self._room is None or self._room.done():
            self._room = asyncio.get_running_loop().create_future()
        await self._room

    def _next_call(self) -> Call | None | object:
        """The next call to send now: None at the end of the input, _FULL while pending is full.

        On the way, calls settled by an earlier run are counted, invalid ones
        dead-lettered, and a call whose user has one pending joins that user's queue.
        """
        journal, tally = self.journal, self.tally
        while self._pending < self.max_pending:
            call = next(self._calls, None)
            if call is None:
                return None
            tally.received += 1
            state = journal.state(call.key)
            if state > STARTED:
                tally.count_earlier(state)
            elif call.problem is not None:
                self.dead_letters.write(call.line, call.key, call.body, call.problem, None, 0)
                journal.record(INVALID, call.key)
                tally.invalid += 1
            else:
                self._pending += 1
                order = call.order if self.ordered else None
                if order is None:
                    return call
                queues = self._queues
                if order not in queues:
                    queues[order] = None
                    return call
                waiting = queues[order]
                if waiting is None:
                    queues[order] = waiting = deque()
                waiting.append(call)
        return _FULL

    def _settled(self, call: Call) -> Call | None:
        """After `call` is settled: the call that waited behind it (its user's next), if any."""
        self._pending -= 1
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
        order = call.order if self.ordered else None
        if order is None:
            return None
        waiting = self._queues[order]
        if not waiting:  # None or emptied
            del self._queues[order]
            return None
        return waiting.popleft()

    async def _deliver(self, call: Call) -> None:
        """Record the start, try until settled, record the outcome."""
        self.journal.record(STARTED, call.key)
        started = time.monotonic()
        attempt = self.client.post(call.body) if self._direct else self._attempt(call.body)
        reply, attempts = await attempt, 1
        if not reply.delivered and reply.retryable:
            reply, attempts = await self._retry(call.body, reply, time.monotonic() - started)
        if reply.delivered:
            self.journal.record(DELIVERED, call.key)
            self.tally.sent += 1
            if self._resuming and self.journal.state(call.key) == STARTED:
                self.tally.resent += 1
        else:
            reason = self._reason(reply, attempts)
            self.dead_letters.write(call.line, call.key, call.body, reason, reply, attempts)
            self.journal.record(DEAD, call.key)
            self.tally.dead += 1

    async def _retry(self, body: bytes, reply: Reply, spent: float) -> tuple[Reply, int]:
        """After a first `reply` worth another try: the last reply and the number of attempts."""
        attempts = 1
        replayed = [reply]  # tenacity judges the first reply too, without sending it again

        async def attempt() -> Reply:
            nonlocal attempts
            if replayed:
                return replayed.pop()
            attempts += 1
            self.tally.retries += 1
            return await self._attempt(body)

        reply = await self.policy.retry(attempt, spent=spent)
        return reply, attempts

    async def _attempt(self, body: bytes) -> Reply:
        if self.pacer is not None:
            await self.pacer.wait()
        if self.limiter.adaptive is None:  # only the adaptive limit needs round-trip times
            return await self.client.post(body)
        start = time.monotonic()
        reply = await self.client.post(body)
        self.limiter.observe(time.monotonic() - start, reply.delivered, reply.retryable)
        return reply

    def _reason(self, reply: Reply, attempts: int) -> str:
        if not reply.retryable:
            return f"not retried: {reply.describe()}"
        window = window_text(self.policy.window)
        if reply.retry_after is not None:
            return (
                f"Retry-After of {reply.retry_after:g}s goes past the retry window ({window}) "
                f"after {attempts} attempts: {reply.describe()}"
            )
        return f"retry window ({window}) ended after {attempts} attempts: {reply.describe()}"
