"""Where calls go and how they authenticate: Accoil's endpoint, the staging rule, Basic auth.

The API key lives only inside a `Secret`: its repr and str hide it, and
`redact` scrubs it (and the Authorization value made from it) out of any text
that is about to be shown or written.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PRODUCTION = "https://in.accoil.com/segment"
STAGING = "https://instaging.accoil.com/segment"
STAGING_PREFIX = "stg_"
_HIDDEN = "[redacted]"


class EndpointError(ValueError):
    """An endpoint URL or API key that cannot be used."""


class Secret:
    """An API key that never shows itself in a repr, a message or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """The key itself: only for building the Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_HIDDEN})"

    __str__ = __repr__


@dataclass(frozen=True)
class Endpoint:
    """The URL calls are POSTed to and the Authorization header value for them."""

    url: str
    authorization: Secret
    hidden: tuple[str, ...] = field(repr=False)  # every form of the key, to scrub from output

    def redact(self, text: str) -> str:
        """`text` with the key and its Authorization value replaced."""
        for value in self.hidden:
            text = text.replace(value, _HIDDEN)
        return text


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"--endpoint must be an http(s) URL, not {url!r}")
    if parts.username or parts.password:
        raise EndpointError("--endpoint must not carry credentials; give the key with --api-key")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise EndpointError(
            f"--endpoint {url}: plain http would send the API key in clear; use https "
            "(http is accepted only for a server on this machine)"
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(api_key: str, endpoint: str | None = None) -> Endpoint:
    """The endpoint for a key: `stg_` keys (any case) go to staging with the prefix removed.

    `endpoint` replaces the URL only; the prefix is removed all the same.
    """
    staging = api_key[: len(STAGING_PREFIX)].lower() == STAGING_PREFIX
    key = api_key[len(STAGING_PREFIX) :] if staging else api_key
    if not key or key != key.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in key):
        raise EndpointError("the API key is empty or holds spaces or control characters")
    url = _checked_url(endpoint) if endpoint else STAGING if staging else PRODUCTION
    token = base64.b64encode(f"{key}:".encode()).decode("ascii")
    return Endpoint(url, Secret(f"Basic {token}"), (api_key, key, token))
