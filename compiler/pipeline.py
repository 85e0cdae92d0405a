"""The pipeline, end to end: YAML file -> checked IR -> Python source -> module."""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

from . import ir
from .analysis import analyse
from .audit import audit_source
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
        raise MappingError([*problems, *document.warnings])
    mapping, problems = lower(document)
    if not any(p.severity == "error" for p in problems):
        # Whole-mapping checks only make sense once every value lowered cleanly.
        problems += analyse(document, mapping)
    problems.sort(key=lambda p: (p.line, p.col))
    errors = [p for p in problems if p.severity == "error"]
    warnings = (*document.warnings, *(p for p in problems if p.severity != "error"))
    if errors:
        raise MappingError([*errors, *warnings])
    return Checked(document, mapping, tuple(warnings))


def module_source(checked: Checked) -> str:
    """The generated module for a checked mapping, audited before anyone runs or writes it."""
    source = generate(checked.mapping)
    audit_source(source)
    return source


def load_compiled(path: str | PathLike):
    """Compile a mapping file and import the result as a module."""
    checked = check(path)
    return import_source(module_source(checked), checked.mapping.name)
