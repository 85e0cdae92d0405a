"""JMESPath semantics for generated code: types, truthiness, comparisons, the
compiled functions (`contains`, `starts_with`, `ends_with`, `type`, `merge`),
indexes, and the library fallback for everything else.

`RejectEvent` is the one exception generated modules raise: the event's data
cannot be processed (the mapping language says a JMESPath type error rejects
the event).
"""

from __future__ import annotations

import jmespath.exceptions


class RejectEvent(Exception):
    """The event's data cannot be processed; `str(exc)` says why, for a person."""


def jp_type(v):
    """JMESPath `type(v)`: 'string', 'number' (int, float), 'boolean' (bool is no number),
    'array', 'object' or 'null' for a JSON value; another class by its Python name."""
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


def jp_le(a, b):
    """JMESPath `<=`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a <= b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a <= b
    return None


def jp_gt(a, b):
    """JMESPath `>`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a > b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a > b
    return None


def jp_ge(a, b):
    """JMESPath `>=`: numbers (not booleans) or strings; otherwise null."""
    ca = a.__class__
    cb = b.__class__
    if ca is str:
        return a >= b if cb is str else None
    if (ca is int or ca is float) and (cb is int or cb is float):
        return a >= b
    return None


def jp_contains(subject, search):
    """JMESPath `contains(subject, search)`; a subject of another type rejects."""
    c = subject.__class__
    if c is list:
        return search in subject
    if c is str:
        return search in subject if search.__class__ is str else False
    raise RejectEvent(
        "contains() expects an array or a string as its first argument, got " + jp_type(subject)
    )


def jp_starts_with(subject, prefix):
    """JMESPath `starts_with(subject, prefix)`; non-strings reject the event."""
    if subject.__class__ is str and prefix.__class__ is str:
        return subject.startswith(prefix)
    bad = prefix if subject.__class__ is str else subject
    raise RejectEvent("starts_with() expects strings, got " + jp_type(bad))


def jp_ends_with(subject, suffix):
    """JMESPath `ends_with(subject, suffix)`; non-strings reject the event."""
    if subject.__class__ is str and suffix.__class__ is str:
        return subject.endswith(suffix)
    bad = suffix if subject.__class__ is str else subject
    raise RejectEvent("ends_with() expects strings, got " + jp_type(bad))


def jp_merge(first, *rest):
    """JMESPath `merge(a, b, ...)` as the jmespath library computes it: a new object,
    later keys win. The first argument must be an object; the others are laid over it
    as `dict.update` does (a list of pairs merges; [] and "" add nothing). What the
    library refuses rejects the event with the reason `jp_search` gave."""
    if first.__class__ is not dict:
        raise _library_type_error("merge", first, ["object"])
    merged = first.copy()
    for v in rest:
        try:  # jmespath checks the type of the first argument only
            merged.update(v)
        except (TypeError, ValueError) as exc:
            raise RejectEvent(f"JMESPath error: {exc}") from None
    return merged


def _library_type_error(function, value, expected):
    """What `jp_search` says when jmespath refuses an argument's type (the text of its
    JMESPathTypeError): a compiled function that always left the refusal to the library
    keeps its reason."""
    return RejectEvent(
        f"JMESPath error: In function {function}(), invalid type for value: {value!s}, "
        f'expected one of: {expected}, received: "{jp_type(value)}"'
    )


def jp_index(v, i):
    """`v[i]` for a list (negative i counts from the end); otherwise None."""
    if v.__class__ is list and -len(v) <= i < len(v):
        return v[i]
    return None


def jp_search(expression, event):
    """Evaluate a precompiled jmespath expression; errors reject the event."""
    try:
        return _finite(expression.search(event))
    except (jmespath.exceptions.JMESPathError, TypeError, ValueError) as exc:
        raise RejectEvent(f"JMESPath error: {exc}") from None


def _finite(v):
    """A value without its non-finite numbers (`sum` overflowing, `to_number('1e999')`):
    JSON cannot carry them, so they are missing: left out of lists and objects."""
    c = v.__class__
    if c is float:
        return v if v - v == 0.0 else None
    if c is list:
        return [_finite(x) for x in v if x.__class__ is not float or x - x == 0.0]
    if c is dict:
        return {k: _finite(x) for k, x in v.items() if x.__class__ is not float or x - x == 0.0}
    return v


def get_key(v, k):
    """`v[k]` for an object, None when absent or when v is not an object."""
    if v.__class__ is dict:
        return v.get(k)
    return None
