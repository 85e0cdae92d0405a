"""`accoil-map diff`: what a mapping change does to real events.

The reference is the two mappings run separately, event by event: the diff
must report exactly the events whose outcome differs, with the right counts
per kind and per key path, in memory that does not grow with the input.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import tracemalloc
from pathlib import Path

import orjson
import pytest

from accoil_map import check, compile_source
from accoil_map.cli import main
from accoil_map.diff import EXAMPLES_PER_KIND, diff_modules, outcome
from accoil_map.modules import import_source
from tests.conftest import ROOT

AMPLITUDE = ROOT / "mappings" / "amplitude.yaml"
SAMPLES = ROOT / "samples" / "amplitude.ndjson"
OLD_TRAIT = "    plan_type: {path: user_properties.plan_type}\n"
NEW_TRAIT = "    plan: {path: user_properties.plan_type}\n"


def renamed_text() -> str:
    """The shipped Amplitude mapping with one of its additional properties renamed."""
    text = AMPLITUDE.read_text()
    assert text.count(OLD_TRAIT) == 1
    return text.replace(OLD_TRAIT, NEW_TRAIT)


def module(text: str):
    checked = check(text, filename="m.yaml")
    return import_source(compile_source(checked), checked.mapping.name)


OLD = module(AMPLITUDE.read_text())
NEW = module(renamed_text())


def generated_events(count: int, seed: int = 11) -> bytes:
    """`count` NDJSON lines: the samples with varied users and plans, some bad lines among them."""
    rng = random.Random(seed)
    samples = [orjson.loads(line) for line in SAMPLES.read_bytes().splitlines()]
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.01:
            out.append(b"not json")
            continue
        event = dict(rng.choice(samples))
        event["user_id"] = None if roll < 0.05 else f"u{rng.randrange(1000)}"
        if roll > 0.5:
            props = dict(event.get("user_properties") or {})
            props["plan_type"] = rng.choice(["free", "pro", None, 3])
            event["user_properties"] = props
        out.append(orjson.dumps(event))
    return b"\n".join(out) + b"\n"


def separately(data: bytes) -> tuple[set[int], dict]:
    """Lines whose outcome differs between the two modules, each run on its own, and the
    counts the report should give."""
    changed, counts = set(), {"events": 0, "newly_dropped": 0, "newly_emitted": 0}
    for number, raw in enumerate(data.splitlines(), 1):
        counts["events"] += 1
        before = outcome(OLD.transform, OLD.RejectEvent, raw)
        after = outcome(NEW.transform, NEW.RejectEvent, raw)
        if before != after:
            changed.add(number)
            counts["newly_dropped"] += bool(before.calls and not after.calls)
            counts["newly_emitted"] += bool(after.calls and not before.calls)
    return changed, counts


def lines(data: bytes):
    return enumerate(data.splitlines(keepends=True), 1)


def check_against_separate_runs(data: bytes) -> None:
    report = diff_modules(OLD, NEW, lines(data), "old", "new")
    changed, counts = separately(data)
    assert changed  # the rename shows
    assert report.events == counts["events"]
    assert report.changed == len(changed)
    assert report.unchanged == report.events - len(changed)
    assert report.kinds["newly dropped"] == counts["newly_dropped"]
    assert report.kinds["newly emitted"] == counts["newly_emitted"]
    assert {example.line for example in report.examples} <= changed
    # A renamed property: added under its new name, removed under its old, on the same events.
    keys = {entry["path"]: entry for entry in report.as_json()["keys"]}
    plan, plan_type = keys["track.properties.plan"], keys["track.properties.plan_type"]
    assert plan["added"] == plan_type["removed"] == report.kinds["calls changed"] > 0
    assert set(keys) == {"track.properties.plan", "track.properties.plan_type"}


def test_one_line_at_a_time_over_the_samples():
    """Over each sample line alone, the diff says changed exactly when the outputs differ."""
    for raw in SAMPLES.read_bytes().splitlines():
        report = diff_modules(OLD, NEW, [(1, raw)], "old", "new")
        differs = OLD.transform(orjson.loads(raw)) != NEW.transform(orjson.loads(raw))
        assert (report.changed, report.unchanged) == ((1, 0) if differs else (0, 1))


def test_samples_against_separate_runs():
    check_against_separate_runs(SAMPLES.read_bytes())


def test_generated_10k_against_separate_runs():
    check_against_separate_runs(generated_events(10_000))


def test_generated_100k_against_separate_runs(deep):
    check_against_separate_runs(generated_events(100_000))


def peak_bytes(count: int) -> int:
    """The peak memory traced while diffing `count` generated events read as a stream."""
    batch = generated_events(1000).splitlines(keepends=True)

    def stream():
        for number in range(count):
            yield number + 1, batch[number % len(batch)]

    tracemalloc.start()
    try:
        diff_modules(OLD, NEW, stream(), "old", "new")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat():
    """Ten times the events, the same peak: only counts and a few examples are kept."""
    small, large = peak_bytes(2_000), peak_bytes(20_000)
    assert large < small * 1.5 + 64 * 1024, (small, large)


def test_memory_stays_flat_at_100k(deep):
    small, large = peak_bytes(10_000), peak_bytes(100_000)
    assert large < small * 1.5 + 64 * 1024, (small, large)


def test_examples_are_few_and_name_their_line():
    report = diff_modules(OLD, NEW, lines(generated_events(2_000)), "old", "new")
    assert 0 < len(report.examples) <= EXAMPLES_PER_KIND * 4
    example = report.examples[0]
    assert '-        "plan_type": ' in example.diff
    assert '+        "plan": ' in example.diff


KINDS = """\
version: 1
name: kinds
source: custom
rules:
  - name: r
    when: "{when}"
    emit: {{type: track, event: "{{{{ e }}}}", userId: "{{{{ {user} }}}}",
            timestamp: "{{{{ {ts} }}}}", properties: {{n: {n}}}}}
"""


def kinds_module(when="e != 'skip'", user="u", ts="ts", n="{path: n}"):
    return module(KINDS.format(when=when, user=user, ts=ts, n=n))


@pytest.mark.parametrize(
    ("new", "event", "kind", "key"),
    [
        pytest.param(
            {"when": "e == 'never'"}, {}, "newly dropped", ("track", "removed"), id="dropped"
        ),
        pytest.param(
            {"when": "e == 'skip'"}, {"e": "skip"}, "newly emitted", ("track", "added"), id="emitted"
        ),
        pytest.param(
            {"ts": "u"}, {"u": None}, "rejections changed", None, id="rejection"
        ),
        pytest.param(
            {"n": "{path: n, as: string}"},
            {"n": 1},
            "calls changed",
            ("track.properties.n", "type changed"),
            id="type",
        ),
        pytest.param(
            {"n": "{path: n, as: boolean}"},
            {"n": 1},
            "calls changed",
            ("track.properties.n", "type changed"),
            id="true-is-not-1",
        ),
        pytest.param(
            {"n": "{path: m}"},
            {"n": 1, "m": 2},
            "calls changed",
            ("track.properties.n", "value changed"),
            id="value",
        ),
    ],
)
def test_kinds(new, event, kind, key):
    base = {"e": "A", "u": "u1", "ts": "2024-05-01T00:00:00Z"}
    raw = orjson.dumps({**base, **event})
    report = diff_modules(kinds_module(), kinds_module(**new), [(7, raw)], "old", "new")
    assert (report.changed, dict(report.kinds)) == (1, {kind: 1})
    keys = {(path, k) for path, counts in report.keys.items() for k in counts}
    assert keys == ({key} if key else set())
    assert report.examples[0].line == 7


# --- the command ----------------------------------------------------------------------


@pytest.fixture
def renamed(tmp_path) -> Path:
    path = tmp_path / "amplitude.yaml"
    path.write_text(renamed_text())
    return path


def test_cli_json_over_gzip(tmp_path, renamed, capsys):
    data = generated_events(500)
    events = tmp_path / "events.ndjson.gz"
    events.write_bytes(gzip.compress(data))
    code = main(["diff", str(AMPLITUDE), str(renamed), "-i", str(events), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    changed, counts = separately(data)
    assert code == 0
    assert (report["events"], report["changed"]) == (counts["events"], len(changed))
    assert report["unchanged"] == counts["events"] - len(changed)
    assert {key["path"] for key in report["keys"]} == {
        "track.properties.plan",
        "track.properties.plan_type",
    }


def test_cli_exit_code(renamed, capsys):
    argv = ["diff", str(AMPLITUDE), str(renamed), "-i", str(SAMPLES), "--exit-code"]
    assert main(argv) == 1
    assert main(["diff", str(AMPLITUDE), str(AMPLITUDE), "-i", str(SAMPLES), "--exit-code"]) == 0
    out = capsys.readouterr().out
    assert "changed                      3" in out
    assert "changed                      0" in out


def test_cli_markdown(renamed, capsys):
    main(["diff", str(AMPLITUDE), str(renamed), "-i", str(SAMPLES), "--format", "markdown"])
    out = capsys.readouterr().out
    assert "| changed | 3 |" in out
    assert "| `track.properties.plan` | 3 | 0 | 0 | 0 |" in out
    assert "```diff" in out


def git(cwd: Path, *argv: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_cli_base_revision(tmp_path, capsys):
    """`diff MAPPING --base REF` compares the working file with its text at REF."""
    repo = tmp_path / "repo"
    (repo / "maps").mkdir(parents=True)
    mapping = repo / "maps" / "amplitude.yaml"
    mapping.write_text(AMPLITUDE.read_text())
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    mapping.write_text(renamed_text())
    argv = ["diff", str(mapping), "--base", "HEAD", "-i", str(SAMPLES), "--format", "json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["old"], report["changed"]) == (f"{mapping}@HEAD", 3)
    assert main([*argv[:3], "no-such-ref", *argv[4:]]) == 2
    assert "no-such-ref" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["diff", str(AMPLITUDE)], ["diff", str(AMPLITUDE), str(AMPLITUDE), "--base", "HEAD"]],
    ids=["no-new", "new-and-base"],
)
def test_cli_needs_new_or_base(argv, capsys):
    assert main([*argv, "-i", str(SAMPLES)]) == 2
    assert "diff needs OLD NEW, or MAPPING --base GIT_REF" in capsys.readouterr().err


def test_lines_are_read_as_run_reads_them():
    """A value the mappings do not read (an infinite number) does not refuse the line in
    `run`, so `diff` compares the calls of that line too."""
    event = orjson.loads(SAMPLES.read_bytes().splitlines()[0])
    event["user_properties"] = {**(event.get("user_properties") or {}), "plan_type": "pro"}
    raw = orjson.dumps(event)[:-1] + b', "unread": 1e400}'
    report = diff_modules(OLD, NEW, [(1, raw)], "old", "new")
    assert (report.events, report.changed) == (1, 1)
    assert "track.properties.plan" in report.keys
