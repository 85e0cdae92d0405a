"""The options of `send` and `run --send`: their command-line form and the checked `SendOptions`."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every start of accoil-map: no tenacity then
    from .endpoint import Endpoint
    from .policy import RetryPolicy

KEY_VARIABLE = "ACCOIL_API_KEY"
ENDPOINT_VARIABLE = "ACCOIL_ENDPOINT"
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


class UsageProblem(Exception):
    """Options that cannot work together or values out of range (exit code 2)."""


@dataclass(frozen=True)
class SendOptions:
    """Everything a delivery needs besides its input."""

    endpoint: Endpoint | None  # None for a dry run
    state: Path | None
    dead_letter: Path | None
    concurrency: int | None  # None: adaptive
    rate: float | None
    retry: RetryPolicy
    timeout: float
    ordered: bool
    status_interval: float
    quiet: bool


def duration(text: str) -> float:
    """Seconds in `4h`, `30m`, `90s`, `1h30m` or a plain number of seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 4h, 30m, 90s)")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
        return value

    return parse


def _concurrency(text: str) -> int | None:
    return None if text == "auto" else _positive(int)(text)


#: Each delivery option's default; an option away from it was given.
DEFAULTS = {
    "api_key": None,
    "endpoint": None,
    "state": None,
    "dead_letter": None,
    "concurrency": None,
    "rate": None,
    "retry_window": 4 * 3600.0,  # as long as Segment keeps retrying
    "timeout": 10.0,
    "unordered": False,
    "dry_run": False,
    "status_interval": 5.0,
}


def given(args: argparse.Namespace) -> list[str]:
    """The delivery options given on the command line, as `--option` names."""
    return [
        "--" + name.replace("_", "-")
        for name, default in DEFAULTS.items()
        if getattr(args, name, default) != default
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The delivery options, as a group of `parser`."""
    group = parser.add_argument_group("delivery to Accoil")
    group.set_defaults(**DEFAULTS)
    group.add_argument(
        "--api-key", metavar="KEY", help=f"Accoil API key (default: ${KEY_VARIABLE})"
    )
    group.add_argument(
        "--endpoint",
        metavar="URL",
        help=f"POST calls here (default: ${ENDPOINT_VARIABLE}, else Accoil's; stg_ keys: staging)",
    )
    group.add_argument(
        "--state", metavar="DIR", help="the delivery journal (default: INPUT.send-state)"
    )
    group.add_argument(
        "--dead-letter",
        metavar="FILE",
        help="undelivered calls (default: STATE/dead-letter.ndjson)",
    )
    group.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="N|auto",
        help="calls in flight (default: auto, adaptive up to 200)",
    )
    group.add_argument(
        "--rate", type=_positive(float), metavar="N", help="at most N calls a second"
    )
    group.add_argument(
        "--retry-window",
        type=duration,
        metavar="TIME",
        help="keep retrying a call this long (default: 4h)",
    )
    group.add_argument(
        "--timeout", type=_positive(float), metavar="SECONDS", help="per request (default: 10)"
    )
    group.add_argument(
        "--unordered",
        action="store_true",
        help="do not keep each user's calls in input order (faster when few users have most calls)",
    )
    group.add_argument(
        "--dry-run", action="store_true", help="check and count the calls, send nothing"
    )
    group.add_argument(
        "--status-interval",
        type=_positive(float),
        metavar="SECONDS",
        help="seconds between status lines when stderr is not a terminal (default: 5)",
    )


def default_state(input_path: str, suffix: str = "") -> Path | None:
    """The journal beside a file input (`calls.ndjson.send-state`); none for stdin."""
    return None if input_path == "-" else Path(f"{input_path}{suffix}.send-state")


def from_args(args: argparse.Namespace, input_path: str, state_suffix: str = "") -> SendOptions:
    """Checked options; raises UsageProblem."""
    from .endpoint import EndpointError, resolve
    from .policy import RetryPolicy

    endpoint = None
    if not args.dry_run:
        key = args.api_key or os.environ.get(KEY_VARIABLE)
        if not key:
            raise UsageProblem(f"no API key: give --api-key or set {KEY_VARIABLE}")
        try:
            endpoint = resolve(key, args.endpoint or os.environ.get(ENDPOINT_VARIABLE))
        except EndpointError as error:
            raise UsageProblem(str(error)) from None
    if input_path == "-" and args.state:
        raise UsageProblem(
            "--state needs an input file: stdin cannot be identified before it is read, "
            "nor read again to resume"
        )
    state = Path(args.state) if args.state else default_state(input_path, state_suffix)
    dead_letter = Path(args.dead_letter) if args.dead_letter else None
    if dead_letter is None and state is not None:
        dead_letter = state / "dead-letter.ndjson"
    if dead_letter is None and not args.dry_run:
        raise UsageProblem(
            "reading stdin: give --dead-letter FILE for the calls that cannot be delivered"
        )
    return SendOptions(
        endpoint=endpoint,
        state=state,
        dead_letter=dead_letter,
        concurrency=args.concurrency,
        rate=args.rate,
        retry=RetryPolicy(window=args.retry_window),
        timeout=args.timeout,
        ordered=not args.unordered,
        status_interval=args.status_interval,
        quiet=getattr(args, "quiet", False),
    )
