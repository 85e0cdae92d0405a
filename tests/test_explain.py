"""`explain`: the report a user reads about one event, pinned for every shipped mapping.

The events are golden cases (golden/<mapping>/cases/), chosen so that each
mapping shows a rule that emits a call, rules that do not match, a call not
sent because a required key is missing, and a rejected event; the full text
is a syrupy snapshot under tests/__snapshots__/test_explain/.
"""

from __future__ import annotations

import json

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
