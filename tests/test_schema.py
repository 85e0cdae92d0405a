"""The mapping schema: valid mappings pass; each mistake is one short message at its node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from accoil_map.loader import load_text
from accoil_map.schema import payload_schema, source_fields, validate_schema

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

AMPLITUDE = """\
# yaml-language-server: $schema=../schemas/mapping.schema.json
version: 1
name: amplitude
source: amplitude
define:
  user: {path: user_id}
rules:
  - name: events
    when: "!contains(['$identify', '$groupidentify'], event_type)"
    require: [properties]
    emit:
      type: track
      event: "{{ event_type }}"
      userId: "{{ user }}"
      timestamp: {path: event_time, as: timestamp}
      properties:
        trial_end: {path: event_properties.trial_end}
        plan_type: {path: user_properties.plan_type}
      groupTraits:
        groups:
          ids: groups
          traits: group_properties
          sort: {by: groupId, order: ascending}
          take: 1
          type_trait: group_type
"""

EVERY_OPERATOR = """\
$schema: ../schemas/mapping.schema.json
version: 1
name: every-operator
source: custom
description: one of each value form
rules:
  - name: all.of-them
    emit:
      type: identify
      userId: {coalesce: ["{{ user_id }}", {path: context.user}], default: anonymous}
      timestamp: {value: "{{ ts }}", as: timestamp}
      traits:
        {merge: [{path: traits}, {plan: {literal: "{{ not a template }}"}}], omit_keys: [ip]}
      odd: {object: {path: 1, as: 2}}
      list: [1, 2.5, true, null, "x"]
      none: null
"""


def diagnostics(text: str) -> list[tuple[int, int, str, str | None]]:
    """(line, col, message, hint) of each schema diagnostic for `text`."""
    return [(d.line, d.col, d.message, d.hint) for d in validate_schema(load_text(text))]


def headline(text: str) -> tuple[int, int, str, str | None]:
    found = diagnostics(text)
    assert found, "expected the mapping to be invalid"
    return found[0]


@pytest.mark.parametrize("text", [AMPLITUDE, EVERY_OPERATOR])
def test_valid_mappings(text):
    assert validate_schema(load_text(text)) == []


def test_wrong_type():
    text = AMPLITUDE.replace("take: 1", "take: '1'")
    assert headline(text) == (24, 17, "'take' must be an integer, not a string", None)


def test_unknown_key_with_did_you_mean_hint():
    text = AMPLITUDE.replace("    when:", "    whne:")
    assert headline(text) == (9, 5, "unknown key 'whne' in rule", "did you mean 'when'?")


def test_unknown_key_without_close_match_lists_allowed_keys():
    text = AMPLITUDE.replace("ascending}", "ascending, zzz: 1}")
    line, col, message, hint = headline(text)
    assert (line, col, message) == (23, 49, "unknown key 'zzz' in sort")
    assert hint == "allowed keys: by, order, compare"


def test_bad_call_type():
    line, col, message, hint = headline(AMPLITUDE.replace("type: track", "type: trak"))
    assert (line, col, message) == (12, 13, "'trak' is not a call type")
    assert hint.startswith("did you mean 'track'?")
    assert "identify, group, track, page, screen" in hint


def test_bad_conversion_enum():
    line, col, message, hint = headline(AMPLITUDE.replace("as: timestamp", "as: time"))
    assert (line, col, message) == (15, 41, "'time' is not a conversion")
    assert hint.startswith("did you mean 'timestamp'?")


def test_missing_rules_points_at_the_object():
    text = AMPLITUDE[: AMPLITUDE.index("define:")]
    assert headline(text) == (2, 1, "missing required key 'rules' in mapping file", None)


def test_missing_emit_type_points_at_emit():
    text = AMPLITUDE.replace("      type: track\n", "")
    assert headline(text)[:3] == (11, 5, "missing required key 'type' in call body")


def test_bad_define_name_points_at_the_key():
    line, col, message, hint = headline(AMPLITUDE.replace("  user:", "  1user:"))
    assert (line, col, message) == (6, 3, "'1user' is not a valid define name")
    assert "^[A-Za-z_][A-Za-z0-9_]*$" in hint


def test_object_literal_with_a_modifier():
    text = AMPLITUDE.replace("{path: user_properties.plan_type}", "{pth: plan_type, as: string}")
    line, col, message, hint = headline(text)
    assert (line, col) == (18, 37)
    assert message.startswith("'as' only applies to an operator")
    assert hint == "did you mean 'path'?"


def test_object_literal_with_a_default_and_no_typo():
    text = AMPLITUDE.replace("{path: user_properties.plan_type}", "{a: 1, default: 2}")
    line, col, message, hint = headline(text)
    assert (line, col) == (18, 27)
    assert message == (
        "'default' only applies to an operator "
        "(path, coalesce, merge, groups, value, literal, object)"
    )
    assert hint == "modifiers need an operator: write {value: ..., default: ...}"


def test_two_operators_are_reported_once_at_the_second():
    text = AMPLITUDE.replace("{path: event_time, as: timestamp}", "{path: x, coalesce: [y]}")
    assert diagnostics(text) == [
        (
            15,
            28,
            "'coalesce' cannot be combined with 'path'",
            "an operator mapping holds exactly one operator; nest the other as a value",
        ),
    ]


def test_unknown_modifier_on_an_operator():
    text = AMPLITUDE.replace("as: timestamp", "defualt: 1")
    assert headline(text) == (
        15,
        37,
        "unknown key 'defualt' in path value",
        "did you mean 'default'?",
    )


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("version: 1", "version: 2", (2, 10), "language version must be 1"),
        ("name: amplitude", "name: Amp", (3, 7), "'Amp' is not a valid mapping name"),
        ("name: events", "name: -events", (8, 11), "'-events' is not a valid rule name"),
        ("take: 1", "take: 0", (24, 17), "'take' must be at least 1"),
        ("require: [properties]", "require: [a, a]", (10, 14), "'require' lists an item twice"),
        ("path: user_id", "path: 3", (6, 16), "'path' must be a string, not the number 3"),
        ("by: groupId", "by: id", (23, 22), "'id' is not a sort key"),
        ("ids: groups", "ids: ''", (21, 16), "'ids' must not be empty"),
        (
            "sort: {by: groupId, order: ascending}",
            "sort: []",
            (23, 17),
            "'sort' must be a mapping, not a list",
        ),
    ],
)
def test_other_mistakes(old, new, where, message):
    assert old in AMPLITUDE
    assert headline(AMPLITUDE.replace(old, new))[:3] == (*where, message)


def test_empty_rules():
    text = AMPLITUDE[: AMPLITUDE.index("rules:")] + "rules: []\n"
    assert headline(text)[:3] == (7, 8, "'rules' needs at least 1 item")


def test_headline_first_then_the_rest_by_position():
    text = AMPLITUDE.replace("source: amplitude", "source: amp").replace("take: 1", "take: 0")
    text = text.replace("type: track", "type: trak") + "extra: 1\n"
    found = validate_schema(load_text(text))
    assert len(found) == 4
    positions = [(d.line, d.col) for d in found[1:]]
    assert positions == sorted(positions)
    assert validate_schema(load_text(text)) == found  # deterministic


def test_diagnostics_name_the_file():
    (diagnostic,) = validate_schema(
        load_text(AMPLITUDE.replace("version: 1", "version: 2"), "a.yaml")
    )
    assert diagnostic.format() == "a.yaml:2:10: error[AM110]: language version must be 1"


# --- the schema files themselves ------------------------------------------------------


def schema_files() -> list[str]:
    return sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.schema.json"))


@pytest.mark.parametrize("name", schema_files())
def test_schemas_are_valid_2020_12(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def properties(schema: object, where: str = "") -> Iterator[tuple[str, dict]]:
    """Every (location, property schema) in a schema, at any depth."""
    if isinstance(schema, dict):
        for key, sub in schema.items():
            if key in ("properties", "$defs") and isinstance(sub, dict):
                for name, item in sub.items():  # a map of names to schemas, not a schema
                    if key == "properties":
                        yield f"{where}/properties/{name}", item
                    yield from properties(item, f"{where}/{key}/{name}")
            elif key not in ("enum", "const"):
                yield from properties(sub, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            yield from properties(sub, f"{where}/{i}")


@pytest.mark.parametrize("name", schema_files())
def test_every_property_has_a_description(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    undocumented = [where for where, sub in properties(schema) if not sub.get("description")]
    assert undocumented == []


def test_the_mapping_schema_covers_the_language():
    schema = json.loads((SCHEMAS / "mapping.schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert {"value", "rule", "emit", "groups", "modifiers"} <= set(defs)
    assert set(schema["properties"]) == {
        "$schema",
        "version",
        "name",
        "source",
        "description",
        "define",
        "rules",
    }
    assert set(defs["rule"]["properties"]) == {"name", "description", "when", "require", "emit"}
    assert set(defs["modifiers"]["properties"]) == {"as", "default", "omit_keys"}


def test_source_fields():
    assert {"event_type", "user_id", "$insert_id", "group_properties"} <= source_fields("amplitude")
    assert len(source_fields("amplitude")) == 51
    assert {"type", "userId", "traits", "writeKey"} <= source_fields("segment")
    assert {"distinct_id", "set_once", "elements_chain"} <= source_fields("posthog")
    assert source_fields("custom") is None
    with pytest.raises(ValueError):
        source_fields("mixpanel")


@pytest.mark.parametrize(
    ("payload", "valid"),
    [
        ({"type": "identify", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z"}, True),
        ({"type": "identify", "timestamp": "2024-05-01T12:00:00.000Z"}, False),
        ({"type": "group", "groupId": "", "timestamp": "t"}, False),
        ({"type": "group", "groupId": "g", "timestamp": "t", "traits": {"mrr": 5}}, True),
        (
            {
                "type": "track",
                "event": "E",
                "userId": "u",
                "timestamp": "t",
                "groupTraits": [{"groupId": "210000", "traits": {"group_type": "Account"}}],
            },
            True,
        ),
        (
            {
                "type": "track",
                "event": "E",
                "userId": "u",
                "timestamp": "t",
                "groupTraits": [{"groupId": 210000, "traits": {}}],
            },
            False,
        ),
        ({"type": "track", "event": "E", "timestamp": "t"}, False),
        ({"type": "page", "timestamp": "t", "name": "Home", "extra": 1}, True),
        ({"type": "screen"}, False),
        ({"type": "alias", "timestamp": "t"}, False),
    ],
)
def test_payload_schema(payload, valid):
    errors = list(Draft202012Validator(payload_schema()).iter_errors(payload))
    assert (errors == []) is valid, errors


def test_payload_schema_is_a_copy():
    payload_schema()["title"] = "changed"
    assert payload_schema()["title"] != "changed"
