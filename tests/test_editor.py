"""The mapping schema in a real editor: yaml-language-server, driven over stdio as editors drive it.

One server process serves the whole module (tests/editor/session.py). The
server is the one pinned in tests/editor/package-lock.json (`npm ci --prefix
tests/editor`, which `make test` and `.ci/run` do). Without node the module
is skipped, except under CI, where a skipped editor test is a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from accoil_map import MappingError, check
from accoil_map.language import OPERATORS
from tests.editor.session import EditorSession, start_session
from tests.test_schema import AMPLITUDE
from tests.test_schema_editing import MAPPING

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "mapping.schema.json").read_text(encoding="utf-8"))
SHIPPED = sorted((ROOT / "mappings").glob("*.yaml"))


CATALOG_ENTRY = json.loads(
    (ROOT / "docs" / "schemastore-catalog-entry.json").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def editor():
    # The repository's own settings, as VS Code reads them, plus the file
    # patterns of the SchemaStore catalog entry (which would bring the same
    # schema from its URL).
    (schemas,) = [json.loads((ROOT / ".vscode" / "settings.json").read_text())["yaml.schemas"]]
    ((schema, patterns),) = schemas.items()
    session = start_session(ROOT, {schema: [*patterns, *CATALOG_ENTRY["fileMatch"]]})
    yield session
    session.stop()
    assert session.errors == []


def document(name: str) -> str:
    """The URI of a document in mappings/ (it need not exist: the editor sends the text)."""
    return (ROOT / "mappings" / name).as_uri()


def no_server_errors(editor: EditorSession) -> None:
    assert editor.errors == [], editor.errors


# --------------------------------------------------------------------------
# The shipped mappings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_mappings_have_no_diagnostics(editor, path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/mapping.schema.json")
    assert editor.open(path.as_uri(), text) == []
    no_server_errors(editor)


@pytest.mark.parametrize(
    "where",
    [
        "mappings/moved.yaml",  # the shipped settings
        "mappings/team/deeper/moved.yaml",
        "elsewhere/amplitude.accoil.yaml",  # the catalog entry's patterns
        "elsewhere/deeper/amplitude.accoil.yml",
    ],
)
def test_settings_attach_the_schema_without_a_schema_line(editor, where):
    text = (ROOT / "mappings" / "amplitude.yaml").read_text(encoding="utf-8")
    text = text.split("\n", 1)[1].replace("version: 1", "version: 2")
    found = editor.open((ROOT / where).as_uri(), text)
    assert [(d.range.start.line + 1, d.message) for d in found] == [
        (text.splitlines().index("version: 2") + 1, "The mapping language version is 1.")
    ]


def test_other_files_get_no_schema(editor):
    text = (ROOT / "mappings" / "amplitude.yaml").read_text(encoding="utf-8").split("\n", 1)[1]
    assert (
        editor.open(
            (ROOT / "elsewhere" / "amplitude.yaml").as_uri(),
            text.replace("version: 1", "version: 2"),
        )
        == []
    )


def test_a_self_referencing_items_schema_crashes_completion_and_is_caught(editor, tmp_path):
    # What the schema used to do: `items` of the value schema was the value
    # schema, and the server's default-value completion recursed without end.
    # Proves that a server error fails these tests; the mapping schema has none.
    crashing = tmp_path / "crashing.schema.json"
    crashing.write_text(
        json.dumps(
            {
                "$defs": {"v": {"items": {"$ref": "#/$defs/v"}}},
                "additionalProperties": {"$ref": "#/$defs/v"},
            }
        )
    )
    text = f"# yaml-language-server: $schema={crashing.as_uri()}\na: \n"
    editor.open(document("crashing.yaml"), text)
    editor.complete(document("crashing.yaml"), 1, 3)
    caught, editor.errors[:] = list(editor.errors), []
    assert len(caught) == 1 and "RangeError: Maximum call stack size exceeded" in caught[0]


# --------------------------------------------------------------------------
# Completion
# --------------------------------------------------------------------------

# A mapping whose one rule has `type: CALL` and the cursor below it.
RULE = MAPPING[: MAPPING.index("      type: identify")] + "      type: CALL\n      CURSOR\n"

CALL_KEYS = {
    "identify": {"userId", "timestamp", "traits"},
    "group": {"groupId", "timestamp", "userId", "anonymousId", "traits"},
    "track": {"event", "userId", "timestamp", "properties", "context", "groupTraits"},
    "page": {"timestamp", "userId", "name"},
    "screen": {"timestamp", "userId", "name"},
}


def complete_at_cursor(editor: EditorSession, text: str, name: str = "completion.yaml"):
    """Completion items where CURSOR stands in `text` (the marker itself is removed)."""
    lines = text.splitlines()
    line = next(i for i, content in enumerate(lines) if "CURSOR" in content)
    character = lines[line].index("CURSOR")
    editor.open(document(name), text.replace("CURSOR", ""))
    return editor.complete(document(name), line, character)


@pytest.mark.parametrize("call", list(CALL_KEYS))
def test_completion_offers_the_keys_of_each_call_type_inside_emit(editor, call):
    items = complete_at_cursor(editor, RULE.replace("CALL", call))
    # "<call> call" inserts the keys the call needs, all at once.
    assert {item.label for item in items} == CALL_KEYS[call] | {f"{call} call"}
    no_server_errors(editor)


VALUE_POSITIONS = {
    "define": "define:\n  user: CURSOR",
    "call key": "      userId: CURSOR",
    "object literal key": "      traits:\n        plan: CURSOR",
    "coalesce item": "      userId:\n        coalesce:\n          - CURSOR",
    "merge item": "      traits:\n        merge:\n          - {path: traits}\n          - CURSOR",
    "default": "      userId:\n        path: user_id\n        default: CURSOR",
    "value": "      userId:\n        value: CURSOR",
    "object operator key": "      traits:\n        object:\n          as: CURSOR",
}


def value_position(where: str) -> str:
    """An identify mapping with the cursor at one kind of value position."""
    text = RULE.replace("CALL", "identify").replace("      CURSOR\n", "      timestamp: t\n")
    if where == "define":
        return text.replace("define:\n  user: {path: user_id}", VALUE_POSITIONS[where])
    return text + VALUE_POSITIONS[where] + "\n"


@pytest.mark.parametrize("where", list(VALUE_POSITIONS))
def test_completion_offers_the_operators_at_every_value_position(editor, where):
    labels = {item.label for item in complete_at_cursor(editor, value_position(where))}
    assert set(OPERATORS) <= labels
    no_server_errors(editor)


def insert_snippet(text: str, snippet: str) -> str:
    """`text` with `snippet` at CURSOR, as an editor inserts it: each new line indented like
    the cursor's line, every placeholder keeping its default text."""
    line = next(content for content in text.splitlines() if "CURSOR" in content)
    indent = line[: len(line) - len(line.lstrip(" "))]
    snippet = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", snippet)
    snippet = re.sub(r"\$\d+", "", snippet)
    snippet = re.sub(r"\\([$}\\])", r"\1", snippet)
    return text.replace("CURSOR", snippet.replace("\n", "\n" + indent))


def test_every_operator_snippet_inserts_a_valid_value(editor):
    text = value_position("call key")
    items = complete_at_cursor(editor, text)
    snippets = [item for item in items if item.label in OPERATORS]
    assert {item.label for item in snippets} == set(OPERATORS)
    for item in snippets:
        inserted = insert_snippet(text, item.insert_text)
        check(inserted)  # raises MappingError if the snippet left an invalid value
        assert editor.open(document("snippet.yaml"), inserted) == [], inserted
    no_server_errors(editor)


def test_completing_take_inserts_a_valid_number(editor):
    text = RULE.replace("CALL", "track").replace(
        "      CURSOR\n",
        "      event: e\n      userId: u\n      timestamp: t\n"
        "      groupTraits:\n        groups:\n          ids: groups\n          traits: g\n"
        "          CURSOR\n",
    )
    (take,) = [item for item in complete_at_cursor(editor, text) if item.label == "take"]
    inserted = insert_snippet(text, take.insert_text)
    assert "take: 1" in inserted
    check(inserted)


# --------------------------------------------------------------------------
# Hover: each key shows its own title and text
# --------------------------------------------------------------------------

# `# hover KEY: POINTER` asks for a hover on KEY in that line, whose heading
# and text must be those of the schema at POINTER.
TOUR = """\
version: 1  # hover version: /properties/version
name: tour  # hover name: /properties/name
source: custom  # hover source: /properties/source
description: every kind of key  # hover description: /properties/description
define:  # hover define: /properties/define
  user:  # hover user: /properties/define/additionalProperties
    coalesce:  # hover coalesce: /$defs/coalesceValue/properties/coalesce
      - {path: user_id}  # hover path: /$defs/pathValue/properties/path
      - literal: nobody  # hover literal: /$defs/literalValue/properties/literal
    default: anonymous  # hover default: /$defs/coalesceValue/properties/default
  traits_in:
    merge:  # hover merge: /$defs/mergeValue/properties/merge
      - {path: traits}
      - email: {path: traits.email}  # hover email: /$defs/objectLiteral/additionalProperties
        pth: x  # hover pth: /$defs/objectLiteral/patternProperties/^(?:.path|ath|.ath|apth|p.ath|pth|p.th|ptah|pa.th|pah|pa.h|paht|pat.h|pat|pat.|path.)$
    omit_keys: [ip]  # hover omit_keys: /$defs/mergeValue/properties/omit_keys
  plan:
    value: "{{ plan_name }}"  # hover value: /$defs/valueValue/properties/value
    as: string  # hover as: /$defs/valueValue/properties/as
  primary:
    groups:  # hover groups: /$defs/groupsValue/properties/groups
      ids: groups  # hover ids: /$defs/groups/properties/ids
      traits: group_properties  # hover traits: /$defs/groups/properties/traits
      sort:  # hover sort: /$defs/groups/properties/sort
        by: groupId  # hover by: /$defs/groups/properties/sort/properties/by
        order: ascending  # hover order: /$defs/groups/properties/sort/properties/order
        compare: numeric  # hover compare: /$defs/groups/properties/sort/properties/compare
      take: 1  # hover take: /$defs/groups/properties/take
      type_trait: group_type  # hover type_trait: /$defs/groups/properties/type_trait
  odd:
    object:  # hover object: /$defs/objectValue/properties/object
      path: /home  # hover path: /$defs/objectValue/properties/object/additionalProperties
rules:  # hover rules: /properties/rules
  - name: identify  # hover name: /$defs/rule/properties/name
    description: the user  # hover description: /$defs/rule/properties/description
    when: "type == 'identify'"  # hover when: /$defs/rule/properties/when
    require: [traits]  # hover require: /$defs/rule/properties/require
    emit:  # hover emit: /$defs/rule/properties/emit
      type: identify  # hover type: /$defs/emit/properties/type
      userId: "{{ user }}"  # hover userId: /$defs/identifyCall/properties/userId
      timestamp: {path: ts, as: timestamp}  # hover timestamp: /$defs/identifyCall/properties/timestamp
      traits: "{{ traits_in }}"  # hover traits: /$defs/identifyCall/properties/traits
      plan: "{{ plan }}"  # hover plan: /$defs/emit/unevaluatedProperties
  - name: group
    emit:
      type: group
      groupId: "{{ primary[0].groupId }}"  # hover groupId: /$defs/groupCall/properties/groupId
      timestamp: "{{ ts }}"  # hover timestamp: /$defs/groupCall/properties/timestamp
      anonymousId: "{{ anonymous_id }}"  # hover anonymousId: /$defs/groupCall/properties/anonymousId
      userId: "{{ user }}"  # hover userId: /$defs/groupCall/properties/userId
      traits: {path: group_traits}  # hover traits: /$defs/groupCall/properties/traits
  - name: track
    emit:
      type: track
      event: "{{ event }}"  # hover event: /$defs/trackCall/properties/event
      userId: "{{ user }}"  # hover userId: /$defs/trackCall/properties/userId
      timestamp: "{{ ts }}"  # hover timestamp: /$defs/trackCall/properties/timestamp
      properties: {path: props}  # hover properties: /$defs/trackCall/properties/properties
      context: {groupId: "{{ primary[0].groupId }}"}  # hover context: /$defs/trackCall/properties/context
      groupTraits: "{{ primary }}"  # hover groupTraits: /$defs/trackCall/properties/groupTraits
  - name: page
    emit:
      type: page
      timestamp: "{{ ts }}"  # hover timestamp: /$defs/pageCall/properties/timestamp
      name: "{{ title }}"  # hover name: /$defs/pageCall/properties/name
      odd: "{{ odd }}"
  - name: screen
    emit:
      type: screen
      timestamp: "{{ ts }}"  # hover timestamp: /$defs/screenCall/properties/timestamp
      userId: "{{ user }}"  # hover userId: /$defs/screenCall/properties/userId
      name: "{{ screen }}"  # hover name: /$defs/screenCall/properties/name
"""
HOVERS = [
    (number, line, key, pointer)
    for number, line in enumerate(TOUR.splitlines())
    for key, pointer in re.findall(r"# hover (\S+): (.+)$", line)
]


def key_column(line: str, key: str) -> int:
    """Where `key:` starts in a line of YAML (before its comment)."""
    content = line.split("  #", 1)[0]
    return re.search(rf"(?<![\w$]){re.escape(key)}:", content).start()


def at_pointer(pointer: str) -> dict:
    node = SCHEMA
    for part in pointer.lstrip("/").split("/"):
        node = node[part]
    return node


def test_the_tour_is_a_valid_mapping():
    checked = check(TOUR)
    assert [d.message for d in checked.warnings] == [
        "'pth' makes this mapping an object literal; did you mean the operator 'path'?"
    ]


def test_hover_shows_each_keys_own_title_and_text(editor):
    assert len(HOVERS) >= 30
    editor.open(document("tour.yaml"), TOUR)
    shown, expected = {}, {}
    for number, line, key, pointer in HOVERS:
        schema = at_pointer(pointer)
        text = f"#### {schema['title']}\n\n{schema['markdownDescription']}"
        hover = editor.hover(document("tour.yaml"), number, key_column(line, key) + 1)
        shown[(number + 1, key)] = hover[: len(text)]
        expected[(number + 1, key)] = text
    assert shown == expected
    no_server_errors(editor)


# --------------------------------------------------------------------------
# Broken mappings: the editor flags the line `validate` reports
# --------------------------------------------------------------------------

# The Amplitude mapping of the schema tests, without its schema line: opened
# under mappings/, it gets the schema from the settings.
BASE = AMPLITUDE.split("\n", 1)[1]

BROKEN = {
    "version": ("version: 1", "version: 2"),
    "mapping name": ("name: amplitude", "name: Amplitude"),
    "source": ("source: amplitude", "source: amp"),
    "unknown top-level key": ("define:", "defines:"),
    "define name": ("  user:", "  1user:"),
    "rule name": ("name: events", "name: -events"),
    "unknown rule key": ("    when:", "    whne:"),
    "empty when": ("when: \"!contains(['$identify', '$groupidentify'], event_type)\"", 'when: ""'),
    "require twice": ("require: [properties]", "require: [properties, properties]"),
    "call type": ("type: track", "type: trak"),
    "conversion": ("as: timestamp", "as: time"),
    "path not a string": ("path: event_time", "path: 3"),
    "two operators": ("as: timestamp", "coalesce: [x]"),
    "unknown modifier": ("as: timestamp", "defualt: now"),
    "modifier without operator": (
        "{path: user_properties.plan_type}",
        "{pth: plan_type, as: string}",
    ),
    "required key constant": ('userId: "{{ user }}"', "userId: 5"),
    "required key empty": ('event: "{{ event_type }}"', 'event: ""'),
    "take zero": ("take: 1", "take: 0"),
    "take text": ("take: 1", "take: '1'"),
    "sort key": ("by: groupId", "by: id"),
    "sort not a mapping": ("sort: {by: groupId, order: ascending}", "sort: []"),
    "empty ids": ("ids: groups", "ids: ''"),
    "empty omit_keys": ("as: timestamp", "omit_keys: []"),
    "empty coalesce": ('userId: "{{ user }}"', "userId: {coalesce: []}"),
}


def validate_lines(text: str) -> set[int]:
    """The lines of the errors `validate` reports for `text`."""
    with pytest.raises(MappingError) as raised:
        check(text)
    return {d.line for d in raised.value.diagnostics if d.severity == "error"}


def test_the_base_mapping_is_valid(editor):
    check(BASE)
    assert editor.open(document("base.yaml"), BASE) == []


@pytest.mark.parametrize(("old", "new"), list(BROKEN.values()), ids=list(BROKEN))
def test_broken_mappings_are_flagged_on_the_lines_validate_reports(editor, old, new):
    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    found = editor.open(document("broken.yaml"), text)
    assert {d.range.start.line + 1 for d in found} == validate_lines(text)
    no_server_errors(editor)


def test_a_missing_call_key_is_flagged_by_both(editor):
    # Both mark the key that holds the object lacking a key (`emit:`).
    text = BASE.replace('      userId: "{{ user }}"\n', "")
    emit = text.splitlines().index("    emit:") + 1
    assert validate_lines(text) == {emit}
    found = editor.open(document("broken.yaml"), text)
    assert [(d.range.start.line + 1, d.message) for d in found] == [
        (emit, 'Missing property "userId".')
    ]


def test_a_key_one_edit_from_an_operator_is_a_warning_in_validate_and_a_hover_in_the_editor(editor):
    # yaml-language-server publishes every schema problem as an error, so the
    # schema says it in the hover of the key instead of flagging it.
    text = BASE.replace("{path: user_id}", "{pth: user_id}")
    (warning,) = check(text).warnings
    assert warning.message == (
        "'pth' makes this mapping an object literal; did you mean the operator 'path'?"
    )
    assert editor.open(document("typo.yaml"), text) == []
    hover = editor.hover(document("typo.yaml"), warning.line - 1, warning.col)
    assert hover.startswith(
        "#### one edit from 'path'\n\nThis key is one edit away from the operator"
    )
