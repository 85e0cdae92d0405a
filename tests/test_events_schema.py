"""A source of one's own, checked as strictly as the shipped ones: `source: {name,
events_schema}` names a JSON Schema of the events (written by `infer-schema` from
samples), and names, paths and templates are checked against its fields."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from accoil_map import MappingError, check, load
from accoil_map.cli import main

EVENTS = [
    {"event": "Signed Up", "properties": {"distinct_id": "u1", "time": 1714550400}},
    {"event": "Report Created", "properties": {"distinct_id": "u2", "time": 1714550460}},
    {"event": "Report Created", "properties": {"distinct_id": "u2", "time": 1714550460}},
]

MAPPING = """\
version: 1
name: mixpanel
source: {name: mixpanel, events_schema: ../schemas/mixpanel.events.json}
define:
  user: {path: properties.distinct_id}
rules:
  - name: events
    emit:
      type: track
      event: "{{ event }}"
      userId: "{{ user }}"
      timestamp: {path: properties.time, as: timestamp}
"""


@pytest.fixture
def project(tmp_path, capsys) -> Path:
    """A user's repository: sample events, the schema infer-schema made of them, a mapping."""
    samples = tmp_path / "samples" / "mixpanel.ndjson"
    samples.parent.mkdir()
    samples.write_text("".join(json.dumps(event) + "\n" for event in EVENTS) + "\n")
    schema = tmp_path / "schemas" / "mixpanel.events.json"
    assert main(["infer-schema", str(samples), "-o", str(schema)]) == 0
    assert capsys.readouterr().err == f"events schema -> {schema}\n"
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "mixpanel.yaml").write_text(MAPPING)
    return tmp_path


def report(project: Path, text: str) -> list[str]:
    path = project / "mappings" / "mixpanel.yaml"
    path.write_text(text)
    with pytest.raises(MappingError) as caught:
        check(str(path))
    return [d.format().replace(str(path), "m.yaml") for d in caught.value.diagnostics]


def test_a_valid_mapping_compiles_and_runs(project):
    module = load(str(project / "mappings" / "mixpanel.yaml"))
    assert module.MAPPING_SOURCE == "mixpanel"
    assert module.transform(EVENTS[0]) == [
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u1",
            "timestamp": "2024-05-01T08:00:00.000Z",
        }
    ]


def test_an_unknown_name_in_a_template_is_an_error_with_a_hint(project):
    text = MAPPING.replace('userId: "{{ user }}"', 'userId: "{{ usr }}"')
    assert report(project, text) == [
        (
            "m.yaml:11:19: error[AM202]: unknown name 'usr': not a define and not a field of "
            "mixpanel events\n    hint: did you mean 'user'?"
        )
    ]


def test_an_unknown_field_in_a_path_is_an_error_with_a_hint(project):
    text = MAPPING.replace("{path: properties.distinct_id}", "{path: propertis.distinct_id}")
    assert report(project, text) == [
        (
            "m.yaml:5:16: error[AM203]: 'propertis' is not a field of mixpanel events\n"
            "    hint: did you mean 'properties'?"
        )
    ]


def test_an_unknown_field_far_from_any_names_the_schema_file(project):
    text = MAPPING.replace("{path: properties.distinct_id}", "{path: zzz}")
    assert report(project, text) == [
        (
            "m.yaml:5:16: error[AM203]: 'zzz' is not a field of mixpanel events\n"
            "    hint: the events schema '../schemas/mixpanel.events.json' lists no such field"
        )
    ]


@pytest.mark.parametrize(
    ("schema_text", "problem"),
    [
        pytest.param(None, "cannot read it: No such file or directory", id="missing"),
        pytest.param("{", "not JSON: ", id="not-json"),
        pytest.param('{"type": "object"}', "it has no top-level 'properties'", id="no-properties"),
        pytest.param(
            '{"properties": {}, "type": 3}', "not a valid JSON Schema: 3 is not valid", id="invalid"
        ),
    ],
)
def test_an_unusable_events_schema_is_an_error_at_its_key(project, schema_text, problem):
    schema = project / "schemas" / "mixpanel.events.json"
    if schema_text is None:
        schema.unlink()
    else:
        schema.write_text(schema_text)
    (first,) = report(project, MAPPING)
    assert first.startswith(
        "m.yaml:3:41: error[AM401]: events schema '../schemas/mixpanel.events.json': " + problem
    ), first


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "amplitud",
            "m.yaml:3:9: error[AM107]: 'amplitud' is not a source\n"
            "    hint: did you mean 'amplitude'? (use one of: amplitude, segment, posthog, custom)",
            id="misspelt-name",
        ),
        pytest.param(
            "{name: mixpanel}",
            "m.yaml:3:1: error[AM105]: missing required key 'events_schema' in "
            "source with an events schema",
            id="no-events-schema",
        ),
        pytest.param(
            "{name: mixpanel, events_schema: x.json, extra: 1}",
            "m.yaml:3:49: error[AM101]: unknown key 'extra' in source with an events schema\n"
            "    hint: allowed keys: name, events_schema",
            id="unknown-key",
        ),
        pytest.param(
            "[mixpanel]",
            "m.yaml:3:9: error[AM108]: 'source' must be a string or a mapping, not a list",
            id="a-list",
        ),
    ],
)
def test_the_source_forms_are_checked(project, source, expected):
    text = MAPPING.replace(
        "{name: mixpanel, events_schema: ../schemas/mixpanel.events.json}", source
    )
    assert report(project, text) == [expected]


def test_the_string_form_still_works():
    checked = check(MAPPING.replace(MAPPING.splitlines()[2], "source: custom"))
    assert checked.mapping.source == "custom"


def test_an_unknown_jmespath_function_is_an_error_for_custom_sources():
    text = MAPPING.replace(MAPPING.splitlines()[2], "source: custom").replace(
        "    emit:", "    when: lenght(event) > `0`\n    emit:"
    )
    with pytest.raises(MappingError) as caught:
        check(text, filename="m.yaml")
    assert [d.format() for d in caught.value.diagnostics] == [
        (
            "m.yaml:8:11: error[AM205]: unknown JMESPath function 'lenght'\n"
            "    hint: did you mean 'length'?"
        )
    ]


# --- infer-schema ----------------------------------------------------------------------


def test_infer_schema_lists_the_fields_sorted_and_is_deterministic(tmp_path, capsys):
    samples = tmp_path / "events.ndjson.gz"
    samples.write_bytes(gzip.compress(b"".join(json.dumps(e).encode() + b"\n" for e in EVENTS)))
    assert main(["infer-schema", str(samples)]) == 0
    first = capsys.readouterr().out
    schema = json.loads(first)
    assert sorted(schema["properties"]) == ["event", "properties"]
    assert sorted(schema["properties"]["properties"]["properties"]) == ["distinct_id", "time"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert first == json.dumps(schema, indent=2, sort_keys=True) + "\n"
    assert main(["infer-schema", str(samples)]) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b'{"a": 1}\nnot json\n', "line 2: invalid JSON: ", id="bad-json"),
        pytest.param(b'{"a": 1}\n[1]\n', "line 2: an event is a JSON object, not list", id="list"),
        pytest.param(b"\n\n", "no events: ", id="empty"),
    ],
)
def test_infer_schema_refuses_bad_samples_and_writes_nothing(tmp_path, capsys, content, message):
    samples = tmp_path / "events.ndjson"
    samples.write_bytes(content)
    target = tmp_path / "out.json"
    assert main(["infer-schema", str(samples), "-o", str(target)]) == 1
    assert capsys.readouterr().err.startswith(f"accoil-map: {samples}: {message}")
    assert not target.exists()
