"""The emitter: lines of the generated function, blocks, scopes of computed
values, and the names it makes (temporaries, module constants, helpers).

Every name in generated code comes from here: a fixed prefix plus a
validated identifier (`e_user_id` for an event field, `v_user` for a
define, `x_userId` for a required key) or a hint and a counter
(`timestamp_3`). Lines are kept as (depth, text) and laid out at the end.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import ir

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
# Prefixes of the names that stand for one thing each (see LEGEND); a hint
# never starts with one, so a temporary cannot take such a name.
_RESERVED_PREFIXES = ("e_", "v_", "x_")
_HINT_WIDTH = 24
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

#: How generated names read, for the comment above `transform`.
LEGEND = (
    "Names: e_<field> is a field of the event, v_<name> a define of the mapping,",
    "x_<key> a key of a call; <what>_<n> a value computed on the way.",
)


@dataclass(frozen=True)
class Line:
    """One line of generated code at an indentation depth: a statement, a block
    header, a comment (text starting with #) or a blank line (empty text)."""

    depth: int
    text: str


def identifier(name: str) -> bool:
    """True for a short ASCII identifier, safe to use as (part of) a generated name."""
    return _IDENTIFIER.fullmatch(name) is not None and name not in ("None", "True", "False")


def hint_text(text: str) -> str:
    """A name fragment from free text: 'Page Title' -> 'page_title' ("" if nothing is left)."""
    text = _CAMEL_HUMP.sub("_", text.encode("ascii", "ignore").decode())  # userId -> user_Id
    words = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    hint = words.lower()[:_HINT_WIDTH].rstrip("_")
    while hint.startswith(_RESERVED_PREFIXES):
        hint = hint[2:]
    return hint if hint[:1].isalpha() else ""


@dataclass
class Scope:
    """The values computed in one block: which name holds each, and the reverse."""

    names: dict[ir.Expr, str] = field(default_factory=dict)
    values: dict[str, ir.Expr] = field(default_factory=dict)


class Emitter:
    """Writes the lines of one function body."""

    def __init__(self, depth: int = 1):
        self.lines: list[Line] = []
        self.depth = depth
        self.scopes: list[Scope] = [Scope()]
        self.temps = itertools.count(1)
        self.helpers: set[str] = set()
        self.constants: dict[str, str] = {}  # source text -> module-level name

    # lines ------------------------------------------------------------------

    def emit(self, text: str) -> None:
        """A statement (or comment) at the current depth; "" is a blank line."""
        self.lines.append(Line(self.depth if text else 0, text))

    def comment(self, text: str) -> None:
        """A comment line; the text is the emitter's own or already repr()-escaped."""
        self.emit(f"# {text}")

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """An indented block with its own scope of computed values."""
        self.emit(header)
        self.depth += 1
        self.scopes.append(Scope())
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start:
                self.emit("pass")
            self.scopes.pop()
            self.depth -= 1

    @contextmanager
    def captured(self) -> Iterator[list[Line]]:
        """Emit into a separate list, one level deeper and in a nested scope."""
        saved, self.lines = self.lines, []
        self.depth += 1
        self.scopes.append(Scope())
        try:
            yield self.lines
        finally:
            self.scopes.pop()
            self.depth -= 1
            self.lines = saved

    def splice(self, lines: list[Line]) -> None:
        """Insert lines captured earlier."""
        self.lines.extend(lines)

    def only_comments_since(self, start: int) -> bool:
        """True when nothing but comments and blank lines was emitted from `start` on."""
        return all(not line.text or line.text.startswith("#") for line in self.lines[start:])

    # scopes -----------------------------------------------------------------

    def lookup(self, expr: ir.Expr) -> str | None:
        """The name already holding the expression's value in this scope, if any."""
        for scope in reversed(self.scopes):
            name = scope.names.get(expr)
            if name is not None:
                return name
        return None

    def bind(self, expr: ir.Expr, name: str) -> None:
        """Remember that `name` holds the expression's value in this scope."""
        scope = self.scopes[-1]
        scope.names[expr] = name
        scope.values[name] = expr

    def holds_other(self, name: str, expr: ir.Expr) -> bool:
        """True when a visible scope relies on `name` holding another value: assigning
        it here would change what a later read there gets."""
        return any(scope.values.get(name, expr) != expr for scope in self.scopes)

    # names ------------------------------------------------------------------

    def temp(self, hint: str = "") -> str:
        """A fresh local name: `<hint>_<n>`, or `t<n>` without a usable hint."""
        number = next(self.temps)
        hint = hint_text(hint)
        return f"{hint}_{number}" if hint else f"t{number}"

    def helper(self, name: str) -> str:
        """Use a run-time helper; its source will be copied into the module."""
        self.helpers.add(name)
        return name

    def constant(self, source: str, prefix: str = "_C") -> str:
        """A module-level name for a constant expression (hoisted: built once)."""
        if source not in self.constants:
            number = sum(name.startswith(prefix) for name in self.constants.values()) + 1
            self.constants[source] = f"{prefix}{number}"
        return self.constants[source]
