"""The intermediate representation: typed, resolved expressions and rules.

Lowering builds it from a validated document; the code generator and the
reference interpreter both consume it. Every node is a frozen, hashable
dataclass, so equal sub-expressions can be shared (fetched once) by the
code generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .language import MAX_NESTING


@dataclass(frozen=True)
class Expr:
    """Base class of expression nodes; each evaluates to a JSON value or None (missing).

    `line` is the mapping line the node came from; it takes no part in equality,
    so equal expressions from different lines are computed once.
    """

    line: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Const(Expr):
    """A JSON constant from the mapping; compared by its canonical JSON text."""

    value: Any = field(compare=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "key", json.dumps(self.value, sort_keys=True))


@dataclass(frozen=True)
class Event(Expr):
    """The whole event (JMESPath `@` at the top level)."""


@dataclass(frozen=True)
class DefineRef(Expr):
    """A `define` name, computed at most once per event."""

    name: str


@dataclass(frozen=True)
class GetKey(Expr):
    """`target[key]` when target is an object, else missing."""

    target: Expr
    key: str


@dataclass(frozen=True)
class GetIndex(Expr):
    """`target[index]` when target is a list and the index exists, else missing."""

    target: Expr
    index: int


@dataclass(frozen=True)
class Template(Expr):
    """Text template: literal strings and expressions written as text; missing if any part is."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True)
class Filter(Expr):
    """A template filter with a run-time helper (see language.FILTERS), applied to
    `target` with constant arguments."""

    name: str
    target: Expr
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Coalesce(Expr):
    """The first item that is not missing."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Merge(Expr):
    """Shallow merge of the items that are objects; later keys win; always an object."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class ObjectLit(Expr):
    """An object built from (key, value) pairs; keys with missing values are left out."""

    items: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class ListLit(Expr):
    """A list built from values; missing items are dropped."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Groups(Expr):
    """The group-selection rule: candidates from `ids` x `traits`, sorted, cut to `take`."""

    ids: Expr
    traits: Expr
    by_type: bool = False
    descending: bool = False
    numeric: bool = False
    take: int | None = None
    type_trait: str | None = None


@dataclass(frozen=True)
class Convert(Expr):
    """`as:` (or a converting filter); a value that cannot be converted becomes missing."""

    target: Expr
    to: str


@dataclass(frozen=True)
class Default(Expr):
    """`default:` (or the `default` filter): the fallback when target is missing,
    or also when it is the empty string with `replace_empty`."""

    target: Expr
    fallback: Expr
    replace_empty: bool = False


@dataclass(frozen=True)
class OmitKeys(Expr):
    """`omit_keys:`: drop object keys containing any of the lower-case needles."""

    target: Expr
    needles: tuple[str, ...]


@dataclass(frozen=True)
class Compare(Expr):
    """JMESPath comparison; `op` is a key of language.COMPARISONS."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class And(Expr):
    """JMESPath `left && right`: left when it is false, else right."""

    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or(Expr):
    """JMESPath `left || right`: left when it is true, else right."""

    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not(Expr):
    """JMESPath `!target`."""

    target: Expr


@dataclass(frozen=True)
class Call(Expr):
    """A JMESPath function of the compiled subset (language.COMPILED_FUNCTIONS)."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Jmes(Expr):
    """A JMESPath expression outside the compiled subset, evaluated by the jmespath library."""

    text: str


@dataclass(frozen=True)
class EmitField:
    """One key of a call body and where its value comes from (for `explain`)."""

    key: str
    value: Expr
    origin: str
    line: int = 0


@dataclass(frozen=True)
class Rule:
    """A rule: when `condition` holds, emit a call of `call_type` built from `fields`."""

    name: str
    call_type: str
    fields: tuple[EmitField, ...]
    required: tuple[str, ...]
    condition: Expr | None = None
    condition_text: str | None = None
    description: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Define:
    """A named value, computed at most once per event."""

    name: str
    value: Expr
    origin: str
    line: int = 0


@dataclass(frozen=True)
class Mapping:
    """A whole mapping, ready for code generation or interpretation."""

    name: str
    source: str
    source_file: str
    sha256: str
    defines: tuple[Define, ...]
    rules: tuple[Rule, ...]
    description: str | None = None


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node, in evaluation order."""
    match expr:
        case GetKey(target) | GetIndex(target) | Convert(target) | OmitKeys(target) | Not(target):
            return (target,)
        case Filter(_, target, args):
            return (target, *args)
        case Template(parts):
            return tuple(p for p in parts if isinstance(p, Expr))
        case Coalesce(items) | Merge(items) | ListLit(items) | Call(_, items):
            return items
        case ObjectLit(items):
            return tuple(value for _, value in items)
        case Groups(ids, traits):
            return (ids, traits)
        case Default(target, fallback):
            return (target, fallback)
        case Compare(_, left, right) | And(left, right) | Or(left, right):
            return (left, right)
    return ()


def resolved(expr: Expr, defines: dict[str, Define]) -> Expr:
    """The expression a define reference stands for (through references to references)."""
    while isinstance(expr, DefineRef):
        expr = defines[expr.name].value
    return expr


def is_plain_read(expr: Expr, defines: dict[str, Define]) -> bool:
    """True for `a.b[0]` reads of the event, through defines: they never reject it."""
    expr = resolved(expr, defines)
    while isinstance(expr, (GetKey, GetIndex)):
        expr = resolved(expr.target, defines)
    return isinstance(expr, Event)


def walk(expr: Expr):
    """Yield `expr` and every node below it, depth first (without recursion)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def defines_used(expr: Expr) -> set[str]:
    """Names of the defines an expression refers to directly."""
    return {node.name for node in walk(expr) if isinstance(node, DefineRef)}


# --------------------------------------------------------------------------
# Building nodes: constants are checked, reads of constants folded
# --------------------------------------------------------------------------


class ConstantError(ValueError):
    """A constant that no JSON payload can carry."""


_INT64 = range(-(2**63), 2**64)


def constant(value: Any, line: int = 0) -> Const:
    """A mapping constant; NaN, infinities, integers beyond 64 bits and nesting deeper
    than language.MAX_NESTING are refused."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and item - item != 0.0:
            raise ConstantError(f"{item!r} is not a number JSON can carry")
        if isinstance(item, int) and not isinstance(item, bool) and item not in _INT64:
            raise ConstantError("integers beyond 64 bits cannot be written as JSON here")
        if isinstance(item, (dict, list)) and depth > MAX_NESTING:
            raise ConstantError(f"a literal nested deeper than {MAX_NESTING} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return Const(value, line=line)


def get_key(target: Expr, key: str, line: int = 0) -> Expr:
    """`target[key]`, computed now when the target is a constant."""
    if isinstance(target, Const):
        value = target.value
        return Const(value.get(key) if isinstance(value, dict) else None, line=line)
    return GetKey(target, key, line=line)


def check_index(index: int) -> int:
    """An index of a list; one beyond 64 bits is refused (ConstantError)."""
    if index not in _INT64:
        raise ConstantError("an index beyond 64 bits")
    return index


def get_index(target: Expr, index: int, line: int = 0) -> Expr:
    """`target[index]`, computed now when the target is a constant."""
    check_index(index)
    if isinstance(target, Const):
        value = target.value
        inside = isinstance(value, list) and -len(value) <= index < len(value)
        return Const(value[index] if inside else None, line=line)
    return GetIndex(target, index, line=line)
