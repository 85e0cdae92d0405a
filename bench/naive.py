"""The naive baseline: the typical config-driven transform, interpreting the mapping per event.

This is how a mapping is usually run without a compiler: load the YAML, compile
each JMESPath expression (`jmespath.compile`) and each Jinja template
(`Environment.from_string` / `compile_expression`) once, then for every event
walk the mapping dict, `.search` every path and `when`, `.render` every
template. It follows the mapping language closely enough to give the generated
modules' payloads on the benchmark corpus; it is not a reference implementation
(the interpreter in `compiler/interpreter.py` is).

Jinja is adapted only where its defaults differ from the language: a text
template with a missing (undefined or null) value is missing as a whole, values
are written as JSON text (`true`, compact objects), and a template that is
exactly one `{{ expression }}` keeps the expression's type.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import jmespath
import jmespath.visitor
import yaml

from accoil_map.language import KEY_TYPES, OPERATORS
from accoil_map.language import REQUIRED_KEYS as REQUIRED
from accoil_map.runtime.contract import body_problem

SINGLE_EXPRESSION = re.compile(r"\{\{(.*)\}\}", re.DOTALL)


class Missing(Exception):
    """Raised while rendering a text template when an interpolated value is missing."""


def _finalize(value: Any) -> str:
    """Jinja `finalize`: write a value as template text; a missing value stops the render."""
    if value is None or isinstance(value, jinja2.Undefined):
        raise Missing
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return repr(value) if isinstance(value, float) else str(value)


class _Interpreter(jmespath.visitor.TreeInterpreter):
    """jmespath's evaluator, but an ordering comparison of a number with a string is null
    (the mapping language's rule; jmespath raises TypeError)."""

    def visit_comparator(self, node, value):
        try:
            return super().visit_comparator(node, value)
        except TypeError:
            return None


def search(parsed, event: Any) -> Any:
    """A compiled JMESPath expression over the event, with the language's comparisons."""
    return _Interpreter().visit(parsed.parsed, event)


def jmespath_true(value: Any) -> bool:
    """JMESPath truthiness: everything but null, false, "", [] and {}."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def accepts(key: str, value: Any, required: bool) -> bool:
    """Whether a call body takes `value` under `key` (else the key is left out)."""
    expected = KEY_TYPES.get(key)
    if expected is None:
        return value is not None and not (required and value == "")
    return type(value) is expected and value != ""


# Conversions (`as:`), the way one writes them with the standard library ---


def to_timestamp(value: Any) -> str | None:
    """ISO 8601 or Unix seconds/milliseconds as `YYYY-MM-DDTHH:MM:SS.sssZ`."""
    try:
        if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            seconds = float(value)
            moment = datetime.fromtimestamp(
                seconds / 1000 if abs(seconds) >= 1e11 else seconds, UTC
            )
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_number(value: Any) -> int | float | None:
    """An int or finite float, or numeric text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, int):
        return value
    return value if isinstance(value, float) and math.isfinite(value) else None


def to_string(value: Any) -> str | None:
    """Text of a value, as templates write it."""
    try:
        return _finalize(value)
    except Missing:
        return None


def to_integer(value: Any) -> int | None:
    """An integral number, or text holding one."""
    number = to_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def to_boolean(value: Any) -> bool | None:
    """true/false, "true"/"false" in any case, 0/1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return {0: False, 1: True}.get(value) if isinstance(value, int) else None


CONVERSIONS = {
    "timestamp": to_timestamp,
    "number": to_number,
    "string": to_string,
    "integer": to_integer,
    "boolean": to_boolean,
}


def select_groups(ids: Any, traits: Any, spec: dict) -> list | None:
    """The `groups` value, sorted with `sorted()` as the mapping asks."""
    if not isinstance(ids, dict) or not isinstance(traits, dict):
        return None
    candidates = []
    for group_type, value in ids.items():
        for group_id in value if isinstance(value, list) else [value]:
            if isinstance(group_id, int) and not isinstance(group_id, bool):
                group_id = str(group_id)
            if isinstance(group_id, str) and (group_id, group_type) not in candidates:
                candidates.append((group_id, group_type))
    sort = spec.get("sort", {})
    by_type = sort.get("by", "groupId") == "groupType"
    numeric = sort.get("compare", "string") == "numeric"

    def id_key(group_id: str):
        try:
            return (0, float(group_id), group_id) if numeric else (0, 0, group_id)
        except ValueError:
            return (1, 0, group_id)

    # Primary key (maybe descending), then the other key ascending: two stable sorts.
    candidates.sort(key=lambda c: id_key(c[0]) if by_type else c[1])
    candidates.sort(
        key=lambda c: c[1] if by_type else id_key(c[0]),
        reverse=sort.get("order", "ascending") == "descending",
    )
    if "take" in spec:
        candidates = candidates[: spec["take"]]
    selected = []
    for group_id, group_type in candidates:
        found = (traits.get(group_type) or {}).get(group_id)
        group_traits = dict(found) if isinstance(found, dict) else {}
        if spec.get("type_trait"):
            group_traits[spec["type_trait"]] = group_type
        selected.append({"groupId": group_id, "traits": group_traits})
    return selected or None


class NaiveTransform:
    """A mapping file, interpreted per event with precompiled jmespath and jinja2."""

    def __init__(self, mapping_path: str | Path):
        self.mapping = yaml.safe_load(Path(mapping_path).read_text(encoding="utf-8"))
        self.env = jinja2.Environment(undefined=jinja2.ChainableUndefined, finalize=_finalize)
        self.paths: dict[str, jmespath.parser.ParsedResult] = {}
        self.templates: dict[str, Any] = {}
        self.expressions: dict[str, Any] = {}
        self._precompile(self.mapping.get("define", {}))
        for rule in self.mapping["rules"]:
            if "when" in rule:
                self.paths[rule["when"]] = jmespath.compile(rule["when"])
            self._precompile(rule["emit"])

    def _precompile(self, node: Any) -> None:
        """Compile every path and template of a value tree, once."""
        if isinstance(node, str):
            match = SINGLE_EXPRESSION.fullmatch(node.strip())
            if match and "{{" not in match.group(1):
                self.expressions[node] = self.env.compile_expression(
                    match.group(1), undefined_to_none=True
                )
            elif "{{" in node:
                self.templates[node] = self.env.from_string(node)
        elif isinstance(node, list):
            for item in node:
                self._precompile(item)
        elif isinstance(node, dict):
            if "literal" in node:
                return
            if "path" in node:
                self.paths[node["path"]] = jmespath.compile(node["path"])
            if "groups" in node:
                spec = node["groups"]
                for key in ("ids", "traits"):
                    self.paths[spec[key]] = jmespath.compile(spec[key])
                return
            for key, value in node.items():
                if key not in ("omit_keys", "as", "path"):
                    self._precompile(value)

    def transform(self, event: Any, reasons: list | None = None) -> list[dict]:
        """The call bodies of one event, walking the mapping."""
        if not isinstance(event, dict):
            raise TypeError("the event is not a JSON object")
        context = dict(event)
        for name, node in self.mapping.get("define", {}).items():
            context[name] = self.value(node, event, context)
        payloads = []
        for rule in self.mapping["rules"]:
            if "when" in rule and not jmespath_true(search(self.paths[rule["when"]], event)):
                continue
            emit = rule["emit"]
            required = [*REQUIRED[emit["type"]], *rule.get("require", [])]
            body = {"type": emit["type"]}
            for key, node in emit.items():
                if key != "type":
                    value = self.value(node, event, context)
                    if accepts(key, value, key in required):
                        body[key] = value
            missing = [key for key in required if key not in body]
            if missing:
                if reasons is not None:
                    reasons.append((rule["name"], tuple(missing)))
                continue
            # Null is missing at every depth: nulls inside values are left out, and a
            # call still broken inside is not sent (the contract's own check).
            problem = body_problem(body, tuple(key for key in body if key != "type"))
            if problem is not None:
                if reasons is not None:
                    reasons.append((rule["name"], (problem,)))
                continue
            payloads.append(body)
        return payloads

    def value(self, node: Any, event: dict, context: dict) -> Any:
        """The value of one mapping node for an event; None is missing."""
        if isinstance(node, str):
            return self.render(node, context)
        if isinstance(node, list):
            return [v for v in (self.value(item, event, context) for item in node) if v is not None]
        if not isinstance(node, dict):
            return node
        if not any(op in node for op in OPERATORS):
            built = {key: self.value(item, event, context) for key, item in node.items()}
            built = {key: value for key, value in built.items() if value is not None}
            return built if built or not node else None
        value = self.operator(node, event, context)
        if "omit_keys" in node and isinstance(value, dict):
            needles = [needle.lower() for needle in node["omit_keys"]]
            value = {k: v for k, v in value.items() if not any(n in k.lower() for n in needles)}
        if "as" in node and value is not None:
            value = CONVERSIONS[node["as"]](value)
        if value is None and "default" in node:
            value = self.value(node["default"], event, context)
        return value

    def operator(self, node: dict, event: dict, context: dict) -> Any:
        """The operator part of a value (`path`, `merge`, ...), before its modifiers."""
        if "path" in node:
            return search(self.paths[node["path"]], event)
        if "literal" in node:
            return node["literal"]
        if "value" in node:
            return self.value(node["value"], event, context)
        if "object" in node:
            return self.value(node["object"], event, context)
        if "coalesce" in node:
            for item in node["coalesce"]:
                value = self.value(item, event, context)
                if value is not None:
                    return value
            return None
        if "merge" in node:
            merged = {}
            for item in node["merge"]:
                part = self.value(item, event, context)
                if isinstance(part, dict):
                    merged.update((k, v) for k, v in part.items() if v is not None)
            return merged
        spec = node["groups"]
        return select_groups(
            search(self.paths[spec["ids"]], event), search(self.paths[spec["traits"]], event), spec
        )

    def render(self, text: str, context: dict) -> Any:
        """A template: one expression keeps its type; text with a missing value is missing."""
        expression = self.expressions.get(text)
        if expression is not None:
            return expression(context)
        template = self.templates.get(text)
        if template is None:
            return text
        try:
            return template.render(context)
        except Missing:
            return None
