"""Mappings in a user's repository: `accoil-map test`, `golden add`, `init`, and the pytest plugin.

Each test builds a small repository in a temporary folder; the plugin runs in
a real `python -m pytest` process there, as a user's CI runs it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import orjson
import pytest

from accoil_map.cli import main
from accoil_map.golden import comparable_module
from tests.conftest import ROOT

TINY = """\
version: 1
name: tiny
source: custom
rules:
  - name: visits
    emit: {type: page, userId: "{{ user }}", timestamp: "{{ ts }}"}
"""
VISIT = {"user": "u1", "ts": "2024-05-01T12:00:00Z"}
VISIT_RESULT = {
    "calls": [{"type": "page", "userId": "u1", "timestamp": "2024-05-01T12:00:00Z"}],
    "not_emitted": [],
    "rejected": None,
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(root: Path, config: str = "", case: bool = True) -> Path:
    """A repository with the tiny mapping and (by default) one recorded golden case."""
    write(root / "accoil-map.toml", config)
    write(root / "mappings" / "tiny.yaml", TINY)
    if case:
        write(
            root / "golden/tiny/cases/visit.json", json.dumps({"description": "d", "event": VISIT})
        )
        write(root / "golden/tiny/expected/visit.json", json.dumps(VISIT_RESULT, indent=2) + "\n")
    return root


@pytest.fixture
def cli(capsys, monkeypatch):
    """`cli(folder, *argv)`: the command run in-process from `folder`: (code, stdout, stderr)."""

    def run(folder: Path, *argv: str) -> tuple[int, str, str]:
        monkeypatch.chdir(folder)
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def expected(root: Path, case: str = "visit") -> dict:
    return json.loads((root / "golden" / "tiny" / "expected" / f"{case}.json").read_text("utf-8"))


# --- accoil-map test ----------------------------------------------------------------


def test_test_passes(cli, tmp_path):
    root = project(tmp_path)
    assert cli(root, "test") == (0, "tiny: 1 case: ok\n", "")
    assert cli(root / "golden", "test", "tiny") == (0, "tiny: 1 case: ok\n", "")


def test_test_fails_with_a_diff_and_updates_after_showing_it(cli, tmp_path):
    root = project(tmp_path)
    changed = TINY.replace("type: page", "type: screen")
    write(root / "mappings" / "tiny.yaml", changed)
    code, out, err = cli(root, "test")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[:2] == [
        "--- golden/tiny/expected/visit.json (expected)",
        "+++ golden/tiny/expected/visit.json (actual)",
    ]
    assert '-      "type": "page",' in lines and '+      "type": "screen",' in lines
    assert lines[-1] == "tiny: 1 case: 1 failed (visit)"

    code, out, _ = cli(root, "test", "--update")
    assert code == 0
    assert '+      "type": "screen",' in out.splitlines()
    assert out.splitlines()[-1] == "tiny: 1 case: 1 updated (visit)"
    assert expected(root)["calls"][0]["type"] == "screen"
    assert cli(root, "test")[:2] == (0, "tiny: 1 case: ok\n")


def test_no_cases_gives_a_hint_not_a_module_diff(cli, tmp_path):
    root = project(tmp_path, "snapshot-module = true\n", case=False)
    code, out, _ = cli(root, "test")
    assert (code, out.splitlines()) == (
        1,
        [
            "tiny: no snapshot of the generated module yet",
            "tiny: 0 cases and the generated module: 1 failed (generated module)",
        ],
    )
    cli(root, "test", "--update")
    assert (root / "golden/tiny/generated/module.py").is_file()
    assert cli(root, "test")[:2] == (
        0,
        "tiny: no golden cases: add one with accoil-map golden add tiny EVENT\n",
    )


def test_module_snapshot_ignores_a_comment_only_edit(cli, tmp_path):
    root = project(tmp_path, "snapshot-module = true\n")
    assert cli(root, "test", "--update")[0] == 0
    module = root / "golden/tiny/generated/module.py"
    before = module.read_text("utf-8")
    # A comment changes the file's sha256 and moves the rule down two lines.
    write(root / "mappings/tiny.yaml", "# tracked pages\n# (owner: data team)\n" + TINY)
    assert cli(root, "test") == (0, "tiny: 1 case and the generated module: ok\n", "")
    assert module.read_text("utf-8") == before
    # A change of code is not ignored.
    write(root / "mappings/tiny.yaml", TINY.replace("type: page", "type: screen"))
    code, out, _ = cli(root, "test")
    assert code == 1
    assert out.splitlines()[-1] == (
        "tiny: 1 case and the generated module: 2 failed (visit, generated module)"
    )


def test_comparable_module_masks_only_the_hash_and_rule_lines(tmp_path):
    from accoil_map import compile_source

    one = compile_source(TINY, filename="tiny.yaml")
    two = compile_source("# a comment\n" + TINY, filename="tiny.yaml")
    assert one != two
    assert comparable_module(one) == comparable_module(two)
    changed = [a for a, b in zip(one.splitlines(), two.splitlines(), strict=True) if a != b]
    assert len(changed) == 3  # the header's sha256, MAPPING_SHA256, the rule's line


def test_stale_expected_file(cli, tmp_path):
    root = project(tmp_path)
    (root / "golden/tiny/cases/visit.json").unlink()
    code, out, _ = cli(root, "test")
    assert (code, out.splitlines()) == (
        1,
        [
            "golden/tiny/expected/visit.json: its case file is gone (--update removes it)",
            "tiny: 0 cases: 1 failed (visit: no case file)",
        ],
    )
    assert cli(root, "test", "--update")[0] == 0
    assert not (root / "golden/tiny/expected/visit.json").exists()


def test_a_broken_case_file_is_named_and_never_overwritten(cli, tmp_path):
    root = project(tmp_path)
    write(root / "golden/tiny/cases/bad.json", '{"event": ')
    write(root / "golden/tiny/cases/bare.json", '{"user": "u1"}')
    write(root / "golden/tiny/expected/bad.json", "kept\n")
    for argv in (["test"], ["test", "--update"]):
        code, out, _ = cli(root, *argv)
        assert code == 1
        assert out.splitlines() == [
            "golden/tiny/cases/bad.json: invalid JSON: Expecting value: line 1 column 11 (char 10)",
            'golden/tiny/cases/bare.json: not a case: {"description": ..., "event": ...}',
            "tiny: 3 cases: 2 failed (bad, bare)",
        ]
    assert (root / "golden/tiny/expected/bad.json").read_text("utf-8") == "kept\n"
    done = run_pytest(root, "-q")
    assert "FAILED tiny::bad - Failed: golden/tiny/cases/bad.json: invalid JSON" in done.stdout


def test_invalid_mapping_fails_with_its_diagnostics(cli, tmp_path):
    root = project(tmp_path)
    write(root / "mappings/tiny.yaml", TINY.replace("type: page", "type: pge"))
    code, out, _ = cli(root, "test")
    assert code == 1
    assert out.splitlines()[0].startswith(f"{root}/mappings/tiny.yaml:6:")
    assert out.splitlines()[-1] == "tiny: invalid mapping (1 problem)"


def test_no_mappings_is_a_usage_error(cli, tmp_path):
    (tmp_path / ".git").mkdir()
    code, out, err = cli(tmp_path, "test")
    assert (code, out) == (2, "")
    assert err == (
        f"accoil-map: error: no mappings found: {tmp_path} (no configuration) names none "
        "(default: mappings/*.yaml); name them in [tool.accoil-map] mappings, "
        "or start with accoil-map init SOURCE\n"
    )


def test_bad_configuration_is_a_usage_error(cli, tmp_path):
    root = project(tmp_path, "goldn = 'x'\n")
    code, _, err = cli(root, "test")
    assert code == 2
    assert err.startswith(f"accoil-map: error: {root}/accoil-map.toml: unknown key 'goldn'")


# --- accoil-map golden add -------------------------------------------------------------


def test_golden_add_from_a_file(cli, tmp_path):
    root = project(tmp_path, case=False)
    event = write(tmp_path / "event.json", json.dumps({"user": "u2", "ts": "2024-05-02"}))
    assert cli(root, "golden", "add", "tiny", str(event), "--name", "day") == (
        0,
        "golden/tiny/cases/day.json: 1 call (page)\n"  # noqa: ISC004 (one text, two lines)
        "golden/tiny/expected/day.json: its expected result\n",
        "",
    )
    case = json.loads((root / "golden/tiny/cases/day.json").read_text("utf-8"))
    assert case == {
        "description": f"Recorded from {event} with accoil-map golden add.",
        "event": {"user": "u2", "ts": "2024-05-02"},
    }
    assert expected(root, "day")["calls"] == [
        {"type": "page", "userId": "u2", "timestamp": "2024-05-02"}
    ]
    assert cli(root, "test")[:2] == (0, "tiny: 1 case: ok\n")


def test_golden_add_from_an_ndjson_line_plain_or_gzip(cli, tmp_path):
    root = project(tmp_path, case=False)
    lines = b'{"type": "a"}\n' + orjson.dumps({**VISIT, "event": "Page Opened"}) + b"\n"
    (root / "events.ndjson.gz").write_bytes(gzip.compress(lines))
    code, out, _ = cli(root, "golden", "add", "tiny", "events.ndjson.gz:2", "--description", "x")
    assert (code, out.splitlines()[0]) == (0, "golden/tiny/cases/page_opened.json: 1 call (page)")
    # The name comes from the event's name; a second one gets a number.
    code, out, _ = cli(root, "golden", "add", "tiny", "events.ndjson.gz:2")
    assert out.splitlines()[0] == "golden/tiny/cases/page_opened_2.json: 1 call (page)"
    case = json.loads((root / "golden/tiny/cases/page_opened.json").read_text("utf-8"))
    assert case["description"] == "x"


def test_golden_add_from_stdin(tmp_path):
    root = project(tmp_path, case=False)
    done = subprocess.run(
        [sys.executable, "-m", "accoil_map", "golden", "add", "mappings/tiny.yaml", "-"],
        input=b'{"user": "u3"}',
        capture_output=True,
        cwd=root,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[0] == "golden/tiny/cases/case.json: no call"
    assert expected(root, "case")["not_emitted"] == [{"rule": "visits", "missing": ["timestamp"]}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["events.ndjson:3"], "events.ndjson has no line 3 (it has 2 lines)"),
        (["events.ndjson:2"], "events.ndjson:2: invalid JSON: "),
        (["nosuch.json"], "no such file: nosuch.json"),
        (["events.ndjson:1", "--name", "../x"], "--name '../x': use letters, digits"),
        (["events.ndjson:1", "--name", "visit"], "golden/tiny/cases/visit.json exists: choose"),
    ],
)
def test_golden_add_errors(cli, tmp_path, argv, message):
    root = project(tmp_path)
    write(root / "events.ndjson", '{"user": "u"}\n{"user": \n')
    code, out, err = cli(root, "golden", "add", "tiny", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"accoil-map: error: {message}".replace("golden/", f"{root}/golden/"))


def test_golden_usage(cli, tmp_path):
    code, _, err = cli(tmp_path, "golden", "add", "tiny")
    assert code == 2
    assert err == (
        "accoil-map: error: usage: accoil-map golden add MAPPING EVENT "
        "[--name NAME] [--description TEXT]\n"
    )


# --- accoil-map init ---------------------------------------------------------------------


def test_init_amplitude(cli, tmp_path):
    code, out, err = cli(tmp_path, "init", "amplitude")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "wrote mappings/amplitude.yaml",
        "wrote samples/amplitude.ndjson",
        "wrote accoil-map.toml",
        "wrote .accoil-map/mapping.schema.json",
        "wrote .vscode/settings.json",
        "wrote golden/amplitude/cases/events.json (1 call (track))",
        "wrote golden/amplitude/cases/page_views.json (1 call (track))",
        "wrote golden/amplitude/cases/identify.json (1 call (identify))",
        "wrote golden/amplitude/cases/group.json (1 call (group))",
        "next:",
        "  accoil-map validate mappings/amplitude.yaml",
        "  accoil-map test",
        "  accoil-map golden add amplitude samples/amplitude.ndjson:1",
    ]
    shipped = (ROOT / "mappings/amplitude.yaml").read_text("utf-8").splitlines()[1:]
    copied = (tmp_path / "mappings/amplitude.yaml").read_text("utf-8").splitlines()
    assert copied[0] == "# yaml-language-server: $schema=../.accoil-map/mapping.schema.json"
    assert copied[1:] == shipped
    config = tomllib.loads((tmp_path / "accoil-map.toml").read_text("utf-8"))
    assert config["samples"] == {"amplitude": ["samples/amplitude.ndjson"]}
    case = json.loads((tmp_path / "golden/amplitude/cases/identify.json").read_text("utf-8"))
    assert case["event"]["event_type"] == "$identify"
    assert "rule 'identify'" in case["description"]
    assert cli(tmp_path, "test")[:2] == (0, "amplitude: 4 cases: ok\n")
    assert cli(tmp_path, "validate", "mappings/amplitude.yaml")[0] == 0


def test_init_extends_a_pyproject_and_takes_cases_from_the_sample(cli, tmp_path):
    pyproject = write(tmp_path / "pyproject.toml", '[project]\nname = "pipelines"\n')
    events = [
        {"type": "track", "event": "Opened", "userId": "u1", "timestamp": "2024-05-01T00:00:00Z"},
        {"type": "identify", "userId": "u1", "timestamp": "2024-05-01T00:00:00Z"},
    ]
    sample = write(tmp_path / "data/seg.ndjson", "\n".join(json.dumps(e) for e in events) + "\n")
    code, out, _ = cli(tmp_path, "init", "segment", "--sample", str(sample), "--name", "web")
    assert code == 0
    assert "wrote pyproject.toml ([tool.accoil-map] added)" in out.splitlines()
    assert "wrote golden/web/cases/identify.json (1 call (identify))" in out.splitlines()
    assert (
        "rule 'group': no sample event gives its call; "
        "add a case with accoil-map golden add web EVENT"
    ) in out.splitlines()
    assert out.splitlines()[-1] == "  accoil-map golden add web data/seg.ndjson:1"
    config = tomllib.loads(pyproject.read_text("utf-8"))
    assert config["project"] == {"name": "pipelines"}
    assert config["tool"]["accoil-map"]["samples"] == {"web": ["data/seg.ndjson"]}
    assert '\nname: "web"\n' in (tmp_path / "mappings/web.yaml").read_text("utf-8")
    assert cli(tmp_path, "test")[:2] == (0, "web: 2 cases: ok\n")


def test_init_custom_guesses_fields_from_the_sample(cli, tmp_path):
    events = [{"action": "Saved", "user": {"id": "u1"}, "time": 1714564800, "odd key": 1, "a.b": 2}]
    sample = write(tmp_path / "mixpanel.ndjson", json.dumps(events[0]) + "\n")
    code, out, _ = cli(tmp_path, "init", "custom", "--sample", str(sample), "--name", "mixpanel")
    assert code == 0
    text = (tmp_path / "mappings/mixpanel.yaml").read_text("utf-8")
    assert '  user: {path: "user.id"}\n' in text
    assert '      event: {path: "action"}\n' in text
    assert '      timestamp: {path: "time", as: timestamp}\n' in text
    assert '#   "odd key": integer\n#   "a.b": integer\n' in text
    assert "wrote golden/mixpanel/cases/events.json (1 call (track))" in out.splitlines()
    assert cli(tmp_path, "validate", "mappings/mixpanel.yaml")[0] == 0
    assert expected_calls(tmp_path, "mixpanel", "events") == [
        {"type": "track", "event": "Saved", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z"}
    ]


def expected_calls(root: Path, mapping: str, case: str) -> list:
    path = root / "golden" / mapping / "expected" / f"{case}.json"
    return json.loads(path.read_text("utf-8"))["calls"]


def test_init_custom_without_a_sample(cli, tmp_path):
    code, out, _ = cli(tmp_path, "init", "custom")
    assert code == 0
    text = (tmp_path / "mappings/custom.yaml").read_text("utf-8")
    assert '  user: {path: "user_id"}  # not in the sample: change it\n' in text
    assert "rule 'events': no sample event gives its call" in out
    assert cli(tmp_path, "validate", "mappings/custom.yaml")[0] == 0


def test_init_writes_over_nothing(cli, tmp_path):
    write(tmp_path / "mappings/amplitude.yaml", "mine")
    code, out, err = cli(tmp_path, "init", "amplitude")
    assert (code, out) == (2, "")
    assert err == (
        f"accoil-map: error: {tmp_path}/mappings/amplitude.yaml exists: "
        "init writes no file over another\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mappings"]
    assert (tmp_path / "mappings/amplitude.yaml").read_text("utf-8") == "mine"


def test_init_unknown_source(cli, tmp_path):
    code, _, err = cli(tmp_path, "init", "mixpanel")
    assert code == 2
    assert err.startswith("accoil-map: error: unknown source 'mixpanel': choose one of amplitude,")
    assert err.endswith(", segment, custom\n")


# --- the pytest plugin --------------------------------------------------------------------


def run_pytest(root: Path, *argv: str) -> subprocess.CompletedProcess:
    """`python -m pytest ARGV` in `root`, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv],
        capture_output=True,
        cwd=root,
        env=env,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_collects_each_case_with_a_readable_id(tmp_path):
    root = project(tmp_path, "snapshot-module = true\n")
    write(root / "tests/test_unrelated.py", "def test_one():\n    pass\n")
    assert cli_update(root) == 0
    done = run_pytest(root, "-q", "--collect-only")
    assert done.stdout.splitlines()[:3] == [
        "tests/test_unrelated.py::test_one",
        "tiny::visit",
        "tiny::generated/module.py",
    ]
    # A run of other files compiles no mapping.
    done = run_pytest(root, "-q", "--collect-only", "tests/test_unrelated.py")
    assert done.stdout.splitlines()[:2] == ["tests/test_unrelated.py::test_one", ""]
    done = run_pytest(root, "-q", "golden", "-k", "visit")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 deselected" in done.stdout


def test_plugin_beside_other_tests_and_their_snapshots(tmp_path):
    root = project(tmp_path)
    test = "def test_one(snapshot):\n    assert snapshot == {'a': 1}\n"
    write(root / "tests/test_mine.py", test)
    done = run_pytest(root, "-q", "--snapshot-update")
    assert "1 snapshot generated." in done.stdout, done.stdout
    done = run_pytest(root, "-q")
    assert done.returncode == 0, done.stdout
    assert "2 snapshots passed." in done.stdout
    assert "2 passed" in done.stdout.splitlines()[-1]
    # An expected file without its case is unused to syrupy too, and removed by an update.
    stale = root / "golden/tiny/expected/gone.json"
    shutil.copyfile(root / "golden/tiny/expected/visit.json", stale)
    done = run_pytest(root, "-q")
    assert (done.returncode, "1 snapshot unused." in done.stdout) == (1, True), done.stdout
    run_pytest(root, "-q", "--snapshot-update")
    assert not stale.exists()
    assert (root / "golden/tiny/expected/visit.json").exists()
    assert (root / "tests/__snapshots__/test_mine.ambr").exists()


def cli_update(root: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "accoil_map", "test", "--update"],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode


def test_plugin_fails_with_the_diff_and_updates_with_snapshot_update(tmp_path):
    root = project(tmp_path)
    write(root / "mappings/tiny.yaml", TINY.replace("type: page", "type: screen"))
    done = run_pytest(root, "-q")
    assert done.returncode == 1
    assert "FAILED tiny::visit" in done.stdout
    assert "--- golden/tiny/expected/visit.json (expected)" in done.stdout
    assert '+      "type": "screen",' in done.stdout.splitlines()
    done = run_pytest(root, "-q", "--snapshot-update")
    assert done.returncode == 0, done.stdout
    assert "1 snapshot updated." in done.stdout
    assert expected(root)["calls"][0]["type"] == "screen"


def test_plugin_reports_an_invalid_mapping_in_each_item(tmp_path):
    root = project(tmp_path)
    write(root / "mappings/tiny.yaml", TINY.replace("type: page", "type: pge"))
    done = run_pytest(root, "-q")
    assert done.returncode == 1
    assert f"{root}/mappings/tiny.yaml: invalid mapping" in done.stdout


def test_plugin_is_opt_in(tmp_path):
    root = project(tmp_path)
    (root / "accoil-map.toml").unlink()
    (root / ".git").mkdir()
    write(root / "test_x.py", "def test_x():\n    pass\n")
    assert run_pytest(root, "-q").stdout.split()[0] == "."  # test_x only
    done = run_pytest(root, "-q", "-p", "accoil_map")
    assert done.stdout.split()[0] == "..", done.stdout  # and tiny::visit
    write(root / "accoil-map.toml", "pytest = false\n")
    assert run_pytest(root, "-q").stdout.split()[0] == "."
