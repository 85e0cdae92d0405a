"""The contract check of `send` says what jsonschema says about the payload schema, and where.

`accoil_map.delivery.contract` compiles schemas/accoil/payload.schema.json into
direct Python checks (jsonschema costs more than sending a call). Here
hypothesis draws bodies, valid and broken in every way the schema can see, and
both must agree: the same verdict, and the key path named by the direct check
is one that jsonschema also reports.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from accoil_map import language
from accoil_map.delivery import contract
from accoil_map.delivery.contract import call_problem, first_problem
from accoil_map.schema import payload_schema

SCHEMA = payload_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
# Read from the schema only to steer the generator towards bodies near the edge;
# jsonschema is the oracle.
TYPES = tuple(SCHEMA["properties"]["type"]["enum"])
REQUIRED = {
    branch["if"]["properties"]["type"]["const"]: tuple(branch["then"]["required"])
    for branch in SCHEMA["allOf"]
}
KNOWN = tuple(key for key in SCHEMA["properties"] if key != "type")
NONEMPTY = tuple(key for key, rule in SCHEMA["properties"].items() if rule.get("minLength"))

_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
DEFAULT = settings(max_examples=200, **_COMMON)
DEEP = settings(max_examples=int(os.environ.get("ACCOIL_DEEP_EXAMPLES", "5000")), **_COMMON)

numbers = st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
# Mostly without null (valid inside a body), sometimes with one, however deep.
present = st.booleans() | numbers | st.text(max_size=4)
scalars = present | present | present | st.none()
keys = st.text(max_size=4)
nested = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(keys, inner, max_size=2),
    max_leaves=6,
)
objects = st.dictionaries(keys, nested, max_size=3)
lists = st.lists(nested, max_size=3)
json_values = scalars | objects | lists | st.lists(objects, max_size=2)
not_string = st.none() | st.booleans() | numbers | objects | lists
not_object = st.none() | st.booleans() | numbers | st.text(max_size=4) | lists
not_list = st.none() | st.booleans() | numbers | st.text(max_size=4) | objects
nonempty = st.text(min_size=1, max_size=6)
group_entries = st.fixed_dictionaries(
    {"groupId": st.text(max_size=4), "traits": objects}, optional={"extra": scalars}
)
GOOD = {
    "userId": nonempty,
    "anonymousId": nonempty,
    "groupId": nonempty,
    "event": nonempty,
    "timestamp": nonempty,
    "name": st.text(max_size=6),
    "traits": objects,
    "properties": objects,
    "context": objects,
    "groupTraits": st.lists(group_entries, min_size=1, max_size=3),
}
BAD = {
    **{key: not_string for key in KNOWN},
    **{key: not_object for key in ("traits", "properties", "context")},
    "groupTraits": not_list
    | st.just([])
    | st.lists(
        json_values | group_entries | st.fixed_dictionaries({"groupId": not_string}),
        min_size=1,
        max_size=3,
    ),
}


CALLS = {
    kind: st.fixed_dictionaries(
        {"type": st.just(kind), **{key: GOOD[key] for key in REQUIRED[kind]}},
        optional={key: GOOD[key] for key in KNOWN if key not in REQUIRED[kind]} | {"x": json_values},
    )
    for kind in TYPES
}


@st.composite
def bodies(draw) -> object:
    """A call of a drawn type, complete, then perhaps broken once (or an arbitrary value)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    kind = draw(st.sampled_from(TYPES))
    body = draw(CALLS[kind])
    match draw(st.sampled_from(("keep", "keep", "drop", "empty", "break", "type"))):
        case "drop":
            body.pop(draw(st.sampled_from(("type", *REQUIRED[kind]))))
        case "empty":
            body[draw(st.sampled_from(NONEMPTY))] = ""
        case "break":
            key = draw(st.sampled_from(KNOWN))
            body[key] = draw(BAD[key])
        case "type":
            body["type"] = draw(json_values | st.sampled_from(TYPES) | st.text(max_size=8))
    return body


def schema_paths(body: object) -> set[tuple]:
    """Every key path jsonschema finds wrong; a missing key's path ends with the key."""
    paths = set()
    for error in VALIDATOR.iter_errors(body):
        path = tuple(error.absolute_path)
        if error.validator == "required":
            paths |= {(*path, key) for key in error.validator_value if key not in error.instance}
        else:
            paths.add(path)
    return paths


def _agree(body: object) -> None:
    problem = first_problem(body)
    paths = schema_paths(body)
    assert (problem is None) == (not paths), (problem, paths)
    # The fast verdict (no key paths) and the walk that names the path agree on their own.
    assert contract.body_holds(body) == (contract.problem_in(contract._BODY, body) is None)
    assert (call_problem(body) is None) == VALIDATOR.is_valid(body)
    if problem is not None:
        assert problem.path in paths, (str(problem), paths)
        assert call_problem(body).startswith(problem.where + ": ")


@DEFAULT
@given(bodies())
def test_direct_check_agrees_with_jsonschema(body):
    _agree(body)


@pytest.mark.deep
@DEEP
@given(bodies())
def test_direct_check_agrees_with_jsonschema_deep(deep, body):
    _agree(body)


@pytest.mark.parametrize(
    "kind", ["valid", "missing", "must be one of", "must not be empty", "must be a", "must not be null"]
)
def test_generated_bodies_reach_every_verdict(kind):
    """The generator reaches valid bodies and each kind of problem (else agreement is vacuous)."""

    def verdict(body) -> str:
        problem = first_problem(body)
        return "valid" if problem is None else problem.message

    quick = settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate])
    find(bodies(), lambda body: verdict(body).startswith(kind), settings=quick)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body: must be an object, not a list"),
        ({}, "type: missing"),
        ({"type": "alias"}, 'type: must be one of identify, group, track, page, screen, not the string "alias"'),
        ({"type": True}, "type: must be one of identify, group, track, page, screen, not true or false"),
        ({"type": "track", "userId": "u"}, "event: missing, required in a track call"),
        ({"type": "group", "groupId": "", "timestamp": "t"}, "groupId: must not be empty"),
        ({"type": "identify", "userId": "u", "timestamp": "t", "traits": []},
         "traits: must be an object, not a list"),
        ({"type": "track", "event": "e", "userId": "u", "timestamp": "t",
          "groupTraits": [{"groupId": 5, "traits": {}}]},
         "groupTraits[0].groupId: must be a string, not the number 5"),
        ({"type": "track", "event": "e", "userId": "u", "timestamp": "t",
          "groupTraits": [{"groupId": "g", "traits": {}}, {"groupId": "h"}]},
         "groupTraits[1].traits: missing"),
        ({"type": "page", "timestamp": "t", "name": ""}, "name: must not be empty"),
        ({"type": "screen", "timestamp": "2024-05-01T00:00:00Z", "anything": [1, {"x": None}]},
         "anything[1].x: must not be null"),
        ({"type": "screen", "timestamp": "t", "anything": [1, {"x": {"y": ["z"]}}]}, None),
        ({"type": "identify", "userId": "u", "timestamp": "t", "traits": {"a": {"b": [1, None]}}},
         "traits.a.b[1]: must not be null"),
        ({"type": "track", "event": "e", "userId": "u", "timestamp": "t", "groupTraits": []},
         "groupTraits: must not be empty"),
        ({"type": "track", "event": "e", "userId": "u", "timestamp": "t",
          "groupTraits": [{"groupId": "", "traits": {}}]},
         "groupTraits[0].groupId: must not be empty"),
        ({"type": "track", "event": "e", "userId": "u", "timestamp": "t",
          "groupTraits": [{"groupId": "g", "traits": {"deep": [{"x": None}]}}]},
         "groupTraits[0].traits.deep[0].x: must not be null"),
    ],
)
def test_messages_name_the_key_path(body, message):
    assert call_problem(body) == message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "pattern": "x"},
        {"type": "object", "patternProperties": {"x": {}}},
        {"$ref": "https://example.com/other.json"},
        {"$ref": "#/$defs/x", "type": "object"},
        {"enum": ["a", 1]},
        {"allOf": [{"required": ["x"]}]},
        {"allOf": [{"if": {"properties": {"type": {"const": "a"}}, "required": ["type"]},
                    "then": {}, "else": {}}]},
    ],
)
def test_a_schema_the_check_cannot_compile_is_refused(schema):
    """A schema rule the direct check does not implement stops it at import, never ignored."""
    with pytest.raises(NotImplementedError):
        contract._compile(schema)


def test_a_body_nested_deeper_than_the_recursion_limit_is_checked():
    """The check walks with a stack of its own: nesting deeper than Python's recursion."""
    deep: object = None
    for _ in range(5000):
        deep = {"a": [deep]}
    problem = first_problem({"type": "identify", "userId": "u", "timestamp": "t", "traits": deep})
    assert problem is not None and problem.message == "must not be null"
    assert problem.path[:3] == ("traits", "a", 0) and len(problem.path) == 1 + 2 * 5000


_ANNOTATIONS = {"$schema", "$id", "title", "description"}
_VALUE = {"$ref": "#/$defs/value"}
_JSON_NAMES = {str: "string", dict: "object", list: "array"}


def _rules(node):
    """The schema without its annotations: the rules alone."""
    if isinstance(node, dict):
        return {k: _rules(v) for k, v in node.items() if k not in _ANNOTATIONS}
    if isinstance(node, list):
        return [_rules(item) for item in node]
    return node


def _typed(kind: type, entry: dict | None = None) -> dict:
    rule = {"type": _JSON_NAMES[kind]}
    if kind is str:
        return {**rule, "minLength": 1}
    if kind is dict:
        return {**rule, "additionalProperties": _VALUE}
    return {**rule, "items": entry, "minItems": 1}


def test_the_schema_holds_only_the_rules_the_fast_verdict_judges():
    """`body_holds` reads the language's tables, not the schema: the schema must say no
    more than they do (a call type, its required keys, each typed key's type, text not
    empty, group entries, no null anywhere). A rule added to the schema fails here until
    body_holds judges it too (the walk, `problem_in`, compiles any rule it knows)."""
    entry_types = language.GROUP_ENTRY_TYPES
    entry = {
        "type": "object",
        "required": list(entry_types),
        "properties": {key: _typed(kind) for key, kind in entry_types.items()},
        "additionalProperties": _VALUE,
    }
    properties = {
        key: _typed(kind, entry if key == language.GROUP_LIST_KEY else None)
        for key, kind in language.KEY_TYPES.items()
    }
    expected = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(language.CALL_TYPES)}, **properties},
        "additionalProperties": _VALUE,
        "allOf": [
            {"if": {"properties": {"type": {"const": call_type}}, "required": ["type"]},
             "then": {"required": list(keys)}}
            for call_type, keys in language.REQUIRED_KEYS.items()
        ],
        "$defs": {"value": {
            "type": ["string", "number", "boolean", "object", "array"],
            "additionalProperties": _VALUE,
            "items": _VALUE,
        }},
    }
    assert _rules(SCHEMA) == expected
