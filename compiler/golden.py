"""Golden cases: hand-written input events and the exact results they must give.

Layout, for a mapping `mappings/<name>.yaml`:

    golden/<name>/cases/<case>.json      {"description": ..., "event": ...}
    golden/<name>/expected/<case>.json   what the compiled module gives (see `evaluate_case`)
    golden/<name>/generated/module.py    the generated module itself

`accoil-map golden` and the pytest suite (through syrupy) compare against the
same files, written by the same `serialize`.
"""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import plural
from .modules import import_source
from .pipeline import check, compile_source


@dataclass(frozen=True)
class GoldenPaths:
    """Where one mapping's golden files live."""

    root: Path

    @classmethod
    def for_mapping(cls, mapping: str | Path) -> GoldenPaths:
        """`golden/<stem>/` beside the mapping's `mappings/` folder."""
        path = Path(mapping).resolve()
        return cls(path.parent.parent / "golden" / path.stem)

    @property
    def cases(self) -> list[Path]:
        return sorted((self.root / "cases").glob("*.json"))

    def expected(self, case: Path) -> Path:
        return self.root / "expected" / case.name

    @property
    def module(self) -> Path:
        return self.root / "generated" / "module.py"


def load_case(case: Path) -> object:
    """The input event of a case file."""
    return json.loads(case.read_text(encoding="utf-8"))["event"]


def evaluate_case(module, event) -> dict:
    """The calls an event gives, the calls it does not and why, or why it is rejected."""
    reasons: list = []
    try:
        calls = module.transform(event, reasons)
    except module.RejectEvent as exc:
        return {"calls": [], "not_emitted": [], "rejected": str(exc)}
    not_emitted = [{"rule": rule, "missing": list(missing)} for rule, missing in reasons]
    return {"calls": calls, "not_emitted": not_emitted, "rejected": None}


def serialize(result: dict) -> str:
    """The text of an expected file: indented JSON, key order kept, a final newline."""
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def _compare(path: Path, actual: str, update: bool, out) -> bool:
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if expected == actual:
        return True
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        print(f"updated {path}", file=out)
        return True
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=f"{path} (expected)",
        tofile=f"{path} (actual)",
    )
    out.writelines(diff)
    return False


def run_golden(mapping: str | Path, update: bool = False, out=None) -> bool:
    """Check (or with `update`, rewrite) every golden file of a mapping; True when all match.

    Reports go to `out`, by default the `sys.stdout` of the moment."""
    out = out if out is not None else sys.stdout
    paths = GoldenPaths.for_mapping(mapping)
    checked = check(mapping)
    source = compile_source(checked)
    module = import_source(source, checked.mapping.name)
    failures = 0 if _compare(paths.module, source, update, out) else 1
    for case in paths.cases:
        actual = serialize(evaluate_case(module, load_case(case)))
        failures += not _compare(paths.expected(case), actual, update, out)
    total = len(paths.cases) + 1
    verdict = "ok" if not failures else f"{failures} of {total} differ"
    cases = plural(len(paths.cases), "case")
    print(f"{mapping}: {cases} and the generated module: {verdict}", file=out)
    return failures == 0
