"""The editor settings written for a user's repository work in a real editor (its own server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accoil_map.editor import SETTINGS_FILE, write_editor_settings
from tests.editor.session import start_session

ROOT = Path(__file__).resolve().parent.parent
AMPLITUDE = (ROOT / "mappings" / "amplitude.yaml").read_text(encoding="utf-8").split("\n", 1)[1]


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    root = tmp_path_factory.mktemp("user-repository")
    write_editor_settings(root, folder="analytics")
    schemas = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))["yaml.schemas"]
    session = start_session(root, schemas)
    yield root, session
    session.stop()
    assert session.errors == []


@pytest.mark.parametrize("where", ["analytics/amplitude.yaml", "analytics/team/amplitude.yml"])
def test_the_written_settings_attach_the_schema(repository, where):
    root, editor = repository
    uri = (root / where).as_uri()
    assert editor.open(uri, AMPLITUDE) == []
    broken = AMPLITUDE.replace("type: track", "type: trak", 1)
    line = broken.splitlines().index("      type: trak")
    assert [d.range.start.line for d in editor.open(uri, broken)] == [line]


def test_files_outside_the_folder_get_no_schema(repository):
    root, editor = repository
    broken = AMPLITUDE.replace("type: track", "type: trak", 1)
    assert editor.open((root / "elsewhere" / "amplitude.yaml").as_uri(), broken) == []
