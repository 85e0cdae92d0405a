"""The cache of compiled mappings that `run` keeps: hits, misses and refusals.

Each test points ACCOIL_MAP_CACHE_DIR at its own folder and runs the CLI in
process, so what is asserted is what a user sees: same output, warnings
printed again, a changed mapping compiled afresh, a tampered entry refused.
"""

from __future__ import annotations

import json
import shutil

import pytest

from accoil_map import cache
from accoil_map.cli import main
from tests.conftest import ROOT

EVENT = (
    b'{"event_type": "Report Created", "user_id": "u1", '
    b'"event_time": "2024-05-01 12:00:00.123000"}\n'
)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOIL_MAP_CACHE_DIR", str(tmp_path / "cache"))
    mapping = tmp_path / "amplitude.yaml"
    shutil.copy(ROOT / "mappings" / "amplitude.yaml", mapping)
    events = tmp_path / "in.ndjson"
    events.write_bytes(EVENT)
    return tmp_path, mapping, events


def run(mapping, events, out, *extra):
    return main(["run", str(mapping), "-i", str(events), "-o", str(out), "-q", *extra])


def entries(root):
    return sorted((root / "cache").glob("*.json"))


def test_second_run_uses_the_entry_and_gives_the_same_output(workspace, monkeypatch):
    root, mapping, events = workspace
    assert run(mapping, events, root / "first.ndjson") == 0
    [entry] = entries(root)
    assert json.loads(entry.read_text())["name"] == "amplitude"

    def no_compiling(*args, **kwargs):
        raise AssertionError("a cached mapping was checked again")

    monkeypatch.setattr("accoil_map.pipeline.check", no_compiling)
    assert run(mapping, events, root / "second.ndjson") == 0
    first = (root / "first.ndjson").read_bytes()
    assert first == (root / "second.ndjson").read_bytes()
    assert b'"event":"Report Created"' in first


def test_a_changed_mapping_is_compiled_again(workspace):
    root, mapping, events = workspace
    run(mapping, events, root / "out.ndjson")
    mapping.write_text(mapping.read_text().replace("name: events", "name: all_events"))
    run(mapping, events, root / "out.ndjson")
    assert len(entries(root)) == 2


def test_warnings_are_printed_again_on_a_hit(workspace, capsys):
    root, mapping, events = workspace
    text = mapping.read_text()
    start = text.index("\ndescription: >-\n") + 1
    end = text.index("\n\n", start)
    # YAML 1.1 would read `yes` as a boolean: the loader warns
    mapping.write_text(text[:start] + "description: yes" + text[end:])
    for _ in range(2):
        run(mapping, events, root / "out.ndjson")
        assert "yes" in capsys.readouterr().err
    assert len(entries(root)) == 1


def test_a_tampered_entry_is_refused_and_replaced(workspace, capsys):
    root, mapping, events = workspace
    run(mapping, events, root / "out.ndjson")
    [entry] = entries(root)
    data = json.loads(entry.read_text())
    data["source"] = "import os\nos.system('touch pwned')\n" + data["source"]
    entry.write_text(json.dumps(data))
    assert cache.lookup(cache.entry_path(str(mapping))) is None
    assert run(mapping, events, root / "out.ndjson") == 0
    assert not (root / "pwned").exists()
    assert "os.system" not in entry.read_text()  # compiled again and stored over it


def test_no_cache_neither_reads_nor_writes(workspace):
    root, mapping, events = workspace
    assert run(mapping, events, root / "out.ndjson", "--no-cache") == 0
    assert entries(root) == []


def test_an_unwritable_cache_only_costs_time(workspace, monkeypatch):
    root, mapping, events = workspace
    blocker = root / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("ACCOIL_MAP_CACHE_DIR", str(blocker / "cache"))
    assert run(mapping, events, root / "out.ndjson") == 0
    assert (root / "out.ndjson").read_bytes()
