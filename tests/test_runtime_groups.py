"""runtime.groups: examples and a `cmp_to_key` re-statement of the groups rule."""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from functools import cmp_to_key

from hypothesis import given
from hypothesis import strategies as st

from accoil_map.runtime.groups import first_group, select_groups
from tests.test_runtime_conversions import FAST, NUMERIC_GRAMMAR

# --------------------------------------------------------------------------
# select_groups: examples and a cmp_to_key oracle
# --------------------------------------------------------------------------

AMPLITUDE_IDS = {"Account": ["210000", "9"], "Org": "5"}
AMPLITUDE_TRAITS = {
    "Account": {"210000": {"name": "Released Import Test", "domain": "accoil.com"}, "9": "bad"},
    "Org": {"5": {"name": "Org five"}},
}


def test_select_groups_amplitude_default():
    ids = copy.deepcopy(AMPLITUDE_IDS)
    traits = copy.deepcopy(AMPLITUDE_TRAITS)
    out = select_groups(ids, traits, False, False, False, 1, "group_type")
    assert out == [
        {
            "groupId": "210000",
            "traits": {
                "name": "Released Import Test",
                "domain": "accoil.com",
                "group_type": "Account",
            },
        }
    ]
    assert ids == AMPLITUDE_IDS and traits == AMPLITUDE_TRAITS  # nothing mutated
    out[0]["traits"]["x"] = 1
    assert "x" not in traits["Account"]["210000"]


def test_select_groups_orders():
    ids, traits = AMPLITUDE_IDS, AMPLITUDE_TRAITS

    def order(**kw):
        args = {"by_type": False, "descending": False, "numeric": False, "take": None}
        args["type_trait"] = None
        args.update(kw)
        out = select_groups(ids, traits, **args)
        return [g["groupId"] for g in out]

    assert order() == ["210000", "5", "9"]
    assert order(descending=True) == ["9", "5", "210000"]
    assert order(numeric=True) == ["5", "9", "210000"]
    assert order(numeric=True, descending=True) == ["210000", "9", "5"]
    assert order(by_type=True) == ["210000", "9", "5"]
    assert order(by_type=True, descending=True) == ["5", "210000", "9"]
    assert order(by_type=True, numeric=True) == ["9", "210000", "5"]
    assert order(take=2) == ["210000", "5"]
    full = select_groups(ids, traits, False, False, False, None, None)
    assert full[2] == {"groupId": "9", "traits": {}}  # traits that are not an object
    assert full[1] == {"groupId": "5", "traits": {"name": "Org five"}}


def test_select_groups_ties_and_shapes():
    ids = {"b": ["1", "1.0", 7, True, None, 2.5, ["x"], "1"], "a": "1", "c": 3, "d": None, "e": {}}
    out = select_groups(ids, {}, False, False, True, None, "t")
    assert [(g["groupId"], g["traits"]["t"]) for g in out] == [
        ("1", "a"),
        ("1", "b"),
        ("1.0", "b"),
        ("3", "c"),
        ("7", "b"),
    ]
    out = select_groups(ids, {}, False, True, False, None, None)
    # descending reverses the id only: the type tie-break stays ascending
    assert [g["groupId"] for g in out] == ["7", "3", "1.0", "1", "1"]
    assert [g["traits"] for g in out] == [{}] * 5
    assert select_groups({"a": "1"}, {"a": {"1": {"t": "kept"}}}, False, False, False, None, "t") == [
        {"groupId": "1", "traits": {"t": "a"}}  # type_trait overrides a trait of that name
    ]


def test_an_empty_group_id_is_no_candidate():
    """"" is missing, as everywhere in the language: the next id wins, and an event
    whose only id is empty has no groups (its call goes out without them)."""
    ids = {"Account": "", "Workspace": ["", "ws-1"]}
    traits = {"Account": {"": {"name": "blank"}}, "Workspace": {"ws-1": {"name": "one"}}}
    expected = [{"groupId": "ws-1", "traits": {"name": "one", "t": "Workspace"}}]
    assert first_group(ids, traits, "t") == expected
    assert select_groups(ids, traits, False, False, False, None, "t") == expected
    assert select_groups(ids, traits, True, True, False, 2, "t") == expected
    assert first_group({"Account": ""}, traits, "t") is None
    assert select_groups({"Account": [""]}, traits, False, True, False, None, None) is None


def test_select_groups_missing():
    assert select_groups(None, {}, False, False, False, None, None) is None
    assert select_groups({"a": "1"}, None, False, False, False, None, None) is None
    assert select_groups({"a": "1"}, [], False, False, False, None, None) is None
    assert select_groups([], {}, False, False, False, None, None) is None
    assert select_groups({}, {}, False, False, False, None, None) is None
    assert select_groups({"a": []}, {}, False, False, False, None, None) is None
    assert select_groups({"a": [None, True]}, {}, False, False, False, None, None) is None
    assert select_groups({"a": "1"}, {}, False, False, False, 0, None) is None
    assert select_groups({"a": "1"}, {"a": "x"}, False, False, False, None, None) == [
        {"groupId": "1", "traits": {}}
    ]


def _oracle_groups(ids, traits, by_type, descending, numeric, take, type_trait):
    if not isinstance(ids, dict) or not isinstance(traits, dict):
        return None
    cands = []
    for gtype, value in ids.items():
        values = value if isinstance(value, list) else [value]
        for gid in values:
            if isinstance(gid, bool):
                continue
            if isinstance(gid, int):
                gid = str(gid)
            if not isinstance(gid, str) or gid == "":  # an empty id is no id
                continue
            if (gtype, gid) in [(t, i) for t, i, _ in cands]:
                continue
            found = traits.get(gtype, {})
            found = found.get(gid) if isinstance(found, dict) else None
            tr = dict(found) if isinstance(found, dict) else {}
            if type_trait is not None:
                tr[type_trait] = gtype
            cands.append((gtype, gid, tr))

    def cmp(x, y):
        return (x > y) - (x < y)

    def cmp_id(a, b):
        if numeric:
            na = re.fullmatch(NUMERIC_GRAMMAR, a) is not None
            nb = re.fullmatch(NUMERIC_GRAMMAR, b) is not None
            if na and nb:
                return cmp(Fraction(a), Fraction(b)) or cmp(a, b)
            if na != nb:
                return -1 if na else 1
        return cmp(a, b)

    def cmp_cand(x, y):
        sign = -1 if descending else 1
        if by_type:
            return sign * cmp(x[0], y[0]) or cmp_id(x[1], y[1])
        return sign * cmp_id(x[1], y[1]) or cmp(x[0], y[0])

    cands.sort(key=cmp_to_key(cmp_cand))
    if take is not None:
        cands = cands[:take]
    return [{"groupId": i, "traits": tr} for _, i, tr in cands] or None


group_ids = st.sampled_from(
    ["1", "01", "10", "2", "-3", "-30", "-3.5", "1.0", "1e1", "1E1", "0", "-0", "0.0", "abc", "B", "a", ""]
) | st.integers(-20, 20) | st.booleans() | st.none()
group_types = st.sampled_from(["Account", "Org", "account", "B", "Ω"])


@FAST
@given(
    st.dictionaries(group_types, group_ids | st.lists(group_ids, max_size=4), max_size=4),
    st.dictionaries(
        group_types,
        st.dictionaries(st.sampled_from(["1", "10", "abc", "0"]), st.just({"k": 1}) | st.none()),
        max_size=3,
    ),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.integers(1, 3),
    st.none() | st.just("group_type"),
)
def test_select_groups_against_oracle(ids, traits, by_type, descending, numeric, take, type_trait):
    ids_before, traits_before = copy.deepcopy(ids), copy.deepcopy(traits)
    got = select_groups(ids, traits, by_type, descending, numeric, take, type_trait)
    assert got == _oracle_groups(ids, traits, by_type, descending, numeric, take, type_trait)
    assert ids == ids_before and traits == traits_before


@FAST
@given(
    st.dictionaries(group_types, group_ids | st.lists(group_ids, max_size=4), max_size=4),
    st.dictionaries(
        group_types,
        st.dictionaries(st.sampled_from(["1", "10", "abc", "0"]), st.just({"k": 1}) | st.none()),
        max_size=3,
    ),
    st.none() | st.just("group_type"),
)
def test_first_group_is_the_head_of_the_full_sort(ids, traits, type_trait):
    ids_before, traits_before = copy.deepcopy(ids), copy.deepcopy(traits)
    got = first_group(ids, traits, type_trait)
    assert got == _oracle_groups(ids, traits, False, False, False, 1, type_trait)
    assert ids == ids_before and traits == traits_before


def test_select_groups_numeric_negative_prefixes():
    ids = {"t": ["-3", "-3.5", "-30", "-2.99", "-3.0", "3", "-0", "0", "x", "-x"]}
    out = select_groups(ids, {}, False, False, True, None, None)
    order = ["-30", "-3.5", "-3", "-3.0", "-2.99", "-0", "0", "3", "-x", "x"]
    assert [g["groupId"] for g in out] == order
    out = select_groups(ids, {}, False, True, True, None, None)
    assert [g["groupId"] for g in out] == order[::-1]


def test_select_groups_numeric_extremes():
    ids = {"a": ["1e999999999999999999", "-1e999999999999999999", "1e-999999999999999999", "5", "x"]}
    out = select_groups(ids, {}, False, False, True, None, None)
    assert [g["groupId"] for g in out] == [
        "-1e999999999999999999",
        "1e-999999999999999999",
        "5",
        "1e999999999999999999",
        "x",
    ]


