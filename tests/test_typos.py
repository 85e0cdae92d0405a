"""Object-literal keys one edit away from an operator or modifier are warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accoil_map import check
from accoil_map.language import MODIFIERS, OPERATORS
from accoil_map.typos import CHECKED, near_miss
from tests.test_schema_editing import MAPPING

ROOT = Path(__file__).resolve().parent.parent

def warnings(value: str) -> list[tuple[int, int, str, str]]:
    checked = check(MAPPING.replace("  user: {path: user_id}", f"  user: {value}"))
    return [(d.line, d.col, d.message, d.hint) for d in checked.warnings]


def one_edit(a: str, b: str) -> bool:
    """Whether b is a with one letter left out, added or changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
        return len(diffs) == 1 or swapped
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def test_the_checked_words_are_the_operators_and_modifiers_but_as():
    assert set(CHECKED) == {*OPERATORS, *MODIFIERS} - {"as"}


@pytest.mark.parametrize(
    ("key", "word"),
    [
        ("pth", "path"),
        ("paht", "path"),
        ("paths", "path"),
        ("Path", "path"),
        ("coalese", "coalesce"),
        ("omit_key", "omit_keys"),
        ("defualt", "default"),
        ("mrege", "merge"),
        ("group", "groups"),
        ("valeu", "value"),
        ("literals", "literal"),
        ("objet", "object"),
    ],
)
def test_near_misses(key, word):
    assert near_miss(key) == word


@pytest.mark.parametrize(
    "key", ["path", "as", "has", "at", "is", "date", "userId", "plan", "name", "email", "pat_h2"]
)
def test_other_keys_are_not_near_misses(key):
    assert near_miss(key) is None


def variants(word: str, alphabet: str = "ab_ps") -> set[str]:
    """Strings up to one edit away from `word`, and some two edits away."""
    found = {word[:i] + word[i + 1 :] for i in range(len(word))}
    found |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in alphabet}
    found |= {word[:i] + c + word[i + 1 :] for i in range(len(word)) for c in alphabet}
    found |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return found | {v[:i] + v[i + 1 :] for v in list(found) for i in range(len(v))}


@pytest.mark.parametrize("word", CHECKED)
def test_the_patterns_mean_one_edit(word):
    for key in variants(word):
        expected = next((w for w in CHECKED if one_edit(w, key)), None)
        assert near_miss(key) == expected, key


@given(st.text(alphabet="pathcoleusmrgvibjkdf_", max_size=10))
def test_the_patterns_mean_one_edit_on_any_text(key):
    assert near_miss(key) == next((w for w in CHECKED if one_edit(w, key)), None)


def test_a_near_miss_in_a_define_is_a_warning_at_its_key():
    assert warnings("{pth: user_id}") == [
        (
            5,
            10,
            "'pth' makes this mapping an object literal; did you mean the operator 'path'?",
            "write 'path', or {object: {pth: ...}} to keep the key",
        )
    ]


def test_near_misses_inside_values_are_found_everywhere_values_are():
    value = "{coalesce: [{pth: a}], default: {merge: [{valeu: 1}, {x: {omit_key: [ip]}}]}}"
    line = f"  user: {value}"
    found = [(col, message.split("'")[1]) for _, col, message, _ in warnings(value)]
    assert found == [(line.index(key) + 1, key) for key in ("pth", "valeu", "omit_key")]


def test_keys_of_object_and_literal_are_never_near_misses():
    assert warnings("{object: {pth: a, coalese: b}}") == []
    assert warnings("{literal: {pth: a}}") == []
    assert [w[2].split("'")[1] for w in warnings("{object: {a: {pth: b}}}")] == ["pth"]


def test_the_shipped_mappings_have_no_near_misses():
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        assert check(path).warnings == (), path
