"""The Accoil call contract at run time: which values a call body can carry."""

from __future__ import annotations

from ..language import KEY_TYPES

# The types of the keys Accoil defines. A value of another type (or an empty
# string) counts as missing: a required key stops the call, an optional one is
# left out, so no call body Accoil would refuse is ever sent.
_KEY_TYPES = KEY_TYPES


def accepts(key, value, required=True):
    """Whether a call body can carry `value` under `key`."""
    expected = _KEY_TYPES.get(key)
    if expected is None:
        return value is not None and not (required and value == "")
    return value.__class__ is expected and (expected is not str or value != "")


def missing_keys(keys, values):
    """The keys whose values a call body cannot carry: why a call was not sent."""
    return tuple(key for key, value in zip(keys, values, strict=True) if not accepts(key, value))
