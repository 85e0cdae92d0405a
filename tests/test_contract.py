"""The Accoil call contract: one source, two checks that agree, and no invalid body escapes.

schemas/accoil/payload.schema.json is the contract. `send` compiles it
(`accoil_map.delivery.contract`); the language reads its tables from it
(`accoil_map.language`) and generated modules check bodies with
`accoil_map.runtime.contract`. Here:

- the two checks give the same verdict and the same key path for every value
  a call body can carry at its top level;
- hypothesis draws call bodies from the schema's negation (valid bodies,
  then broken: wrong types, nulls at any depth, empty strings and groupIds,
  missing required keys, bad group entries), builds a mapping that emits each
  body through paths or object literals, and proves that no call leaving the
  generated module breaks the schema, that the interpreter gives the same
  calls and reasons, that nulls inside values are left out (null is missing at
  any depth), and that a body still broken inside a value is dropped with the
  key path `send` names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import accoil_map
from accoil_map import language
from accoil_map.delivery.contract import first_problem
from accoil_map.interpreter import Interpreter
from accoil_map.runtime import contract
from accoil_map.runtime.contract import accepts, body_problem, value_problem
from accoil_map.schema import payload_schema

SCHEMA = payload_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Draws steered by the schema's words; jsonschema is the oracle.
present = st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) | st.text(max_size=3)
keys = st.sampled_from(["a", "b", "name", "ip", "x y", ""])
nested = st.recursive(
    present | st.none(),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(keys, inner, max_size=2),
    max_leaves=6,
)
clean = st.recursive(
    present,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(keys, inner, max_size=2),
    max_leaves=6,
)
entries = st.fixed_dictionaries(
    {"groupId": st.text(min_size=1, max_size=3), "traits": st.dictionaries(keys, clean, max_size=2)}
)
GOOD = {
    **{key: st.text(min_size=1, max_size=4) for key, t in language.KEY_TYPES.items() if t is str},
    **{key: st.dictionaries(keys, clean, max_size=3) for key, t in language.KEY_TYPES.items() if t is dict},
    language.GROUP_LIST_KEY: st.lists(entries, min_size=1, max_size=2),
    "extra": clean,
}
BROKEN_ENTRIES = st.lists(
    entries
    | st.fixed_dictionaries({"groupId": st.text(max_size=3) | nested})
    | st.fixed_dictionaries({"traits": nested})
    | st.fixed_dictionaries({"groupId": st.just(""), "traits": st.just({})})
    | st.fixed_dictionaries({"groupId": st.just("g"), "traits": nested})
    | nested,
    min_size=1,
    max_size=3,
)


@st.composite
def broken_bodies(draw) -> dict:
    """A valid call body of a drawn type, then broken once in a way the schema sees."""
    call = draw(st.sampled_from(language.CALL_TYPES))
    required = language.REQUIRED_KEYS[call]
    optional = [key for key in GOOD if key not in required]
    body = {"type": call, **{key: draw(GOOD[key]) for key in required}}
    for key in draw(st.lists(st.sampled_from(optional), max_size=3, unique=True)):
        body[key] = draw(GOOD[key])
    key = draw(st.sampled_from(sorted(body.keys() - {"type"})))
    match draw(st.sampled_from(["drop", "null", "empty", "type", "nested", "entries"])):
        case "drop":
            del body[key]
        case "null":
            body[key] = None
        case "empty":
            body[key] = {str: "", list: [], dict: {}}.get(language.KEY_TYPES.get(key), "")
        case "type":
            body[key] = draw(nested)
        case "nested":
            body[draw(st.sampled_from(["extra", *(k for k, t in language.KEY_TYPES.items() if t is dict)]))] = draw(
                st.dictionaries(keys, nested, min_size=1, max_size=3)
            )
        case "entries":
            body[language.GROUP_LIST_KEY] = draw(BROKEN_ENTRIES)
    return body


def _yaml(call: str, keys: list[str], literal: dict) -> str:
    """A mapping that emits the body's keys, each from the event's `b.kN` (a path), or
    as an object literal whose values are paths (`literal`: key -> the value's keys)."""
    emit = {"type": call}
    for n, key in enumerate(keys):
        if key in literal:
            emit[key] = {"object": {k: {"path": f"b.k{n}.{json.dumps(k)}"} for k in literal[key]}}
        else:
            emit[key] = {"path": f"b.k{n}"}
    rule = {"name": "r", "emit": emit}
    return json.dumps({"version": 1, "name": "negation", "source": "custom", "rules": [rule]})


def _run(function, event):
    reasons: list = []
    return function(event, reasons), reasons


@SETTINGS
@given(broken_bodies(), st.booleans())
def test_no_body_that_breaks_the_schema_leaves_a_generated_module(body, literals):
    # Every required key is emitted (a mapping must); a dropped one is absent from the event.
    keys = [*dict.fromkeys([*language.REQUIRED_KEYS[body["type"]], *body])]
    keys.remove("type")
    literal = {
        key: list(value)
        for key, value in body.items()
        if literals and key != "type" and isinstance(value, dict) and value
    }
    checked = accoil_map.check(_yaml(body["type"], keys, literal) + "\n")
    module = accoil_map.load(checked)
    event = {"b": {f"k{n}": body[key] for n, key in enumerate(keys) if key in body}}
    calls, reasons = _run(module.transform, event)
    for call in calls:
        assert VALIDATOR.is_valid(call), (call, list(VALIDATOR.iter_errors(call)))
    assert (calls, reasons) == _run(Interpreter(checked.mapping).transform, event)
    # Every top-level value the body can carry kept, without the nulls inside (null is
    # missing at any depth): a problem still inside one drops the call, with the key
    # path `send` names.
    carried = {k: v for k, v in body.items() if k == "type" or accepts(k, v, False)}
    for k, v in carried.items():
        cleaned = contract.without_nulls(v)
        carried[k] = cleaned if accepts(k, cleaned, False) else v
    if not literal and carried.keys() >= set(language.REQUIRED_KEYS[body["type"]]):
        problem = first_problem(carried)
        if problem is None:
            assert calls == [carried] and reasons == []
        else:
            assert calls == [] and reasons == [("r", (problem.where,))]


@SETTINGS
@given(st.sampled_from(sorted(GOOD)), nested | BROKEN_ENTRIES | st.lists(entries, min_size=1))
def test_run_time_check_and_send_agree_on_every_value(key, value):
    """For a value a body can carry at its top level, the generated modules' check finds
    a problem exactly when `send` does, at the same key path."""
    if not accepts(key, value, False):
        return
    body = {"type": "page", "timestamp": "t", key: value}
    problem = first_problem(body)
    assert value_problem(key, value) == (None if problem is None else problem.where)
    # A generated module leaves the nulls inside out first (null is missing at any
    # depth); what is still wrong is what `send` finds in the cleaned body.
    cleaned = contract.without_nulls(value)
    carried = {**body, key: cleaned} if accepts(key, cleaned, False) else body
    after = first_problem(carried)
    assert body_problem(body, (key,)) == (None if after is None else after.where)
    assert after is not None or body == carried  # a body that is sent carries no null
    assert contract.without_nulls(cleaned) == cleaned
    # The fast verdict (no key paths) and the walk that names the path agree.
    assert contract._holds(key, value) == (contract._first_problem(key, value) is None)
    # Nulls inside left to the caller (run looks for them in the JSON it writes): a
    # problem found is the full check's; none found, with no null, is the full verdict.
    deferred = {**body}
    problem = body_problem(deferred, (key,), False)
    if problem is not None or "null" not in json.dumps(value):
        assert problem == body_problem({**body}, (key,)) and deferred == body


def test_the_language_reads_its_contract_from_the_payload_schema():
    """One source: every table of the contract is what the schema file says."""
    properties = SCHEMA["properties"]
    assert language.CALL_TYPES == tuple(properties["type"]["enum"])
    for branch in SCHEMA["allOf"]:
        call = branch["if"]["properties"]["type"]["const"]
        assert language.REQUIRED_KEYS[call] == tuple(branch["then"]["required"])
    json_types = {"string": str, "object": dict, "array": list}
    assert language.KEY_TYPES == {
        key: json_types[rule["type"]] for key, rule in properties.items() if key != "type"
    }
    entry = properties[language.GROUP_LIST_KEY]["items"]
    assert list(language.GROUP_ENTRY_TYPES) == entry["required"]


@pytest.mark.parametrize(
    ("group_traits", "reason"),
    [
        ('[{groupId: "{{ g }}"}]', "groupTraits[0].traits"),
        ("[{traits: {path: t}}]", "groupTraits[0].groupId"),
        ('[{groupId: "{{ g }}", traits: {path: t}}, {path: t}]', "groupTraits[1].groupId"),
    ],
)
def test_a_group_list_built_from_a_flat_field_is_dropped_with_its_key_path(group_traits, reason):
    """The mistakes a new user made (issue 10): list literals of partial group entries."""
    text = (
        "version: 1\nname: flat\nsource: custom\nrules:\n  - name: events\n    emit:\n"
        "      type: track\n      event: e\n      userId: u\n      timestamp: t\n"
        f"      groupTraits: {group_traits}\n"
    )
    checked = accoil_map.check(text)
    event = {"g": "acme", "t": {"plan": "pro"}}
    for transform in (accoil_map.load(checked).transform, Interpreter(checked.mapping).transform):
        assert _run(transform, event) == ([], [("events", (reason,))])


def test_an_empty_group_list_is_left_out_like_an_empty_string():
    text = (
        "version: 1\nname: flat\nsource: custom\nrules:\n  - name: events\n    emit:\n"
        "      type: track\n      event: e\n      userId: u\n      timestamp: t\n"
        "      groupTraits: [{path: missing}]\n"
    )
    module = accoil_map.load(accoil_map.check(text))
    assert _run(module.transform, {}) == (
        [{"type": "track", "event": "e", "userId": "u", "timestamp": "t"}],
        [],
    )


def test_values_the_mapping_proves_are_not_checked_at_run_time():
    """Decided at compile time where the mapping proves it: text, conversions, literals."""
    text = (
        "version: 1\nname: proven\nsource: custom\nrules:\n  - name: events\n    emit:\n"
        "      type: identify\n      userId: u\n      timestamp: t\n"
        '      traits: {a: "id {{ x }}", b: {path: y, as: number}, c: [1, {d: "{{ z | lower }}"}]}\n'
        "      context: {path: raw}\n"
    )
    source = accoil_map.compile_source(accoil_map.check(text))
    assert '_CHECK_1 = ("context",)' in source
    assert source.count("= body_problem(body,") == 1


def test_explain_names_the_key_path_from_a_fresh_process(tmp_path):
    """`accoil-map explain` (its own process: the interpreter imported first) shows why."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"g": "acme", "t": {"plan": "pro"}}))
    mapping = tmp_path / "flat.yaml"
    mapping.write_text(
        "version: 1\nname: flat\nsource: custom\nrules:\n  - name: events\n    emit:\n"
        "      type: track\n      event: e\n      userId: u\n      timestamp: t\n"
        '      groupTraits: [{groupId: "{{ g }}"}]\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "accoil_map", "explain", str(mapping), str(event)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "not emitted: groupTraits[0].traits must be an object" in result.stdout


def test_nulls_inside_values_are_left_out_not_the_call():
    """Null is missing at any depth: an Amplitude identify whose user properties hold a
    null, and a track whose primary group's traits do, are sent without the nulls."""
    module = accoil_map.load(Path(__file__).resolve().parent.parent / "mappings" / "amplitude.yaml")
    base = {"user_id": "u", "event_time": "2024-05-01 12:00:00"}
    identify = {**base, "event_type": "$identify", "user_properties": {"a": None, "b": [1, None]}}
    assert module.transform(identify)[0]["traits"] == {"b": [1]}
    groups = {"groups": {"Account": "1"}, "group_properties": {"Account": {"1": {"name": None}}}}
    (track,) = module.transform({**base, "event_type": "x", **groups})
    assert track["groupTraits"] == [{"groupId": "1", "traits": {"group_type": "Account"}}]
