"""`accoil-map init SOURCE`: a mapping, its configuration and first golden cases in a folder.

For a shipped source the mapping is a copy of the shipped one; for `custom`
it is a commented starter whose fields are guessed from the sample events.
Every input is read and checked before the first file is written, and no
existing file is overwritten (a `pyproject.toml` without `[tool.accoil-map]`
gets the table appended).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import orjson

from .config import CONFIG_FILE, PYPROJECT, find_root, load_project
from .editor import EditorSettingsError, write_editor_settings, write_text_atomically
from .errors import MappingError

SHIPPED = files("accoil_map.mappings")
SAMPLES = files("accoil_map.samples")
CUSTOM = "custom"
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SCHEMA_LINE = "# yaml-language-server: $schema=../.accoil-map/mapping.schema.json"

#: Field names the custom starter looks for in the sample, most likely first.
_GUESSES = {
    "event": ("event", "event_type", "event_name", "eventname", "name", "action", "type"),
    "user": ("user_id", "userid", "distinct_id", "uid", "user.id", "user", "email"),
    "time": ("timestamp", "event_time", "time", "ts", "created_at", "sent_at", "date"),
}
_FALLBACK = {"event": "event", "user": "user_id", "time": "timestamp"}


class ScaffoldError(Exception):
    """`init` cannot go ahead; nothing was written."""


@dataclass(frozen=True)
class Sample:
    """Sample events: the file they are kept in (relative to the root), the events, and
    the bytes to write there when the file is not in the folder yet."""

    relative: str
    events: tuple[tuple[int, object], ...]  # (line number, event)
    copy: bytes | None


@dataclass(frozen=True)
class Scaffolded:
    """What `init` wrote, what it could not do, and what to run next."""

    name: str
    written: tuple[str, ...]
    notes: tuple[str, ...]
    sample: Sample | None

    def report(self) -> list[str]:
        """The lines `init` prints."""
        lines = [f"wrote {path}" for path in self.written] + list(self.notes)
        event = f"{self.sample.relative}:1" if self.sample and self.sample.events else "EVENT.json"
        return [
            *lines,
            "next:",
            f"  accoil-map validate mappings/{self.name}.yaml",
            "  accoil-map test",
            f"  accoil-map golden add {self.name} {event}",
        ]


def sources() -> list[str]:
    """The sources `init` knows: each shipped mapping, and `custom`."""
    shipped = (p.name.removesuffix(".yaml") for p in SHIPPED.iterdir() if p.name.endswith(".yaml"))
    return [*sorted(shipped), CUSTOM]


def scaffold(folder: Path, source: str, name: str | None, sample: str | None) -> Scaffolded:
    """Write the mapping `name` (default: `source`) and its tests into `folder`."""
    if source not in sources():
        raise ScaffoldError(f"unknown source {source!r}: choose one of {', '.join(sources())}")
    name = name or source
    if not _NAME.fullmatch(name):
        raise ScaffoldError(f"name {name!r}: lower-case letters, digits, '_' and '-'")
    root = folder.resolve()
    mapping = root / "mappings" / f"{name}.yaml"
    samples = _read_sample(root, name, source, sample)
    text = _mapping_text(source, name, samples)
    copies = [root / samples.relative] if samples and samples.copy is not None else []
    for path in (mapping, *copies):
        if path.exists():
            raise ScaffoldError(f"{path} exists: init writes no file over another")
    written = [_write(root, mapping, text)]
    for path in copies:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(samples.copy)
        written.append(samples.relative)
    config, notes = _configure(root, name, samples)
    written += config
    written += _editor_settings(root, notes)
    cases, case_notes = _first_cases(root, name, samples)
    return Scaffolded(name, tuple(written + cases), tuple(notes + case_notes), samples)


def _write(root: Path, path: Path, text: str) -> str:
    write_text_atomically(path, text)
    return path.relative_to(root).as_posix()


def _read_sample(root: Path, name: str, source: str, sample: str | None) -> Sample | None:
    """The sample events: the file given, else the shipped sample of the source, if any."""
    if sample is not None:
        path = Path(sample).resolve()
        if not path.is_file():
            raise ScaffoldError(f"no such file: {sample}")
        data = path.read_bytes()
        events = _events(data, sample)
        if path.is_relative_to(root):
            return Sample(path.relative_to(root).as_posix(), events, None)
    elif source != CUSTOM and SAMPLES.joinpath(f"{source}.ndjson").is_file():
        data = SAMPLES.joinpath(f"{source}.ndjson").read_bytes()
        events = _events(data, f"the shipped {source} sample")
    else:
        return None
    return Sample(f"samples/{name}.ndjson", events, data)


def _events(data: bytes, where: str) -> tuple[tuple[int, object], ...]:
    events = []
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                events.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                raise ScaffoldError(f"{where}:{number}: invalid JSON: {exc}") from None
    return tuple(events)


def _mapping_text(source: str, name: str, samples: Sample | None) -> str:
    if source == CUSTOM:
        return starter(name, samples)
    text = SHIPPED.joinpath(f"{source}.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = _SCHEMA_LINE + "\n"  # the schema copy init writes, not the checkout's
    text = "".join(lines)
    if name == source:
        return text
    return re.sub(
        rf"^name: {re.escape(source)}$", f"name: {json.dumps(name)}", text, flags=re.MULTILINE
    )


def _fields(samples: Sample | None) -> dict[str, str]:
    """Each leaf field of the sample events, as a JMESPath path, and its JSON type(s)."""
    if samples is None:
        return {}
    from genson import SchemaBuilder

    builder = SchemaBuilder()
    for _, event in samples.events:
        builder.add_object(event)
    found: dict[str, str] = {}

    def walk(schema: dict, path: tuple[str, ...]) -> None:
        if "properties" in schema:
            for key, sub in schema["properties"].items():
                walk(sub, (*path, key))
        elif path:
            kind = schema.get("type", "any")
            found[_jmespath(path)] = kind if isinstance(kind, str) else " or ".join(kind)

    walk(builder.to_schema(), ())
    return found


def _jmespath(keys: tuple[str, ...]) -> str:
    """The JMESPath path of nested keys; a key that is not an identifier is quoted (JSON)."""
    return ".".join(key if _IDENTIFIER.fullmatch(key) else json.dumps(key) for key in keys)


def _guess(fields: dict[str, str], role: str) -> str | None:
    """The first field named like a `role` field; only paths of plain identifiers."""
    plain = {path.lower(): path for path in fields if _PLAIN_PATH.fullmatch(path)}
    for candidate in _GUESSES[role]:
        if candidate in plain:
            return plain[candidate]
    return None


def _comment(path: str) -> str:
    # Keys are event data: a comment shows them as JSON unless they are plain printable ASCII.
    return path if path.isascii() and path.isprintable() else json.dumps(path)


def starter(name: str, samples: Sample | None) -> str:
    """A commented starter mapping for `source: custom`, its fields guessed from the sample."""
    fields = _fields(samples)
    chosen = {role: _guess(fields, role) for role in _GUESSES}
    seen = [f"#   {_comment(path)}: {kind}" for path, kind in list(fields.items())[:40]]
    if len(fields) > 40:
        seen.append(f"#   ... and {len(fields) - 40} more")
    where = samples.relative if samples else "no sample (init --sample EVENTS lists them here)"

    def path(role: str) -> str:
        return json.dumps(chosen[role] or _FALLBACK[role])

    def note(role: str) -> str:
        return "" if chosen[role] else "  # not in the sample: change it"

    return "\n".join(
        [
            _SCHEMA_LINE,
            "# A starter mapping for your own events (source: custom), written by accoil-map init.",
            "# Every rule whose `when:` holds emits its call. The language: docs/mapping-language.md",
            f"# of accoil-map. Fields seen in {where}:",
            *seen,
            "version: 1",
            f"name: {json.dumps(name)}",
            "source: custom",
            "define:",
            "  # Which field identifies the user in Accoil.",
            f"  user: {{path: {path('user')}}}{note('user')}",
            "rules:",
            "  - name: events",
            "    # when: \"event != 'Ignored'\"   # a JMESPath condition; without one, every event",
            "    emit:",
            "      type: track",
            f"      event: {{path: {path('event')}}}{note('event')}",
            '      userId: "{{ user }}"',
            f"      timestamp: {{path: {path('time')}, as: timestamp}}{note('time')}",
            "",
        ]
    )


def _configure(root: Path, name: str, samples: Sample | None) -> tuple[list[str], list[str]]:
    """Write the configuration, or say what to add to one that exists."""
    sample_line = f"{name} = [{json.dumps(samples.relative)}]" if samples else None
    found_root, existing = find_root(root)
    if existing is not None and found_root == root:
        notes = [f"{existing.name} exists and was left as it is"]
        if sample_line:
            notes.append(f"  add the sample to its samples table: {sample_line}")
        return [], _covers(root, name, notes)
    table = [
        'mappings = ["mappings/*.yaml"]',
        'golden = "golden"',
        "snapshot-module = false",
    ]
    samples_table = ["", "[{}samples]", sample_line] if sample_line else []
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        try:
            tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ScaffoldError(f"{pyproject}: invalid TOML, not extended: {exc}") from None
        text = pyproject.read_text(encoding="utf-8")
        added = ["", "[tool.accoil-map]", *table, *samples_table]
        body = "\n".join(added).replace("[{}samples]", "[tool.accoil-map.samples]")
        write_text_atomically(pyproject, text.rstrip("\n") + "\n" + body + "\n")
        return [f"{PYPROJECT} ([tool.accoil-map] added)"], _covers(root, name, [])
    header = ["# accoil-map: this repository's mappings and their golden cases."]
    body = "\n".join([*header, *table, *samples_table]).replace("[{}samples]", "[samples]")
    return [_write(root, root / CONFIG_FILE, body + "\n")], _covers(root, name, [])


def _covers(root: Path, name: str, notes: list[str]) -> list[str]:
    project = load_project(root)
    if name not in [entry.name for entry in project.mappings]:
        notes.append(f"the configuration does not name mappings/{name}.yaml: add it to mappings")
    return notes


def _editor_settings(root: Path, notes: list[str]) -> list[str]:
    try:
        return [path.relative_to(root).as_posix() for path in write_editor_settings(root)]
    except EditorSettingsError as exc:
        notes.append(f"editor settings not written: {exc}")
        return []


def _first_cases(root: Path, name: str, samples: Sample | None) -> tuple[list[str], list[str]]:
    """A golden case per rule: the first sample event that gives that rule's call."""
    from .golden import add_case, compile_entry, summary
    from .interpreter import Interpreter
    from .pipeline import check
    from .runtime import RejectEvent

    project = load_project(root)
    entry = project.mapping(name)
    try:
        checked = check(entry.path)
    except MappingError as exc:
        return [], [f"mappings/{name}.yaml does not validate yet:", exc.diagnostics[0].format()]
    compiled = compile_entry(entry)
    interpreter, written, notes = Interpreter(checked.mapping), [], []
    for rule in checked.mapping.rules:
        found = None
        for number, event in samples.events if samples else ():
            try:
                traces = interpreter.trace(event)
            except RejectEvent:
                continue
            if any(t.rule == rule.name and t.payload is not None for t in traces):
                found = (number, event)
                break
        if found is None:
            notes.append(
                f"rule {rule.name!r}: no sample event gives its call; "
                f"add a case with accoil-map golden add {name} EVENT"
            )
            continue
        number, event = found
        case_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", rule.name)
        description = (
            f"First case of rule {rule.name!r}, from {samples.relative} line {number} "
            "(written by accoil-map init): say here what it tests."
        )
        case, result = add_case(entry, event, case_name, description, compiled)
        written.append(f"{project.relative(case.path)} ({summary(result)})")
    return written, notes
