"""The language table: filters that mean a modifier lower to that modifier's node,
and every stage reads the same table."""

from __future__ import annotations

import pytest

from accoil_map import ir, language, load
from accoil_map.lower_jinja import lower_template
from accoil_map.names import Names

NAMES = Names(source="custom", defines=frozenset(), fields=None)
V = ir.GetKey(ir.Event(), "v")


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ v | default('x') }}", ir.Default(V, ir.Const("x"))),
        ("{{ v | d('x') }}", ir.Default(V, ir.Const("x"))),
        ("{{ v | default('x', true) }}", ir.Default(V, ir.Const("x"), replace_empty=True)),
        ("{{ v | default('x', boolean=true) }}", ir.Default(V, ir.Const("x"), replace_empty=True)),
        ("{{ v | string }}", ir.Convert(V, "string")),
        ("{{ v | int }}", ir.Convert(V, "integer")),
        ("{{ v | float }}", ir.Convert(V, "number")),
        ("{{ v | lower }}", ir.Filter("lower", V)),
    ],
)
def test_filters_lower_to_one_node_kind_per_idea(template, expected):
    assert lower_template(template, NAMES) == expected


DEFAULTS = """\
version: 1
name: defaults
source: custom
rules:
  - name: r
    emit:
      type: page
      timestamp: "2024-05-01T00:00:00.000Z"
      plain: "{{ v | default('x') }}"
      empty_too: "{{ v | default('x', true) }}"
"""


@pytest.mark.parametrize(
    "value, plain, empty_too",
    [(None, "x", "x"), ("", "", "x"), (0, 0, 0), (False, False, False), ("v", "v", "v")],
)
def test_default_filter_semantics(value, plain, empty_too):
    [call] = load(DEFAULTS).transform({"v": value})
    assert (call["plain"], call["empty_too"]) == (plain, empty_too)


def test_every_filter_has_a_helper_or_lowers_to_a_modifier():
    for spec in language.FILTERS.values():
        kinds = [spec.helper is not None, spec.conversion is not None, spec.is_default]
        assert sum(kinds) == 1, spec.name
        assert spec.conversion is None or spec.conversion in language.CONVERSIONS


@pytest.mark.parametrize(
    "name, arity",
    [("lower", "no arguments"), ("replace", "2 arguments"), ("join", "at most 1 argument"),
     ("default", "1 to 2 arguments")],
)
def test_arity_in_words(name, arity):
    assert language.FILTERS[name].arity() == arity


def test_compiled_functions_take_what_jmespath_signatures_take():
    """A call is compiled exactly when jmespath accepts its number of arguments; any
    other count stays a library call (which rejects the event, as jmespath does)."""
    import jmespath.functions

    table = jmespath.functions.Functions.FUNCTION_TABLE
    for name, spec in language.COMPILED_FUNCTIONS.items():
        signature = table[name]["signature"]
        variadic = bool(signature) and signature[-1].get("variadic", False)
        assert (spec.min_args, spec.variadic) == (len(signature), variadic), name
        for count in range(5):
            accepted = count >= len(signature) if variadic else count == len(signature)
            assert spec.takes(count) is accepted, (name, count)
        assert spec.result in ("boolean", "string", "object"), name


@pytest.mark.parametrize(
    "text, compiled",
    [
        ("type(a)", True),
        ("type(a) == 'object'", True),
        ("merge(a)", True),
        ("merge(a, b, `{\"k\": null}`)", True),
        ("type(a) == 'object' && merge(a, `{\"mrr\": null}`) || `null`", True),
        ("merge()", False),  # jmespath refuses it when it runs: left to the library
        ("type(a, b)", False),
        ("type()", False),
    ],
)
def test_type_and_merge_are_compiled(text, compiled):
    from accoil_map.lower_jmespath import lower_jmespath

    expr = lower_jmespath(text)
    assert (not isinstance(expr, ir.Jmes)) is compiled
    assert any(isinstance(node, ir.Call) for node in ir.walk(expr)) is compiled
