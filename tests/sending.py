"""Helpers of the delivery tests: call files, options for the fake Accoil, reading the results."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path

import orjson

from accoil_map.delivery.endpoint import resolve
from accoil_map.delivery.options import SendOptions
from accoil_map.delivery.policy import RetryPolicy
from tests.fake_accoil import TEST_KEY

TYPES = ("identify", "group", "track", "page", "screen")
SUMMARY = re.compile(
    r"(?P<total>[\d,]+) (?P<unit>lines|calls) = (?P<sent>[\d,]+) sent \+ (?P<already>[\d,]+) already sent"
    r" \+ (?P<dead>[\d,]+) dead-lettered \+ (?P<invalid>[\d,]+) invalid"
    r"(?: \+ (?P<blank>[\d,]+) blank)?(?: \+ (?P<left>[\d,]+) not sent \(stopped\))?"
)


def call(number: int, user: str | None = None, kind: str | None = None) -> dict:
    """A valid call with messageId `m<number>` (the fake's fault plans key on it)."""
    kind = kind or TYPES[number % len(TYPES)]
    user = user or f"user-{number}"
    body: dict = {"type": kind, "messageId": f"m{number}", "timestamp": "2024-05-01T12:00:00.000Z"}
    if kind == "group":
        body |= {"groupId": f"g-{number % 7}", "userId": user, "traits": {"plan": "pro"}}
    elif kind == "track":
        body |= {"event": "Report Created", "userId": user}
    elif kind == "identify":
        body |= {"userId": user, "traits": {"email": f"{user}@example.com"}}
    else:
        body |= {"userId": user, "name": "Home"}
    return body


def write_lines(path: Path, items: list) -> Path:
    """One NDJSON line per item: a dict is encoded, bytes are written as they are."""
    lines = [(item if isinstance(item, bytes) else orjson.dumps(item)) + b"\n" for item in items]
    path.write_bytes(b"".join(lines))
    return path


def options(url: str, state: Path | None, **changes) -> SendOptions:
    """Options for the fake: its test key, short timeouts and backoff, quiet."""
    base = SendOptions(
        endpoint=resolve(TEST_KEY, url),
        state=state,
        dead_letter=None if state is None else state / "dead-letter.ndjson",
        concurrency=8,
        rate=None,
        retry=RetryPolicy(window=30.0, initial=0.01, maximum=0.05),
        timeout=0.25,
        ordered=True,
        status_interval=60.0,
        quiet=True,
    )
    return dataclasses.replace(base, **changes)


def dead_letters(path: Path) -> list[dict]:
    """The records of a dead-letter file (none if it does not exist)."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def summary_counts(text: str) -> dict[str, int]:
    """The last summary equation in `text`, as numbers; asserts that it adds up."""
    matches = list(SUMMARY.finditer(text))
    assert matches, f"no summary in:\n{text}"
    counts = {k: int((v or "0").replace(",", "")) for k, v in matches[-1].groupdict().items() if k != "unit"}
    parts = ("sent", "already", "dead", "invalid", "blank", "left")
    assert counts["total"] == sum(counts[part] for part in parts), counts
    return counts


def cli(*args: str) -> list[str]:
    """`python -m accoil_map ARGS` (the installed package, as a user runs it)."""
    return [sys.executable, "-m", "accoil_map", *args]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no key or endpoint unless given here."""
    env = {k: v for k, v in os.environ.items() if k not in ("ACCOIL_API_KEY", "ACCOIL_ENDPOINT")}
    return env | extra
