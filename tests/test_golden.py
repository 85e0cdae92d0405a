"""Golden snapshots: every case of every shipped mapping, and the generated modules.

The expected files under golden/ are syrupy snapshots: a change shows as a
diff, and they are rewritten only with `pytest --snapshot-update` (or
`accoil-map golden MAPPING --update`), after reading the diff.
"""

from __future__ import annotations

import jsonschema
import pytest

from accoil_map.golden import GoldenPaths, evaluate_case, load_case, serialize
from accoil_map.interpreter import Interpreter
from accoil_map.runtime import RejectEvent
from accoil_map.schema import payload_schema

from .conftest import MAPPINGS, ROOT, SHIPPED, compiled

CASES = [(mapping, case) for mapping in MAPPINGS for case in GoldenPaths.for_mapping(mapping).cases]
PAYLOADS = jsonschema.Draft202012Validator(payload_schema())


def _case_id(param) -> str:
    return param.stem


@pytest.mark.parametrize("mapping,case", CASES, ids=[f"{m.stem}/{c.stem}" for m, c in CASES])
def test_golden_case(mapping, case, golden_snapshot):
    _, module, _ = compiled(mapping)
    result = evaluate_case(module, load_case(case))
    assert serialize(result) == golden_snapshot(GoldenPaths.for_mapping(mapping).expected(case))


@pytest.mark.parametrize("mapping,case", CASES, ids=[f"{m.stem}/{c.stem}" for m, c in CASES])
def test_golden_payloads_are_valid_accoil_calls(mapping, case):
    _, module, _ = compiled(mapping)
    for call in evaluate_case(module, load_case(case))["calls"]:
        PAYLOADS.validate(call)


@pytest.mark.parametrize("mapping,case", CASES, ids=[f"{m.stem}/{c.stem}" for m, c in CASES])
def test_golden_case_agrees_with_interpreter(mapping, case):
    _, module, checked = compiled(mapping)
    event = load_case(case)
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


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.stem)
def test_generated_module_snapshot(mapping, golden_snapshot):
    source, _, _ = compiled(mapping)
    assert source == golden_snapshot(GoldenPaths.for_mapping(mapping).module)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_mapping_has_enough_cases(name):
    cases = GoldenPaths.for_mapping(ROOT / "mappings" / f"{name}.yaml").cases
    assert len(cases) >= 12, f"{name} has only {len(cases)} golden cases"
