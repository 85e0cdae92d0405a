"""The `groups:` value: every (group type, group id) pair of an event with the
traits found for it, sorted (ids as strings, or as exact numbers), cut to
`take`; and `first_group`, the usual primary group in one pass.
"""

from __future__ import annotations

from .conversions import _decimal_parts

_DIGITS_DESC = str.maketrans("0123456789", "9876543210")


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


def _group_id_text(gid):
    """A group id that is not a non-empty str: an int as its digits, anything else
    (the empty string too: no id, as "" is missing everywhere) None."""
    if gid.__class__ is not int:
        return None
    try:
        return str(gid)
    except ValueError:  # more digits than int -> str allows
        return None


def _group_entry(traits, gid, gtype, type_trait):
    """{"groupId": gid, "traits": a copy of the group's traits (+ its type)}."""
    by_id = traits.get(gtype)
    found = by_id.get(gid) if by_id.__class__ is dict else None
    group_traits = dict(found) if found.__class__ is dict else {}
    if type_trait is not None:
        group_traits[type_trait] = gtype
    return {"groupId": gid, "traits": group_traits}


def first_group(ids, traits, type_trait):
    """`select_groups` for the usual primary group (ascending ids, take 1).

    The smallest (group id, group type) pair wins, as in a full sort, but
    without building and sorting the candidates.
    """
    if ids.__class__ is not dict or traits.__class__ is not dict:
        return None
    # The candidate loop of select_groups, kept inline: it runs for most events
    # of a groups-heavy source, and a shared helper measured about 0.5 µs more.
    best_id = best_type = None  # the pair (best_id, best_type) compared, unbuilt
    for gtype, value in ids.items():
        if gtype.__class__ is not str:
            continue
        if value.__class__ is str and value:  # the usual shape, one id: no loop
            if best_id is None or value < best_id or (value == best_id and gtype < best_type):
                best_id, best_type = value, gtype
            continue
        for gid in value if value.__class__ is list else (value,):
            if gid.__class__ is not str or not gid:
                gid = _group_id_text(gid)
                if gid is None:
                    continue
            if best_id is None or gid < best_id or (gid == best_id and gtype < best_type):
                best_id, best_type = gid, gtype
    if best_id is None:
        return None
    # _group_entry, written out: calling it measured 2-3% of an Amplitude event.
    by_id = traits.get(best_type)
    found = by_id.get(best_id) if by_id.__class__ is dict else None
    group_traits = found.copy() if found.__class__ is dict else {}
    if type_trait is not None:
        group_traits[type_trait] = best_type
    return [{"groupId": best_id, "traits": group_traits}]


def select_groups(ids, traits, by_type, descending, numeric, take, type_trait):
    """The `groups` value: [{"groupId": id, "traits": {...}}, ...] sorted, or None.

    `ids` is {group type: id or [ids]}, `traits` is {group type: {id: {traits}}};
    both must be objects.  Traits are copied, never mutated; a (type, id) pair
    listed twice is one candidate; an empty id is none. So every entry keeps the
    contract's rules for a group entry (a non-empty string id, an object of traits).
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
            if gid.__class__ is not str or not gid:
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
