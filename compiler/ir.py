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

from . import runtime
from .runtime import _KEY_TYPES, accepts  # noqa: F401  (re-exported)

CALL_TYPES = ("identify", "group", "track", "page", "screen")

#: Keys each Accoil call needs; a missing or empty-string value stops the call.
REQUIRED_KEYS = {
    "identify": ("userId", "timestamp"),
    "group": ("groupId", "timestamp"),
    "track": ("event", "userId", "timestamp"),
    "page": ("timestamp",),
    "screen": ("timestamp",),
}

# The types of the keys Accoil defines live with the run-time helpers, since
# generated modules check them too; see runtime.accepts.
KEY_TYPES = _KEY_TYPES
_TYPE_NAMES = {str: "a non-empty string", dict: "an object", list: "a list"}


def requirement(key: str) -> str:
    """What a required key must hold, for messages: 'userId must be a non-empty string'."""
    expected = KEY_TYPES.get(key)
    return f"{key} must be {_TYPE_NAMES[expected]}" if expected else f"{key} must be present"


CONVERSIONS = ("string", "number", "integer", "boolean", "timestamp")

FILTERS = {
    # name: (min args, max args)
    "default": (1, 2),
    "lower": (0, 0),
    "upper": (0, 0),
    "trim": (0, 0),
    "title": (0, 0),
    "capitalize": (0, 0),
    "replace": (2, 2),
    "string": (0, 0),
    "int": (0, 0),
    "float": (0, 0),
    "length": (0, 0),
    "first": (0, 0),
    "last": (0, 0),
    "join": (0, 1),
}
FILTER_ALIASES = {"d": "default"}

COMPARATORS = ("eq", "ne", "lt", "le", "gt", "ge")
#: The JMESPath meaning of each comparator (shared by the interpreter and constant folding).
COMPARISONS = {
    "eq": runtime.jp_eq,
    "ne": lambda a, b: not runtime.jp_eq(a, b),
    "lt": runtime.jp_lt,
    "le": runtime.jp_le,
    "gt": runtime.jp_gt,
    "ge": runtime.jp_ge,
}
JMESPATH_FUNCTIONS = {"contains": 2, "starts_with": 2, "ends_with": 2}


class Expr:
    """Base class of expression nodes; each evaluates to a JSON value or None (missing)."""

    __slots__ = ()


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
    """A template filter applied to `target` with extra arguments."""

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
    """`as:` conversion; a value that cannot be converted becomes missing."""

    target: Expr
    to: str


@dataclass(frozen=True)
class Default(Expr):
    """`default:`: the fallback when target is missing."""

    target: Expr
    fallback: Expr


@dataclass(frozen=True)
class OmitKeys(Expr):
    """`omit_keys:`: drop object keys containing any of the lower-case needles."""

    target: Expr
    needles: tuple[str, ...]


@dataclass(frozen=True)
class Compare(Expr):
    """JMESPath comparison; `op` is one of COMPARATORS."""

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
    """A JMESPath function of the compiled subset (contains, starts_with, ends_with)."""

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


@dataclass(frozen=True)
class Define:
    """A named value, computed at most once per event."""

    name: str
    value: Expr
    origin: str


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
    """Yield `expr` and every node below it, depth first."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def defines_used(expr: Expr) -> set[str]:
    """Names of the defines an expression refers to directly."""
    return {node.name for node in walk(expr) if isinstance(node, DefineRef)}
