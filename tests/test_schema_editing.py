"""The mapping schema as editors read it: documented everywhere, valid examples and snippets,
and the same vocabulary as the compiler (accoil_map.language)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from accoil_map import MappingError, check, language
from accoil_map.loader import load_text
from accoil_map.schema import payload_schema, validate_schema
from accoil_map.typos import CHECKED, PATTERNS

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "mapping.schema.json").read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]
VALIDATOR = Draft202012Validator(SCHEMA)
CALLS = {call: DEFS[f"{call}Call"] for call in language.CALL_TYPES}


def subschemas(schema: object, where: str = "") -> Iterator[tuple[str, dict]]:
    """Every (JSON pointer, schema object) in the schema, at any depth."""
    if isinstance(schema, dict):
        yield where, schema
        for key, sub in schema.items():
            if key in ("properties", "$defs", "patternProperties"):
                for name, item in sub.items():
                    yield from subschemas(item, f"{where}/{key}/{name}")
            elif key not in ("enum", "const", "examples", "default", "defaultSnippets"):
                yield from subschemas(sub, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from subschemas(sub, f"{where}/{index}")


def keys_of(schema: dict) -> Iterator[tuple[str, dict]]:
    """Every schema that describes a key: properties, patternProperties, additionalProperties..."""
    for where, sub in subschemas(schema):
        for keyword in ("properties", "patternProperties"):
            for name, item in sub.get(keyword, {}).items():
                if not where.endswith("/if"):  # conditions select, they document nothing
                    yield f"{where}/{keyword}/{name}", item
        for keyword in ("additionalProperties", "unevaluatedProperties", "propertyNames"):
            if isinstance(sub.get(keyword), dict):
                yield f"{where}/{keyword}", sub[keyword]


def plain(markdown: str) -> str:
    """Markdown as plain text: links, bold and code marks removed."""
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown).replace("**", "").replace("`", "")


# --------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------


def test_every_key_has_a_title_a_description_and_markdown():
    missing = [
        where
        for where, sub in keys_of(SCHEMA)
        if not all(sub.get(field) for field in ("title", "description", "markdownDescription"))
    ]
    assert missing == []
    assert len(list(keys_of(SCHEMA))) > 80


def test_descriptions_are_the_markdown_as_plain_text():
    # Editors without markdown show `description`; both must say the same.
    differing = [
        where
        for where, sub in subschemas(SCHEMA)
        if "markdownDescription" in sub
        and "description" in sub
        and sub["description"] != plain(sub["markdownDescription"])
    ]
    assert differing == []


def test_the_first_entry_of_a_keys_allof_repeats_its_title_and_text():
    # yaml-language-server's hover shows the first schema that matched a node;
    # the shared value schema's subschemas would show another key's title.
    keyed = [(where, sub) for where, sub in keys_of(SCHEMA) if "$ref" in str(sub.get("allOf"))]
    assert len(keyed) > 40
    for where, sub in keyed:
        assert len(sub["allOf"]) == 2 and set(sub["allOf"][1]) == {"$ref"}, where
        assert sub["allOf"][0] == {
            "title": sub["title"],
            "markdownDescription": sub["markdownDescription"],
        }, where


def test_every_enum_value_is_described():
    enums = [(where, sub) for where, sub in subschemas(SCHEMA) if "enum" in sub]
    # source, call type, by, order, compare, and `as` in $defs/modifiers and on each operator
    assert len(enums) == 5 + 1 + len(language.OPERATORS)
    for where, sub in enums:
        assert len(sub["markdownEnumDescriptions"]) == len(sub["enum"]), where
        assert sub["enumDescriptions"] == [plain(text) for text in sub["markdownEnumDescriptions"]]
        for value, text in zip(sub["enum"], sub["markdownEnumDescriptions"], strict=True):
            assert f"`{value}`" in text or f"`as: {value}`" in text, (where, value)


def at(pointer: str) -> dict:
    node = SCHEMA
    for part in pointer.lstrip("/").split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize(
    "pointer",
    [
        "/$defs/pathValue/properties/path",
        "/$defs/rule/properties/when",
        "/$defs/groups/properties/ids",
        "/$defs/groups/properties/traits",
        *(f"/$defs/{call}Call/properties/traits" for call in ("identify", "group")),
    ],
)
def test_examples_where_editors_need_them(pointer):
    assert at(pointer)["examples"]


def test_every_example_and_default_is_valid_where_it_stands():
    found = [
        (where, value)
        for where, sub in subschemas(SCHEMA)
        for value in [*sub.get("examples", []), *([sub["default"]] if "default" in sub else [])]
    ]
    assert len(found) > 30
    for where, value in found:
        assert VALIDATOR.evolve(schema=at(where)).is_valid(value), (where, value)


def test_error_messages_where_the_editors_default_says_nothing_useful():
    assert at("/properties/name")["patternErrorMessage"]
    assert at("/properties/define/propertyNames")["patternErrorMessage"]
    assert at("/$defs/rule/properties/name")["patternErrorMessage"]
    assert at("/$defs/objectLiteral/propertyNames")["patternErrorMessage"]
    assert at("/properties/version")["errorMessage"]
    assert at("/$defs/groups/properties/take")["errorMessage"]
    assert at("/$defs/groups/properties/sort")["errorMessage"]  # not 'Expected "sort"'
    for operator in language.OPERATORS:  # "not allowed" for a second operator says too little
        assert DEFS[f"{operator}Value"]["errorMessage"].startswith(f"A {operator} mapping holds")


# --------------------------------------------------------------------------
# Snippets: every placeholder's default text gives a valid mapping
# --------------------------------------------------------------------------

MAPPING = """\
version: 1
name: snippets
source: custom
define:
  user: {path: user_id}
rules:
  - name: r
    emit:
      type: identify
      userId: "{{ user }}"
      timestamp: {path: ts, as: timestamp}
"""


def expand(body: object) -> object:
    """A snippet body with each placeholder replaced by its default text."""
    text = json.dumps(body)
    text = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", text)
    return json.loads(re.sub(r"\$\d+", "", text))


def with_emit_value(value: object) -> str:
    return MAPPING + f"      extra: {json.dumps(value)}\n"


def snippets(pointer: str) -> list[dict]:
    return at(pointer)["defaultSnippets"]


def test_the_value_snippets_are_one_per_operator_plus_templates():
    labels = [snippet["label"] for snippet in snippets("/$defs/value")]
    assert set(language.OPERATORS) <= set(labels)


@pytest.mark.parametrize("snippet", snippets("/$defs/value"), ids=lambda s: s["label"])
def test_value_snippets_give_valid_values(snippet):
    if "bodyText" in snippet:
        value = expand(snippet["bodyText"])
        text = MAPPING + f"      extra: {value}\n"
    else:
        text = with_emit_value(expand(snippet["body"]))
    check(text)


def test_the_define_snippet_gives_a_valid_define():
    (snippet,) = snippets("/properties/define")
    text = MAPPING.replace(
        "  user: {path: user_id}", "  " + json.dumps(expand(snippet["body"]))[1:-1]
    )
    check(text)


def test_the_rule_snippet_gives_a_valid_rule():
    (snippet,) = snippets("/$defs/rule")
    document = load_text(MAPPING)
    data = copy.deepcopy(document.data)
    data["rules"].append(expand(snippet["body"]))
    check(json.dumps(data) + "\n")


# --------------------------------------------------------------------------
# The same language as the compiler
# --------------------------------------------------------------------------


def dispatched_operators() -> list[str]:
    """The operators of the value schema's if/else chain, in the order it tries them."""
    found, node = [], DEFS["value"]["allOf"][1]["then"]
    while "if" in node:
        found.append(node["if"]["required"][0])
        assert node["then"] == {"$ref": f"#/$defs/{found[-1]}Value"}
        node = node["else"]
    assert node == {"$ref": "#/$defs/objectLiteral"}
    return found


def test_operators_in_the_compilers_order():
    # The first operator present decides, in the schema as in lowering.
    assert dispatched_operators() == list(language.OPERATORS)
    for operator in language.OPERATORS:
        assert set(DEFS[f"{operator}Value"]["properties"]) == {operator, *language.MODIFIERS}


def test_modifiers_are_the_compilers_and_the_same_on_every_operator():
    modifiers = DEFS["modifiers"]["properties"]
    assert set(modifiers) == set(language.MODIFIERS)
    for operator in language.OPERATORS:
        properties = DEFS[f"{operator}Value"]["properties"]
        assert {m: properties[m] for m in language.MODIFIERS} == modifiers, operator
    refused = re.compile(DEFS["objectLiteral"]["propertyNames"]["pattern"])
    assert [m for m in [*language.MODIFIERS, "as\n", "asx", "path"] if refused.search(m)] == [
        "as\n",
        "asx",
        "path",
    ]


def test_conversions_call_types_and_group_options_are_the_compilers():
    assert DEFS["modifiers"]["properties"]["as"]["enum"] == list(language.CONVERSIONS)
    assert DEFS["emit"]["properties"]["type"]["enum"] == list(language.CALL_TYPES)
    sort = DEFS["groups"]["properties"]["sort"]["properties"]
    assert sort["by"]["enum"] == list(language.GROUP_SORT_KEYS)
    assert sort["order"]["enum"] == list(language.GROUP_ORDERS)
    assert sort["compare"]["enum"] == list(language.GROUP_COMPARES)
    assert [sort[k]["default"] for k in ("by", "order", "compare")] == [
        language.GROUP_SORT_KEYS[0],
        language.GROUP_ORDERS[0],
        language.GROUP_COMPARES[0],
    ]


def test_sources_are_those_with_an_event_schema_plus_custom():
    shipped = sorted(
        p.name.removesuffix(".schema.json") for p in (ROOT / "schemas" / "sources").iterdir()
    )
    assert sorted(SCHEMA["properties"]["source"]["anyOf"][0]["enum"]) == sorted([*shipped, "custom"])


def test_each_call_type_declares_its_keys_and_requires_those_the_compiler_requires():
    assert [branch["then"] for branch in DEFS["emit"]["allOf"]] == [
        {"$ref": f"#/$defs/{call}Call"} for call in language.CALL_TYPES
    ]
    payload_keys = set(payload_schema()["properties"])
    for call, schema in CALLS.items():
        assert schema["required"] == list(language.REQUIRED_KEYS[call]), call
        assert set(schema["properties"]) <= payload_keys, call
        for key in language.REQUIRED_KEYS[call]:
            assert schema["properties"][key]["markdownDescription"].startswith("**Required.**")


def test_required_keys_refuse_the_constants_the_compiler_refuses():
    # A number, true/false, null or "" is never a required key's non-empty
    # string; {literal: 5} is left to the compiler's own check, and so is a
    # list, which the compiler evaluates (and drops) at run time.
    message = (
        "an identify call needs 'userId', and this constant never fits: "
        "userId must be a non-empty string"
    )
    for bad in ("5", "true", "null", '""'):
        text = MAPPING.replace('userId: "{{ user }}"', f"userId: {bad}")
        assert [d.message for d in validate_schema(load_text(text))] == [message]
    for accepted in ("[u]", "{path: u}"):
        assert (
            validate_schema(
                load_text(MAPPING.replace('userId: "{{ user }}"', f"userId: {accepted}"))
            )
            == []
        )
    text = MAPPING.replace('userId: "{{ user }}"', "userId: {literal: 5}")
    with pytest.raises(MappingError, match="this constant never fits"):
        check(text)


def test_a_missing_call_key_is_reported_with_the_compilers_words():
    text = MAPPING.replace('      userId: "{{ user }}"\n', "")
    ((line, message, hint),) = [
        (d.line, d.message, d.hint) for d in validate_schema(load_text(text))
    ]
    assert (line, message, hint) == (
        8,  # the `emit:` key, where editors mark it too
        "an identify call needs 'userId', and this rule does not produce it",
        "add 'userId:' under emit",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - name: r\n    emit:", "  - emit:", "missing required key 'name' in rule"),
        ("      type: identify\n", "", "missing required key 'type' in call body"),
        (
            'userId: "{{ user }}"',
            "userId: {groups: {ids: g}}",
            "missing required key 'traits' in groups",
        ),
    ],
)
def test_other_missing_keys_in_a_rule_keep_the_plain_message(old, new, message):
    assert [d.message for d in validate_schema(load_text(MAPPING.replace(old, new)))] == [message]


def test_a_bad_value_under_a_key_accoil_does_not_define_is_told_at_its_node():
    text = MAPPING + "      extra: {path: 3}\n      more: {coalesce: []}\n"
    found = validate_schema(load_text(text))
    assert sorted((d.line, d.col, d.message) for d in found) == [
        (12, 21, "'path' must be a string, not the number 3"),
        (13, 24, "'coalesce' needs at least 1 item"),
    ]


def test_two_operators_are_reported_at_the_one_that_does_not_decide():
    for value, line_col in [
        ("{path: x, coalesce: [y]}", (12, 24)),
        ("{coalesce: [y], path: x}", (12, 15)),
    ]:
        found = validate_schema(load_text(MAPPING + f"      extra: {value}\n"))
        assert [(d.line, d.col, d.message) for d in found] == [
            (*line_col, "'coalesce' cannot be combined with 'path'")
        ]


# --------------------------------------------------------------------------
# Near-operator keys: the schema carries the compiler's patterns
# --------------------------------------------------------------------------


def test_the_schema_has_the_near_operator_patterns_of_the_compiler():
    patterns = DEFS["objectLiteral"]["patternProperties"]
    assert list(patterns) == [PATTERNS[word].pattern for word in CHECKED]
    for word in CHECKED:
        assert patterns[PATTERNS[word].pattern]["title"] == f"one edit from '{word}'"


def test_the_schema_identifies_itself_with_a_stable_url():
    assert re.fullmatch(r"https://[a-z0-9.-]+/[\w/.-]+\.json", SCHEMA["$id"])
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
