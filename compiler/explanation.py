"""`explain`: what each rule of a mapping does with one event, and why."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from . import ir
from .errors import plural
from .interpreter import Interpreter, RuleTrace, Scope
from .language import requirement
from .runtime import RejectEvent

_WIDTH = 60


@dataclass
class Explanation:
    """The defines' values and every rule's trace for one event, or why it was rejected."""

    defines: list[tuple[str, object, str]]
    rules: list[RuleTrace]
    rejected: str | None = None

    def __str__(self) -> str:
        return render(self)


def explain_event(mapping: ir.Mapping, event) -> Explanation:
    """Trace one event through the reference interpreter."""
    try:
        rules = Interpreter(mapping).trace(event)
    except RejectEvent as exc:
        return Explanation([], [], rejected=str(exc))
    scope = Scope(mapping, event)
    return Explanation([(d.name, _define(scope, d.name), d.origin) for d in mapping.defines], rules)


@dataclass(frozen=True)
class _Unread:
    """A define no matched rule needs, whose value would reject the event."""

    reason: str


def _define(scope: Scope, name: str):
    try:
        return scope.define(name)
    except RejectEvent as exc:
        return _Unread(str(exc))


def _json(value) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, _Unread):
        return f"(not needed; reading it would reject the event: {value.reason})"
    try:
        text = orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def render(explanation: Explanation) -> str:
    """Plain-text report: one block per rule, each value with its origin."""
    if explanation.rejected is not None:
        return f"event rejected: {explanation.rejected}"
    lines = []
    if explanation.defines:
        lines.append("defines:")
        lines += [
            f"  {name} = {_json(value)}    <- {origin}"
            for name, value, origin in explanation.defines
        ]
    for trace in explanation.rules:
        if lines:
            lines.append("")
        when = f" when {trace.condition!r}" if trace.condition else ""
        verdict = "matched" if trace.matched else "not matched: no call"
        lines.append(f"rule '{trace.rule}' ({trace.call_type}){when}: {verdict}")
        if not trace.matched:
            continue
        width = max((len(f.key) for f in trace.fields), default=0)
        lines += [f"  {f.key:<{width}} = {_json(f.value)}    <- {f.origin}" for f in trace.fields]
        if trace.payload is not None:
            lines.append(f"  emitted: {orjson.dumps(trace.payload).decode()}")
        else:
            reasons = "; ".join(requirement(key) for key in trace.missing)
            lines.append(f"  not emitted: {reasons}")
    emitted = sum(trace.payload is not None for trace in explanation.rules)
    lines.append("")
    lines.append(f"{plural(emitted, 'call')} emitted")
    return "\n".join(lines)
