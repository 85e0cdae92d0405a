"""The Accoil call contract at run time: which values a call body can carry.

The tables come from schemas/accoil/payload.schema.json (through
`accoil_map.language`); `send` checks the same file
(`accoil_map.delivery.contract`), and tests/test_contract.py proves both give
the same verdicts and key paths.
"""

from __future__ import annotations

from ..language import GROUP_ENTRY_TYPES, GROUP_LIST_KEY, KEY_TYPES

# The types of the keys Accoil defines. A value of another type (or an empty
# string or list) counts as missing: a required key stops the call, an optional
# one is left out, so no call body Accoil would refuse is ever sent.
_KEY_TYPES = KEY_TYPES
# The key whose list holds the groups, and each group entry's keys (all required) by type.
_GROUP_LIST_KEY = GROUP_LIST_KEY
_GROUP_ENTRY_TYPES = GROUP_ENTRY_TYPES
# The same as pairs, built once: the check of every entry loops over them.
_GROUP_ENTRY_FIELDS = tuple(_GROUP_ENTRY_TYPES.items())


def accepts(key, value, required=True):
    """Whether a call body can carry `value` under `key` (its top level only)."""
    expected = _KEY_TYPES.get(key)
    if expected is None:
        return value is not None and not (required and value == "")
    return value.__class__ is expected and (expected is dict or len(value) > 0)


def missing_keys(keys, values):
    """The keys whose values a call body cannot carry: why a call was not sent."""
    return tuple(key for key, value in zip(keys, values, strict=True) if not accepts(key, value))


# What `value_problem` expects of a value: any value but null, a group entry, or one
# of an entry's keys (by type).
_ANY = None
_ENTRY = "entry"


def value_problem(key, value):
    """The key path inside `value`, carried under `key`, that breaks the contract: null
    anywhere, a group entry that is not an object or lacks a non-empty string groupId or
    an object traits; None when there is none. Depth first, without recursion (a value
    may nest deeply), each value before the values inside it."""
    if _holds(key, value):  # the common case, without building key paths
        return None
    return _first_problem(key, value)


def _first_problem(key, value):
    """`value_problem` the slow way: the key path of the first problem, depth first."""
    pending = [(key, value, _ANY)]
    if key == _GROUP_LIST_KEY and value.__class__ is list:
        pending = [(f"{key}[{i}]", item, _ENTRY) for i, item in reversed(list(enumerate(value)))]
    # A stack emptied depth first. Generated code has no while loop: this for loop
    # takes the stack's top each time, and ends when pop finds the stack empty.
    try:
        for path, item, expect in iter(pending.pop, None):
            problem = _item_problem(path, item, expect, pending)
            if problem is not None:
                return problem
    except IndexError:
        return None
    return None


def _holds(key, value, nulls=True):
    """Whether `value` keeps the contract under `key`: `value_problem`'s verdict, fast.
    With `nulls` false, the nulls inside are not looked for (see `body_problem`)."""
    if value.__class__ is dict:
        return not nulls or _object_holds(value)
    if value.__class__ is not list:
        return value is not None
    if key == _GROUP_LIST_KEY:
        return _entries_hold(value, nulls)
    return not nulls or _all_hold([value])


def _entries_hold(entries, nulls):
    """Whether every entry of a group list has its keys, of their types (and, with
    `nulls`, no null inside)."""
    for entry in entries:
        if not _entry_holds(entry, nulls):
            return False
    return True


def _object_holds(value):
    """Whether no null is inside an object, however deep."""
    for item in value.values():  # most often plain values: one pass, no work list
        if item is None:
            return False
        if item.__class__ is dict or item.__class__ is list:
            return _all_hold([value])
    return True


def _entry_holds(entry, nulls):
    """Whether a group entry has its keys, of their types (and, with `nulls`, no null
    inside)."""
    if entry.__class__ is not dict:
        return False
    for name, expect in _GROUP_ENTRY_FIELDS:
        item = entry.get(name)
        if item.__class__ is not expect or (expect is not dict and not item):
            return False
        if nulls and expect is dict and not _object_holds(item):
            return False
    # An entry of its own keys only (as select_groups builds them) is checked whole now.
    return not nulls or len(entry) == len(_GROUP_ENTRY_TYPES) or _all_hold([entry])


def _all_hold(containers):
    """Whether no null is inside these objects and lists, however deep."""
    # `is None` in the loop that looks for containers anyway: `None in items` costs
    # a rich comparison per item, more than the test here.
    for container in containers:  # it grows as the loop finds objects and lists inside
        for item in container.values() if container.__class__ is dict else container:
            if item is None:
                return False
            if item.__class__ is dict or item.__class__ is list:
                containers.append(item)
    return True


def _item_problem(path, value, expect, pending):
    """The problem of one value itself (its key path), or None, after pushing the values
    inside it onto `pending` (the first on top)."""
    if value is None:
        return path
    if expect is _ENTRY:
        if value.__class__ is not dict:
            return path
        for name in _GROUP_ENTRY_TYPES:
            if name not in value:
                return f"{path}.{name}"
    elif expect is not _ANY and not (
        value.__class__ is expect and (expect is dict or len(value) > 0)
    ):
        return path
    if value.__class__ is dict:
        entry = expect is _ENTRY
        inner = [
            (f"{path}.{k}", v, _GROUP_ENTRY_TYPES.get(k) if entry else _ANY)
            for k, v in value.items()
        ]
        pending.extend(reversed(inner))
    elif value.__class__ is list:
        pending.extend((f"{path}[{i}]", v, _ANY) for i, v in reversed(list(enumerate(value))))
    return None


def body_problem(body, keys, nulls=True):
    """Leave out the nulls inside the values of `keys` in `body` (null is missing at any
    depth, as at the top level), then the first key path among them, in the body's
    order, that still breaks the contract; None when there is none.

    With `nulls` false, only the group entries' own keys are checked: the caller looks
    for nulls in the JSON it writes (a body with one has the token `null`) and checks
    again with `nulls` where it finds one, as `run` does. Without nulls, a body whose
    entries hold needs no change and breaks nothing.
    """
    if not nulls:  # the group entries' own keys are all there is to check: one look
        entries = body.get(_GROUP_LIST_KEY) if _GROUP_LIST_KEY in keys else None
        if entries is None or (entries.__class__ is list and _entries_hold(entries, False)):
            return None
    for key in keys:
        value = body.get(key)
        if value is None or _holds(key, value, nulls):
            continue
        cleaned = without_nulls(value)
        carried = accepts(key, cleaned, False)
        if carried and _holds(key, cleaned):
            body[key] = cleaned
            continue
        return _first_problem(key, cleaned if carried else value)
    return None


def without_nulls(value):
    """A copy of an object or list with every null inside left out (object keys and list
    items, however deep); other values as they are. Without recursion: a value may
    nest deeply."""
    if value.__class__ is dict:
        copy = {}
    elif value.__class__ is list:
        copy = []
    else:
        return value
    pending = [(value, copy)]
    # A stack emptied depth first, as in `_first_problem`: no while loop in generated code.
    try:
        for source, target in iter(pending.pop, None):
            into_dict = target.__class__ is dict
            for key, item in source.items() if source.__class__ is dict else enumerate(source):
                if item is None:
                    continue
                if item.__class__ is dict or item.__class__ is list:
                    inner = {} if item.__class__ is dict else []
                    pending.append((item, inner))
                    item = inner
                if into_dict:
                    target[key] = item
                else:
                    target.append(item)
    except IndexError:
        return copy
    return copy
