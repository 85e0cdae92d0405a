"""Which answers are retried and how long to wait between tries (tenacity).

Retried: 408, 429 and 5xx except 501 and 505, timeouts and connection errors,
with full-jitter exponential backoff (a random wait of up to 0.5 s, doubling
to 60 s: tenacity's `wait_random_exponential`), or exactly the wait a
`Retry-After` header asks for, until the retry window ends. Not retried: any
other answer, 413 included; a 2xx is delivered.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

_NOT_RETRIED_5XX = frozenset({501, 505})


@dataclass(frozen=True)
class Reply:
    """What one attempt got: a status and its text, or (status None) the transport error."""

    status: int | None
    text: str = ""
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """Accoil took the call (it answers 202)."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Worth another try: no answer, 408, 429, or a 5xx other than 501 and 505."""
        status = self.status
        return (
            status is None
            or status in (408, 429)
            or (500 <= status < 600 and status not in _NOT_RETRIED_5XX)
        )

    def describe(self) -> str:
        """The answer in a few words, for dead-letter reasons and messages."""
        if self.status is None:
            return self.text
        return f"HTTP {self.status}" + (
            " (the body is too large for Accoil)" if self.status == 413 else ""
        )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), else None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # HTTP-dates are GMT; a naive one is malformed
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class wait_retry_after_or(wait_base):  # named like tenacity's own strategies
    """The server's Retry-After when the last reply carried one, else the fallback wait."""

    def __init__(self, fallback: wait_base):
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        reply = None if outcome is None or outcome.failed else outcome.result()
        if reply is not None and reply.retry_after is not None:
            return reply.retry_after
        return self.fallback(retry_state)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often one call is tried again."""

    window: float
    initial: float = 0.5
    maximum: float = 60.0

    async def retry(self, attempt: Callable[[], Awaitable[Reply]], spent: float = 0.0) -> Reply:
        """Await `attempt` until it is not retryable or the window (less `spent`) ends.

        Returns the last reply either way; tenacity waits between attempts.
        """
        retrying = AsyncRetrying(
            retry=retry_if_result(lambda reply: reply.retryable),
            wait=wait_retry_after_or(
                wait_random_exponential(multiplier=self.initial, max=self.maximum)
            ),
            stop=stop_before_delay(max(0.0, self.window - spent)),
            retry_error_callback=lambda state: state.outcome.result(),
        )
        return await retrying(attempt)
