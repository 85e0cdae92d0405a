"""The pipeline, end to end: YAML -> checked IR -> Python source -> module.

These functions are the public Python API (re-exported by `accoil_map`).
Each takes a mapping as a file path (`str` without a line break, or any
`os.PathLike`), as YAML text (`str` with a line break, or `bytes`), or as
the `Checked` result of an earlier `check`.
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass
from typing import Any, Union

from . import ir
from .analysis import analyse
from .audit import audit_source
from .codegen import generate
from .errors import Diagnostic, MappingError
from .loader import Document, load_bytes, load_document, load_text
from .lower import lower
from .modules import import_source
from .schema import validate_schema
from .typos import near_operator_keys


@dataclass(frozen=True)
class Checked:
    """A mapping that passed every check: its document, its IR and its warnings."""

    document: Document
    mapping: ir.Mapping
    warnings: tuple[Diagnostic, ...]


MappingInput = Union[str, bytes, "os.PathLike[str]", Checked]


def check(mapping: MappingInput, *, filename: str | None = None) -> Checked:
    """Load, schema-check, lower and analyse a mapping; raises MappingError.

    `filename` names YAML given as text in diagnostics (default `<string>`).
    """
    if isinstance(mapping, Checked):
        return mapping
    return check_document(_document(mapping, filename))


def check_document(document: Document) -> Checked:
    """The checks of `check`, on a document already loaded."""
    problems = validate_schema(document)
    if problems:
        raise MappingError([*problems, *document.warnings])
    mapping, problems = lower(document)
    problems += near_operator_keys(document)
    if not any(p.severity == "error" for p in problems):
        # Whole-mapping checks only make sense once every value lowered cleanly.
        problems += analyse(document, mapping)
    problems.sort(key=lambda p: (p.line, p.col))
    errors = [p for p in problems if p.severity == "error"]
    warnings = (*document.warnings, *(p for p in problems if p.severity != "error"))
    if errors:
        raise MappingError([*errors, *warnings])
    return Checked(document, mapping, tuple(warnings))


def compile_source(mapping: MappingInput, *, filename: str | None = None) -> str:
    """The generated module's source, audited before anyone runs or writes it."""
    source = generate(check(mapping, filename=filename).mapping)
    audit_source(source)
    return source


def load(mapping: MappingInput, *, filename: str | None = None) -> types.ModuleType:
    """Compile a mapping and import the result: a module with `transform(event)`."""
    checked = check(mapping, filename=filename)
    return import_source(compile_source(checked), checked.mapping.name)


def explain(mapping: MappingInput, event: Any, *, filename: str | None = None):
    """What each rule does with one event, and why; `str()` of the result is the report."""
    from .explanation import explain_event  # the interpreter is only needed here

    return explain_event(check(mapping, filename=filename).mapping, event)


def _document(mapping: str | bytes | os.PathLike, filename: str | None) -> Document:
    if isinstance(mapping, bytes):
        return load_bytes(mapping, filename or "<string>")
    if isinstance(mapping, str) and "\n" in mapping:
        return load_text(mapping, filename or "<string>")
    if isinstance(mapping, (str, os.PathLike)):
        return load_document(mapping)
    raise TypeError(f"a mapping is a path, YAML text or Checked, not {type(mapping).__name__}")
