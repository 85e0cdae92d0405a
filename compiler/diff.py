"""`diff`: what a mapping change does to real events.

Both compiled modules run over the same NDJSON stream; per input line, the
two outcomes (the calls, the calls not emitted for a missing key, or the
reason the event was rejected) are compared. Only counts and a fixed number
of examples are kept, so memory stays flat however long the input is.

Calls are paired by type and position among the calls of that type (the
first identify before with the first identify after), so a change to one
rule does not shift the others. A changed key is named by its path in the
call, prefixed with the call type: `track.properties.plan_type`.
"""

from __future__ import annotations

import difflib
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import orjson

#: Examples kept per kind of change.
EXAMPLES_PER_KIND = 3
#: Distinct key paths counted one by one; beyond, their counts go to OTHER_KEYS
#: (event data can spread any keys into a payload).
MAX_KEY_PATHS = 500
OTHER_KEYS = "(other keys)"

#: Kinds of change of one event, in report order.
EVENT_KINDS = ("calls changed", "newly dropped", "newly emitted", "rejections changed")
#: Kinds of change of one key path, in report order.
KEY_KINDS = ("added", "removed", "value changed", "type changed")


@dataclass(frozen=True)
class Outcome:
    """What one module made of one event: its calls, calls not emitted, or the rejection.

    Two outcomes are equal when their JSON is (keys sorted): `true` and `1`, or `1` and
    `1.0`, are equal in Python but not in a call body."""

    calls: tuple = field(default=(), compare=False)
    dropped: tuple = field(default=(), compare=False)  # (rule, missing keys) not emitted
    rejected: str | None = None
    fingerprint: bytes = b""

    def as_json(self) -> dict:
        """The outcome as the example diffs show it."""
        if self.rejected is not None:
            return {"rejected": self.rejected}
        shown: dict = {"calls": list(self.calls)}
        if self.dropped:
            shown["not emitted"] = [
                f"rule '{rule}': missing {', '.join(keys)}" for rule, keys in self.dropped
            ]
        return shown


@dataclass(frozen=True)
class Example:
    """One changed event: its kind, input line number and the JSON diff of its outcomes."""

    kind: str
    line: int
    diff: str


@dataclass
class DiffReport:
    """Counts over every event, changes per key path, and a few examples per kind."""

    old: str
    new: str
    events: int = 0
    unchanged: int = 0
    changed: int = 0
    kinds: Counter = field(default_factory=Counter)  # EVENT_KINDS -> events
    keys: dict = field(default_factory=dict)  # path -> Counter of KEY_KINDS (events)
    examples: list = field(default_factory=list)

    def as_json(self) -> dict:
        """The report as plain data (the `--format json` output)."""
        return {
            "old": self.old,
            "new": self.new,
            "events": self.events,
            "unchanged": self.unchanged,
            "changed": self.changed,
            **{kind.replace(" ", "_"): self.kinds[kind] for kind in EVENT_KINDS},
            "keys": [
                {"path": path, **{kind.replace(" ", "_"): counts[kind] for kind in KEY_KINDS}}
                for path, counts in self.sorted_keys()
            ],
            "examples": [{"kind": e.kind, "line": e.line, "diff": e.diff} for e in self.examples],
        }

    def sorted_keys(self) -> list[tuple[str, Counter]]:
        """Key paths, most changed first, then by name."""
        return sorted(self.keys.items(), key=lambda item: (-sum(item[1].values()), item[0]))


def outcome(
    transform: Callable,
    reject_error: type[Exception],
    raw: bytes,
    decode: Callable[[bytes], object] = orjson.loads,
) -> Outcome:
    """Run one module over one NDJSON line (as `run` does) and keep what it made.

    `decode` is the module's `decode_line` where `run` would use it: a line it
    refuses gets orjson's verdict, as in `runner.process_lines`."""
    try:
        event = decode(raw)
    except ValueError:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return Outcome(rejected=f"invalid JSON: {exc}")
    reasons: list = []
    try:
        calls = transform(event, reasons)
    except reject_error as exc:
        return Outcome(rejected=str(exc))
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return Outcome(rejected=f"unreadable event data ({type(exc).__name__}: {exc})")
    if not calls and not reasons:
        return Outcome(rejected="skipped: no rule's condition held")
    dropped = tuple((rule, tuple(keys)) for rule, keys in reasons)
    try:
        fingerprint = orjson.dumps([calls, dropped], option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        return Outcome(rejected=f"a call body cannot be written as JSON: {exc}")
    return Outcome(tuple(calls), dropped, fingerprint=fingerprint)


def diff_modules(
    old, new, lines: Iterable[tuple[int, bytes]], old_name: str, new_name: str
) -> DiffReport:
    """Compare two generated modules over numbered NDJSON lines (blank lines are not events)."""
    report = DiffReport(old_name, new_name)
    for lineno, raw in lines:
        if not raw.strip():
            continue
        report.events += 1
        # Each module reads the line as `run` does: only the fields it reads.
        before = outcome(old.transform, old.RejectEvent, raw, old.decode_line)
        after = outcome(new.transform, new.RejectEvent, raw, new.decode_line)
        if before == after:
            report.unchanged += 1
        else:
            _record(report, lineno, before, after)
    return report


def _record(report: DiffReport, lineno: int, before: Outcome, after: Outcome) -> None:
    report.changed += 1
    kind = _event_kind(before, after)
    report.kinds[kind] += 1
    for path, key_kind in set(_key_changes(before.calls, after.calls)):
        if path not in report.keys and len(report.keys) >= MAX_KEY_PATHS:
            path = OTHER_KEYS
        report.keys.setdefault(path, Counter())[key_kind] += 1
    if sum(e.kind == kind for e in report.examples) < EXAMPLES_PER_KIND:
        report.examples.append(Example(kind, lineno, json_diff(before, after)))


def _event_kind(before: Outcome, after: Outcome) -> str:
    if before.calls and not after.calls:
        return "newly dropped"
    if after.calls and not before.calls:
        return "newly emitted"
    if before.rejected != after.rejected or before.dropped != after.dropped:
        return "rejections changed"
    return "calls changed"


def _key_changes(before: tuple, after: tuple) -> Iterator[tuple[str, str]]:
    """(key path, kind) of every difference between two events' calls."""
    old, new = _by_type(before), _by_type(after)
    for call_type in sorted(old.keys() | new.keys()):
        olds, news = old.get(call_type, []), new.get(call_type, [])
        for index in range(max(len(olds), len(news))):
            prefix = call_type if index == 0 else f"{call_type}#{index + 1}"
            if index >= len(olds):
                yield prefix, "added"
            elif index >= len(news):
                yield prefix, "removed"
            else:
                yield from _value_changes(prefix, olds[index], news[index])


def _by_type(calls: tuple) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for call in calls:
        kind = call.get("type") if isinstance(call, dict) else None
        grouped.setdefault(str(kind), []).append(call)
    return grouped


def _value_changes(path: str, old, new) -> Iterator[tuple[str, str]]:
    """Differences between two JSON values, down to the keys and items that differ."""
    stack = [(path, old, new)]
    while stack:
        where, a, b = stack.pop()
        if _json_type(a) != _json_type(b):
            yield where, "type changed"
        elif isinstance(a, dict):
            for key in a.keys() - b.keys():
                yield f"{where}.{key}", "removed"
            for key in b.keys() - a.keys():
                yield f"{where}.{key}", "added"
            stack += [(f"{where}.{key}", a[key], b[key]) for key in a.keys() & b.keys()]
        elif isinstance(a, list):
            for index in range(len(b), len(a)):
                yield f"{where}[{index}]", "removed"
            for index in range(len(a), len(b)):
                yield f"{where}[{index}]", "added"
            stack += [(f"{where}[{i}]", x, y) for i, (x, y) in enumerate(zip(a, b, strict=False))]
        elif a != b:
            yield where, "value changed"


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


def _json_type(value) -> str:
    """The JSON type of a call body's value (`1` and `1.0` differ in a body)."""
    return _JSON_TYPES.get(type(value), "array")


def json_diff(before: Outcome, after: Outcome) -> str:
    """A unified diff of the two outcomes as indented JSON with sorted keys."""
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS

    def lines(outcome_: Outcome) -> list[str]:
        return orjson.dumps(outcome_.as_json(), option=option).decode().splitlines()

    return "\n".join(
        difflib.unified_diff(lines(before), lines(after), "old", "new", lineterm="", n=2)
    )


def mapping_at_revision(path: str, revision: str) -> bytes:
    """The bytes of the mapping file `path` at a git revision (`git show REV:./path`)."""
    folder, name = os.path.split(os.path.abspath(path))
    try:
        shown = subprocess.run(
            ["git", "show", f"{revision}:./{name}"],  # ./: relative to `folder`, not the root
            cwd=folder,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise RevisionError("--base needs git, and git is not installed") from None
    if shown.returncode != 0:
        problem = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"{path} at {revision}: {problem[-1] if problem else 'git failed'}")
    return shown.stdout


class RevisionError(Exception):
    """The mapping could not be read at the git revision asked for."""


# Rendering ---------------------------------------------------------------------


def _totals(report: DiffReport) -> list[tuple[str, int]]:
    return [
        ("events", report.events),
        ("unchanged", report.unchanged),
        ("changed", report.changed),
        *((kind, report.kinds[kind]) for kind in EVENT_KINDS),
    ]


def render_text(report: DiffReport) -> str:
    """The report for a terminal."""
    lines = [f"diff {report.old} -> {report.new}"]
    lines += [f"  {name:<20}{count:>10,}" for name, count in _totals(report)]
    if report.keys:
        width = max(len("key path"), *(len(path) for path in report.keys))
        lines += ["", f"{'key path':<{width}}" + "".join(f"{k:>15}" for k in KEY_KINDS)]
        lines += [
            f"{path:<{width}}" + "".join(f"{counts[k]:>15,}" for k in KEY_KINDS)
            for path, counts in report.sorted_keys()
        ]
    for example in report.examples:
        lines += ["", f"line {example.line}: {example.kind}", example.diff]
    return "\n".join(lines)


def render_markdown(report: DiffReport) -> str:
    """The report as Markdown, to paste into a pull request."""
    lines = [f"### accoil-map diff: `{report.old}` → `{report.new}`", ""]
    lines += ["| | events |", "| --- | ---: |"]
    lines += [f"| {name} | {count:,} |" for name, count in _totals(report)]
    if report.keys:
        lines += ["", "| key path | " + " | ".join(KEY_KINDS) + " |"]
        lines.append("| --- |" + " ---: |" * len(KEY_KINDS))
        lines += [
            f"| `{_cell(path)}` | " + " | ".join(f"{counts[k]:,}" for k in KEY_KINDS) + " |"
            for path, counts in report.sorted_keys()
        ]
    for example in report.examples:
        lines += ["", f"<details><summary>line {example.line}: {example.kind}</summary>", ""]
        lines += ["```diff", example.diff, "```", "", "</details>"]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a key from event data may hold `|`)."""
    return text.replace("|", "\\|")


def render_json(report: DiffReport) -> str:
    """The report as one JSON object."""
    return orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode()


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
