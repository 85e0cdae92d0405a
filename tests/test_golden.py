"""Golden cases of the shipped mappings: checks on their inputs and results.

The comparison of every case (and generated module) with its expected file is
not here: the accoil-map pytest plugin collects each case as an item named
`<mapping>::<case>`, configured in this repository's `[tool.accoil-map]`, so
the plugin is the one way golden cases run (`pytest golden/` runs only them).
The expected files are rewritten only with `pytest --snapshot-update` or
`accoil-map test --update`, after reading the diff.
"""

from __future__ import annotations

import jsonschema
import pytest

from accoil_map.config import load_project
from accoil_map.golden import GoldenFolder, evaluate_case
from accoil_map.interpreter import Interpreter
from accoil_map.runtime import RejectEvent
from accoil_map.schema import payload_schema

from .conftest import ROOT, SHIPPED, compiled

PROJECT = load_project(ROOT)
CASES = [(e, case) for e in PROJECT.mappings for case in GoldenFolder(e.golden).cases]
IDS = [f"{entry.name}/{case.name}" for entry, case in CASES]
PAYLOADS = jsonschema.Draft202012Validator(payload_schema())


def test_the_plugin_runs_the_golden_cases(request):
    # Registered from the entry point: an install older than the plugin would drop them silently.
    plugins = request.config.pluginmanager
    assert plugins.hasplugin("accoil_map_golden_cases"), "reinstall: pip install -e ."


def test_every_shipped_mapping_is_configured():
    names = {entry.name for entry in PROJECT.mappings}
    assert names == {path.stem for path in (ROOT / "mappings").glob("*.yaml")}
    assert PROJECT.snapshot_module


@pytest.mark.parametrize("entry,case", CASES, ids=IDS)
def test_golden_payloads_are_valid_accoil_calls(entry, case):
    _, module, _ = compiled(entry.path)
    for call in evaluate_case(module, case.event)["calls"]:
        PAYLOADS.validate(call)


@pytest.mark.parametrize("entry,case", CASES, ids=IDS)
def test_golden_case_agrees_with_interpreter(entry, case):
    _, module, checked = compiled(entry.path)
    event = case.event
    interpreter = Interpreter(checked.mapping)
    try:
        reasons: list = []
        expected = (interpreter.transform(event, reasons), reasons)
    except RejectEvent as exc:
        expected = ("rejected", str(exc))
    try:
        reasons = []
        actual = (module.transform(event, reasons), reasons)
    except module.RejectEvent as exc:
        actual = ("rejected", str(exc))
    assert actual == expected


@pytest.mark.parametrize("entry,case", CASES, ids=IDS)
def test_golden_case_says_what_it_tests(entry, case):
    assert case.load()["description"].strip()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_mapping_has_enough_cases(name):
    cases = GoldenFolder(PROJECT.mapping(name).golden).cases
    assert len(cases) >= 12, f"{name} has only {len(cases)} golden cases"
