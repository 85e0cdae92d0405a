"""`explain`: the report a user reads about one event, pinned for every shipped mapping.

The events are golden cases (golden/<mapping>/cases/), chosen so that each
mapping shows a rule that emits a call, rules that do not match, a call not
sent because a required key is missing, and a rejected event; the full text
is a syrupy snapshot under tests/__snapshots__/test_explain/.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

import accoil_map
from accoil_map import explain
from accoil_map.cli import main
from tests.conftest import ROOT

NOT_AN_OBJECT = "not-an-object"

EVENTS = {
    "amplitude": [
        "track_with_primary_group",
        "track_missing_user_id",
        "page_view_named_by_title",
        "groupidentify_sets_primary_group_traits",
        NOT_AN_OBJECT,
    ],
    "segment": [
        "track_context_group_id_not_sent",
        "identify_missing_user_id",
        "alias_not_supported",
        NOT_AN_OBJECT,
    ],
    "posthog": [
        "custom_event",
        "pageview_without_title_or_pathname",
        "event_name_missing_rejected",
        NOT_AN_OBJECT,
    ],
    "rudderstack": [
        "peer_processor_300",
        "peer_processor_1200",
        NOT_AN_OBJECT,
    ],
}
CASES = [
    pytest.param(name, case, id=f"{name}-{case}")
    for name, cases in EVENTS.items()
    for case in cases
]


class TextSnapshot(SingleFileSnapshotExtension):
    """One readable .txt file per snapshot."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def text_snapshot(snapshot):
    return snapshot.use_extension(TextSnapshot)


def mapping_path(name: str) -> str:
    return str(ROOT / "mappings" / f"{name}.yaml")


def event_of(name: str, case: str):
    """The input event of a golden case; a JSON array for NOT_AN_OBJECT."""
    if case == NOT_AN_OBJECT:
        return ["not", "an", "object"]
    path = ROOT / "golden" / name / "cases" / f"{case}.json"
    return json.loads(path.read_text(encoding="utf-8"))["event"]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_explain_shipped_mapping(name, case, text_snapshot):
    assert str(explain(mapping_path(name), event_of(name, case))) == text_snapshot


@pytest.mark.parametrize("name", list(EVENTS))
def test_the_cli_prints_the_same_text(name, tmp_path, capsys):
    event = event_of(name, EVENTS[name][0])
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    assert main(["explain", mapping_path(name), str(event_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out == str(explain(mapping_path(name), event)) + "\n"
    assert captured.err == ""


def test_explain_stays_callable_after_use():
    event = {"event_type": "Report Created"}
    first = str(accoil_map.explain(mapping_path("amplitude"), event))
    assert callable(accoil_map.explain)
    assert str(accoil_map.explain(mapping_path("amplitude"), event)) == first


DEFINE_NOT_NEEDED = """\
version: 1
name: m
source: custom
define:
  is_admin: {path: "starts_with(role, 'admin')"}
rules:
  - name: admins
    when: "kind == 'admin'"
    emit: {type: identify, userId: "{{ user }}", timestamp: "{{ ts }}", traits: {a: "{{ is_admin }}"}}
  - name: others
    emit: {type: page, timestamp: "{{ ts }}"}
"""


def test_a_define_that_would_reject_is_not_shown_as_a_string():
    event = {"kind": "other", "ts": "2024-05-01T00:00:00Z"}
    text = str(explain(DEFINE_NOT_NEEDED, event))
    assert "1 call emitted" in text
    assert "starts_with() expects strings, got null" in text
    assert 'is_admin = "' not in text


# --- debugging one event: raw inputs, mapping lines, reasons, where it was rejected -------

AMPLITUDE_EVENT = {
    "event_type": "Report Created",
    "user_id": "u1",
    "event_time": "yesterday",
    "user_properties": {"plan_type": "pro"},
}


def test_a_value_that_could_not_be_converted_shows_its_input_and_why():
    text = str(explain(mapping_path("amplitude"), AMPLITUDE_EVENT))
    assert (
        '  timestamp = (missing: "yesterday" is not a timestamp)    <- line 46: {{ timestamp }}\n'
        '      read: event_time = "yesterday"\n'
        '  not emitted: timestamp: "yesterday" is not a timestamp\n'
    ) in text
    assert "rule 'events' (track, line 39) when " in text


def test_a_missing_input_is_told_apart_from_a_failed_conversion():
    event = {key: value for key, value in AMPLITUDE_EVENT.items() if key != "event_time"}
    text = str(explain(mapping_path("amplitude"), event))
    assert "  not emitted: timestamp: event_time is missing\n" in text
    assert "      read: event_time = (missing)\n" in text


def test_a_rejection_names_the_rule_the_key_and_the_define():
    event = {"kind": "admin", "user": "u", "ts": "2024-05-01T00:00:00Z"}
    assert str(explain(DEFINE_NOT_NEEDED, event)) == (
        "event rejected: starts_with() expects strings, got null\n"
        "  by rule 'admins' (line 7), key 'traits' (line 9): {\"a\": \"{{ is_admin }}\"}\n"
        "  reading define 'is_admin' (line 5): {\"path\": \"starts_with(role, 'admin')\"}\n"
        "  read: role = (missing)"
    )


def write_ndjson(path, events) -> None:
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_the_event_can_be_a_line_of_an_ndjson_file(tmp_path, capsys, compress):
    import gzip

    events = tmp_path / "events.ndjson"
    write_ndjson(events, [{"event_type": "first"}, AMPLITUDE_EVENT])
    if compress:
        events.write_bytes(gzip.compress(events.read_bytes()))
    assert main(["explain", mapping_path("amplitude"), f"{events}:2"]) == 0
    assert capsys.readouterr().out == str(explain(mapping_path("amplitude"), AMPLITUDE_EVENT)) + "\n"


@pytest.mark.parametrize(
    ("lines", "suffix", "message"),
    [
        pytest.param([b"{}"], ":3", "{path} has no line 3 (it has 1 line)", id="beyond-the-end"),
        pytest.param([b"{}", b""], ":2", "{spec}: empty, not an event", id="blank"),
        pytest.param([b"{}", b"{nope"], ":2", "{spec}: invalid JSON: ", id="bad-json"),
        pytest.param([b"{}"], ":0", "no such file: {spec}", id="line-zero"),
    ],
)
def test_a_bad_line_reference_is_a_usage_error(tmp_path, capsys, lines, suffix, message):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    spec = f"{path}{suffix}"
    assert main(["explain", mapping_path("amplitude"), spec]) == 2
    expected = message.format(spec=spec, path=path)
    assert capsys.readouterr().err.startswith(f"accoil-map: error: {expected}")


def test_the_event_can_come_from_stdin_in_a_fresh_process():
    """`-` reads stdin; a real process also checks the command imports cleanly on its own."""
    done = subprocess.run(
        [sys.executable, "-m", "accoil_map", "explain", mapping_path("amplitude"), "-"],
        input=json.dumps(AMPLITUDE_EVENT).encode(),
        capture_output=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    expected = str(explain(mapping_path("amplitude"), AMPLITUDE_EVENT)) + "\n"
    assert done.stdout.decode() == expected
