"""The Accoil call contract: `call_problem(body)` names the first key path that breaks it.

The check is compiled once, at import, from schemas/accoil/payload.schema.json
into plain Python closures, the way fastjsonschema compiles a schema, for the
keywords that schema uses: type, required, properties, enum, const,
minLength, items, and allOf branches that are if/then on one key (the call
type). A keyword or shape this compiler does not know raises at import, so
the schema cannot gain a rule that the check silently ignores. jsonschema
gives the same verdicts (tests/test_delivery_contract.py proves it on
generated bodies) but costs about 300 µs a body here, more than sending it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..schema import payload_schema

#: The name of the whole body in a problem's key path.
ROOT = "body"


@dataclass(frozen=True)
class Problem:
    """Where a body breaks the contract (keys and indexes from the body down) and how."""

    path: tuple[str | int, ...]
    message: str

    def inside(self, step: str | int) -> Problem:
        """The same problem, seen from the object or list that holds it at `step`."""
        return Problem((step, *self.path), self.message)

    @property
    def where(self) -> str:
        """The key path as a person writes it: `groupTraits[0].traits`, or `body`."""
        text = ""
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
        return text or ROOT

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


#: A compiled schema node: a value -> the first problem in it, or None.
Check = Callable[[Any], "Problem | None"]

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "integer": lambda value: (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ),
}
_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "null": "null",
    "number": "a number",
    "integer": "an integer",
}
# The types whose test is one isinstance, done inline on the hot path.
_PLAIN_TYPES = {"object": dict, "array": list, "string": str}


def _describe(value: Any) -> str:
    """A value's JSON kind for messages: 'a list', 'the number 5', 'null'."""
    for name in ("boolean", "null", "object", "array"):
        if _TYPE_TESTS[name](value):
            return _TYPE_NAMES[name]
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}"
    return f"the number {value!r}"


def _strings(values: list, keyword: str) -> tuple[str, ...]:
    # Python's == equates True with 1; JSON Schema does not. Strings are safe.
    if not all(isinstance(value, str) for value in values):
        raise NotImplementedError(f"payload schema: {keyword} with non-string values")
    return tuple(values)


def _type(expected: Any, schema: dict, context: str) -> Check:
    if not isinstance(expected, str):
        raise NotImplementedError("payload schema: a list of types")
    name = _TYPE_NAMES[expected]
    plain = _PLAIN_TYPES.get(expected)
    test = _TYPE_TESTS[expected] if plain is None else lambda value: isinstance(value, plain)

    def check(value: Any) -> Problem | None:
        return None if test(value) else Problem((), f"must be {name}, not {_describe(value)}")

    if plain is None:
        return check
    return lambda value: None if value.__class__ is plain else check(value)


def _required(keys: list[str], schema: dict, context: str) -> Check:
    why = f"missing, required in {context}" if context else "missing"

    def check(value: Any) -> Problem | None:
        if isinstance(value, dict):
            for key in keys:
                if key not in value:
                    return Problem((key,), why)
        return None

    return check


def _properties(properties: dict, schema: dict, context: str) -> Check:
    checks = {key: _compile(sub) for key, sub in properties.items()}

    def check(value: Any) -> Problem | None:
        if isinstance(value, dict):
            for key, item in value.items():
                sub = checks.get(key)
                if sub is not None and (problem := sub(item)):
                    return problem.inside(key)
        return None

    return check


def _enum(values: list, schema: dict, context: str) -> Check:
    allowed = frozenset(_strings(values, "enum"))
    expected = f"must be one of {', '.join(values)}"

    def check(value: Any) -> Problem | None:
        if isinstance(value, str) and value in allowed:
            return None
        return Problem((), f"{expected}, not {_describe(value)}")

    return check


def _min_length(least: int, schema: dict, context: str) -> Check:
    message = "must not be empty" if least == 1 else f"must have at least {least} characters"

    def check(value: Any) -> Problem | None:
        return Problem((), message) if isinstance(value, str) and len(value) < least else None

    return check


def _items(items: dict, schema: dict, context: str) -> Check:
    item_check = _compile(items)

    def check(value: Any) -> Problem | None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                if problem := item_check(item):
                    return problem.inside(index)
        return None

    return check


def _discriminator(branch: dict) -> tuple[str, str]:
    """(key, value) of a branch `{"if": {"properties": {KEY: {"const": VALUE}}, ...}, "then": ...}`."""
    condition = branch.get("if", {})
    selectors = condition.get("properties", {})
    if set(branch) - _ANNOTATIONS != {"if", "then"} or len(selectors) != 1:
        raise NotImplementedError("payload schema: allOf branches other than if/then on one key")
    ((key, selector),) = selectors.items()
    if set(condition) - _ANNOTATIONS != {"properties", "required"} or condition["required"] != [
        key
    ]:
        raise NotImplementedError(
            "payload schema: an if/then condition other than a required const"
        )
    if set(selector) - _ANNOTATIONS != {"const"}:
        raise NotImplementedError("payload schema: an if/then selector other than const")
    (value,) = _strings([selector["const"]], "const")
    return key, value


def _all_of(branches: list[dict], schema: dict, context: str) -> Check:
    # Each branch holds the rules of one call type, selected by `type`: compiled
    # into one lookup instead of trying every branch's condition.
    table: dict[str, list[Check]] = {}
    keys = set()
    for branch in branches:
        key, value = _discriminator(branch)
        keys.add(key)
        table.setdefault(value, []).append(_compile(branch["then"], f"a {value} call"))
    if len(keys) != 1:
        raise NotImplementedError("payload schema: allOf branches on different keys")
    (key,) = keys

    def check(value: Any) -> Problem | None:
        selected = value.get(key) if isinstance(value, dict) else None
        for then in table.get(selected, ()) if isinstance(selected, str) else ():
            if problem := then(value):
                return problem
        return None

    return check


_KEYWORDS: dict[str, Callable[[Any, dict, str], Check]] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "enum": _enum,
    "minLength": _min_length,
    "items": _items,
    "allOf": _all_of,
}


def _compile(schema: dict, context: str = "") -> Check:
    """One check for a schema node: its keywords' checks, in the schema's order."""
    unknown = set(schema) - set(_KEYWORDS) - _ANNOTATIONS
    if unknown:
        raise NotImplementedError(f"payload schema keyword(s) not compiled: {sorted(unknown)}")
    checks = [
        _KEYWORDS[key](value, schema, context) for key, value in schema.items() if key in _KEYWORDS
    ]
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> Problem | None:
        for keyword_check in checks:
            if problem := keyword_check(value):
                return problem
        return None

    return check


_CHECK_BODY = _compile(payload_schema())


def first_problem(body: Any) -> Problem | None:
    """The first place where `body` breaks the Accoil call contract, or None."""
    return _CHECK_BODY(body)


def call_problem(body: Any) -> str | None:
    """Why `body` is not a valid Accoil call (`userId: missing, ...`), or None."""
    problem = _CHECK_BODY(body)
    return None if problem is None else str(problem)
