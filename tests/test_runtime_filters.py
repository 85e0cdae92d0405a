"""runtime.filters: the template filters with a run-time helper."""

from __future__ import annotations

from hypothesis import settings

from accoil_map.runtime.filters import (
    f_capitalize,
    f_first,
    f_join,
    f_last,
    f_length,
    f_lower,
    f_replace,
    f_title,
    f_trim,
    f_upper,
)

FAST = settings(deadline=None, max_examples=150)


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------


def test_string_filters():
    assert f_lower("AbC") == "abc"
    assert f_upper("AbC") == "ABC"
    assert f_upper(True) == "TRUE"
    assert f_lower(1.5) == "1.5"
    assert f_trim("  a b \n") == "a b"
    assert f_trim(12) == "12"
    assert f_title("hello wORLD") == "Hello World"
    assert f_capitalize("hello wORLD") == "Hello world"
    for fn in (f_lower, f_upper, f_trim, f_title, f_capitalize):
        assert fn(None) is None
        assert fn([1]) is None
        assert fn({"a": 1}) is None
        assert fn(float("nan")) is None
    assert f_replace("a-b-c", "-", "_") == "a_b_c"
    assert f_replace(1.5, ".", ",") == "1,5"
    assert f_replace(None, "a", "b") is None
    assert f_replace(["a"], "a", "b") is None


def test_collection_filters():
    assert f_length("abc") == 3
    assert f_length([1, 2]) == 2
    assert f_length({"a": 1}) == 1
    assert f_length(5) is None and f_length(None) is None
    assert f_first([1, 2]) == 1 and f_last([1, 2]) == 2
    assert f_first("ab") == "a" and f_last("ab") == "b"
    for fn in (f_first, f_last):
        assert fn([]) is None and fn("") is None and fn({"a": 1}) is None and fn(3) is None
    assert f_first([None, 1]) is None
    assert f_join(["a", 1, None, True, 1.5, {"k": 1}], ",") == 'a,1,true,1.5,{"k":1}'
    assert f_join([], "-") == ""
    assert f_join("abc", "-") is None
    assert f_join(None, "-") is None



