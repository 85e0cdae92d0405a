"""The reference interpreter: evaluates the IR directly.

It is the executable specification of the mapping language, written to be
obviously right rather than fast. Generated modules must agree with it on
every mapping and event (see tests/test_differential.py). It also powers
`explain`, which needs to show each value and where it came from.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any

import jmespath

from . import ir, language
from .helpers import helper_objects
from .runtime.contract import accepts, body_problem
from .runtime.groups import select_groups
from .runtime.jmes import RejectEvent, get_key, jp_index, jp_search, jp_type, truthy
from .runtime.objects import merge, omit_keys


@functools.cache
def _helpers() -> dict[str, Any]:
    """Run-time helpers by name, as the language tables name them. Built on first use:
    building them imports the code generator, which imports this module."""
    return helper_objects()


@dataclass
class FieldTrace:
    """One key of a call body: its value and where it came from."""

    key: str
    value: Any
    origin: str


@dataclass
class RuleTrace:
    """What one rule did with one event."""

    rule: str
    call_type: str
    condition: str | None
    matched: bool
    fields: list[FieldTrace] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    payload: dict | None = None


class Scope:
    """Evaluation state for one event: the event and the defines computed so far."""

    def __init__(self, mapping: ir.Mapping, event: dict):
        self.event = event
        self.define_exprs = {define.name: define.value for define in mapping.defines}
        self.define_values: dict[str, Any] = {}
        # What is being evaluated: (rule, field or None for its condition), for `explain`
        # to say where an event was rejected.
        self.at: tuple[ir.Rule, ir.EmitField | None] | None = None

    def define(self, name: str) -> Any:
        if name not in self.define_values:
            self.define_values[name] = evaluate(self.define_exprs[name], self)
        return self.define_values[name]


def evaluate(expr: ir.Expr, scope: Scope) -> Any:
    """The value of an expression for the scope's event; None means missing."""
    match expr:
        case ir.Const(value):
            return copy.deepcopy(value)
        case ir.Event():
            return scope.event
        case ir.DefineRef(name):
            return scope.define(name)
        case ir.GetKey(target, key):
            return get_key(evaluate(target, scope), key)
        case ir.GetIndex(target, index):
            return jp_index(evaluate(target, scope), index)
        case ir.Template(parts):
            return _render(parts, scope)
        case ir.Filter(name, target, args):
            return _filter(name, evaluate(target, scope), args, scope)
        case ir.Coalesce(items):
            return next((v for v in (evaluate(i, scope) for i in items) if v is not None), None)
        case ir.Merge(items):
            return merge(*(evaluate(item, scope) for item in items))
        case ir.ObjectLit(items):
            pairs = ((key, evaluate(value, scope)) for key, value in items)
            built = {key: value for key, value in pairs if value is not None}
            return built if built or not items else None
        case ir.ListLit(items):
            return [v for v in (evaluate(item, scope) for item in items) if v is not None]
        case ir.Groups():
            return _groups(expr, scope)
        case ir.Convert(target, to):
            return _helpers()[language.CONVERSIONS[to]](evaluate(target, scope))
        case ir.Default(target, fallback, replace_empty):
            value = evaluate(target, scope)
            if value is None or (replace_empty and value == ""):
                return evaluate(fallback, scope)
            return value
        case ir.OmitKeys(target, needles):
            return omit_keys(evaluate(target, scope), needles)
        case ir.Compare(op, left, right):
            return compare(op, evaluate(left, scope), evaluate(right, scope))
        case ir.And(left, right):
            value = evaluate(left, scope)
            return evaluate(right, scope) if truthy(value) else value
        case ir.Or(left, right):
            value = evaluate(left, scope)
            return value if truthy(value) else evaluate(right, scope)
        case ir.Not(target):
            return not truthy(evaluate(target, scope))
        case ir.Call(name, args):
            helper = _helpers()[language.COMPILED_FUNCTIONS[name].helper]
            return helper(*(evaluate(arg, scope) for arg in args))
        case ir.Jmes(text):
            return jp_search(jmespath.compile(text), scope.event)
    raise TypeError(f"unknown IR node {expr!r}")


def _render(parts: tuple, scope: Scope) -> str | None:
    # Every part is evaluated, in order (one may reject the event); then any missing one
    # makes the whole text missing.
    texts = [part if isinstance(part, str) else _text(evaluate(part, scope)) for part in parts]
    return None if None in texts else "".join(texts)


def _text(value: Any) -> str | None:
    return _helpers()[language.CONVERSIONS["string"]](value)


def compare(op: str, left: Any, right: Any) -> Any:
    """A JMESPath comparison (language.COMPARISONS) of two values."""
    comparison = language.COMPARISONS[op]
    result = _helpers()[comparison.helper](left, right)
    return not result if comparison.negated else result


def _filter(name: str, value: Any, args: tuple, scope: Scope) -> Any:
    """A filter with a run-time helper; `join` has a default separator."""
    texts = [_text(evaluate(arg, scope)) for arg in args]
    if name == "join" and not texts:
        texts = [language.JOIN_SEPARATOR]
    if None in texts:
        return None
    return _helpers()[language.FILTERS[name].helper](value, *texts)


def _groups(expr: ir.Groups, scope: Scope) -> list | None:
    return select_groups(
        evaluate(expr.ids, scope),
        evaluate(expr.traits, scope),
        expr.by_type,
        expr.descending,
        expr.numeric,
        expr.take,
        expr.type_trait,
    )


def _field(rule: ir.Rule, emit_field: ir.EmitField, scope: Scope) -> Any:
    scope.at = (rule, emit_field)
    return evaluate(emit_field.value, scope)


class Interpreter:
    """Runs a mapping's IR on events, with the same contract as a generated module."""

    def __init__(self, mapping: ir.Mapping):
        self.mapping = mapping

    def trace(self, event: Any, scope: Scope | None = None) -> list[RuleTrace]:
        """Every rule's outcome for one event; raises RejectEvent on bad event data.

        `scope` (for the event) is where `explain` reads what was being evaluated."""
        if not isinstance(event, dict):
            raise RejectEvent(f"the event is not a JSON object (got {jp_type(event)})")
        scope = scope or Scope(self.mapping, event)
        return [self._rule(rule, scope) for rule in self.mapping.rules]

    def _rule(self, rule: ir.Rule, scope: Scope) -> RuleTrace:
        trace = RuleTrace(rule.name, rule.call_type, rule.condition_text, matched=True)
        if rule.condition is not None:
            scope.at = (rule, None)
            trace.matched = truthy(evaluate(rule.condition, scope))
            if not trace.matched:
                return trace
        # Required keys first: when one is missing, the other values are never computed.
        required = [f for f in rule.fields if f.key in rule.required]
        trace.fields = [FieldTrace(f.key, _field(rule, f, scope), f.origin) for f in required]
        trace.missing = tuple(t.key for t in trace.fields if not accepts(t.key, t.value, True))
        if trace.missing:
            return trace
        values = {t.key: t.value for t in trace.fields}
        trace.fields = [
            FieldTrace(
                f.key, values[f.key] if f.key in values else _field(rule, f, scope), f.origin
            )
            for f in rule.fields
        ]
        trace.payload = {"type": rule.call_type}
        trace.payload.update(
            (t.key, t.value) for t in trace.fields if accepts(t.key, t.value, t.key in values)
        )
        # The contract inside the values (no null anywhere, group entries): a body that
        # breaks it is not sent, and the key path at fault is the reason.
        problem = body_problem(trace.payload, tuple(trace.payload))
        if problem is not None:
            trace.missing, trace.payload = (problem,), None
        return trace

    def transform(self, event: Any, reasons: list | None = None) -> list[dict]:
        """The call bodies for one event; `reasons` gets (rule, missing keys) per dropped call."""
        payloads = []
        for trace in self.trace(event):
            if trace.payload is not None:
                payloads.append(trace.payload)
            elif trace.missing and reasons is not None:
                reasons.append((trace.rule, trace.missing))
        return payloads
