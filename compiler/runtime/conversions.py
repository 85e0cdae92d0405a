"""Conversions of `as:` (and of the `string`, `int` and `float` filters): text,
numbers, booleans, and timestamps in every accepted shape to Accoil's
`YYYY-MM-DDTHH:MM:SS.sssZ`. A value that cannot be converted gives None.
"""

from __future__ import annotations

import datetime
import json
import re

_JSON_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


# The numeric text grammar; group 1 is empty exactly when the text is an integer.
_NUM_RE = re.compile(r"[+-]?(?:0|[1-9][0-9]*)((?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")


# The same grammar with its parts: sign, integer digits, fraction digits, exponent.
_NUM_PARTS_RE = re.compile(r"([+-]?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?")


def to_text(v):
    """A value written as text; None when it has no text form."""
    c = v.__class__
    if c is str:
        return v
    if c is bool:
        return "true" if v else "false"
    if c is int:
        try:
            return str(v)
        except ValueError:  # more digits than int -> str allows
            return None
    if c is float:
        if v - v == 0.0:  # finite
            return repr(v)
        return None
    if c is dict or c is list:
        try:
            return _JSON_COMPACT(v)
        except (ValueError, TypeError, RecursionError):
            return None
    return None


def to_number(v):
    """`as: number`: an int or finite float, or numeric text; else None."""
    c = v.__class__
    if c is int:
        return v
    if c is float:
        return v if v - v == 0.0 else None
    if c is str:
        # Plain ASCII digits without a leading zero, the common text, need no pattern.
        if v.isascii() and v.isdigit() and (v[0] != "0" or len(v) == 1):
            integer = True
        else:
            m = _NUM_RE.fullmatch(v)
            if m is None:
                return None
            integer = not m.group(1)
        if integer:
            try:
                return int(v)
            except ValueError:  # too many digits
                return None
        f = float(v)
        return f if f - f == 0.0 else None
    return None


def _decimal_parts(text):
    """Exact value of numeric text as (negative, digits, exponent), or None.

    The value is -1**negative * int(digits) * 10**exponent; digits has no
    leading or trailing zeros and is "" (with exponent 0) for zero.  None when
    the text is not numeric or its exponent is absurdly long.
    """
    m = _NUM_PARTS_RE.fullmatch(text)
    if m is None:
        return None
    sign, whole, frac, exp = m.groups()
    frac = frac or ""
    digits = (whole + frac).lstrip("0")
    if not digits:
        return (False, "", 0)
    stripped = digits.rstrip("0")
    e = 0
    if exp:
        if len(exp) > 20:
            return None
        e = int(exp)
    return (sign == "-", stripped, e - len(frac) + len(digits) - len(stripped))


def to_integer(v):
    """`as: integer`: an int, or a float / numeric text with no fractional part."""
    c = v.__class__
    if c is int:
        return v
    if c is float:
        return int(v) if v.is_integer() else None
    if c is str:
        parts = _decimal_parts(v)
        if parts is None:
            return None
        negative, digits, exp = parts
        if not digits:
            return 0
        if exp < 0 or len(digits) + exp > 4300:
            return None
        try:
            n = int(digits) * 10**exp
        except ValueError:
            return None
        return -n if negative else n
    return None


def to_boolean(v):
    """`as: boolean`: a boolean, "true"/"false" in any case, or the integers 0 and 1."""
    c = v.__class__
    if c is bool:
        return v
    if c is str:
        low = v.lower()  # no non-ASCII character lower-cases into "true" or "false"
        if low == "true":
            return True
        if low == "false":
            return False
        return None
    if c is int:
        if v == 1:
            return True
        if v == 0:
            return False
    return None


# General ISO 8601: date, optional time, fraction and offset. The pattern decides
# which shapes are accepted (linear: no nesting); datetime checks the values.
_TS_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?)?"
)


_FROM_ISO = datetime.datetime.fromisoformat


_UTC = datetime.UTC  # what fromisoformat gives a trailing Z (a singleton)


# Unix time as text: optional '-', digits, optional fraction.
_TS_UNIX_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


# Milliseconds since the epoch of 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
_MS_MIN = -62135596800000


_MS_MAX = 253402300799999


_EPOCH = datetime.datetime(1970, 1, 1)


def _ms_to_iso(ms):
    """Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.sssZ`; None out of range."""
    if not (_MS_MIN <= ms <= _MS_MAX):
        return None
    moment = _EPOCH + datetime.timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds") + "Z"


def _unix_text_to_iso(text):
    """Unix time as text `-?digits[.digits]`: seconds, milliseconds from 1e11 on."""
    m = _TS_UNIX_RE.fullmatch(text)
    if m is None:
        return None
    minus, whole, frac = m.groups()
    whole = whole.lstrip("0") or "0"
    if len(whole) > 15:  # beyond year 9999 in either unit
        return None
    n = int(whole)
    frac = frac or ""
    if n >= 100000000000:  # milliseconds
        ms = n
        rest = frac
    else:  # seconds
        ms = n * 1000 + int((frac[:3] + "000")[:3])
        rest = frac[3:]
    if minus:  # floor: a fraction below the millisecond goes towards the past
        ms = -ms
        if rest.strip("0"):
            ms -= 1
    return _ms_to_iso(ms)


def _unix_to_iso(v):
    """Unix time as an int or float: seconds, or milliseconds when |v| >= 1e11."""
    if v.__class__ is int:
        return _ms_to_iso(v if v >= 100000000000 or v <= -100000000000 else v * 1000)
    if not (-1e16 < v < 1e16):  # out of range, infinite or NaN
        return None
    if v.is_integer():
        return _unix_to_iso(int(v))
    # A float means the decimal text it was read from: its shortest repr.
    text = repr(v)
    if "e" in text:  # |v| < 1e-4: within the first millisecond either side of the epoch
        return _ms_to_iso(0 if v > 0 else -1)
    return _unix_text_to_iso(text)


def _iso_to_iso(text):
    """General ISO 8601 date or date-time with any offset, as UTC; None if invalid."""
    # The pattern decides which texts are accepted; datetime checks the calendar
    # and applies the offset, in C.
    if _TS_ISO_RE.fullmatch(text) is None:
        return None
    try:
        moment = _FROM_ISO(text)
        offset = moment.utcoffset()
        if offset:  # the fields become UTC; the tzinfo left on them is never written
            moment -= offset
    except (ValueError, OverflowError):
        return None
    written = moment.isoformat()  # 2024-05-01T09:00:05[.120000][+02:00]
    if moment.microsecond:
        return written[:23] + "Z"
    return written[:19] + ".000Z"


def _to_timestamp_slow(v):
    """`to_timestamp` for every shape but the fast one."""
    c = v.__class__
    if c is str:
        if len(v) >= 10 and v[4] == "-":
            return _iso_to_iso(v)
        return _unix_text_to_iso(v)
    if c is int or c is float:
        return _unix_to_iso(v)
    return None


def to_timestamp(v):
    """`as: timestamp`: ISO 8601 or Unix time as `YYYY-MM-DDTHH:MM:SS.sssZ`, or None."""
    # First the shapes sources send most: the characters at 4, 7, 10, 13, 16 and 19
    # (one slice) and the length pin the shape, then fromisoformat checks the digits
    # and the calendar in C. The tzinfo it finds proves the shape: none for a bare
    # time (no offset hides in the fraction), UTC for a trailing Z.
    if v.__class__ is str and v.isascii():
        n = len(v)
        shape = v[4:20:3]
        try:
            if n == 26:  # 2024-05-01 12:00:00.123000
                if shape == "-- ::." and _FROM_ISO(v).tzinfo is None:
                    return v[:23].replace(" ", "T") + "Z"
            elif n == 24:  # 2024-05-01T12:00:00.123Z, Accoil's own
                if shape == "--T::." and v[23] == "Z" and _FROM_ISO(v).tzinfo is _UTC:
                    return v
            elif n == 20 and shape == "--T::Z" and _FROM_ISO(v).tzinfo is _UTC:
                return v[:19] + ".000Z"  # from 2024-05-01T12:00:00Z
        except ValueError:
            pass  # the general parser below decides
    return _to_timestamp_slow(v)
