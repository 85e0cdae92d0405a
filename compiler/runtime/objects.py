"""Objects: `merge` (later keys win, null values left out) and `omit_keys`
(drop the keys that contain a needle, ignoring case; substrings, never
regular expressions).
"""

from __future__ import annotations


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


def merge(*parts):
    """Shallow merge of the objects among `parts`, later keys win; always a new dict."""
    out = {}
    for part in parts:
        merge_into(out, part)
    return out


def merge_from(part):
    """A new object holding the object `part` without its null values ({} for anything
    else): what `merge_into({}, part)` leaves, in one copy."""
    if part.__class__ is not dict:
        return {}
    if None in part.values():
        return {key: value for key, value in part.items() if value is not None}
    return part.copy()


def merge_into(out, part):
    """Lay the object `part` over `out`, leaving out its null (missing) values."""
    if part.__class__ is dict:
        if None in part.values():
            part = {key: value for key, value in part.items() if value is not None}
        out.update(part)
