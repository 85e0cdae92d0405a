"""A fake Accoil: an aiohttp server on 127.0.0.1 that checks, records and misbehaves on demand.

It answers `POST /segment` as Accoil does (202), after checking the Basic
auth header (401 otherwise) and the body against the payload schema (400
otherwise): with jsonschema by default, independently of accoil-map's own
check, or with the `check` given (the kill test passes accoil-map's direct
check, proven equal to jsonschema elsewhere, as 20,000 jsonschema checks
would cost it seconds). It records every body it accepts. A fault plan maps a call's
`messageId` to the faults its successive attempts meet before it is accepted:

    503          answer 503
    429          answer 429 with `Retry-After` (`retry_after`, default "0")
    413, 400     answer 413 / 400 (the sender must not retry these)
    slow         wait `slow` seconds (longer than the sender's timeout), then 503
    reset        reset the connection (TCP RST) without answering
    accept-drop  record the body as accepted, then reset without answering:
                 the sender must try again, so Accoil gets it twice

In tests: `with FakeAccoil(plan=...) as fake: ... fake.url ...`. From a shell,
`python -m tests.fake_accoil -- COMMAND...` runs COMMAND with ACCOIL_ENDPOINT
and ACCOIL_API_KEY set for the fake, then says what it accepted;
`python -m tests.fake_accoil --serve` prints its URL and serves until stdin
closes; `GET /stats` answers its counts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Self

from aiohttp import web
from jsonschema import Draft202012Validator

from accoil_map.schema import payload_schema


def accept_any(call: object) -> bool:
    """The body check of a fake that checks nothing (benchmarks)."""
    return True


FAULTS = ("503", "429", "413", "400", "slow", "reset", "accept-drop")
TEST_KEY = "test-key-5b0c7a2e9f41"


class FakeAccoil:
    """The server, running on its own event loop in a background thread."""

    def __init__(
        self,
        api_key: str = TEST_KEY,
        plan: dict[str, list[str]] | None = None,
        latency: float = 0.0,
        slow: float = 1.0,
        retry_after: str = "0",
        check: Callable[[object], bool] | None = None,
        echo_auth: bool = False,
        record: bool = True,
    ):
        self.authorization = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()
        self.plan = {key: list(faults) for key, faults in (plan or {}).items()}
        unknown = {fault for faults in self.plan.values() for fault in faults} - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self.latency = latency
        self.slow = slow
        self.retry_after = retry_after
        self.valid = check or Draft202012Validator(payload_schema()).is_valid
        self.echo_auth = echo_auth  # put the Authorization header in error texts (redaction tests)
        self.record = record  # keep the accepted bodies (benchmarks only count them)
        self.accepted_count = 0
        self.in_flight = self.max_in_flight = 0  # requests being answered at once
        self.accepted: list[bytes] = []
        self.accepted_ids: Counter = Counter()
        self.attempts: Counter = Counter()
        self.attempt_times: defaultdict[str, list[float]] = defaultdict(list)
        self.unauthorized = 0
        self.invalid = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to POST calls."""
        return f"http://127.0.0.1:{self.port}/segment"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != self.authorization:
            self.unauthorized += 1
            return web.Response(status=401, text="bad credentials")
        body = await request.read()
        try:
            call = json.loads(body)
        except ValueError:
            call = None
        if not self.valid(call):  # call is None when the body is not JSON
            self.invalid += 1
            return web.Response(status=400, text="not an Accoil call")
        key = call.get("messageId") if isinstance(call, dict) else None
        if self.record:
            self.attempts[key] += 1
            self.attempt_times[key].append(time.monotonic())
        faults = self.plan.get(key)
        fault = faults.pop(0) if faults else None
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault in (None, "accept-drop"):
            self.accepted_count += 1
            if self.record:
                self.accepted.append(body)
                self.accepted_ids[key] += 1
        if fault is None:
            return web.Response(status=202, text="")
        if fault in ("reset", "accept-drop"):
            _reset(request)
            return web.Response(status=202)  # never reaches the client: the connection is gone
        if fault == "slow":
            await asyncio.sleep(self.slow)
            return web.Response(status=503, text="too late")
        headers = {"Retry-After": self.retry_after} if fault == "429" else {}
        text = f"fault {fault}"
        if self.echo_auth:
            text += f" for {request.headers['Authorization']}"
        return web.Response(status=int(fault), text=text, headers=headers)

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"accepted": self.accepted_count, "unauthorized": self.unauthorized, "invalid": self.invalid}
        )

    async def _start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/segment", self._handle)
        app.router.add_get("/stats", self._stats)
        # A slow answer still pending at stop is dropped, not waited for.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self, port: int = 0) -> FakeAccoil:
        """Serve on 127.0.0.1 (`port` 0: a free one) in a background thread."""
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start(port))
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-accoil", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Accoil did not start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP reset: SO_LINGER 0, then abort."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if transport is not None:
        transport.abort()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_accoil", description=__doc__.splitlines()[0])
    parser.add_argument("--api-key", default=os.environ.get("ACCOIL_API_KEY", TEST_KEY))
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-check", action="store_true", help="accept any body (benchmarks)")
    parser.add_argument("--no-record", action="store_true", help="count accepted calls only")
    parser.add_argument("--serve", action="store_true", help="print the URL, serve until stdin closes")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    fake = FakeAccoil(
        args.api_key,
        latency=args.latency,
        check=accept_any if args.no_check else None,
        record=not args.no_record,
    ).start(args.port)
    try:
        if args.serve:
            print(fake.url, flush=True)
            sys.stdin.read()
            return 0
        if not command:
            parser.error("give --serve or -- COMMAND")
        env = {**os.environ, "ACCOIL_ENDPOINT": fake.url, "ACCOIL_API_KEY": args.api_key}
        status = subprocess.run(command, check=False, env=env).returncode
        print(
            f"fake Accoil at {fake.url} accepted {fake.accepted_count} calls "
            f"({fake.unauthorized} unauthorized, {fake.invalid} invalid)",
            file=sys.stderr,
        )
        return status
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
