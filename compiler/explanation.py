"""`explain`: what each rule of a mapping does with one event, and why.

Each value (a define, a key of a call) is shown with the mapping line it is
written on, its result, and the raw event data it read, so a `(missing)`
result says whether the input was absent or could not be converted. A
rejected event names the rule and the expression that rejected it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import orjson

from . import ir
from .errors import plural
from .interpreter import Interpreter, Scope, evaluate
from .language import requirement
from .runtime import RejectEvent

_WIDTH = 60


@dataclass(frozen=True)
class Value:
    """One value for one event: its name, result, mapping text and line, the event data
    it read, and why it is missing or unfit (None when it is fine)."""

    name: str
    value: Any
    origin: str
    line: int
    reads: tuple[tuple[str, Any], ...]
    why: str | None = None


@dataclass(frozen=True)
class RuleReport:
    """What one rule did: matched or not (and what its condition read), its values, and
    its call or the reasons it was not emitted."""

    rule: str
    call_type: str
    line: int
    condition: str | None
    condition_reads: tuple[tuple[str, Any], ...]
    matched: bool
    fields: tuple[Value, ...] = ()
    payload: dict | None = None
    not_emitted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """The defines' values and every rule's report for one event, or why it was rejected."""

    defines: tuple[Value, ...]
    rules: tuple[RuleReport, ...]
    rejected: str | None = None

    def __str__(self) -> str:
        return render(self)


@dataclass(frozen=True)
class _Unread:
    """A define no matched rule needs, whose value would reject the event."""

    reason: str


class _Scope(Scope):
    """A scope that remembers the innermost define whose evaluation rejected the event."""

    def __init__(self, mapping: ir.Mapping, event: dict):
        super().__init__(mapping, event)
        self.failed_define: str | None = None

    def define(self, name: str) -> Any:
        try:
            return super().define(name)
        except RejectEvent:
            self.failed_define = self.failed_define or name
            raise


def explain_event(mapping: ir.Mapping, event) -> Explanation:
    """Trace one event through the reference interpreter."""
    scope = _Scope(mapping, event) if isinstance(event, dict) else None
    try:
        traces = Interpreter(mapping).trace(event, scope)
    except RejectEvent as exc:
        return Explanation((), (), rejected=_rejection(mapping, scope, str(exc)))
    reader = _Reader(mapping, scope)
    defines = tuple(
        reader.value(d.name, d.value, _define(scope, d.name), d.origin, d.line)
        for d in mapping.defines
    )
    rules = tuple(reader.rule(rule, trace) for rule, trace in zip(mapping.rules, traces))
    return Explanation(defines, rules)


def _define(scope: Scope, name: str):
    try:
        return scope.define(name)
    except RejectEvent as exc:
        return _Unread(str(exc))


def _rejection(mapping: ir.Mapping, scope: _Scope | None, reason: str) -> str:
    """The reason, and where: the rule, its condition or key, and the define being read."""
    if scope is None or scope.at is None:
        return reason
    rule, emit_field = scope.at
    where = [f"by rule '{rule.name}' (line {rule.line}), "]
    if emit_field is None:
        where[0] += f"when: {rule.condition_text}"
        expr = rule.condition
    else:
        where[0] += f"key '{emit_field.key}' (line {emit_field.line}): {emit_field.origin}"
        expr = emit_field.value
    if scope.failed_define is not None:
        define = next(d for d in mapping.defines if d.name == scope.failed_define)
        where.append(f"reading define '{define.name}' (line {define.line}): {define.origin}")
        expr = define.value
    reads = _Reader(mapping, scope).reads(expr)
    return "\n  ".join([reason, *where, *(line.strip() for line in _reads(reads))])


class _Reader:
    """Builds the reports of values and rules from a finished trace."""

    def __init__(self, mapping: ir.Mapping, scope: Scope):
        self.scope = scope
        self.defines = {define.name: define for define in mapping.defines}

    def value(self, name: str, expr: ir.Expr, value: Any, origin: str, line: int) -> Value:
        why = _Why(self.scope, self.defines).missing(expr) if value is None else None
        return Value(name, value, origin, line, self.reads(expr), why)

    def rule(self, rule: ir.Rule, trace) -> RuleReport:
        condition_reads = () if rule.condition is None else self.reads(rule.condition)
        report = RuleReport(
            trace.rule, trace.call_type, rule.line, trace.condition, condition_reads, trace.matched
        )
        if not trace.matched:
            return report
        by_key = {f.key: f for f in rule.fields}
        fields = tuple(
            self.value(t.key, by_key[t.key].value, t.value, t.origin, by_key[t.key].line)
            for t in trace.fields
        )
        values = {f.name: f for f in fields}
        # A key path inside a value (`traits.a.b`, the contract's) is not a value of its own.
        not_emitted = tuple(
            _unfit(values[key]) if key in values else requirement(key) for key in trace.missing
        )
        return replace(report, fields=fields, payload=trace.payload, not_emitted=not_emitted)

    def reads(self, expr: ir.Expr) -> tuple[tuple[str, Any], ...]:
        """(path, raw value) of each piece of event data `expr` reads, through defines."""
        found: dict[str, Any] = {}
        for node in _event_reads(expr, self.defines, set()):
            text = node.text if isinstance(node, ir.Jmes) else _path_text(node)
            if text not in found:
                found[text] = _raw(node, self.scope)
        return tuple(found.items())


def _unfit(value: Value) -> str:
    """Why a required key stopped its call: missing (and why), or present but unfit."""
    if value.value is None:
        return f"{value.name}: {value.why}"
    return f"{value.name}: {_json(value.value)} does not fit ({requirement(value.name)})"


def _event_reads(expr: ir.Expr, defines: dict[str, ir.Define], seen: set[str]):
    """The reads of event data in `expr` (whole `a.b[0]` chains and JMESPath expressions),
    in evaluation order, through the defines it refers to (each once)."""
    if _chain_root(expr) is not None or isinstance(expr, ir.Jmes):
        yield expr
        return
    if isinstance(expr, ir.DefineRef):
        if expr.name not in seen:
            seen.add(expr.name)
            yield from _event_reads(defines[expr.name].value, defines, seen)
        return
    for child in ir.children(expr):
        yield from _event_reads(child, defines, seen)


def _chain_root(expr: ir.Expr) -> ir.Event | None:
    """The event, when `expr` is a read `a.b[0]` of it."""
    while isinstance(expr, (ir.GetKey, ir.GetIndex)):
        expr = expr.target
    return expr if isinstance(expr, ir.Event) else None


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _path_text(expr: ir.Expr) -> str:
    """`a.b[0]['c d']` for a read of the event; `@` for the whole event."""
    steps = []
    while isinstance(expr, (ir.GetKey, ir.GetIndex)):
        if isinstance(expr, ir.GetIndex):
            steps.append(f"[{expr.index}]")
        elif _IDENTIFIER.fullmatch(expr.key):
            steps.append(f".{expr.key}")
        else:
            steps.append(f"[{expr.key!r}]")
        expr = expr.target
    return "".join(reversed(steps)).removeprefix(".") or "@"


class _Null:
    """A value that is JSON null in the event (None means absent)."""

    def __repr__(self) -> str:
        return "null"


NULL = _Null()


def _raw(expr: ir.Expr, scope: Scope) -> Any:
    """A read's raw value: NULL for a key present with null, None when absent."""
    value = _quietly(expr, scope)
    if value is None and isinstance(expr, ir.GetKey):
        parent = _quietly(expr.target, scope)
        if isinstance(parent, dict) and expr.key in parent:
            return NULL
    return value


def _quietly(expr: ir.Expr, scope: Scope) -> Any:
    """The value of an expression that already evaluated once (None if it now rejects)."""
    try:
        return evaluate(expr, scope)
    except RejectEvent:
        return None


class _Why:
    """Why an expression has no value: which input is absent, or which conversion failed."""

    def __init__(self, scope: Scope, defines: dict[str, ir.Define]):
        self.scope, self.defines = scope, defines

    def missing(self, expr: ir.Expr) -> str:
        """A short reason, e.g. `"yesterday" is not a timestamp` or `event_time is missing`."""
        match expr:
            case ir.DefineRef(name):
                return self.missing(self.defines[name].value)
            case ir.GetKey() | ir.GetIndex() if _chain_root(expr) is not None:
                return self.absent(expr)
            case ir.Convert(target, to):
                raw = _quietly(target, self.scope)
                if raw is None:
                    return self.missing(target)
                return f"{_json(raw)} is not {'an' if to[0] in 'aeiou' else 'a'} {to}"
            case ir.Template(parts):
                parts = (p for p in parts if isinstance(p, ir.Expr))
                return self.first_missing(parts, "a part cannot be written as text")
            case ir.Filter(name, target):
                raw = _quietly(target, self.scope)
                if raw is None:
                    return self.missing(target)
                return f"filter '{name}' gives no value for {_json(raw)}"
            case ir.Default(target, fallback):
                raw = _quietly(target, self.scope)
                first = self.missing(target) if raw is None else f"{_json(raw)} counts as missing"
                return f"{first}, and the default: {self.missing(fallback)}"
            case ir.Coalesce(items):
                return "none is present: " + "; ".join(self.missing(item) for item in items)
            case ir.OmitKeys(target) if _quietly(target, self.scope) is None:
                return self.missing(target)
            case ir.Groups(ids, traits):
                return self.first_missing((ids, traits), "no group has traits for its id")
            case ir.Jmes(text):
                return f"`{text}` gives null"
            case ir.Const():
                return "the value is null"
        return "it has no value"

    def first_missing(self, parts, otherwise: str) -> str:
        """Why the first part without a value has none; `otherwise` when all have one."""
        for part in parts:
            if _quietly(part, self.scope) is None:
                return self.missing(part)
        return otherwise

    def absent(self, expr: ir.Expr) -> str:
        """Which step of a read `a.b.c` of the event finds nothing."""
        chain = []
        while isinstance(expr, (ir.GetKey, ir.GetIndex)):
            chain.append(expr)
            expr = expr.target
        for step in reversed(chain):
            parent = _quietly(step.target, self.scope)
            if _quietly(step, self.scope) is None:
                path = _path_text(step)
                if isinstance(step, ir.GetKey) and isinstance(parent, dict) and step.key in parent:
                    return f"{path} is null"
                if parent is None or isinstance(parent, (dict, list)):
                    return f"{path} is missing"
                return f"{_path_text(step.target)} is {_json(parent)}, not an object or list"
        return "it has no value"


def _json(value) -> str:
    if value is None:
        return "(missing)"
    if value is NULL:
        return "null"
    if isinstance(value, _Unread):
        return f"(not needed; reading it would reject the event: {value.reason})"
    try:
        text = orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def _result(value: Value) -> str:
    if value.value is None and value.why:
        return f"(missing: {value.why})"
    return _json(value.value)


def _reads(reads: tuple[tuple[str, Any], ...]) -> list[str]:
    if not reads:
        return []
    return ["      read: " + ", ".join(f"{path} = {_json(raw)}" for path, raw in reads)]


def _values(values: tuple[Value, ...], indent: str) -> list[str]:
    width = max((len(v.name) for v in values), default=0)
    lines = []
    for value in values:
        lines.append(
            f"{indent}{value.name:<{width}} = {_result(value)}"
            f"    <- line {value.line}: {value.origin}"
        )
        lines += _reads(value.reads)
    return lines


def render(explanation: Explanation) -> str:
    """Plain-text report: one block per rule, each value with its line, origin and input."""
    if explanation.rejected is not None:
        return f"event rejected: {explanation.rejected}"
    lines = []
    if explanation.defines:
        lines.append("defines:")
        lines += _values(explanation.defines, "  ")
    for report in explanation.rules:
        if lines:
            lines.append("")
        when = f" when {report.condition!r}" if report.condition else ""
        verdict = "matched" if report.matched else "not matched: no call"
        lines.append(
            f"rule '{report.rule}' ({report.call_type}, line {report.line}){when}: {verdict}"
        )
        lines += _reads(report.condition_reads)
        if not report.matched:
            continue
        lines += _values(report.fields, "  ")
        if report.payload is not None:
            lines.append(f"  emitted: {orjson.dumps(report.payload).decode()}")
        else:
            lines.append(f"  not emitted: {'; '.join(report.not_emitted)}")
    emitted = sum(report.payload is not None for report in explanation.rules)
    lines.append("")
    lines.append(f"{plural(emitted, 'call')} emitted")
    return "\n".join(lines)
