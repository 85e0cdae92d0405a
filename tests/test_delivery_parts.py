"""The parts of `send` one at a time: endpoint and key, retry rules, durations, journal, limits."""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.utils
import os

import pytest

from accoil_map.delivery.concurrency import AdaptiveLimit, Limiter
from accoil_map.delivery.dispatch import window_text
from accoil_map.delivery.endpoint import PRODUCTION, STAGING, EndpointError, resolve
from accoil_map.delivery.journal import DEAD, DELIVERED, INVALID, STARTED, Journal, JournalError
from accoil_map.delivery.options import duration
from accoil_map.delivery.policy import Reply, RetryPolicy, parse_retry_after
from accoil_map.delivery.tally import Tally


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.mark.parametrize(
    ("key", "url", "sent_key"),
    [
        ("abc123", PRODUCTION, "abc123"),
        ("stg_abc123", STAGING, "abc123"),
        ("STG_abc123", STAGING, "abc123"),
        ("Stg_abc123", STAGING, "abc123"),
        ("stgabc123", PRODUCTION, "stgabc123"),
        ("xstg_abc", PRODUCTION, "xstg_abc"),
    ],
)
def test_keys_choose_the_endpoint_and_staging_loses_its_prefix(key, url, sent_key):
    endpoint = resolve(key)
    assert endpoint.url == url
    assert endpoint.authorization.reveal() == _basic(sent_key)
    assert key not in repr(endpoint) and sent_key not in str(endpoint.authorization)


def test_an_endpoint_replaces_the_url_only():
    endpoint = resolve("stg_k-1", "https://proxy.example/segment")
    assert endpoint.url == "https://proxy.example/segment"
    assert endpoint.authorization.reveal() == _basic("k-1")


@pytest.mark.parametrize(
    "url",
    ["ftp://x/segment", "segment", "http://example.com/segment", "https://user:pw@host/segment"],
)
def test_unusable_endpoints_are_refused(url):
    with pytest.raises(EndpointError):
        resolve("k-1", url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/segment", "http://localhost/x", "http://[::1]/x"])
def test_plain_http_is_for_this_machine_only(url):
    assert resolve("k-1", url).url == url


@pytest.mark.parametrize("key", ["", "stg_", " k", "k 1", "k\n"])
def test_unusable_keys_are_refused(key):
    with pytest.raises(EndpointError):
        resolve(key)


def test_redact_hides_every_form_of_the_key():
    endpoint = resolve("stg_s3cret-key")
    text = f"echo stg_s3cret-key, s3cret-key and {endpoint.authorization.reveal()}"
    assert endpoint.redact(text) == "echo [redacted], [redacted] and Basic [redacted]"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(None, True), (202, False), (200, False), (408, True), (429, True), (500, True), (502, True),
     (503, True), (504, True), (501, False), (505, False), (599, True), (400, False), (401, False),
     (404, False), (413, False), (301, False)],
)
def test_which_answers_are_retried(status, retryable):
    reply = Reply(status)
    assert reply.retryable is retryable
    assert reply.delivered is (status is not None and 200 <= status < 300)


def test_retry_after_as_seconds_or_a_date():
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "-5", "1.5", "Wed, 99 Foo 2024"):
        assert parse_retry_after(junk, now) is None


def test_backoff_is_full_jitter_doubling_to_a_cap_and_honours_retry_after():
    """Replies 503 x7, then 202: each wait is uniform in [0, min(cap, 0.5 * 2**n)]."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(window=3600.0, initial=0.5, maximum=4.0)
    replies = iter([Reply(503)] * 3 + [Reply(429, retry_after=7.0)] + [Reply(503)] * 3 + [Reply(202)])

    async def attempt() -> Reply:
        return next(replies)

    async def run() -> Reply:
        from unittest.mock import patch

        with patch("asyncio.sleep", sleep):
            return await policy.retry(attempt)

    assert asyncio.run(run()) == Reply(202)
    caps = [0.5, 1.0, 2.0, None, 4.0, 4.0, 4.0]
    assert len(waits) == len(caps)
    for wait, cap in zip(waits, caps, strict=True):
        assert wait == 7.0 if cap is None else 0 <= wait <= cap


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("30m", 1800), ("90s", 90), ("90", 90), ("1h30m", 5400), ("0.5s", 0.5)],
)
def test_durations(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "4d", "soon", "1h-5m"])
def test_bad_durations(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(14400, "4h"), (5400, "1h30m"), (60, "1m"), (0.4, "0.4s")])
def test_window_text(seconds, text):
    assert window_text(seconds) == text


def test_the_journal_keeps_each_calls_last_state_and_cuts_a_torn_record(tmp_path):
    about = {"input_sha256": "ab", "input_size": 3, "endpoint": "https://x"}
    journal = Journal(tmp_path, about)
    for code, key in ((STARTED, 1), (DELIVERED, 1), (STARTED, 2), (INVALID, 3), (STARTED, 4),
                      (DEAD, 4), (STARTED, 5)):
        journal.record(code, key)
    journal.close()
    with open(tmp_path / "journal.log", "ab") as log:
        log.write(b"D 2")  # a record torn by a crash: call 2 stays started, so it is sent again
    again = Journal(tmp_path, about | {"input_path": "moved.ndjson"})
    assert [again.state(key) for key in range(7)] == [0, DELIVERED, STARTED, INVALID, DEAD, STARTED, 0]
    assert (again.earlier.delivered, again.earlier.dead, again.earlier.invalid) == (1, 1, 1)
    assert again.earlier.started == 2
    again.record(DELIVERED, 2)
    again.close()
    assert (tmp_path / "journal.log").read_bytes().endswith(b"S 5\nD 2\n")


def test_the_journal_writes_a_delivery_with_the_next_start_and_other_records_at_once(tmp_path):
    """One write a call: a delivery waits for the next record of another kind, a flush or close."""
    about = {"input_sha256": "ab", "input_size": 3, "endpoint": "https://x"}
    log = tmp_path / "journal.log"
    journal = Journal(tmp_path, about)
    journal.record(STARTED, 1)
    assert log.read_bytes() == b"S 1\n"  # before its call is sent
    journal.record(DELIVERED, 1)
    assert log.read_bytes() == b"S 1\n"
    journal.record(STARTED, 2)
    assert log.read_bytes() == b"S 1\nD 1\nS 2\n"
    journal.record(DELIVERED, 2)
    journal.record(DEAD, 3)  # after its dead letter: at once, with the delivery before it
    assert log.read_bytes().endswith(b"S 2\nD 2\nX 3\n")
    journal.record(DELIVERED, 4)
    journal.flush()  # the sync every second flushes first
    assert log.read_bytes().endswith(b"X 3\nD 4\n")
    journal.record(DELIVERED, 5)
    journal.close()
    assert log.read_bytes().endswith(b"D 4\nD 5\n")


def test_the_journal_refuses_another_endpoint_and_a_second_holder(tmp_path):
    about = {"input_sha256": "ab", "input_size": 3, "endpoint": "https://x"}
    first = Journal(tmp_path, about)
    with pytest.raises(JournalError, match="another `accoil-map send` is using it"):
        Journal(tmp_path, about)
    first.close()
    with pytest.raises(JournalError, match="another endpoint"):
        Journal(tmp_path, about | {"endpoint": "https://y"})
    Journal(tmp_path, about).close()  # the lock was released


def test_the_tally_adds_up():
    tally = Tally(received=10, blank=2, sent=5, already_sent=2, dead=1, earlier_invalid=1)
    assert tally.equation() == (
        "12 lines = 5 sent + 2 already sent + 1 dead-lettered + 1 invalid + 2 blank + 1 not sent (stopped)"
    )
    assert tally.undelivered == 2 and tally.done == 11


class _Server:
    """Serves `knee` calls per `base` seconds; beyond that, calls queue and take longer."""

    def __init__(self, knee: int, base: float):
        self.knee, self.base, self.now = knee, base, 0.0

    def serve(self, limit: AdaptiveLimit, windows: int, back_pressure: bool = False) -> list[int]:
        """`windows` round trips with every slot taken; the limit after each."""
        seen = []
        for _ in range(windows):
            in_flight = limit.limit
            rtt = self.base * max(1.0, in_flight / self.knee)
            for _ in range(in_flight):
                self.now += rtt / in_flight
                limit.reached = True  # as the limiter says when every slot is taken
                limit.observe(rtt, not back_pressure, back_pressure, self.now)
            seen.append(limit.limit)
        return seen


def test_adaptive_limit_finds_the_knee_in_a_few_round_trips():
    seen = _Server(knee=100, base=0.05).serve(AdaptiveLimit(), windows=40)
    assert max(seen[:10]) >= 100  # doubling: 1, 2, 4, ... reaches the knee within 10 windows
    assert all(90 <= value <= 200 for value in seen[15:]), seen


def test_adaptive_limit_backs_off_under_back_pressure():
    limit, server = AdaptiveLimit(), _Server(knee=64, base=0.01)
    high = server.serve(limit, windows=30)[-1]
    seen = server.serve(limit, windows=60, back_pressure=True)
    assert high >= 50 and seen[-1] == 1 and seen == sorted(seen, reverse=True), seen


def test_adaptive_limit_shrinks_when_latency_rises():
    limit, server = AdaptiveLimit(), _Server(knee=64, base=0.01)
    high = server.serve(limit, windows=30)[-1]
    server.base = 0.05  # the server got five times slower
    assert server.serve(limit, windows=3)[-1] < high


def test_a_cancelled_waiter_gives_its_slot_back():
    async def scenario() -> int:
        limiter = Limiter(1)
        await limiter.acquire()
        waiter = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        limiter.release()  # hands the slot to the waiter...
        waiter.cancel()  # ...which is cancelled before it runs
        await asyncio.gather(waiter, return_exceptions=True)
        return limiter.in_flight

    assert asyncio.run(scenario()) == 0


def test_fingerprint_counts_lines_and_knows_gzip(tmp_path):
    import gzip

    from accoil_map.delivery.source import fingerprint

    plain = tmp_path / "a.ndjson"
    plain.write_bytes(b"{}\n{}\n{}")
    packed = tmp_path / "a.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    first, second = fingerprint(str(plain)), fingerprint(str(packed))
    assert (first.size, first.lines) == (8, 3) and second.lines is None
    assert first.sha256 != second.sha256 and len(first.sha256) == 64
    assert os.path.getsize(packed) == second.size
