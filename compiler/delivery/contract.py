"""The Accoil call contract: `call_problem(body)` names the first key path that breaks it.

The check is compiled once, at import, from schemas/accoil/payload.schema.json
into plain Python closures, the way fastjsonschema compiles a schema, for the
keywords that schema uses: type (one or a list), required, properties,
additionalProperties, enum, const, minLength, minItems, items, local `$ref`s
to `$defs`, and allOf branches that are if/then on one key (the call type). A
keyword or shape this compiler does not know raises at import, so the schema
cannot gain a rule that the check silently ignores. jsonschema gives the same
verdicts (tests/test_delivery_contract.py proves it on generated bodies) but
costs about 300 µs a body here, more than sending it.

A body is walked depth first with a stack of its own, not by recursion: the
schema is recursive (no null anywhere, however deep), and a body may nest as
deep as its JSON parser allows. Each node's own keywords are checked before
the values inside it, which are visited in the body's key order; the generated
modules' check (`accoil_map.runtime.contract.value_problem`) walks the same
way, so both name the same key path (tests/test_contract.py).

That walk runs only for a body that breaks the contract: every body is first
judged by `body_holds`, one loop over the run-time contract's own verdicts of a
key's value (the generated modules' `accepts` and `_holds`, from the same
schema), which gives the same verdict without key paths; a test proves the
schema holds no rule it does not judge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..language import REQUIRED_KEYS
from ..runtime.contract import _holds, accepts  # _holds: named as generated modules name it
from ..schema import payload_schema

#: The name of the whole body in a problem's key path.
ROOT = "body"


@dataclass(frozen=True)
class Problem:
    """Where a body breaks the contract (keys and indexes from the body down) and how."""

    path: tuple[str | int, ...]
    message: str

    def inside(self, steps: tuple[str | int, ...]) -> Problem:
        """The same problem, seen from the object or list that holds it at `steps`."""
        return Problem((*steps, *self.path), self.message)

    @property
    def where(self) -> str:
        """The key path as a person writes it: `groupTraits[0].traits`, or `body`."""
        text = ""
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
        return text or ROOT

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


#: A keyword's test of one value (not of what is inside it): the problem, or None.
Test = Callable[[Any], "Problem | None"]


@dataclass(eq=False)
class Node:
    """A compiled schema node: its keywords' tests, and how to find the values inside."""

    tests: list[Test] = field(default_factory=list)
    # key or index -> the node that checks the value there; None: nothing inside is checked
    properties: dict[str, Node] = field(default_factory=dict)
    additional: Node | None = None
    items: Node | None = None

    def inner(self, value: Any) -> Iterator[tuple[str | int, Any, Node]]:
        """The values inside `value` that a node checks, in the value's own order."""
        if value.__class__ is dict and (self.properties or self.additional):
            for key, item in value.items():
                node = self.properties.get(key, self.additional)
                if node is not None:
                    yield key, item, node
        elif value.__class__ is list and self.items is not None:
            for index, item in enumerate(value):
                yield index, item, self.items


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
# Every JSON value but null: the type list that says "not null" (integer is in number).
_NOT_NULL = frozenset({"string", "number", "boolean", "object", "array"})


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


def _type(expected: Any, context: str) -> Test:
    if isinstance(expected, list):
        return _type_list(_strings(expected, "type"))
    name = _TYPE_NAMES[expected]
    plain = _PLAIN_TYPES.get(expected)
    test = _TYPE_TESTS[expected] if plain is None else lambda value: isinstance(value, plain)

    def check(value: Any) -> Problem | None:
        return None if test(value) else Problem((), f"must be {name}, not {_describe(value)}")

    if plain is None:
        return check
    return lambda value: None if value.__class__ is plain else check(value)


def _not_null(value: Any) -> Problem | None:
    return Problem((), "must not be null") if value is None else None


def _type_list(expected: tuple[str, ...]) -> Test:
    if set(expected) == _NOT_NULL:
        return _not_null
    tests = [_TYPE_TESTS[name] for name in expected]
    names = " or ".join(_TYPE_NAMES[name] for name in expected)

    def check(value: Any) -> Problem | None:
        if any(test(value) for test in tests):
            return None
        return Problem((), f"must be {names}, not {_describe(value)}")

    return check


def _required(keys: list[str], context: str) -> Test:
    why = f"missing, required in {context}" if context else "missing"

    def check(value: Any) -> Problem | None:
        if isinstance(value, dict):
            for key in keys:
                if key not in value:
                    return Problem((key,), why)
        return None

    return check


def _enum(values: list, context: str) -> Test:
    allowed = frozenset(_strings(values, "enum"))
    expected = f"must be one of {', '.join(values)}"

    def check(value: Any) -> Problem | None:
        if isinstance(value, str) and value in allowed:
            return None
        return Problem((), f"{expected}, not {_describe(value)}")

    return check


def _min_length(least: int, context: str) -> Test:
    message = "must not be empty" if least == 1 else f"must have at least {least} characters"

    def check(value: Any) -> Problem | None:
        return Problem((), message) if isinstance(value, str) and len(value) < least else None

    return check


def _min_items(least: int, context: str) -> Test:
    message = "must not be empty" if least == 1 else f"must have at least {least} items"

    def check(value: Any) -> Problem | None:
        return Problem((), message) if isinstance(value, list) and len(value) < least else None

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


_TESTS: dict[str, Callable[[Any, str], Test]] = {
    "type": _type,
    "required": _required,
    "enum": _enum,
    "minLength": _min_length,
    "minItems": _min_items,
}


class _Compiler:
    """Compiles one schema document; `$ref`s to its `$defs` share one node each."""

    def __init__(self, document: dict):
        self.defs = document.get("$defs", {})
        self.refs: dict[str, Node] = {}

    def node(self, schema: dict, context: str = "") -> Node:
        """The node of a schema: its tests in the schema's order, then what is inside."""
        if "$ref" in schema:
            return self.ref(schema)
        unknown = set(schema) - {*_TESTS, "properties", "additionalProperties", "items"}
        unknown -= {"allOf", "$defs"} | _ANNOTATIONS
        if unknown:
            raise NotImplementedError(f"payload schema keyword(s) not compiled: {sorted(unknown)}")
        node = Node()
        for key, value in schema.items():
            if key in _TESTS:
                node.tests.append(_TESTS[key](value, context))
            elif key == "allOf":
                node.tests.append(self.all_of(value))
        node.properties = {key: self.node(sub) for key, sub in schema.get("properties", {}).items()}
        if "additionalProperties" in schema:
            node.additional = self.node(schema["additionalProperties"])
        if "items" in schema:
            node.items = self.node(schema["items"])
        return node

    def ref(self, schema: dict) -> Node:
        target = schema["$ref"]
        if set(schema) - _ANNOTATIONS != {"$ref"} or not target.startswith("#/$defs/"):
            raise NotImplementedError("payload schema: a $ref other than a bare #/$defs/NAME")
        name = target.removeprefix("#/$defs/")
        if name not in self.refs:
            self.refs[name] = node = Node()  # first, so that a recursive $ref finds it
            compiled = self.node(self.defs[name])
            node.tests, node.properties = compiled.tests, compiled.properties
            node.additional, node.items = compiled.additional, compiled.items
        return self.refs[name]

    def all_of(self, branches: list[dict]) -> Test:
        # Each branch holds the rules of one call type, selected by `type`: compiled
        # into one lookup instead of trying every branch's condition.
        table: dict[str, list[Node]] = {}
        keys = set()
        for branch in branches:
            key, value = _discriminator(branch)
            keys.add(key)
            then = self.node(branch["then"], f"a {value} call")
            if then.properties or then.additional or then.items:
                raise NotImplementedError("payload schema: an if/then that looks inside values")
            table.setdefault(value, []).append(then)
        if len(keys) != 1:
            raise NotImplementedError("payload schema: allOf branches on different keys")
        (key,) = keys

        def check(value: Any) -> Problem | None:
            selected = value.get(key) if isinstance(value, dict) else None
            for then in table.get(selected, ()) if isinstance(selected, str) else ():
                for test in then.tests:
                    if problem := test(value):
                        return problem
            return None

        return check


def _compile(schema: dict) -> Node:
    """The node of a whole schema document."""
    return _Compiler(schema).node(schema)


def problem_in(node: Node, value: Any) -> Problem | None:
    """The first problem of `value` under `node`: depth first, a node's own tests first."""
    pending: list[tuple[tuple[str | int, ...], Any, Node]] = [((), value, node)]
    while pending:
        path, value, node = pending.pop()
        for test in node.tests:
            if problem := test(value):
                return problem.inside(path)
        inner = [((*path, step), item, sub) for step, item, sub in node.inner(value)]
        pending.extend(reversed(inner))
    return None


def body_holds(body: Any) -> bool:
    """Whether a whole call body keeps the contract: `problem_in`'s verdict, fast.

    The fast path of every valid call (most are): a call type and its required
    keys (`accoil_map.language`, read from the same schema), then each key's value
    as the run-time contract judges it in generated modules (`accepts`: its type,
    text not empty; `_holds`: no null inside, group entries whole).
    tests/test_delivery_contract.py proves it gives the schema's verdict
    (jsonschema's), and that the schema has no keyword it does not judge.
    """
    if body.__class__ is not dict:
        return False
    call_type = body.get("type")
    required = REQUIRED_KEYS.get(call_type) if call_type.__class__ is str else None
    if required is None:
        return False
    for key in required:
        if key not in body:
            return False
    for key, value in body.items():
        if not (accepts(key, value, False) and _holds(key, value)):
            return False
    return True


_BODY = _compile(payload_schema())


def first_problem(body: Any) -> Problem | None:
    """The first place where `body` breaks the Accoil call contract, or None."""
    return None if body_holds(body) else problem_in(_BODY, body)


def call_problem(body: Any) -> str | None:
    """Why `body` is not a valid Accoil call (`userId: missing, ...`), or None."""
    problem = first_problem(body)
    return None if problem is None else str(problem)
