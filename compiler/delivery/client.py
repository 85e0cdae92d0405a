"""One HTTP POST of one call body to Accoil (aiohttp), its outcome as a `Reply`, never raised."""

from __future__ import annotations

from typing import Self

import aiohttp
from yarl import URL

from .. import __version__
from .endpoint import Endpoint
from .policy import Reply, parse_retry_after

#: How much of a response's text a dead-letter record keeps.
TEXT_LIMIT = 500
#: Accoil's answer to almost every call, made once (a Reply per call costs a microsecond).
_ACCEPTED = Reply(202)


class AccoilClient:
    """A connection pool to one endpoint; `post` sends a body and reports what came back."""

    def __init__(self, endpoint: Endpoint, timeout: float, connections: int):
        self._endpoint = endpoint
        self._url = URL(endpoint.url)
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers={
                "Authorization": self._endpoint.authorization.reveal(),
                "Content-Type": "application/json",
                "User-Agent": f"accoil-map/{__version__}",
            },
        )
        return self

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (the benchmark's bare loop uses it to compare like with like)."""
        return self._session

    async def __aexit__(self, *exc_info) -> None:
        await self._session.close()

    async def post(self, body: bytes) -> Reply:
        """POST one body; a timeout or connection error is a Reply with status None."""
        try:
            async with self._session.post(self._url, data=body, allow_redirects=False) as response:
                text = await response.read()
                status = response.status
                if status == 202:
                    return _ACCEPTED
                if 200 <= status < 300:
                    return Reply(status)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            return Reply(None, f"no answer within {self._timeout:g} s")
        except aiohttp.ClientError as error:
            return Reply(None, self._endpoint.redact(f"{type(error).__name__}: {error}"))
        shown = text[:TEXT_LIMIT].decode("utf-8", "replace")
        return Reply(status, self._endpoint.redact(shown), retry_after)
