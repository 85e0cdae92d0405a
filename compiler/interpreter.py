"""The reference interpreter: evaluates the IR directly.

It is the executable specification of the mapping language, written to be
obviously right rather than fast. Generated modules must agree with it on
every mapping and event (see tests/test_differential.py). It also powers
`explain`, which needs to show each value and where it came from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import jmespath

from . import ir, runtime
from .ir import COMPARISONS
from .runtime import RejectEvent

_CONVERSIONS = {
    "string": runtime.to_text,
    "number": runtime.to_number,
    "integer": runtime.to_integer,
    "boolean": runtime.to_boolean,
    "timestamp": runtime.to_timestamp,
}
_STRING_FILTERS = {
    "lower": runtime.f_lower,
    "upper": runtime.f_upper,
    "trim": runtime.f_trim,
    "title": runtime.f_title,
    "capitalize": runtime.f_capitalize,
    "string": runtime.to_text,
    "int": runtime.to_integer,
    "float": runtime.to_number,
    "length": runtime.f_length,
    "first": runtime.f_first,
    "last": runtime.f_last,
}
_FUNCTIONS = {
    "contains": runtime.jp_contains,
    "starts_with": runtime.jp_starts_with,
    "ends_with": runtime.jp_ends_with,
}


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
            return runtime.get_key(evaluate(target, scope), key)
        case ir.GetIndex(target, index):
            return runtime.jp_index(evaluate(target, scope), index)
        case ir.Template(parts):
            return _render(parts, scope)
        case ir.Filter(name, target, args):
            return _filter(name, evaluate(target, scope), args, scope)
        case ir.Coalesce(items):
            return next((v for v in (evaluate(i, scope) for i in items) if v is not None), None)
        case ir.Merge(items):
            return runtime.merge(*(evaluate(item, scope) for item in items))
        case ir.ObjectLit(items):
            pairs = ((key, evaluate(value, scope)) for key, value in items)
            built = {key: value for key, value in pairs if value is not None}
            return built if built or not items else None
        case ir.ListLit(items):
            return [v for v in (evaluate(item, scope) for item in items) if v is not None]
        case ir.Groups():
            return _groups(expr, scope)
        case ir.Convert(target, to):
            return _CONVERSIONS[to](evaluate(target, scope))
        case ir.Default(target, fallback):
            value = evaluate(target, scope)
            return evaluate(fallback, scope) if value is None else value
        case ir.OmitKeys(target, needles):
            return runtime.omit_keys(evaluate(target, scope), needles)
        case ir.Compare(op, left, right):
            return COMPARISONS[op](evaluate(left, scope), evaluate(right, scope))
        case ir.And(left, right):
            value = evaluate(left, scope)
            return evaluate(right, scope) if runtime.truthy(value) else value
        case ir.Or(left, right):
            value = evaluate(left, scope)
            return value if runtime.truthy(value) else evaluate(right, scope)
        case ir.Not(target):
            return not runtime.truthy(evaluate(target, scope))
        case ir.Call(name, args):
            return _FUNCTIONS[name](*(evaluate(arg, scope) for arg in args))
        case ir.Jmes(text):
            return runtime.jp_search(jmespath.compile(text), scope.event)
    raise TypeError(f"unknown IR node {expr!r}")


def _render(parts: tuple, scope: Scope) -> str | None:
    # Every part is evaluated, in order (one may reject the event); then any missing one
    # makes the whole text missing.
    texts = [part if isinstance(part, str) else runtime.to_text(evaluate(part, scope)) for part in parts]
    return None if None in texts else "".join(texts)


def _filter(name: str, value: Any, args: tuple, scope: Scope) -> Any:
    if name == "default":
        replace_empty = len(args) == 2 and evaluate(args[1], scope) is True
        if value is None or (replace_empty and value == ""):
            return evaluate(args[0], scope)
        return value
    if name == "replace":
        old, new = (runtime.to_text(evaluate(arg, scope)) for arg in args)
        return None if old is None or new is None else runtime.f_replace(value, old, new)
    if name == "join":
        separator = runtime.to_text(evaluate(args[0], scope)) if args else ""
        return None if separator is None else runtime.f_join(value, separator)
    return _STRING_FILTERS[name](value)


def _groups(expr: ir.Groups, scope: Scope) -> list | None:
    return runtime.select_groups(
        evaluate(expr.ids, scope),
        evaluate(expr.traits, scope),
        expr.by_type,
        expr.descending,
        expr.numeric,
        expr.take,
        expr.type_trait,
    )


class Interpreter:
    """Runs a mapping's IR on events, with the same contract as a generated module."""

    def __init__(self, mapping: ir.Mapping):
        self.mapping = mapping

    def trace(self, event: Any) -> list[RuleTrace]:
        """Every rule's outcome for one event; raises RejectEvent on bad event data."""
        if not isinstance(event, dict):
            raise RejectEvent(f"the event is not a JSON object (got {runtime._jp_type(event)})")
        scope = Scope(self.mapping, event)
        return [self._rule(rule, scope) for rule in self.mapping.rules]

    def _rule(self, rule: ir.Rule, scope: Scope) -> RuleTrace:
        trace = RuleTrace(rule.name, rule.call_type, rule.condition_text, matched=True)
        if rule.condition is not None:
            trace.matched = runtime.truthy(evaluate(rule.condition, scope))
            if not trace.matched:
                return trace
        # Required keys first: when one is missing, the other values are never computed.
        required = [f for f in rule.fields if f.key in rule.required]
        trace.fields = [FieldTrace(f.key, evaluate(f.value, scope), f.origin) for f in required]
        trace.missing = tuple(t.key for t in trace.fields if not ir.accepts(t.key, t.value, True))
        if trace.missing:
            return trace
        values = {t.key: t.value for t in trace.fields}
        trace.fields = [
            FieldTrace(f.key, values[f.key] if f.key in values else evaluate(f.value, scope), f.origin)
            for f in rule.fields
        ]
        trace.payload = {"type": rule.call_type}
        trace.payload.update(
            (t.key, t.value) for t in trace.fields if ir.accepts(t.key, t.value, t.key in values)
        )
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
