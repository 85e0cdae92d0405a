"""Rules: the body of `transform`, one `if` block per rule.

A rule's block tests its condition, computes its required keys, records why
a call is not sent when one is missing, and builds the call body in a dict
literal: checked required keys and values that are always valid first, then
each optional key only when the Accoil contract accepts its value. Last, the
values the mapping cannot prove right inside (copied from the event) are
checked to the last nested key; a body that breaks the contract is dropped,
its key path the reason.
"""

from __future__ import annotations

from .. import ir, language
from ..runtime.contract import accepts
from .emitter import Emitter
from .expressions import ExpressionWriter
from .facts import (
    Defines,
    always_accepted,
    is_text_valued,
    left_to_caller,
    objects_read,
    proven_clean,
    repeated_reads,
    text_or_missing,
)
from .plan import Plan

# The tests a value fails the contract by, as (fails, holds) source templates. After
# the type test, emptiness: CPython specialises `== ''` for str; a list's truth value
# is cheaper than `!= []`, which builds a list each time.
_NULL = ("{} is None", "{} is not None")
_EMPTY_TEXT = ("{} == ''", "{} != ''")
_EMPTY_AFTER_TYPE = {str: [_EMPTY_TEXT], list: [("not {}", "{}")]}


def contract_test(key: str, name: str, required: bool, holds: bool, text: bool = False) -> str:
    """Python test that the value in `name` can (`holds`) or cannot go under `key`,
    as `runtime.contract.accepts` decides; with `text`, for a value that is a str or
    None (its type test is then `is None`, cheaper than a class test)."""
    expected = language.KEY_TYPES.get(key)
    if expected is None:
        tests = [_NULL, *([_EMPTY_TEXT] if required else [])]
    else:
        type_name = expected.__name__
        type_test = (f"{{}}.__class__ is not {type_name}", f"{{}}.__class__ is {type_name}")
        if text and expected is str:  # a str or None: None is the only other type
            type_test = _NULL
        tests = [type_test, *_EMPTY_AFTER_TYPE.get(expected, [])]
    if holds:
        return " and ".join(test.format(name) for _, test in tests)
    return " or ".join(test.format(name) for test, _ in tests)


class RuleWriter:
    """Writes the rules of a mapping into `transform`."""

    def __init__(self, out: Emitter, expressions: ExpressionWriter, plan: Plan, defines: Defines):
        self.out = out
        self.values = expressions
        self.plan = plan
        self.defines = defines

    def transform_body(self, mapping: ir.Mapping) -> None:
        """Everything inside `transform`, after its docstring."""
        out = self.out
        with out.block("if event.__class__ is not dict:"):
            out.emit(
                "raise RejectEvent('the event is not a JSON object (got ' + jp_type(event) + ')')"
            )
        out.helper("RejectEvent")
        out.helper("jp_type")
        if not self.plan.one_rule_per_event:
            out.emit("out = []")
        self.shared_values()
        for rule, joins_chain in zip(mapping.rules, self.plan.joins_chain):
            self.rule(rule, joins_chain)
        if not self.plan.one_rule_per_event:
            out.emit("return out")
        elif mapping.rules[-1].condition is not None:  # else its body has returned
            out.emit("return []")

    def shared_values(self) -> None:
        """Name every value an event may need twice: reads now, the rest on first use."""
        if self.plan.shared:
            self.out.comment(
                "Values used by several rules: reads now, the rest on first use (...)."
            )
        for shared in self.plan.shared:
            if shared.eager:
                self.values.atom(shared.expr)
                continue
            expr = shared.expr
            name = f"v_{expr.name}" if isinstance(expr, ir.DefineRef) else self.out.temp("shared")
            self.values.lazy[expr] = name
            self.out.emit(f"{name} = ...")

    def rule(self, rule: ir.Rule, joins_chain: bool) -> None:
        """One rule, as an `elif` of the one before when asked and possible."""
        out = self.out
        out.emit("")
        out.comment(f"rule {rule.name!r} (line {rule.line}): {rule.call_type} call")
        if rule.description:
            out.comment(repr(rule.description))
        if rule.condition is None:
            self.rule_body(rule)
            return
        out.comment(f"when: {rule.condition_text!r}")
        start = len(out.lines)
        condition = self.values.condition(rule.condition)
        # An elif must follow its if directly: only when the test needed no statements.
        keyword = "elif" if joins_chain and out.only_comments_since(start) else "if"
        with out.block(f"{keyword} {condition}:"):
            self.rule_body(rule)

    def rule_body(self, rule: ir.Rule) -> None:
        """Required keys, the reasons a call is not sent, then the call body; a read the
        body makes more than once is named, so it is made once, and an object it reads
        several keys of is tested for being one once."""
        values = [f.value for f in rule.fields]
        self.values.reused = repeated_reads(values, self.defines)
        self.values.objects = objects_read(values, self.defines)
        try:
            self.body(rule)
        finally:
            self.values.reused = self.values.objects = frozenset()

    def body(self, rule: ir.Rule) -> None:
        """Required keys, the reasons a call is not sent, then the call body."""
        required = [f for f in rule.fields if f.key in rule.required]
        names = {f.key: self.values.atom(f.value, name=f"x_{f.key}") for f in required}
        checks = [
            self.missing_test(f, names[f.key])
            for f in required
            if not always_accepted(f.key, f.value, True, self.defines)
        ]
        if not checks:
            self.payload(rule, names)
            return
        with self.out.block(f"if {' or '.join(checks)}:"):
            self.record_reasons(rule, names)
            if self.plan.one_rule_per_event:
                self.out.emit("return []")
        if self.plan.one_rule_per_event:
            self.payload(rule, names)
            return
        with self.out.block("else:"):
            self.payload(rule, names)

    def missing_test(self, field: ir.EmitField, name: str) -> str:
        """The test that a required key's value is missing (or of the wrong type)."""
        if text_or_missing(field.value, self.defines) and language.KEY_TYPES.get(field.key) is str:
            return f"{name} is None"
        text = is_text_valued(ir.resolved(field.value, self.defines))
        return contract_test(field.key, name, required=True, holds=False, text=text)

    def record_reasons(self, rule: ir.Rule, names: dict[str, str]) -> None:
        keys = self.out.constant(repr(tuple(names)), prefix="_KEYS_")
        values = "".join(f"{name}, " for name in names.values())
        with self.out.block("if reasons is not None:"):
            missing = f"{self.out.helper('missing_keys')}({keys}, ({values}))"
            self.out.emit(f"reasons.append(({rule.name!r}, {missing}))")

    def payload(self, rule: ir.Rule, names: dict[str, str]) -> None:
        """Build the call body: checked required keys and always-valid values first, in order."""
        items = [(f.key, f.value) for f in rule.fields if not self.never_sent(f, names)]
        leading = 0
        while leading < len(items) and self.settled(items[leading], names):
            leading += 1
        values = [self.values.operand(value) for _, value in items[:leading]]
        literal = "".join(f", {key!r}: {value}" for (key, _), value in zip(items, values))
        self.out.emit(f"body = {{'type': {rule.call_type!r}{literal}}}")
        for key, value in items[leading:]:
            if self.settled((key, value), names):
                self.out.emit(f"body[{key!r}] = {self.values.value(value)}")
            else:
                self.optional_key(key, value)
        unproven = [
            (key, value)
            for key, value in items
            if language.KEY_TYPES.get(key) is not str and not proven_clean(key, value, self.defines)
        ]
        self.deliver(rule, unproven)

    def deliver(self, rule: ir.Rule, unproven: list[tuple[str, ir.Expr]]) -> None:
        """Send the body, after a run-time check of the contract inside the values the
        mapping cannot prove right: a body that breaks it is dropped, with its key path."""
        out = self.out
        if not unproven:
            out.emit("return [body]" if self.plan.one_rule_per_event else "out.append(body)")
            return
        keys = out.constant(repr(tuple(key for key, _ in unproven)), prefix="_CHECK_")
        check = out.helper("body_problem")
        if all(left_to_caller(key, value, self.defines) for key, value in unproven):
            # All the check could find without nulls, the caller finds in the JSON.
            out.emit(f"problem = {check}(body, {keys}) if nulls else None")
        else:
            out.emit(f"problem = {check}(body, {keys}, nulls)")
        if self.plan.one_rule_per_event:
            with out.block("if problem is not None:"):
                with out.block("if reasons is not None:"):
                    out.emit(f"reasons.append(({rule.name!r}, (problem,)))")
                out.emit("return []")
            out.emit("return [body]")
            return
        with out.block("if problem is None:"):
            out.emit("out.append(body)")
        with out.block("elif reasons is not None:"):
            out.emit(f"reasons.append(({rule.name!r}, (problem,)))")

    def never_sent(self, field: ir.EmitField, names: dict[str, str]) -> bool:
        """True for an optional key whose constant value the contract never accepts."""
        value = ir.resolved(field.value, self.defines)
        return (
            field.key not in names
            and isinstance(value, ir.Const)
            and not accepts(field.key, value.value, False)
        )

    def settled(self, item: tuple[str, ir.Expr], names: dict[str, str]) -> bool:
        """True when the key goes into the body without a test."""
        key, value = item
        return key in names or always_accepted(key, value, False, self.defines)

    def optional_key(self, key: str, value: ir.Expr) -> None:
        """`body[key] = value` when the contract accepts the value."""
        literal = self.fresh_object(key, value)
        if literal is not None:
            # An object literal is missing exactly when it comes out empty.
            name = f"v_{value.name}" if isinstance(value, ir.DefineRef) else self.out.temp(key)
            self.values.build_object(name, literal.items)
            test = name
        else:
            # Named after its key, as a required key is: rules that send the same key
            # share the local.
            name = self.values.atom(value, name=f"x_{key}")
            resolved = ir.resolved(value, self.defines)
            text = is_text_valued(resolved)
            test = contract_test(key, name, required=False, holds=True, text=text)
            if isinstance(resolved, ir.Groups) and language.KEY_TYPES.get(key, list) is list:
                test = f"{name} is not None"  # a `groups:` value is missing or a non-empty list
        with self.out.block(f"if {test}:"):
            self.out.emit(f"body[{key!r}] = {name}")

    def fresh_object(self, key: str, value: ir.Expr) -> ir.ObjectLit | None:
        """The object literal `value` stands for, when it is built here (not computed
        before, not shared) under a key that takes any object."""
        if language.KEY_TYPES.get(key, dict) is not dict:
            return None
        if self.out.lookup(value) or value in self.values.lazy:
            return None
        value = ir.resolved(value, self.defines)
        return value if isinstance(value, ir.ObjectLit) else None
