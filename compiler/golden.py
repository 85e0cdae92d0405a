"""Golden cases: real or hand-written input events and the exact results they must give.

Layout, for a mapping named `<name>` (see `config` for where `golden/` is):

    golden/<name>/cases/<case>.json      {"description": ..., "event": ...}
    golden/<name>/expected/<case>.json   what the compiled module gives (see `evaluate_case`)
    golden/<name>/generated/module.py    the generated module (when `snapshot-module` is on)

`accoil-map test` and the pytest plugin compare against the same files,
written by the same `serialize`; the module snapshot is compared through
`comparable_module`, which ignores what a comment-only edit of the YAML changes.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .config import MappingEntry, Project
from .editor import write_text_atomically
from .errors import MappingError, plural
from .modules import import_source
from .pipeline import check, compile_source


@dataclass(frozen=True)
class Case:
    """One golden case: its input file and its expected-result file."""

    name: str
    path: Path
    expected: Path

    def load(self) -> dict:
        """The case file: `description` and `event`; CaseError says what is wrong with it."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CaseError(f"{_shown(self.path)}: invalid JSON: {exc}") from None
        if not (isinstance(data, dict) and "event" in data):
            raise CaseError(
                f'{_shown(self.path)}: not a case: {{"description": ..., "event": ...}}'
            )
        return data

    @property
    def event(self) -> object:
        return self.load()["event"]


class CaseError(ValueError):
    """A case file that cannot be read as a case."""


@dataclass(frozen=True)
class GoldenFolder:
    """Where one mapping's golden files live."""

    root: Path

    @property
    def cases(self) -> list[Case]:
        return [
            Case(path.stem, path, self.root / "expected" / path.name)
            for path in sorted((self.root / "cases").glob("*.json"))
        ]

    @property
    def stale(self) -> list[Path]:
        """Expected files whose case file is gone."""
        names = {case.name for case in self.cases}
        return [p for p in sorted((self.root / "expected").glob("*.json")) if p.stem not in names]

    @property
    def module(self) -> Path:
        return self.root / "generated" / "module.py"


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


def summary(result: dict) -> str:
    """A few words on a result: `1 call (track)`, `no call`, `rejected: reason`."""
    if result["rejected"] is not None:
        return f"rejected: {result['rejected']}"
    calls = result["calls"]
    if not calls:
        return "no call"
    return f"{plural(len(calls), 'call')} ({', '.join(call['type'] for call in calls)})"


#: What a comment-only edit of a mapping changes in its module: the file's sha256 (in
#: the header and MAPPING_SHA256) and the mapping lines named in the rule comments.
_UNSTABLE = (
    (re.compile(r"^(# sha256 of the mapping file: )[0-9a-f]{64}$", re.MULTILINE), r"\1(ignored)"),
    (re.compile(r'^(MAPPING_SHA256 = )"[0-9a-f]{64}"$', re.MULTILINE), r"\1(ignored)"),
    (re.compile(r"^(\s*# rule '.*' \(line )\d+(\): \w+ call)$", re.MULTILINE), r"\1(ignored)\2"),
)


def comparable_module(source: str) -> str:
    """A generated module's source with the parts a comment-only YAML edit changes masked."""
    for pattern, replacement in _UNSTABLE:
        source = pattern.sub(replacement, source)
    return source


@dataclass(frozen=True)
class Compiled:
    """A mapping's generated source and its imported module."""

    source: str
    module: object


def compile_entry(entry: MappingEntry) -> Compiled:
    """Check and compile a project's mapping; MappingError propagates."""
    checked = check(entry.path)
    source = compile_source(checked)
    return Compiled(source, import_source(source, checked.mapping.name))


@dataclass(frozen=True)
class Outcome:
    """One comparison: what is in the file, what the mapping gives now."""

    label: str
    path: Path
    expected: str | None
    actual: str | None
    problem: str | None = None  # a case file that cannot be read: nothing to compare

    @property
    def ok(self) -> bool:
        return self.problem is None and self.expected == self.actual

    def diff(self) -> Iterator[str]:
        """A unified diff from the file to the current result."""
        shown = _shown(self.path)
        return difflib.unified_diff(
            (self.expected or "").splitlines(keepends=True),
            (self.actual or "").splitlines(keepends=True),
            fromfile=f"{shown} (expected)",
            tofile=f"{shown} (actual)",
        )


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is below it (as users type them)."""
    cwd = Path.cwd()
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def case_outcomes(entry: MappingEntry, compiled: Compiled) -> list[Outcome]:
    """Every case of a mapping against its expected file; stale expected files last."""
    folder = GoldenFolder(entry.golden)
    outcomes = [_case_outcome(case, compiled) for case in folder.cases]
    outcomes += [Outcome(f"{p.stem}: no case file", p, _read(p), None) for p in folder.stale]
    return outcomes


def _case_outcome(case: Case, compiled: Compiled) -> Outcome:
    expected = _read(case.expected)
    try:
        event = case.event
    except CaseError as exc:
        return Outcome(case.name, case.expected, expected, None, problem=str(exc))
    return Outcome(
        case.name, case.expected, expected, serialize(evaluate_case(compiled.module, event))
    )


def module_outcome(entry: MappingEntry, compiled: Compiled) -> Outcome:
    """The module snapshot against the generated source, both through `comparable_module`."""
    path = GoldenFolder(entry.golden).module
    stored = _read(path)
    if stored is not None and comparable_module(stored) == comparable_module(compiled.source):
        stored = compiled.source  # only the masked lines differ: a match
    return Outcome("generated module", path, stored, compiled.source)


def apply(outcome: Outcome) -> None:
    """Make the file say what the mapping gives now (remove it when its case is gone)."""
    if outcome.actual is None:
        outcome.path.unlink()
    else:
        write_text_atomically(outcome.path, outcome.actual)


def run_mapping(project: Project, entry: MappingEntry, update: bool, out: TextIO) -> bool:
    """Run one mapping's golden cases, print a diff per failure and one summary line;
    True when everything matched (or, with `update`, was rewritten)."""
    try:
        compiled = compile_entry(entry)
    except MappingError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic.format(), file=out)
        errors = sum(d.severity == "error" for d in exc.diagnostics)
        print(f"{entry.name}: invalid mapping ({plural(errors, 'problem')})", file=out)
        return False
    outcomes = case_outcomes(entry, compiled)
    cases = len(GoldenFolder(entry.golden).cases)
    if project.snapshot_module:
        outcomes.append(module_outcome(entry, compiled))
    differ = [outcome for outcome in outcomes if not outcome.ok]
    updated = [o for o in differ if update and o.problem is None]
    failed = [o for o in differ if o not in updated]
    for outcome in differ:
        _show(entry, outcome, out)
        if outcome in updated:
            apply(outcome)
    print(_verdict(project, entry, cases, updated, failed), file=out)
    return not failed


def _show(entry: MappingEntry, outcome: Outcome, out: TextIO) -> None:
    if outcome.problem is not None:
        print(outcome.problem, file=out)
    elif outcome.expected is None and outcome.path == GoldenFolder(entry.golden).module:
        # A diff against nothing would be the whole module: say how to record it instead.
        print(f"{entry.name}: no snapshot of the generated module yet", file=out)
    elif outcome.actual is None:
        print(f"{_shown(outcome.path)}: its case file is gone (--update removes it)", file=out)
    else:
        out.writelines(outcome.diff())


def _verdict(project: Project, entry: MappingEntry, cases: int, updated: list, failed: list):
    if not cases and not (updated or failed):
        return (
            f"{entry.name}: no golden cases: add one with accoil-map golden add {entry.name} EVENT"
        )
    what = plural(cases, "case") + (" and the generated module" if project.snapshot_module else "")
    parts = [
        f"{len(outcomes)} {verb} ({', '.join(o.label for o in outcomes)})"
        for verb, outcomes in (("updated", updated), ("failed", failed))
        if outcomes
    ]
    return f"{entry.name}: {what}: {'; '.join(parts) or 'ok'}"


def add_case(
    entry: MappingEntry,
    event: object,
    name: str,
    description: str,
    compiled: Compiled | None = None,
) -> tuple[Case, dict]:
    """Record `event` as the case `name` of a mapping, with its current result as expected."""
    compiled = compiled or compile_entry(entry)
    folder = GoldenFolder(entry.golden)
    case = Case(
        name, folder.root / "cases" / f"{name}.json", folder.root / "expected" / f"{name}.json"
    )
    if case.path.exists():
        raise FileExistsError(f"{case.path} exists: choose another name with --name")
    result = evaluate_case(compiled.module, event)
    text = json.dumps({"description": description, "event": event}, indent=2, ensure_ascii=False)
    write_text_atomically(case.path, text + "\n")
    write_text_atomically(case.expected, serialize(result))
    return case, result


def case_name(event: object, taken: set[str]) -> str:
    """A file-safe case name from an event's name field (`event_type`, `event`, `type`)."""
    base = "case"
    if isinstance(event, dict):
        for key in ("event_type", "event", "type", "name"):
            if isinstance(event.get(key), str):
                base = re.sub(r"[^a-z0-9]+", "_", event[key].lower()).strip("_") or base
                break
    name, number = base[:60], 1
    while name in taken:
        number += 1
        name = f"{base[:60]}_{number}"
    return name
