"""The mapping language and the Accoil call contract, as tables.

Every fact about the language lives here once: the schema checker, lowering,
analysis, code generation, the reference interpreter, the run-time helpers
and the test strategies all read these tables. Run-time behaviour is named
by helper (a function of `accoil_map.runtime`, copied into generated modules
by name), never re-implemented per stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files

# --------------------------------------------------------------------------
# Limits: what a mapping may ask of the compiler (each refused with its place)
# --------------------------------------------------------------------------

#: The deepest an expression may nest: a JMESPath or template expression, a
#: literal, or a value through the defines it reads. Generated code and the
#: interpreter nest as deep as the expression does.
MAX_NESTING = 64

# --------------------------------------------------------------------------
# The Accoil call contract, read from schemas/accoil/payload.schema.json (its
# one source: `send` compiles the same file, accoil_map.delivery.contract)
# --------------------------------------------------------------------------

_JSON_TYPES: dict[str, type] = {"string": str, "object": dict, "array": list}


def _payload_schema() -> dict:
    """The Accoil payload schema, shipped in the data package `accoil_map.schemas`."""
    text = files("accoil_map.schemas").joinpath("accoil", "payload.schema.json").read_text("utf-8")
    return json.loads(text)


def _key_types(properties: dict) -> dict[str, type]:
    """key -> Python type of each typed property. Every string must be non-empty and
    every list non-empty, as the language treats "" and [] as missing."""
    types = {}
    for key, rule in properties.items():
        if rule.get("type") not in _JSON_TYPES:
            continue
        types[key] = _JSON_TYPES[rule["type"]]
        if types[key] is not dict and rule.get("minLength", rule.get("minItems")) != 1:
            raise ValueError(f"payload schema: {key} may be empty; the language cannot say so")
    return types


_PAYLOAD = _payload_schema()

#: Keys each call type needs; a call lacking one is not sent.
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    branch["if"]["properties"]["type"]["const"]: tuple(branch["then"]["required"])
    for branch in _PAYLOAD["allOf"]
}
CALL_TYPES: tuple[str, ...] = tuple(_PAYLOAD["properties"]["type"]["enum"])

#: Types of the keys Accoil defines. A value of another type (or an empty
#: string or list) counts as missing: a required key stops the call, an
#: optional one is left out. Any other key takes any value but null (and,
#: when required, the empty string). No value inside a call body may be null.
KEY_TYPES: dict[str, type] = _key_types(
    {key: rule for key, rule in _PAYLOAD["properties"].items() if key != "type"}
)

#: The list key whose entries are groups (the one whose items are objects with
#: properties), and each entry's keys, all required, by type:
#: `groupTraits: [{"groupId": non-empty string, "traits": object}]`.
GROUP_LIST_KEY: str = next(
    key for key, rule in _PAYLOAD["properties"].items() if "properties" in rule.get("items", {})
)
GROUP_ENTRY_TYPES: dict[str, type] = _key_types(
    _PAYLOAD["properties"][GROUP_LIST_KEY]["items"]["properties"]
)

#: What `transform(event, reasons, nulls=False)` leaves to its caller: a null inside a
#: value, found as this token in the JSON the caller writes (a string that holds the
#: word only costs a second transform, with the check).
NULL_MARK: bytes = b"null"

_TYPE_NAMES = {str: "a non-empty string", dict: "an object", list: "a non-empty list"}


def call_name(call_type: str) -> str:
    """'a track call', 'an identify call': a call type in a sentence."""
    return f"{'an' if call_type[0] in 'aeiou' else 'a'} {call_type} call"


def requirement(key: str) -> str:
    """What a key path of a call must hold, for messages: 'userId must be a non-empty string',
    'groupTraits[0].traits must be an object'. Anything else must be present (not null)."""
    expected = KEY_TYPES.get(key)
    head, bracket, rest = key.partition("[")
    index, _, entry_key = rest.partition("]")
    if expected is None and head == GROUP_LIST_KEY and bracket and index.isdigit():
        expected = dict if not entry_key else GROUP_ENTRY_TYPES.get(entry_key.removeprefix("."))
    return f"{key} must be {_TYPE_NAMES[expected]}" if expected else f"{key} must be present"


# --------------------------------------------------------------------------
# Values: operators, modifiers, conversions
# --------------------------------------------------------------------------

#: The keys that make a YAML mapping an operator rather than an object literal.
OPERATORS: tuple[str, ...] = ("path", "coalesce", "merge", "groups", "value", "literal", "object")

#: Modifiers of an operator mapping, in the order they apply.
MODIFIERS: tuple[str, ...] = ("omit_keys", "as", "default")

#: `as:` conversions: target name -> run-time helper. A value that cannot be
#: converted is missing.
CONVERSIONS: dict[str, str] = {
    "string": "to_text",
    "number": "to_number",
    "integer": "to_integer",
    "boolean": "to_boolean",
    "timestamp": "to_timestamp",
}

#: Conversions whose result is always text (or missing).
TEXT_CONVERSIONS: frozenset[str] = frozenset({"string", "timestamp"})

#: The `groups:` options: sort keys, orders and comparisons, defaults first.
GROUP_SORT_KEYS: tuple[str, ...] = ("groupId", "groupType")
GROUP_ORDERS: tuple[str, ...] = ("ascending", "descending")
GROUP_COMPARES: tuple[str, ...] = ("string", "numeric")


# --------------------------------------------------------------------------
# Template filters
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A template filter: its arity and what it lowers to.

    A filter is either a run-time `helper` called with the value and the
    arguments, or the same idea as a value modifier (`default`, a conversion),
    which lowering turns into that modifier's IR node.
    """

    name: str
    min_args: int = 0
    max_args: int = 0
    helper: str | None = None
    conversion: str | None = None  # lowers to ir.Convert(conversion)
    is_default: bool = False  # lowers to ir.Default
    text_result: bool = False  # always text or missing
    text_arguments: bool = False  # arguments must be quoted strings

    def arity(self) -> str:
        """How many arguments it takes, for messages: 'no arguments', '2 arguments'."""
        if self.max_args == 0:
            return "no arguments"
        if self.min_args == self.max_args:
            return f"{self.max_args} argument{'s' if self.max_args > 1 else ''}"
        if self.min_args == 0:
            return f"at most {self.max_args} argument{'s' if self.max_args > 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


FILTERS: dict[str, Filter] = {
    spec.name: spec
    for spec in (
        Filter("default", 1, 2, is_default=True),
        Filter("lower", helper="f_lower", text_result=True),
        Filter("upper", helper="f_upper", text_result=True),
        Filter("trim", helper="f_trim", text_result=True),
        Filter("title", helper="f_title", text_result=True),
        Filter("capitalize", helper="f_capitalize", text_result=True),
        Filter("replace", 2, 2, "f_replace", text_result=True, text_arguments=True),
        Filter("join", 0, 1, "f_join", text_result=True, text_arguments=True),
        Filter("length", helper="f_length"),
        Filter("first", helper="f_first"),
        Filter("last", helper="f_last"),
        Filter("string", conversion="string"),
        Filter("int", conversion="integer"),
        Filter("float", conversion="number"),
    )
}
FILTER_ALIASES: dict[str, str] = {"d": "default"}

#: What `join` uses when no separator is given (as Jinja does).
JOIN_SEPARATOR = ""


# --------------------------------------------------------------------------
# Conditions: JMESPath comparisons, functions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A JMESPath comparator: its token, its run-time helper, whether it negates
    the helper, and whether it is an ordering (null for values of other types)
    rather than an equality (always true or false)."""

    op: str
    token: str
    helper: str
    negated: bool = False
    ordering: bool = True


COMPARISONS: dict[str, Comparison] = {
    c.op: c
    for c in (
        Comparison("eq", "==", "jp_eq", ordering=False),
        Comparison("ne", "!=", "jp_eq", negated=True, ordering=False),
        Comparison("lt", "<", "jp_lt"),
        Comparison("le", "<=", "jp_le"),
        Comparison("gt", ">", "jp_gt"),
        Comparison("ge", ">=", "jp_ge"),
    )
}
#: The jmespath parser's comparator names -> ours.
JMESPATH_COMPARATORS: dict[str, str] = {
    "eq": "eq",
    "ne": "ne",
    "lt": "lt",
    "lte": "le",
    "gt": "gt",
    "gte": "ge",
}


@dataclass(frozen=True)
class Function:
    """A JMESPath function compiled to Python: its run-time helper, how many arguments
    it takes (`min_args`, or more when `variadic`, as jmespath's signature says) and
    the JMESPath type of every result it gives (it never gives null)."""

    helper: str
    min_args: int
    variadic: bool = False
    result: str = "boolean"

    def takes(self, count: int) -> bool:
        """True when a call with `count` arguments is compiled; jmespath rejects any
        other count when it runs, so such a call is left to the library."""
        return count >= self.min_args if self.variadic else count == self.min_args


#: JMESPath functions compiled to Python, by name. Every other function, and a call
#: with a wrong number of arguments, is evaluated by the jmespath library.
COMPILED_FUNCTIONS: dict[str, Function] = {
    "contains": Function("jp_contains", 2),
    "starts_with": Function("jp_starts_with", 2),
    "ends_with": Function("jp_ends_with", 2),
    "type": Function("jp_type", 1, result="string"),
    "merge": Function("jp_merge", 1, variadic=True, result="object"),
}
