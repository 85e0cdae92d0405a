"""The pipeline, end to end: YAML file -> checked IR -> Python source -> module."""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

from . import ir
from .analysis import analyse
from .codegen import generate
from .errors import Diagnostic, MappingError
from .loader import Document, load_document
from .lower import lower
from .modules import import_source
from .schema import validate_schema


@dataclass(frozen=True)
class Checked:
    """A mapping that passed every check, with its warnings."""

    document: Document
    mapping: ir.Mapping
    warnings: tuple[Diagnostic, ...]


def check(path: str | PathLike) -> Checked:
    """Load, schema-check, lower and analyse a mapping file; raises MappingError."""
    document = load_document(path)
    problems = validate_schema(document)
    if problems:
        raise MappingError(problems)
    mapping, problems = lower(document)
    if not any(p.severity == "error" for p in problems):
        # Whole-mapping checks only make sense once every value lowered cleanly.
        problems += analyse(document, mapping)
    problems.sort(key=lambda p: (p.line, p.col))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise MappingError(errors)
    warnings = (*document.warnings, *(p for p in problems if p.severity != "error"))
    return Checked(document, mapping, tuple(warnings))


def compile_source(path: str | PathLike) -> str:
    """The generated module source for a mapping file."""
    return generate(check(path).mapping)


def load_compiled(path: str | PathLike):
    """Compile a mapping file and import the result as a module."""
    checked = check(path)
    return import_source(generate(checked.mapping), checked.mapping.name)
