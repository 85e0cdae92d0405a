"""The benchmark's hand-written transforms give the calls their mapping gives on every
golden case: a baseline that drifts from the mapping (as the Amplitude one would have
when an empty group id stopped being a candidate) compares unlike with unlike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accoil_map import load
from bench import handwritten

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SOURCES = ("amplitude", "segment", "posthog")


def _cases(source: str) -> list[Path]:
    return sorted((GOLDEN / source / "cases").glob("*.json"))


@pytest.mark.parametrize("source", SOURCES)
def test_hand_written_baseline_gives_the_golden_calls(source):
    module = load(str(GOLDEN.parent / "mappings" / f"{source}.yaml"))
    baseline = getattr(handwritten, source)
    cases = _cases(source)
    assert cases
    for path in cases:
        event = json.loads(path.read_text(encoding="utf-8"))["event"]
        try:
            expected = module.transform(event)
        except module.RejectEvent:
            with pytest.raises(handwritten.RejectEvent):
                baseline(event)
            continue
        assert baseline(event) == expected, path.name
