"""The cache of compiled mappings that `run` keeps: hits, misses and refusals.

Each test points ACCOIL_MAP_CACHE_DIR at its own folder and runs the CLI in
process, so what is asserted is what a user sees: same output, warnings
printed again, a changed mapping compiled afresh, a tampered entry refused.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

import accoil_map.pipeline
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
    key = cache.entry_key(mapping.read_bytes(), str(mapping))
    assert cache.lookup(cache.trusted_dir(), key) is None
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


# --- a cache that cannot be trusted ---------------------------------------------------------


def test_a_planted_link_is_neither_read_nor_written_through(workspace):
    root, mapping, events = workspace
    victim = root / "victim.txt"
    victim.write_text("keep me")
    folder = root / "cache"
    folder.mkdir(mode=0o700)
    key = cache.entry_key(mapping.read_bytes(), str(mapping))
    (folder / f"{key}.json").symlink_to(victim)
    assert run(mapping, events, root / "out.ndjson") == 0
    assert victim.read_text() == "keep me"
    assert not (folder / f"{key}.json").is_symlink()  # replaced by a real entry
    assert json.loads((folder / f"{key}.json").read_text())["name"] == "amplitude"


def test_temporary_names_are_not_predictable(workspace):
    root, mapping, events = workspace
    folder = root / "cache"
    folder.mkdir(mode=0o700)
    key = cache.entry_key(mapping.read_bytes(), str(mapping))
    # the names the old cache wrote through: a link at each one changes nothing now
    victim = root / "victim.txt"
    victim.write_text("keep me")
    for pid in range(os.getpid() - 5, os.getpid() + 50):
        (folder / f"{key}.{pid}.tmp").symlink_to(victim)
    assert run(mapping, events, root / "out.ndjson") == 0
    assert victim.read_text() == "keep me"
    assert len(entries(root)) == 1


def test_a_folder_writable_by_others_is_not_used(workspace, capsys):
    root, mapping, events = workspace
    folder = root / "cache"
    folder.mkdir()
    folder.chmod(0o777)
    for _ in range(2):
        assert run(mapping, events, root / "out.ndjson") == 0
    err = capsys.readouterr().err
    assert err.count("not using the cache") == 1 and "writable by others" in err
    assert entries(root) == []


def test_a_folder_of_another_user_is_not_used(workspace, monkeypatch, capsys):
    root, mapping, events = workspace
    run(mapping, events, root / "out.ndjson")
    someone_else = os.getuid() + 1
    monkeypatch.setattr(cache.os, "getuid", lambda: someone_else)
    monkeypatch.setattr("accoil_map.pipeline.check", _counting_check(calls := []))
    assert run(mapping, events, root / "out.ndjson") == 0
    assert calls, "the entry of another user's folder was used"
    assert "belongs to another user" in capsys.readouterr().err


def test_an_entry_writable_by_others_is_not_used(workspace, monkeypatch):
    root, mapping, events = workspace
    run(mapping, events, root / "out.ndjson")
    [entry] = entries(root)
    entry.chmod(0o666)
    monkeypatch.setattr("accoil_map.pipeline.check", _counting_check(calls := []))
    assert run(mapping, events, root / "out.ndjson") == 0
    assert calls


def test_the_bytes_hashed_are_the_bytes_compiled(workspace, monkeypatch):
    """An editor's atomic save between the read and the compile cannot pair A's key
    with B's module: the mapping is read once."""
    root, mapping, events = workspace
    original = mapping.read_bytes()
    real_check = accoil_map.pipeline.check

    def save_meanwhile(source, **kwargs):
        mapping.write_bytes(original.replace(b"name: events", b"name: renamed"))
        return real_check(source, **kwargs)

    monkeypatch.setattr("accoil_map.pipeline.check", save_meanwhile)
    assert run(mapping, events, root / "out.ndjson") == 0
    stored = json.loads((root / "cache" / f"{cache.entry_key(original, str(mapping))}.json")
                        .read_text())
    assert "'events'" in stored["source"] or '"events"' in stored["source"]
    assert "renamed" not in stored["source"]


def test_the_key_covers_the_readers_versions(monkeypatch):
    before = cache.entry_key(b"x", "m.yaml")
    cache._compiler_digest.cache_clear()
    monkeypatch.setattr(cache, "_version", lambda name: "0" if name == "jmespath" else "1")
    try:
        assert cache.entry_key(b"x", "m.yaml") != before
    finally:
        cache._compiler_digest.cache_clear()


def test_a_non_utf8_file_name_has_a_key():
    assert len(cache.entry_key(b"x", os.fsdecode(b"m\xff.yaml"))) == 64


def _counting_check(calls: list):
    real_check = accoil_map.pipeline.check

    def counting(source, **kwargs):
        calls.append(source)
        return real_check(source, **kwargs)

    return counting
