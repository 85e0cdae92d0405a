"""Semantic checks over the lowered mapping, beyond what the schema can say."""

from __future__ import annotations

from . import ir, language
from .errors import Diagnostic
from .loader import Document
from .runtime.contract import accepts


def analyse(doc: Document, mapping: ir.Mapping) -> list[Diagnostic]:
    """Whole-mapping checks: required keys, `require:`, rule names, define cycles and use."""
    found: list[Diagnostic] = []
    for index, rule in enumerate(mapping.rules):
        found += _check_rule(doc, rule, ("rules", index))
    found += _check_rule_names(doc, mapping)
    found += _check_defines(doc, mapping)
    return found


def _check_rule(doc: Document, rule: ir.Rule, path: tuple) -> list[Diagnostic]:
    found = []
    produced = {f.key: f.value for f in rule.fields}
    # The schema requires each key the call type needs; a constant may still never fit.
    for key in language.REQUIRED_KEYS[rule.call_type]:
        if _never_fits(key, produced[key]):
            found.append(
                doc.diagnostic(
                    (*path, "emit", key),
                    f"{language.call_name(rule.call_type)} needs '{key}', and this constant "
                    "never fits: "
                    f"{language.requirement(key)}",
                    code="AM109",
                )
            )
    for position, key in enumerate(doc.data["rules"][path[1]].get("require", ())):
        if key in produced and _never_fits(key, produced[key]):
            found.append(
                doc.diagnostic(
                    (*path, "emit", key),
                    f"require: names '{key}', and its constant never fits: "
                    f"{language.requirement(key)}",
                    code="AM109",
                )
            )
        elif key not in produced:
            found.append(
                doc.diagnostic(
                    (*path, "require", position),
                    f"require: names '{key}', which this rule does not emit",
                    "require: lists keys of emit",
                    code="AM301",
                )
            )
    return found


def _never_fits(key: str, value: ir.Expr) -> bool:
    """True for a constant a required key can never carry."""
    return isinstance(value, ir.Const) and not accepts(key, value.value, True)


def _check_rule_names(doc: Document, mapping: ir.Mapping) -> list[Diagnostic]:
    found, first_seen = [], {}
    for index, rule in enumerate(mapping.rules):
        if rule.name in first_seen:
            first_line = doc.locate(("rules", first_seen[rule.name], "name")).line
            found.append(
                doc.diagnostic(
                    ("rules", index, "name"),
                    f"duplicate rule name '{rule.name}' (first used at line {first_line})",
                    code="AM302",
                )
            )
        first_seen.setdefault(rule.name, index)
    return found


def _check_defines(doc: Document, mapping: ir.Mapping) -> list[Diagnostic]:
    graph = {define.name: ir.defines_used(define.value) for define in mapping.defines}
    found = [
        doc.diagnostic(
            ("define", name),
            f"define '{name}' depends on itself: {' -> '.join(cycle)}",
            code="AM303",
        )
        for name, cycle in _cycles(graph)
    ]
    if not found:  # depths are only defined without cycles
        found += _check_depths(doc, mapping, graph)
    used = set()
    for rule in mapping.rules:
        for emit_field in rule.fields:
            used |= ir.defines_used(emit_field.value)
    for deps in graph.values():
        used |= deps
    found += [
        doc.diagnostic(
            ("define", name),
            f"define '{name}' is never used",
            severity="warning",
            at_key=True,
            code="AM390",
        )
        for name in graph
        if name not in used
    ]
    return found


def _check_depths(doc: Document, mapping: ir.Mapping, graph: dict) -> list[Diagnostic]:
    """Values nested deeper than language.MAX_NESTING, defines they read included."""
    depths = _define_depths(mapping, graph)
    limit = language.MAX_NESTING
    found = []

    def deep(path: tuple, expr: ir.Expr) -> None:
        level = _depth(expr, depths)
        if level > limit:
            found.append(
                doc.diagnostic(
                    path,
                    f"this value nests {level} levels deep, through the defines it reads; "
                    f"the limit is {limit}",
                    "split it into defines that are not read one inside the other, "
                    "or use contains([...], x) for a long || chain",
                    code="AM304",
                )
            )

    for define in mapping.defines:
        deep(("define", define.name), define.value)
    for index, rule in enumerate(mapping.rules):
        if rule.condition is not None:
            deep(("rules", index, "when"), rule.condition)
        for field in rule.fields:
            deep(("rules", index, "emit", field.key), field.value)
    return found


def _depth(expr: ir.Expr, define_depths: dict[str, int]) -> int:
    """How deep evaluating `expr` nests, a define read counting as its value's depth."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, ir.DefineRef):
            deepest = max(deepest, level + define_depths[node.name])
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ir.children(node))
    return deepest


def _define_depths(mapping: ir.Mapping, graph: dict[str, set[str]]) -> dict[str, int]:
    """The depth of each define's value, its dependencies first (they form no cycle)."""
    values = {define.name: define.value for define in mapping.defines}
    depths: dict[str, int] = {}
    for root in values:
        stack = [(root, False)]
        while stack:
            name, ready = stack.pop()
            if name in depths:
                continue
            if ready:
                depths[name] = _depth(values[name], depths)
                continue
            stack.append((name, True))
            stack.extend((dep, False) for dep in graph[name] if dep not in depths)
    return depths


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, list[str]]]:
    """Each define that reaches itself, with one cycle through it."""
    found = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            name, trail = stack.pop()
            for dep in sorted(graph.get(name, ())):
                if dep == start:
                    found.append((start, [*trail, start]))
                    stack.clear()
                    break
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*trail, dep]))
    return found
