"""Which rules can never fire for the same event.

When one rule's condition holds, a rule it excludes has a condition that is
false, and evaluating it cannot reject the event either. The code generator
uses this to chain such rules with `elif`, and, when every rule excludes
every other, to return an event's one call as soon as its rule is found.

Only conditions that test one plain read of the event against string
constants are understood; any other condition excludes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir

IS_ONE_OF = "is one of"
IS_NONE_OF = "is none of"
LACKS_PREFIX = "is text without the prefix"


@dataclass(frozen=True)
class ValueTest:
    """What a condition says of one value: `subject <kind> texts`."""

    subject: ir.Expr
    kind: str
    texts: frozenset[str]


def rule_test(condition: ir.Expr | None, defines: dict[str, ir.Define]) -> ValueTest | None:
    """The test a condition makes, when it is one this module understands."""
    test = _test(condition)
    if test is None or not ir.is_plain_read(test.subject, defines):
        return None
    return test


def excludes(first: ValueTest | None, second: ValueTest | None) -> bool:
    """True when the two tests can never both hold for one value."""
    if first is None or second is None or first.subject != second.subject:
        return False
    if first.kind != IS_ONE_OF:
        first, second = second, first
    if first.kind != IS_ONE_OF:
        return False  # two negative tests: a value can pass both
    if second.kind == IS_ONE_OF:
        return not first.texts & second.texts
    if second.kind == IS_NONE_OF:
        return first.texts <= second.texts
    (prefix,) = second.texts
    return all(text.startswith(prefix) for text in first.texts)


def one_rule_per_event(mapping: ir.Mapping) -> bool:
    """True when every rule excludes every other: an event matches one rule at most."""
    defines = {define.name: define for define in mapping.defines}
    chain = Chain()
    for rule in mapping.rules:
        test = rule_test(rule.condition, defines)
        if not chain.excluded_by(test):
            return False
        chain.add(test)
    return True


@dataclass
class Chain:
    """The tests of rules that exclude each other, summed up so that a new test is
    checked against all of them at once (in time linear in its texts, not in the
    number of rules).

    Two negative tests never exclude each other, so a chain holds at most one;
    the positive ones are kept as the union of their texts."""

    subject: ir.Expr | None = None
    positive: set[str] = field(default_factory=set)
    negative: ValueTest | None = None
    empty: bool = True

    def excluded_by(self, test: ValueTest | None) -> bool:
        """True when `test` excludes every test of the chain."""
        if self.empty:
            return True
        if test is None or test.subject != self.subject:
            return False
        if self.negative is not None and not excludes(test, self.negative):
            return False
        if test.kind == IS_ONE_OF:  # disjoint from each positive <=> from their union
            return not test.texts & self.positive
        # each positive inside the negative test <=> their union is
        return excludes(ValueTest(test.subject, IS_ONE_OF, frozenset(self.positive)), test)

    def add(self, test: ValueTest | None) -> None:
        """Join a test that excludes every test of the chain."""
        self.empty = False
        if test is None:
            return
        self.subject = test.subject
        if test.kind == IS_ONE_OF:
            self.positive |= test.texts
        else:
            self.negative = test


def _test(condition: ir.Expr | None) -> ValueTest | None:
    match condition:
        case ir.Compare("eq" | "ne" as op, subject, ir.Const(value)) | ir.Compare(
            "eq" | "ne" as op, ir.Const(value), subject
        ) if isinstance(value, str):
            return ValueTest(subject, IS_ONE_OF if op == "eq" else IS_NONE_OF, frozenset({value}))
        case ir.Call("contains", (ir.Const(values), subject)) if _strings(values):
            return ValueTest(subject, IS_ONE_OF, frozenset(values))
        case ir.Not(ir.Call("contains", (ir.Const(values), subject))) if _strings(values):
            return ValueTest(subject, IS_NONE_OF, frozenset(values))
        case ir.Not(ir.Call("starts_with", (subject, ir.Const(prefix)))) if isinstance(prefix, str):
            return ValueTest(subject, LACKS_PREFIX, frozenset({prefix}))
        case ir.Or(left, right):
            first, second = _test(left), _test(right)
            if (
                first
                and second
                and first.subject == second.subject
                and (first.kind == second.kind == IS_ONE_OF)
            ):
                return ValueTest(first.subject, IS_ONE_OF, first.texts | second.texts)
    return None


def _strings(values: object) -> bool:
    return isinstance(values, list) and all(isinstance(value, str) for value in values)
