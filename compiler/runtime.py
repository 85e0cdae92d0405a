"""Run-time helpers of generated modules and of the reference interpreter.

Every helper is a top-level function (or the one exception class) that uses
only the standard library and other helpers or constants of this module.  The
code generator copies the *source* of the helpers a mapping needs into the
generated module with `emit_source(names)`, so a generated module depends on
nothing but the standard library; the reference interpreter imports them.

Rules for code in this file:

- a helper is registered with `@helper(needs=..., imports=...)`, naming every
  helper or constant it references and every module it imports; a module-level
  constant is a plain assignment registered with `_constant(...)` right after;
- helpers never raise on bad event data, except `RejectEvent` where the
  mapping language says a JMESPath type error rejects the event;
- they run per event: the common case is tested first with `v.__class__ is
  str` style checks; regular expressions are linear (no nested quantifiers)
  and only ASCII digits count as digits (`[0-9]`, never `\\d`).

`None` means missing everywhere: absent and null are the same.
"""

from __future__ import annotations

import ast
import datetime
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path

import jmespath.exceptions

__all__ = ["HELPER_NAMES", "emit_source", "helper"]

# name -> (needs, imports), in order of registration (= order of definition)
_REGISTRY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def helper(needs: Iterable[str] = (), imports: Iterable[str] = ()):
    """Register a helper function or class with what its source references."""

    def register(obj):
        _REGISTRY[obj.__name__] = (tuple(needs), tuple(imports))
        return obj

    return register


def _constant(name: str, needs: Iterable[str] = (), imports: Iterable[str] = ()) -> None:
    """Register the module-level constant `name` (a plain top-level assignment)."""
    _REGISTRY[name] = (tuple(needs), tuple(imports))


# --------------------------------------------------------------------------
# Errors and JMESPath semantics
# --------------------------------------------------------------------------


@helper()
class RejectEvent(Exception):
    """The event's data cannot be processed; `str(exc)` says why, for a person."""


@helper()
def _jp_type(v):
    """The JMESPath type name of a JSON value."""
    c = v.__class__
    if c is str:
        return "string"
    if v is None:
        return "null"
    if c is bool:
        return "boolean"
    if c is int or c is float:
        return "number"
    if c is list:
        return "array"
    if c is dict:
        return "object"
    return c.__name__


@helper()
def truthy(v):
    """JMESPath truthiness: false for null, false, "", [] and {}; 0 is true."""
    c = v.__class__
    if c is str or c is list or c is dict:
        return len(v) != 0
    if v is None or v is False:
        return False
    if c is bool or c is int or c is float:
        return True
    return not (v == "" or v == [] or v == {})


@helper()
def jp_eq(a, b):
    """JMESPath `==`, exactly like jmespath 1.x: a boolean never equals a number."""
    if a.__class__ is bool:
        cb = b.__class__
        if cb is int or cb is float:
            return False
    elif b.__class__ is bool:
        ca = a.__class__
        if ca is int or ca is float:
            return False
    return a == b


@helper()
def jp_lt(a, b):
    """JMESPath `<`: numbers (not booleans) or strings; otherwise null.

    jmespath 1.x raises TypeError for a number against a string; we give null.
    """
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a < b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a < b
    return None


@helper()
def jp_le(a, b):
    """JMESPath `<=`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a <= b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a <= b
    return None


@helper()
def jp_gt(a, b):
    """JMESPath `>`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a > b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a > b
    return None


@helper()
def jp_ge(a, b):
    """JMESPath `>=`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a >= b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a >= b
    return None


@helper(needs=("RejectEvent", "_jp_type"))
def jp_contains(subject, search):
    """JMESPath `contains(subject, search)`; a subject of another type rejects."""
    c = subject.__class__
    if c is list:
        return search in subject
    if c is str:
        return search in subject if search.__class__ is str else False
    raise RejectEvent(
        "contains() expects an array or a string as its first argument, got "
        + _jp_type(subject)
    )


@helper(needs=("RejectEvent", "_jp_type"))
def jp_starts_with(subject, prefix):
    """JMESPath `starts_with(subject, prefix)`; non-strings reject the event."""
    if subject.__class__ is str and prefix.__class__ is str:
        return subject.startswith(prefix)
    bad = prefix if subject.__class__ is str else subject
    raise RejectEvent("starts_with() expects strings, got " + _jp_type(bad))


@helper(needs=("RejectEvent", "_jp_type"))
def jp_ends_with(subject, suffix):
    """JMESPath `ends_with(subject, suffix)`; non-strings reject the event."""
    if subject.__class__ is str and suffix.__class__ is str:
        return subject.endswith(suffix)
    bad = suffix if subject.__class__ is str else subject
    raise RejectEvent("ends_with() expects strings, got " + _jp_type(bad))


@helper()
def jp_index(v, i):
    """`v[i]` for a list (negative i counts from the end); otherwise None."""
    if v.__class__ is list and -len(v) <= i < len(v):
        return v[i]
    return None


@helper(needs=("RejectEvent",), imports=("jmespath.exceptions",))
def jp_search(expression, event):
    """Evaluate a precompiled jmespath expression; errors reject the event."""
    try:
        return expression.search(event)
    except (jmespath.exceptions.JMESPathError, TypeError, ValueError) as exc:
        raise RejectEvent(f"JMESPath error: {exc}") from None


@helper()
def get_key(v, k):
    """`v[k]` for an object, None when absent or when v is not an object."""
    if v.__class__ is dict:
        return v.get(k)
    return None


# --------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------

_JSON_COMPACT = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
_constant("_JSON_COMPACT", imports=("json",))

# The numeric text grammar; group 1 is empty exactly when the text is an integer.
_NUM_RE = re.compile(r"[+-]?(?:0|[1-9][0-9]*)((?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")
_constant("_NUM_RE", imports=("re",))

# The same grammar with its parts: sign, integer digits, fraction digits, exponent.
_NUM_PARTS_RE = re.compile(
    r"([+-]?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?"
)
_constant("_NUM_PARTS_RE", imports=("re",))


@helper(needs=("_JSON_COMPACT",))
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


@helper(needs=("_NUM_RE",))
def to_number(v):
    """`as: number`: an int or finite float, or numeric text; else None."""
    c = v.__class__
    if c is int:
        return v
    if c is float:
        return v if v - v == 0.0 else None
    if c is str:
        m = _NUM_RE.fullmatch(v)
        if m is None:
            return None
        if not m.group(1):
            try:
                return int(v)
            except ValueError:  # too many digits
                return None
        f = float(v)
        return f if f - f == 0.0 else None
    return None


@helper(needs=("_NUM_PARTS_RE",))
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


@helper(needs=("_decimal_parts",))
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


@helper()
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


# --------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------

# General ISO 8601: date, optional time, fraction and offset. The pattern decides
# which shapes are accepted (linear: no nesting); datetime checks the values.
_TS_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?)?"
)
_constant("_TS_ISO_RE", imports=("re",))

_FROM_ISO = datetime.datetime.fromisoformat
_constant("_FROM_ISO", imports=("datetime",))

_UTC = datetime.UTC  # what fromisoformat gives a trailing Z (a singleton)
_constant("_UTC", imports=("datetime",))

# Unix time as text: optional '-', digits, optional fraction.
_TS_UNIX_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_constant("_TS_UNIX_RE", imports=("re",))

# Milliseconds since the epoch of 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
_MS_MIN = -62135596800000
_constant("_MS_MIN")
_MS_MAX = 253402300799999
_constant("_MS_MAX")


_EPOCH = datetime.datetime(1970, 1, 1)
_constant("_EPOCH", imports=("datetime",))


@helper(needs=("_MS_MIN", "_MS_MAX", "_EPOCH"), imports=("datetime",))
def _ms_to_iso(ms):
    """Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.sssZ`; None out of range."""
    if not (_MS_MIN <= ms <= _MS_MAX):
        return None
    moment = _EPOCH + datetime.timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds") + "Z"


@helper(needs=("_TS_UNIX_RE", "_ms_to_iso"))
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


@helper(needs=("_ms_to_iso", "_unix_text_to_iso"))
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


@helper(needs=("_TS_ISO_RE", "_FROM_ISO"))
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


@helper(needs=("_iso_to_iso", "_unix_to_iso", "_unix_text_to_iso"))
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


@helper(needs=("_FROM_ISO", "_UTC", "_to_timestamp_slow"))
def to_timestamp(v):
    """`as: timestamp`: ISO 8601 or Unix time as `YYYY-MM-DDTHH:MM:SS.sssZ`, or None."""
    # First the shapes sources send most: single-character tests pin the shape,
    # then fromisoformat checks the digits and the calendar in C. The tzinfo it
    # finds proves the shape: none for a bare time (no offset hides in the
    # fraction), UTC for a trailing Z.
    if (
        v.__class__ is str and len(v) >= 20 and v.isascii()
        and v[4] == "-" and v[7] == "-" and v[13] == ":" and v[16] == ":"
    ):
        n = len(v)
        try:
            if n == 26 and v[10] == " " and v[19] == ".":  # 2024-05-01 12:00:00.123000
                if _FROM_ISO(v).tzinfo is None:
                    return v[:23].replace(" ", "T") + "Z"
            elif v[10] == "T" and v[-1] == "Z":  # UTC: fromisoformat reads the Z
                if n == 24 and v[19] == ".":  # 2024-05-01T12:00:00.123Z, Accoil's own
                    if _FROM_ISO(v).tzinfo is _UTC:
                        return v
                elif n == 20 and _FROM_ISO(v).tzinfo is _UTC:
                    return v[:19] + ".000Z"  # from 2024-05-01T12:00:00Z
        except ValueError:
            pass  # the general parser below decides
    return _to_timestamp_slow(v)


# --------------------------------------------------------------------------
# Template filters
# --------------------------------------------------------------------------


@helper(needs=("to_text",))
def f_lower(v):
    """`lower`: strings; numbers and booleans as text first; else None."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    return v.lower()


@helper(needs=("to_text",))
def f_upper(v):
    """`upper`: strings; numbers and booleans as text first; else None."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    return v.upper()


@helper(needs=("to_text",))
def f_trim(v):
    """`trim`: strip surrounding whitespace (str.strip)."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    return v.strip()


@helper(needs=("to_text",))
def f_title(v):
    """`title`: str.title."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    return v.title()


@helper(needs=("to_text",))
def f_capitalize(v):
    """`capitalize`: str.capitalize."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    return v.capitalize()


@helper(needs=("to_text",))
def f_replace(v, old, new):
    """`replace(old, new)`: every occurrence; numbers and booleans as text first."""
    if v.__class__ is not str:
        v = to_text(v) if v.__class__ in (int, float, bool) else None
        if v is None:
            return None
    if old.__class__ is not str:
        old = to_text(old)
    if new.__class__ is not str:
        new = to_text(new)
    if old is None or new is None:
        return None
    return v.replace(old, new)


@helper()
def f_length(v):
    """`length`: of a string, list or object; else None."""
    c = v.__class__
    if c is str or c is list or c is dict:
        return len(v)
    return None


@helper()
def f_first(v):
    """`first`: first item of a list or character of a string; else None."""
    c = v.__class__
    if (c is list or c is str) and v:
        return v[0]
    return None


@helper()
def f_last(v):
    """`last`: last item of a list or character of a string; else None."""
    c = v.__class__
    if (c is list or c is str) and v:
        return v[-1]
    return None


@helper(needs=("to_text",))
def f_join(v, sep):
    """`join(sep)`: the text of a list's items (items without text are skipped)."""
    if v.__class__ is not list:
        return None
    if sep.__class__ is not str:
        sep = to_text(sep)
        if sep is None:
            return None
    texts = []
    for item in v:
        if item.__class__ is not str:
            item = to_text(item)
            if item is None:
                continue
        texts.append(item)
    return sep.join(texts)


@helper()
def f_default(v, fallback, boolean=False):
    """`default(fallback[, true])`: fallback when v is missing (or "" with boolean)."""
    if v is None or (boolean and v == ""):
        return fallback
    return v


# --------------------------------------------------------------------------
# Objects and groups
# --------------------------------------------------------------------------


@helper(needs=("omit_into",))
def omit_keys(v, needles):
    """An object without the keys whose lower-case form contains a needle.

    `needles` is a tuple of lower-case substrings; keys that are not strings
    are kept; anything but an object passes unchanged.  Never mutates `v`.
    """
    if v.__class__ is not dict:
        return v
    out = {}
    omit_into(out, v, needles, False)
    return out


@helper()
def omit_into(out, part, needles, skip_nulls):
    """Copy the object `part` into `out`, but for the keys `omit_keys` drops.

    With `skip_nulls`, null values are left out too, as `merge_into` does.
    """
    if part.__class__ is not dict:
        return
    for k, x in part.items():
        if x is None and skip_nulls:
            continue
        if k.__class__ is str:
            low = k.lower()
            for needle in needles:
                if needle in low:
                    break
            else:
                out[k] = x
        else:
            out[k] = x


#: Types of the keys Accoil defines. A value of another type (or an empty
#: string) counts as missing: a required key stops the call, an optional one
#: is left out, so no call body Accoil would refuse is ever sent.
_KEY_TYPES = {
    "userId": str,
    "groupId": str,
    "anonymousId": str,
    "event": str,
    "name": str,
    "timestamp": str,
    "traits": dict,
    "properties": dict,
    "context": dict,
    "groupTraits": list,
}
_constant("_KEY_TYPES")


@helper(needs=("_KEY_TYPES",))
def accepts(key, value, required=True):
    """Whether a call body can carry `value` under `key`."""
    expected = _KEY_TYPES.get(key)
    if expected is None:
        return value is not None and not (required and value == "")
    return value.__class__ is expected and (expected is not str or value != "")


@helper(needs=("merge_into",))
def merge(*parts):
    """Shallow merge of the objects among `parts`, later keys win; always a new dict."""
    out = {}
    for part in parts:
        merge_into(out, part)
    return out


@helper()
def merge_into(out, part):
    """Lay the object `part` over `out`, leaving out its null (missing) values."""
    if part.__class__ is dict:
        if None in part.values():
            part = {key: value for key, value in part.items() if value is not None}
        out.update(part)


_DIGITS_DESC = str.maketrans("0123456789", "9876543210")
_constant("_DIGITS_DESC")


@helper(needs=("_decimal_parts", "_DIGITS_DESC"))
def _numeric_id_key(text):
    """Sort key of an id: decimal numbers first in exact numeric order, then strings."""
    parts = _decimal_parts(text)
    if parts is None:
        return (1, text)
    negative, digits, exp = parts
    if not digits:
        return (0, 0, (), text)
    adjusted = exp + len(digits) - 1  # exponent of the leading digit
    if negative:  # larger magnitude sorts first; "}" ends the digits, above "0".."9"
        return (0, -1, (-adjusted, digits.translate(_DIGITS_DESC) + "}"), text)
    return (0, 1, (adjusted, digits), text)


@helper()
def _group_id_text(gid):
    """A group id that is not a str: an int as its digits, anything else None."""
    if gid.__class__ is not int:
        return None
    try:
        return str(gid)
    except ValueError:  # more digits than int -> str allows
        return None


@helper()
def _group_entry(traits, gid, gtype, type_trait):
    """{"groupId": gid, "traits": a copy of the group's traits (+ its type)}."""
    by_id = traits.get(gtype)
    found = by_id.get(gid) if by_id.__class__ is dict else None
    group_traits = dict(found) if found.__class__ is dict else {}
    if type_trait is not None:
        group_traits[type_trait] = gtype
    return {"groupId": gid, "traits": group_traits}


@helper(needs=("_group_id_text",))
def first_group(ids, traits, type_trait):
    """`select_groups` for the usual primary group (ascending ids, take 1).

    The smallest (group id, group type) pair wins, as in a full sort, but
    without building and sorting the candidates.
    """
    if ids.__class__ is not dict or traits.__class__ is not dict:
        return None
    # The candidate loop of select_groups, kept inline: it runs for most events
    # of a groups-heavy source, and a shared helper measured about 0.5 µs more.
    best = None  # (group id, group type)
    for gtype, value in ids.items():
        c = value.__class__
        if c is str or c is int:
            value = (value,)
        elif c is not list:
            continue
        if gtype.__class__ is not str:
            continue
        for gid in value:
            if gid.__class__ is not str:
                gid = _group_id_text(gid)
                if gid is None:
                    continue
            if best is None or (gid, gtype) < best:
                best = (gid, gtype)
    if best is None:
        return None
    gid, gtype = best
    # _group_entry, written out: calling it measured 2-3% of an Amplitude event.
    by_id = traits.get(gtype)
    found = by_id.get(gid) if by_id.__class__ is dict else None
    group_traits = dict(found) if found.__class__ is dict else {}
    if type_trait is not None:
        group_traits[type_trait] = gtype
    return [{"groupId": gid, "traits": group_traits}]


@helper(needs=("_group_id_text", "_group_entry", "_sorted_candidates", "first_group"))
def select_groups(ids, traits, by_type, descending, numeric, take, type_trait):
    """The `groups` value: [{"groupId": id, "traits": {...}}, ...] sorted, or None.

    `ids` is {group type: id or [ids]}, `traits` is {group type: {id: {traits}}};
    both must be objects.  Traits are copied, never mutated; a (type, id) pair
    listed twice is one candidate.
    """
    if take == 1 and not (by_type or descending or numeric):
        return first_group(ids, traits, type_trait)
    if ids.__class__ is not dict or traits.__class__ is not dict:
        return None
    candidates = []  # (group id, group type)
    for gtype, value in ids.items():
        c = value.__class__
        if c is str or c is int:
            value = (value,)
        elif c is not list:
            continue
        if gtype.__class__ is not str:
            continue
        for gid in value:
            if gid.__class__ is not str:
                gid = _group_id_text(gid)
                if gid is None:
                    continue
            candidates.append((gid, gtype))
    if not candidates:
        return None
    if len(candidates) > 1:
        candidates = _sorted_candidates(candidates, by_type, descending, numeric)
    if take is not None:
        candidates = candidates[:take]
        if not candidates:
            return None
    return [_group_entry(traits, gid, gtype, type_trait) for gid, gtype in candidates]


@helper(needs=("_numeric_id_key",))
def _sorted_candidates(candidates, by_type, descending, numeric):
    """(id, type) pairs in selection order, each pair once.

    Ties on the primary key go to the other key, ascending.
    """
    id_key = (lambda t: _numeric_id_key(t[0])) if numeric else (lambda t: t[0])
    # Two stable sorts: the tie-break first, then the primary key (maybe reversed).
    if by_type:
        candidates.sort(key=id_key)
        candidates.sort(key=lambda t: t[1], reverse=descending)
    else:
        candidates.sort(key=lambda t: t[1])
        candidates.sort(key=id_key, reverse=descending)
    unique = [candidates[0]]
    for pair in candidates[1:]:
        if pair != unique[-1]:
            unique.append(pair)
    return unique


# --------------------------------------------------------------------------
# Emitting helper source into generated modules
# --------------------------------------------------------------------------

HELPER_NAMES: tuple[str, ...] = tuple(_REGISTRY)


@functools.cache
def _segments() -> dict[str, tuple[int, str]]:
    """name -> (position in this file, source text) of every registered top-level node."""
    source = Path(__file__).read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    found: dict[str, tuple[int, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
        else:
            continue
        if name in _REGISTRY:
            # A def's own position starts at `def`/`class`: decorators are left out.
            # Whole lines: every registered node starts and ends a line of its own.
            text = "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip("\n")
            found[name] = (node.lineno, text)
    missing = set(_REGISTRY) - set(found)
    if missing:  # pragma: no cover - a registration without a definition
        raise RuntimeError(f"registered runtime names without a definition: {sorted(missing)}")
    return found


def _closure(names: Iterable[str]) -> set[str]:
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        if name not in _REGISTRY:
            raise KeyError(f"unknown runtime helper: {name!r}")
        wanted.add(name)
        stack.extend(_REGISTRY[name][0])
    return wanted


def emit_source(names: Iterable[str]) -> str:
    """Python source of the named helpers and everything they need, imports first.

    Deterministic: definitions come in the order of this file, imports sorted.
    Returns "" for no names.
    """
    wanted = _closure(names)
    if not wanted:
        return ""
    segments = _segments()
    imports = sorted({mod for name in wanted for mod in _REGISTRY[name][1]})
    body = "\n\n\n".join(text for _, text in sorted(segments[name] for name in wanted))
    if not imports:
        return body + "\n"
    header = "\n".join(f"import {mod}" for mod in imports)
    return header + "\n\n\n" + body + "\n"
