"""runtime.jmes: JMESPath semantics, checked against `jmespath.search`."""

from __future__ import annotations

import json

import jmespath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accoil_map.runtime.jmes import (
    RejectEvent,
    get_key,
    jp_contains,
    jp_ends_with,
    jp_eq,
    jp_ge,
    jp_gt,
    jp_index,
    jp_le,
    jp_lt,
    jp_merge,
    jp_search,
    jp_starts_with,
    jp_type,
    truthy,
)

FAST = settings(deadline=None, max_examples=150)


# --------------------------------------------------------------------------
# JMESPath semantics against jmespath.search
# --------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, -0.0, 1.5, 2.0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text("ab1", max_size=3)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("ab", max_size=2), inner, max_size=3),
    max_leaves=6,
)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@FAST
@given(json_values, json_values)
@example(1, True)
@example(0, False)
@example(1.0, True)
@example(True, 1)
@example([1], [True])
@example({"a": 0}, {"a": False})
def test_jp_eq_matches_jmespath(a, b):
    data = {"a": a, "b": b}
    assert jp_eq(a, b) is jmespath.search("a == b", data)
    assert (not jp_eq(a, b)) is jmespath.search("a != b", data)


@FAST
@given(json_values, json_values)
def test_jp_ordering_matches_jmespath(a, b):
    if (is_number(a) and isinstance(b, str)) or (isinstance(a, str) and is_number(b)):
        # documented divergence: jmespath raises TypeError, we give null
        for fn in (jp_lt, jp_le, jp_gt, jp_ge):
            assert fn(a, b) is None
        return
    data = {"a": a, "b": b}
    assert jp_lt(a, b) == jmespath.search("a < b", data)
    assert jp_le(a, b) == jmespath.search("a <= b", data)
    assert jp_gt(a, b) == jmespath.search("a > b", data)
    assert jp_ge(a, b) == jmespath.search("a >= b", data)


@FAST
@given(json_values)
@example(0)
@example(0.0)
@example("")
@example(" ")
@example([None])
def test_truthy_matches_jmespath(v):
    assert truthy(v) is (jmespath.search("a && `true`", {"a": v}) is True)


def _jmespath_outcome(expr, data):
    try:
        return ("ok", jmespath.search(expr, data))
    except jmespath.exceptions.JMESPathTypeError:
        return ("reject", None)


def _our_outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except RejectEvent:
        return ("reject", None)


@FAST
@given(json_values | st.lists(scalars, max_size=4), json_values)
@example("abc", "b")
@example([True, 2], 1)
@example(None, "x")
def test_jp_contains_matches_jmespath(subject, search):
    if isinstance(subject, str) and not isinstance(search, str):
        # documented divergence: jmespath raises TypeError, we give false
        assert jp_contains(subject, search) is False
        return
    expected = _jmespath_outcome("contains(a, b)", {"a": subject, "b": search})
    assert _our_outcome(jp_contains, subject, search) == expected


@FAST
@given(json_values, json_values)
@example("abc", "a")
@example("abc", "c")
@example("abc", "")
def test_jp_starts_ends_with_match_jmespath(subject, affix):
    data = {"a": subject, "b": affix}
    assert _our_outcome(jp_starts_with, subject, affix) == _jmespath_outcome(
        "starts_with(a, b)", data
    )
    assert _our_outcome(jp_ends_with, subject, affix) == _jmespath_outcome("ends_with(a, b)", data)


def test_jp_reject_messages_name_jmespath_types():
    with pytest.raises(RejectEvent, match=r"^starts_with\(\) expects strings, got null$"):
        jp_starts_with(None, "$")
    with pytest.raises(RejectEvent, match="got number"):
        jp_starts_with("x", 1)
    with pytest.raises(RejectEvent, match="got boolean"):
        jp_ends_with(True, "x")
    with pytest.raises(RejectEvent, match="got object"):
        jp_ends_with("x", {})
    with pytest.raises(
        RejectEvent,
        match=r"^contains\(\) expects an array or a string as its first argument, got number$",
    ):
        jp_contains(3, 3)
    with pytest.raises(RejectEvent, match="got object$"):
        jp_contains({"a": 1}, "a")
    with pytest.raises(RejectEvent, match="got null$"):
        jp_contains(None, "a")


@FAST
@given(json_values)
@example(True)
@example(0)
@example(1.0)
@example(-0.0)
@example("")
@example(None)
def test_jp_type_matches_jmespath(v):
    assert jp_type(v) == jmespath.search("type(a)", {"a": v})


def _library_outcome(text, data):
    """What a generated module answered when the library evaluated the expression: its
    value, or the reason jp_search gave the rejection."""
    try:
        return ("ok", jp_search(jmespath.compile(text), data))
    except RejectEvent as exc:
        return ("reject", str(exc))


@FAST
@given(st.lists(json_values | st.dictionaries(st.text("abc", max_size=2), json_values), min_size=1, max_size=4))
@example([{"a": 1}, {"a": None}])
@example([{"a": 1, "b": 2}, {"b": 3}, {"c": 4}])
@example([{"a": 1}, "x"])
@example([[1, "a"], {"a": 1}])
@example([None])
@example([True])
@example([{}, 2.5])
@example([{}, None])
@example([{"a": 0}, [["a", 1]]])
@example([{}, []])
@example([{}, ""])
@example([{}, "ab"])
@example([{}, ["ab"]])
@example([{}, [[[1], 2]]])
@example([{}, [1, "a"]])
def test_jp_merge_matches_the_library_value_and_reason(objects):
    """A merge the library evaluated answered this value or this reason (jp_search's
    'JMESPath error: ...'); the compiled one answers the same. The library checks the
    type of the first argument only and updates with the others as they are."""
    data = {f"a{i}": v for i, v in enumerate(objects)}
    text = f"merge({', '.join(data)})"
    try:
        got = ("ok", jp_merge(*objects))
    except RejectEvent as exc:
        got = ("reject", str(exc))
    assert got == _library_outcome(text, data)


def test_jp_merge_gives_a_new_object_and_leaves_its_arguments_alone():
    first, second = {"a": 1, "mrr": "9"}, {"mrr": None}
    merged = jp_merge(first, second)
    assert merged == {"a": 1, "mrr": None}
    assert first == {"a": 1, "mrr": "9"} and second == {"mrr": None}
    assert jp_merge(first) is not first and jp_merge(first) == first


@FAST
@given(json_values | st.lists(scalars, max_size=4), st.integers(-5, 5))
def test_jp_index_matches_jmespath(v, i):
    assert jp_index(v, i) == jmespath.search(f"a[{i}]", {"a": v})


@FAST
@given(json_values, st.sampled_from(["a", "b", "ab", ""]))
def test_get_key_matches_jmespath(v, k):
    assert get_key(v, k) == jmespath.search(f"x.{json.dumps(k)}", {"x": v})


def test_jp_search():
    expr = jmespath.compile("length(a[?b > `1`])")
    assert jp_search(expr, {"a": [{"b": 1}, {"b": 2}, {"b": 3}]}) == 2
    assert jp_search(jmespath.compile("missing.x"), {}) is None
    with pytest.raises(RejectEvent, match="abs"):
        jp_search(jmespath.compile("abs(a)"), {"a": "text"})
    with pytest.raises(RejectEvent):
        jp_search(jmespath.compile("sort(a)"), {"a": [1, "x"]})


def test_reject_event_is_an_exception_with_a_reason():
    exc = RejectEvent("contains() expects an array or a string as its first argument, got null")
    assert isinstance(exc, Exception)
    assert "got null" in str(exc)


