"""Template filters that are not conversions or `default`: text case and
trimming, `replace`, `length`, `first`, `last`, `join`.
"""

from __future__ import annotations

from .conversions import to_text


def _subject_text(v):
    """What a text filter works on: a string, a number or boolean as text, else None."""
    if v.__class__ is str:
        return v
    return to_text(v) if v.__class__ in (int, float, bool) else None


def f_lower(v):
    """`lower`: str.lower of the subject's text."""
    v = _subject_text(v)
    return None if v is None else v.lower()


def f_upper(v):
    """`upper`: str.upper of the subject's text."""
    v = _subject_text(v)
    return None if v is None else v.upper()


def f_trim(v):
    """`trim`: strip surrounding whitespace (str.strip)."""
    v = _subject_text(v)
    return None if v is None else v.strip()


def f_title(v):
    """`title`: str.title."""
    v = _subject_text(v)
    return None if v is None else v.title()


def f_capitalize(v):
    """`capitalize`: str.capitalize."""
    v = _subject_text(v)
    return None if v is None else v.capitalize()


def f_replace(v, old, new):
    """`replace(old, new)`: every occurrence, in the subject's text."""
    v = _subject_text(v)
    if v is None:
        return None
    if old.__class__ is not str:
        old = to_text(old)
    if new.__class__ is not str:
        new = to_text(new)
    if old is None or new is None:
        return None
    return v.replace(old, new)


def f_length(v):
    """`length`: of a string, list or object; else None."""
    c = v.__class__
    if c is str or c is list or c is dict:
        return len(v)
    return None


def f_first(v):
    """`first`: first item of a list or character of a string; else None."""
    c = v.__class__
    if (c is list or c is str) and v:
        return v[0]
    return None


def f_last(v):
    """`last`: last item of a list or character of a string; else None."""
    c = v.__class__
    if (c is list or c is str) and v:
        return v[-1]
    return None


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
