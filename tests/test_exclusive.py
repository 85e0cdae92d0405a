"""Rules that exclude each other, and the code generated for them.

`compiler.exclusive` decides when one rule's condition rules out another's;
the code generator then chains them with `elif`, or, when every rule
excludes every other, returns an event's call at its rule. These tests pin
the decisions, and check that both shapes of module give the interpreter's
results, fan-out and rejections included.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accoil_map import check, compile_source, exclusive, ir
from accoil_map.exclusive import (
    IS_NONE_OF,
    IS_ONE_OF,
    LACKS_PREFIX,
    Chain,
    ValueTest,
    excludes,
    one_rule_per_event,
    rule_test,
)
from accoil_map.interpreter import Interpreter
from accoil_map.modules import import_source

ROOT = Path(__file__).resolve().parent.parent
NAME = ir.GetKey(ir.Event(), "event")


def condition(mapping_text: str, tmp_path: Path, when: str) -> ir.Expr:
    path = tmp_path / "m.yaml"
    path.write_text(mapping_text.format(when=when), encoding="utf-8")
    return check(str(path)).mapping.rules[0].condition


ONE_RULE = """version: 1
name: one
source: custom
rules:
  - name: r
    when: "{when}"
    emit: {{type: track, event: "{{{{ event }}}}", userId: "{{{{ user }}}}", timestamp: "{{{{ ts }}}}"}}
"""


@pytest.mark.parametrize(
    ("when", "kind", "texts"),
    [
        ("event == 'a'", IS_ONE_OF, {"a"}),
        ("'a' == event", IS_ONE_OF, {"a"}),
        ("event != 'a'", IS_NONE_OF, {"a"}),
        ("event == 'a' || event == 'b'", IS_ONE_OF, {"a", "b"}),
        ("contains(['a', 'b'], event)", IS_ONE_OF, {"a", "b"}),
        ("!contains(['a', 'b'], event)", IS_NONE_OF, {"a", "b"}),
        ("!starts_with(event, '$')", LACKS_PREFIX, {"$"}),
    ],
)
def test_rule_test_reads_the_forms_it_knows(tmp_path, when, kind, texts):
    assert rule_test(condition(ONE_RULE, tmp_path, when), {}) == ValueTest(NAME, kind, frozenset(texts))


@pytest.mark.parametrize(
    "when",
    [
        "event == `1`",  # not a string constant
        "event == 'a' || user == 'b'",  # two subjects
        "event == 'a' && user == 'b'",
        "starts_with(event, '$')",  # positive prefix: not understood
        "contains(['a', `1`], event)",
        "length(event) == `1`",  # a subject that may reject the event
        "event != 'a' || event != 'b'",
    ],
)
def test_rule_test_ignores_everything_else(tmp_path, when):
    assert rule_test(condition(ONE_RULE, tmp_path, when), {}) is None


def one_of(*texts):
    return ValueTest(NAME, IS_ONE_OF, frozenset(texts))


def none_of(*texts):
    return ValueTest(NAME, IS_NONE_OF, frozenset(texts))


def lacks(prefix):
    return ValueTest(NAME, LACKS_PREFIX, frozenset({prefix}))


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (one_of("a"), one_of("b"), True),
        (one_of("a", "b"), one_of("b"), False),
        (one_of("a"), none_of("a", "b"), True),
        (none_of("a", "b"), one_of("a"), True),
        (one_of("a", "c"), none_of("a", "b"), False),
        (none_of("a"), none_of("b"), False),  # "c" passes both
        (one_of("$x", "$y"), lacks("$"), True),
        (lacks("$"), one_of("$x"), True),
        (one_of("$x", "y"), lacks("$"), False),
        (none_of("$x"), lacks("$"), False),
        (lacks("$"), lacks("$"), False),
        (one_of("a"), ValueTest(ir.GetKey(ir.Event(), "other"), IS_ONE_OF, frozenset({"b"})), False),
        (one_of("a"), None, False),
        (None, None, False),
    ],
)
def test_excludes(first, second, expected):
    assert excludes(first, second) is expected


def _module(text: str, tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    checked = check(str(path))
    source = compile_source(checked)
    return source, import_source(source, "m"), Interpreter(checked.mapping)


RULES = """version: 1
name: dispatch
source: custom
rules:
{rules}
"""


def _rule(name: str, when: str) -> str:
    return (
        f"  - name: {name}\n    when: \"{when}\"\n"
        "    emit: {type: track, event: \"" + name + " {{ event }}\", userId: \"{{ user }}\", "
        "timestamp: \"{{ ts }}\"}\n"
    )


EVENTS = [
    {"event": name, "user": "u", "ts": "2024-05-01T12:00:00.000Z"}
    for name in ("$identify", "$set", "Signed Up", "$other", "", None, 3, ["x"])
] + [{"event": "Signed Up", "ts": "2024-05-01T12:00:00.000Z"}, "not an object"]


def _results(transform, event):
    reasons: list = []
    try:
        return ("calls", transform(event, reasons), reasons)
    except Exception as exc:  # noqa: BLE001 - compare rejections by class name and text
        return ("rejected", type(exc).__name__, str(exc))


def test_rules_that_exclude_each_other_return_at_their_rule(tmp_path):
    text = RULES.format(rules="".join([
        _rule("custom", "!starts_with(event, '$')"),
        _rule("identify", "event == '$identify' || event == '$set'"),
        _rule("other", "event == '$other'"),
    ]))
    source, module, interpreter = _module(text, tmp_path)
    assert "out = []" not in source and source.count("return [body]") == 3
    for event in EVENTS:
        assert _results(module.transform, event) == _results(interpreter.transform, event), event
    assert module.transform(EVENTS[2]) == [
        {"type": "track", "event": "custom Signed Up", "userId": "u",
         "timestamp": "2024-05-01T12:00:00.000Z"}
    ]
    with pytest.raises(module.RejectEvent):  # starts_with() of a number, as in JMESPath
        module.transform(EVENTS[6])


def test_rules_that_overlap_all_fire(tmp_path):
    text = RULES.format(rules="".join([
        _rule("first", "event == '$identify'"),
        _rule("second", "event == '$set'"),
        _rule("everything", "event != '$set'"),  # overlaps the first
        _rule("last", "event == 'Signed Up'"),
    ]))
    source, module, interpreter = _module(text, tmp_path)
    assert "out = []" in source and "return [body]" not in source
    assert source.count("elif") == 1  # `second` chains onto `first`; `last` overlaps `everything`
    for event in EVENTS:
        assert _results(module.transform, event) == _results(interpreter.transform, event), event
    names = [call["event"] for call in module.transform(EVENTS[0])]
    assert names == ["first $identify", "everything $identify"]


@pytest.mark.parametrize("name", ["amplitude", "segment", "posthog", "rudderstack"])
def test_shipped_mappings_have_one_rule_per_event(name):
    source = compile_source(check(str(ROOT / "mappings" / f"{name}.yaml")))
    assert "out = []" not in source and "out.append" not in source


SUBJECT = ir.GetKey(ir.Event(), "event_type")
OTHER_SUBJECT = ir.GetKey(ir.Event(), "type")
_TEXTS = st.frozensets(st.sampled_from(["a", "b", "$c", "$d", "e"]), min_size=1, max_size=3)
_TESTS = st.one_of(
    st.none(),
    st.builds(lambda texts: ValueTest(SUBJECT, IS_ONE_OF, texts), _TEXTS),
    st.builds(lambda texts: ValueTest(SUBJECT, IS_NONE_OF, texts), _TEXTS),
    st.just(ValueTest(SUBJECT, LACKS_PREFIX, frozenset({"$"}))),
    st.builds(lambda texts: ValueTest(OTHER_SUBJECT, IS_ONE_OF, texts), _TEXTS),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TESTS, max_size=6), _TESTS)
def test_a_chain_decides_as_pairwise_exclusion_would(members, test):
    """Chain sums its members up; it must answer exactly as testing each pair does."""
    chain = Chain()
    added = []
    for member in members:
        if not chain.excluded_by(member):
            break
        chain.add(member)
        added.append(member)
    assert all(excludes(a, b) for a, b in itertools.combinations(added, 2))
    assert chain.excluded_by(test) == all(excludes(test, member) for member in added)


def test_exclusive_analysis_is_linear_in_rules():
    """1,000 rules that exclude each other: one pass, not every pair (500,000 checks)."""
    rules = "".join(
        f"  - name: r{i}\n    when: \"event_type == 'e{i}'\"\n"
        "    emit: {type: page, timestamp: '{{ event_time }}'}\n"
        for i in range(1000)
    )
    text = f"version: 1\nname: many\nsource: amplitude\nrules:\n{rules}"
    mapping = check(text, filename="many.yaml").mapping
    calls = []
    original = exclusive.excludes

    def counting(first, second):
        calls.append(1)
        return original(first, second)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exclusive, "excludes", counting)
        assert one_rule_per_event(mapping)
    assert len(calls) < 10 * 1000
