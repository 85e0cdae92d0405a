"""runtime.objects: merge and omit_keys."""

from __future__ import annotations

import copy

from hypothesis import settings

from accoil_map.runtime.objects import merge, merge_from, merge_into, omit_into, omit_keys

FAST = settings(deadline=None, max_examples=150)


# --------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------


def test_omit_keys():
    event = {"$geoip_city": "x", "IP": "1.2.3.4", "name": "n", "Current_URL": "u", 3: "k", "ok": {}}
    before = copy.deepcopy(event)
    out = omit_keys(event, ("geoip", "ip", "current_url"))
    assert out == {"name": "n", 3: "k", "ok": {}}
    assert event == before
    assert out is not event
    assert omit_keys("text", ("ip",)) == "text"
    assert omit_keys(None, ("ip",)) is None
    lst = [{"ip": 1}]
    assert omit_keys(lst, ("ip",)) is lst
    assert omit_keys({}, ("ip",)) == {}
    # plain substrings: "description" and "zip" contain "ip" too
    assert omit_keys({"description": 1, "zip": 2, "name": 3}, ("ip",)) == {"name": 3}


def test_omit_into():
    out = {"kept": 0}
    part = {"IP": 1, "a": None, "b": 2, 3: "k", "zip": 4}
    omit_into(out, part, ("ip",), True)
    assert out == {"kept": 0, "b": 2, 3: "k"}
    assert part == {"IP": 1, "a": None, "b": 2, 3: "k", "zip": 4}
    out = {}
    omit_into(out, part, ("ip",), False)
    assert out == {"a": None, "b": 2, 3: "k"}  # nulls kept, as omit_keys keeps them
    omit_into(out, [("a", 1)], ("ip",), True)
    omit_into(out, None, ("ip",), True)
    assert out == {"a": None, "b": 2, 3: "k"}


def test_merge():
    a = {"x": 1, "y": 2}
    b = {"y": 3, "z": 4}
    out = merge(a, None, "s", [1], b)
    assert out == {"x": 1, "y": 3, "z": 4}
    assert list(out) == ["x", "y", "z"]
    assert a == {"x": 1, "y": 2} and b == {"y": 3, "z": 4}
    assert merge() == {}
    assert merge(a) is not a and merge(a) == a
    assert merge(None, 3) == {}




def test_merge_from_is_a_merge_into_an_empty_object():
    for part in ({"a": 1, "b": None, "c": {}}, {"a": 1}, {}, None, "s", [1], 3):
        out = {}
        merge_into(out, part)
        started = merge_from(part)
        assert started == out and list(started) == list(out)
        assert started is not part
    part = {"a": 1}
    merge_from(part)["b"] = 2
    assert part == {"a": 1}
