"""The run-time helpers as source: which exist, what each needs, and their text.

Every top-level function, class and constant of the modules of
`accoil_map.runtime` is a helper. Generated modules carry the source of the
helpers they use (and of everything those use), copied here from the
runtime's files, so they depend on nothing but the standard library. What a
helper needs is read from its source: the other helpers it names and the
modules it uses. A constant bound to a table of `accoil_map.language` (such
as the Accoil key types) is written as a literal of the table's value.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass

from . import language, runtime


@dataclass(frozen=True)
class Helper:
    """One helper: its source text (with the comments above it) and what it needs."""

    name: str
    position: tuple[int, int]  # (module order, line): the order of emission
    text: str
    needs: frozenset[str]
    imports: frozenset[str]


@dataclass(frozen=True)
class HelperSource:
    """The source of a set of helpers: the imports they need and their definitions."""

    imports: tuple[str, ...]
    body: str


@functools.cache
def registry() -> dict[str, Helper]:
    """Every helper of the runtime, by name."""
    found: dict[str, Helper] = {}
    for order, module in enumerate(runtime.MODULES):
        for helper in _helpers_of(module, order):
            found[helper.name] = helper
    names = frozenset(found)
    return {
        name: Helper(h.name, h.position, h.text, h.needs & names - {name}, h.imports)
        for name, h in found.items()
    }


def helper_objects() -> dict[str, object]:
    """name -> the helper itself (a function, class or constant), for in-process use."""
    return {name: _module_of(h).__dict__[name] for name, h in registry().items()}


def _module_of(helper: Helper) -> types.ModuleType:
    return runtime.MODULES[helper.position[0]]


def _helpers_of(module: types.ModuleType, order: int) -> Iterable[Helper]:
    source = inspect.getsource(module)
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        name = _defined_name(node)
        if name is None or name.startswith("__"):
            continue
        text = "".join(lines[_first_line(node, lines) - 1 : node.end_lineno]).rstrip("\n")
        table = _language_table(module, node)
        if table is not None:
            text = _comments(text) + f"{name} = {_render(table)}"
        yield Helper(
            name, (order, node.lineno), text, _names_used(node), _imports_used(module, node)
        )


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    return None


def _first_line(node: ast.stmt, lines: list[str]) -> int:
    """The node's first line, with the comments right above it (and no decorators)."""
    first = node.lineno
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first


def _comments(text: str) -> str:
    """The leading comment lines of a helper's text."""
    kept = []
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            break
        kept.append(line)
    return "".join(kept)


def _language_table(module: types.ModuleType, node: ast.stmt) -> object | None:
    """The language table a constant is bound to (`_KEY_TYPES = KEY_TYPES`), if any."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)):
        return None
    value = module.__dict__.get(node.value.id)
    return value if value is getattr(language, node.value.id, None) else None


_RENDERED_TYPES = {str: "str", dict: "dict", list: "list", int: "int", float: "float", bool: "bool"}


def _render(value: object) -> str:
    """A table of plain values and builtin types as Python source."""
    from .codegen.layout import literal  # here: the codegen package imports this module

    if isinstance(value, dict):
        items = ",\n".join(f"    {_render(k)}: {_render(v)}" for k, v in value.items())
        return "{\n" + items + ",\n}"
    if isinstance(value, type):
        return _RENDERED_TYPES[value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return literal(value)
    raise TypeError(f"cannot write {type(value).__name__} into a generated module")


def _names_used(node: ast.AST) -> frozenset[str]:
    return frozenset(sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name))


def _imports_used(module: types.ModuleType, node: ast.AST) -> frozenset[str]:
    """The modules a helper reaches: `re`, or `jmespath.exceptions` for a chain through it."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            base = module.__dict__.get(sub.value.id)
            if isinstance(base, types.ModuleType):
                dotted = f"{base.__name__}.{sub.attr}"
                found.add(dotted if dotted in sys.modules else base.__name__)
    return frozenset(found)


def _closure(names: Iterable[str]) -> set[str]:
    known = registry()
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        if name not in known:
            raise KeyError(f"unknown runtime helper: {name!r}")
        wanted.add(name)
        stack.extend(known[name].needs)
    return wanted


def helper_source(names: Iterable[str]) -> HelperSource:
    """The named helpers and everything they need, in runtime order; imports sorted."""
    known = registry()
    wanted = sorted((known[name] for name in _closure(names)), key=lambda h: h.position)
    imports = sorted({module for helper in wanted for module in helper.imports})
    return HelperSource(tuple(imports), "\n\n\n".join(helper.text for helper in wanted))


def emit_source(names: Iterable[str]) -> str:
    """The named helpers as one standalone piece of source, imports first ("" for none)."""
    source = helper_source(names)
    if not source.body:
        return ""
    header = "".join(f"import {module}\n" for module in source.imports)
    return (header + "\n\n" if header else "") + source.body + "\n"
