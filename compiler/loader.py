"""Load a mapping file: YAML text -> plain data, with the line and column of every node.

The loader is deliberately stricter than YAML: it never builds objects from tags,
refuses anchors and aliases, reports duplicate keys, bounds nesting, and reads
scalars with YAML 1.2 core-schema rules, flagging the YAML 1.1 readings that
other tools would give the same text.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic, MappingError


class _PurePythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python parser: the same events as libyaml's CParser."""

    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# libyaml is ~100x faster than the pure-Python scanner on large scalars; both
# yield the same events, so the pure-Python parser is only a fallback.
try:
    from yaml.cyaml import CParser as _FastParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _FastParser = _PurePythonParser

# libyaml's own nesting limit (1000 flow levels in PyYAML 6.0.2 and later) may
# stop the scan before the composer reaches MAX_DEPTH; its message names the
# limit, never the place where our level 65 starts.
_LIBYAML_DEPTH_ERROR = "maximum nesting depth"


MAX_DEPTH = 64
#: The largest mapping file read (a mapping is written by a person; the bound keeps
#: /dev/zero or a runaway generator from exhausting memory).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: The most values (YAML nodes) in one mapping: checking costs about 0.4 ms a node.
MAX_NODES = 50_000
_QUOTED = ("'", '"')
_SCALAR_STYLES = frozenset({"'", '"', "|", ">"})

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_NON_FINITE = re.compile(r"[-+]?\.(inf|nan)", re.IGNORECASE)

# YAML 1.1 readings that the core schema leaves as strings: we keep the string
# but warn, because the same file means something else to a YAML 1.1 tool.
_YAML11_BOOL = frozenset({"yes", "no", "on", "off", "y", "n"})
_YAML11_NUMBER = re.compile(
    r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"  # sexagesimal: 1:30 (90 in YAML 1.1)
    r"|[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?"  # digit separators: 1_000
    r"|[-+]?0b[01_]+"  # binary
)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")


@dataclass(frozen=True)
class Mark:
    """Where a node starts in the file (1-based) and, for scalars, how it was written."""

    line: int
    col: int
    style: str | None = None


@dataclass(frozen=True)
class Document:
    """A loaded mapping file: its plain data and the position of every node."""

    path: str
    text: str
    sha256: str
    data: Any
    marks: Mapping[tuple, Mark]
    key_marks: Mapping[tuple, Mark]
    warnings: tuple[Diagnostic, ...] = ()

    def locate(self, path: tuple) -> Mark:
        """Return the mark of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return mark
        return Mark(1, 1)

    def key_line(self, path: tuple) -> int:
        """The line of the key that names `path` (of its value when it has no key)."""
        mark = self.key_marks.get(tuple(path))
        return mark.line if mark is not None else self.locate(path).line

    def diagnostic(
        self,
        path: tuple,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
        offset: int | None = None,
        severity: str = "error",
        code: str,
    ) -> Diagnostic:
        """Build a Diagnostic at the node of `path` (or its key), `offset` chars into a scalar."""
        path = tuple(path)
        mark = (self.key_marks.get(path) if at_key else None) or self.locate(path)
        line, col = mark.line, mark.col
        if offset is not None:
            line, col = self._inside(mark, offset)
        return Diagnostic(self.path, line, col, message, hint, severity, code=code)

    def _inside(self, mark: Mark, offset: int) -> tuple[int, int]:
        # An inline scalar's text starts right at the mark, after any quote; a block
        # scalar's on the first non-blank line after its indicator, and goes on over
        # its lines (see _in_block).
        if mark.style in ("|", ">"):
            return _in_block(self.text.splitlines()[mark.line :], mark, offset)
        return mark.line, mark.col + offset + (1 if mark.style in _QUOTED else 0)


def _in_block(lines: list[str], mark: Mark, offset: int) -> tuple[int, int]:
    """(line, column) of the character at `offset` in the value of a block scalar whose
    content lines (from the line after its indicator on) are `lines`.

    A literal (|) value joins its lines with one newline each. A folded (>) value
    joins two text lines with a space, and a blank line between them becomes the
    newline instead; either way a break costs one character or none."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return mark.line, mark.col
    indent = len(lines[first]) - len(lines[first].lstrip(" "))
    remaining = offset
    for index in range(first, len(lines)):
        text = lines[index][indent:]
        if remaining <= len(text):
            return mark.line + index + 1, indent + remaining + 1
        following = lines[index + 1] if index + 1 < len(lines) else ""
        folded_away = mark.style == ">" and text.strip() and not following.strip()
        remaining -= len(text) + (0 if folded_away else 1)
    return mark.line + first + 1, indent + 1


def load_document(path: str | os.PathLike) -> Document:
    """Read a mapping file and load it; raise MappingError when it is not acceptable."""
    return load_bytes(read_mapping_bytes(path), os.fspath(path))


def read_mapping_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a mapping file, at most MAX_FILE_BYTES; MappingError otherwise."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise MappingError(
            [Diagnostic(name, 1, 1, f"cannot read file: {error.strerror}", code="AM001")]
        ) from None
    _check_size(len(raw), name)
    return raw


def _check_size(size: int, path: str) -> None:
    if size > MAX_FILE_BYTES:
        raise MappingError(
            [
                Diagnostic(
                    path,
                    1,
                    1,
                    f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                    "a mapping this large is not one a person can review; split it",
                    code="AM002",
                )
            ]
        )


def load_bytes(raw: bytes, path: str = "<string>") -> Document:
    """Load mapping YAML given as UTF-8 bytes; `path` is only used in messages."""
    _check_size(len(raw), path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MappingError(
            [
                Diagnostic(
                    path,
                    1,
                    1,
                    f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})",
                    "save the file as UTF-8",
                    code="AM003",
                )
            ]
        ) from None
    return _load(text, path, hashlib.sha256(raw).hexdigest())


def load_text(text: str, path: str = "<string>") -> Document:
    """Load mapping YAML given as text; `path` is only used in messages."""
    _check_size(len(text), path)
    return _load(text, path, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def _load(text: str, path: str, sha256: str) -> Document:
    builder = _Builder(path)
    try:
        root = _compose(text, builder)
    except yaml.MarkedYAMLError as error:
        raise MappingError([*builder.errors, _syntax_diagnostic(error, text, path)]) from None
    except yaml.reader.ReaderError as error:
        raise MappingError([*builder.errors, _reader_diagnostic(error, text, path)]) from None
    except _Fatal as fatal:
        raise MappingError([*builder.errors, fatal.diagnostic]) from None
    if root is None:
        raise MappingError([Diagnostic(path, 1, 1, "the file is empty", _ROOT_HINT, code="AM004")])
    data = builder.construct(root, ())
    builder.warnings += _directive_warnings(text, path)
    if not isinstance(root, MappingNode):
        builder.error(
            root, "a mapping file must be a YAML mapping of keys to values", _ROOT_HINT, "AM007"
        )
    if builder.errors:
        raise MappingError(sorted(builder.errors, key=lambda d: (d.line, d.col)))
    return Document(
        path=path,
        text=text,
        sha256=sha256,
        data=data,
        marks=MappingProxyType(builder.marks),
        key_marks=MappingProxyType(builder.key_marks),
        warnings=tuple(builder.warnings),
    )


def _directive_warnings(text: str, path: str) -> list[Diagnostic]:
    """A %YAML directive promises a version; we always read YAML 1.2, so say so."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("---"):
            break
        if line.startswith("%YAML"):
            found.append(
                Diagnostic(
                    path,
                    number,
                    1,
                    f"'{line.strip()}' is ignored: mappings are read as YAML 1.2",
                    "remove the directive",
                    "warning",
                    code="AM053",
                )
            )
    return found


_ROOT_HINT = "start with `version: 1`, `name: ...`, `source: ...` and `rules:`"


class _Fatal(Exception):
    """A problem after which the rest of the stream is not read (e.g. an alias bomb)."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic
        super().__init__(diagnostic.format())


class _Composer(Composer):
    """PyYAML's composer over a parser, refusing anchors, aliases and deep nesting."""

    def __init__(self, text: str, builder: _Builder):
        self.parser_class.__init__(self, text)
        Composer.__init__(self)
        self.builder = builder
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._fatal(
                event,
                f"more than {MAX_NODES:,} values in one mapping",
                "split the mapping",
                code="AM010",
            )
        if isinstance(event, AliasEvent):
            raise self._fatal(
                event, f"YAML aliases (*{event.anchor}) are not supported", code="AM008"
            )
        if event.anchor is not None:
            raise self._fatal(
                event, f"YAML anchors (&{event.anchor}) are not supported", code="AM008"
            )
        if event.tag is not None:
            self.builder.errors.append(
                self._at(
                    event,
                    f"YAML tags are not supported (found '{event.tag}')",
                    "remove the tag; quote the value to make it a string",
                    code="AM009",
                )
            )
        if isinstance(event, ScalarEvent):
            return self.compose_scalar_node(None)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fatal(
                event,
                f"nesting deeper than {MAX_DEPTH} levels",
                "flatten the structure",
                code="AM011",
            )
        if isinstance(event, SequenceStartEvent):
            node = self.compose_sequence_node(None)
        else:
            assert isinstance(event, MappingStartEvent)
            node = self.compose_mapping_node(None)
        self.depth -= 1
        return node

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # Tags are resolved later from the scalar's text and style (YAML 1.2
        # core schema); PyYAML's YAML 1.1 implicit resolvers are never used.
        return kind.__name__

    def _at(self, event: Any, message: str, hint: str | None = None, *, code: str) -> Diagnostic:
        mark = event.start_mark
        return Diagnostic(
            self.builder.path, mark.line + 1, mark.column + 1, message, hint, code=code
        )

    def _fatal(self, event: Any, message: str, hint: str | None = None, *, code: str) -> _Fatal:
        hint = hint or "repeat the value where it is needed, or name it once under `define:`"
        return _Fatal(self._at(event, message, hint, code=code))


class _FastComposer(_Composer, _FastParser):
    parser_class = _FastParser


class _PurePythonComposer(_Composer, _PurePythonParser):
    parser_class = _PurePythonParser


def _compose(text: str, builder: _Builder) -> Node | None:
    try:
        return _compose_with(_FastComposer, text, builder)
    except yaml.MarkedYAMLError as error:
        if _LIBYAML_DEPTH_ERROR not in str(error.problem):
            raise
    # Read again event by event: the composer stops at MAX_DEPTH, at its place.
    builder.errors.clear()
    return _compose_with(_PurePythonComposer, text, builder)


def _compose_with(composer_class: type[_Composer], text: str, builder: _Builder) -> Node | None:
    composer = composer_class(text, builder)
    try:
        return composer.get_single_node()
    finally:
        composer.dispose()


class _Builder:
    """Turns the node tree into plain data, recording marks and problems on the way."""

    def __init__(self, path: str):
        self.path = path
        self.marks: dict[tuple, Mark] = {}
        self.key_marks: dict[tuple, Mark] = {}
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    def construct(self, node: Node, path: tuple) -> Any:
        """Plain value of `node`; nesting is bounded by MAX_DEPTH, so recursion is safe."""
        self.marks[path] = _mark(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.construct(item, (*path, i)) for i, item in enumerate(node.value)]
        value, problem = _resolve_scalar(node)
        if problem is not None:
            self.problem(node, problem)
        return value

    def _mapping(self, node: MappingNode, path: tuple) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.error(
                    key_node,
                    f"duplicate key '{key}' (first defined at line {first_line[key]})",
                    "remove one of them",
                    "AM012",
                )
                continue
            if key == "<<" and not key_node.style:  # plain (the C parser says "")
                self.problem(
                    key_node,
                    _Problem(
                        "warning",
                        "'<<' is a plain key here: YAML merge keys are not supported",
                        "write the keys out, or quote '<<' if you mean the key",
                        "AM052",
                    ),
                )
            first_line[key] = line
            self.key_marks[(*path, key)] = _mark(key_node)
            result[key] = self.construct(value_node, (*path, key))
        return result

    def _key(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode):
            value, problem = _resolve_scalar(node)
            if isinstance(value, str) and (problem is None or problem.severity == "warning"):
                return value  # no YAML 1.1 warning for keys: they are strings anyway
        hint = f"write '{node.value}'" if isinstance(node, ScalarNode) else None
        self.error(node, "keys must be strings; quote it", hint, "AM013")
        return None

    def error(self, node: Node, message: str, hint: str | None, code: str) -> None:
        """Record an error at `node`."""
        self.problem(node, _Problem("error", message, hint, code))

    def problem(self, node: Node, problem: _Problem) -> None:
        """Record an error or a warning at `node`."""
        mark = node.start_mark
        diagnostic = Diagnostic(
            self.path,
            mark.line + 1,
            mark.column + 1,
            problem.message,
            problem.hint,
            problem.severity,
            code=problem.code,
        )
        (self.errors if problem.severity == "error" else self.warnings).append(diagnostic)


def _mark(node: Node) -> Mark:
    style = node.style if isinstance(node, ScalarNode) and node.style in _SCALAR_STYLES else None
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, style)


class _Problem(NamedTuple):
    severity: str
    message: str
    hint: str | None
    code: str


def _resolve_scalar(node: ScalarNode) -> tuple[Any, _Problem | None]:
    """Value of a scalar by YAML 1.2 core rules, with a problem and whether it is an error."""
    text = node.value
    if node.style in _SCALAR_STYLES:
        return text, None  # quoted and block scalars are always strings
    if text in _NULL:
        return None, None
    if text in _BOOL:
        return _BOOL[text], None
    if text.lower() in _YAML11_BOOL:
        return text, _Problem(
            "warning", f"read as the string '{text}'; quote it, or write true/false", None, "AM050"
        )
    if _YAML11_NUMBER.fullmatch(text):
        return text, _Problem(
            "warning",
            f"read as the string '{text}' (YAML 1.1 reads a number)",
            "quote it, or write the number in plain decimal",
            "AM051",
        )
    return _resolve_number(text)


def _resolve_number(text: str) -> tuple[Any, _Problem | None]:
    if _LEADING_ZERO.fullmatch(text):
        return text, _Problem(
            "error",
            f"ambiguous number '{text}' (octal in YAML 1.1, decimal in YAML 1.2)",
            _leading_zero_hint(text),
            "AM014",
        )
    try:
        if _INT.fullmatch(text):
            return int(text), None
        if _OCT.fullmatch(text) or _HEX.fullmatch(text):
            return int(text, 0), None
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return text, _Problem(
            "error", f"number '{text[:20]}...' is too long", "quote it to keep it as text", "AM015"
        )
    if _NON_FINITE.fullmatch(text):
        return text, _Problem(
            "error",
            f"'{text}' is not a finite number",
            "a payload cannot carry infinity or NaN; quote it to mean the text",
            "AM016",
        )
    if _FLOAT.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            return text, _Problem(
                "error", f"number '{text}' is too large", "a payload cannot carry infinity", "AM016"
            )
        return value, None
    return text, None


def _leading_zero_hint(text: str) -> str:
    sign = text[0] if text[0] in "+-" else ""
    digits = text.lstrip("+-")
    choices = [f"{sign}{int(digits)}"]
    if set(digits) <= set("01234567"):
        choices.append(f"{sign}0o{digits.lstrip('0') or '0'}")
    return f"write {', '.join(choices)} or '{text}'"


def _syntax_diagnostic(error: yaml.MarkedYAMLError, text: str, path: str) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"invalid YAML: {error.problem or error.context}"
    if error.context and error.problem and error.context_mark:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    lines = text.splitlines()
    found = lines[line - 1][col - 1 : col] if line <= len(lines) else ""
    hint = "indent with spaces; YAML does not allow tabs" if found == "\t" else None
    return Diagnostic(path, line, col, message, hint, code="AM005")


def _reader_diagnostic(error: yaml.reader.ReaderError, text: str, path: str) -> Diagnostic:
    # The reader stops at the first unacceptable character, and libyaml gives
    # a byte offset (not a character offset) with the character as a code
    # point: finding the character's first occurrence is right for both readers.
    char = chr(error.character) if isinstance(error.character, int) else error.character
    before = text[: max(text.find(char), 0)]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return Diagnostic(
        path,
        line,
        col,
        f"invalid character U+{ord(char):04X} ({char!r})",
        "remove it, or write it as an escape inside double quotes",
        code="AM006",
    )
