"""The decoder of a generated module: `decode_line` and `transform_line`.

The compiler knows which fields of an event a mapping reads. `reads` derives
them from the IR as a tree: a key is read whole (its value is used: copied,
converted, compared, passed to a helper) or only through some of its keys
(`event_properties.trial_end`). The module declares the tree as msgspec types,
one `TypedDict` per object read through keys, so msgspec decodes a line into
plain dicts holding only what the mapping reads and skips the rest without
building it. `transform` then runs unchanged on that dict: the byte path and
the dict path are the same code after decoding.

A value of another type than the tree expects (an array where an object is
read through keys, a number where text is) is decoded whole, as a full parse
would: every object type is declared as `<TypedDict> | list | str | int |
float | bool | None`, so no event leaves the fast path for its types. Keys
outside ASCII are read whole with their object (msgspec 0.23 does not match
such TypedDict keys). A mapping that reads the whole event (a JMESPath
expression outside the compiled subset, `@`) decodes whole lines.

A rule that reads whole an object the other rules read only some keys of
(`$identify` copying `user_properties`) is left out of the first decode when
an equality test of one top-level field selects it (`decoder_plan`): such
events are decoded again into everything the mapping reads.

Without msgspec installed the module decodes with the standard library's
`json`, with msgspec's rules for numbers (exact integers; NaN, Infinity and
numbers beyond a double's range refused), so a vendored module gives the
same answers on every line that is valid JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..exclusive import IS_ONE_OF, rule_test
from .emitter import Line
from .facts import Defines

# Keys whose repr is longer are named by a constant (`_KEY_1 = '...'`) in the types.
_LONG_KEY = 40
#: The types a read value may have besides the object the mapping reads into.
OTHER_TYPES = "list | str | int | float | bool | None"


@dataclass(frozen=True)
class Reads:
    """What a mapping reads of one object: the whole object, or some keys of it."""

    whole: bool
    keys: tuple[tuple[str, Reads], ...] = ()


WHOLE = Reads(True)


@dataclass(frozen=True)
class DecoderPlan:
    """The types a line is decoded into.

    `fast` holds what every rule reads, but for the rules of `selected`: when the
    event's top-level `selector` is one of those values (and only then may those
    rules' conditions hold), the line is decoded again into `full`, what all the
    rules read.
    """

    fast: Reads
    selector: str | None = None
    selected: tuple[str, ...] = ()
    full: Reads | None = None


Roots = list[tuple[ir.Expr, bool]]


def reads(mapping: ir.Mapping) -> Reads:
    """The fields of an event the mapping reads, as a tree of keys (sorted)."""
    defines = {define.name: define for define in mapping.defines}
    return _frozen(_tree(_roots(mapping, mapping.rules), defines))


def decoder_plan(mapping: ir.Mapping) -> DecoderPlan:
    """What to decode: the rules that read whole an object the other rules read only some
    keys of (Amplitude's `$identify` copies `user_properties`, the others read two keys
    of it) are left out of the fast types when an equality test of one top-level field
    selects them."""
    defines = {define.name: define for define in mapping.defines}
    rules = list(mapping.rules)
    selector, selected, kept = None, set(), list(rules)
    for rule in rules:
        key, texts = _selecting_test(rule, defines)
        if key is None or selector not in (None, key):
            continue
        others = _tree(_roots(mapping, [other for other in kept if other is not rule]), defines)
        if _widens(_tree([(field.value, True) for field in rule.fields], defines), others):
            selector, selected = key, selected | texts
            kept.remove(rule)
    fast = _frozen(_tree(_roots(mapping, kept), defines))
    if selector is None or fast.whole:  # nothing to leave out
        return DecoderPlan(fast)
    return DecoderPlan(fast, selector, tuple(sorted(selected)), reads(mapping))


def _selecting_test(rule: ir.Rule, defines: Defines) -> tuple[str | None, frozenset[str]]:
    """(top-level key, values) when the rule's condition can hold only for those values."""
    test = rule_test(rule.condition, defines)
    if test is None or test.kind != IS_ONE_OF:
        return None, frozenset()
    path = path_of(test.subject, defines)
    return (path[0], test.texts) if path is not None and len(path) == 1 else (None, frozenset())


def _widens(mine: dict, others: dict) -> bool:
    """True when `mine` reads whole a value that `others` reads only some keys of."""
    if None in mine:
        return bool(others) and None not in others
    for key, below in mine.items():
        theirs = others.get(key)
        if isinstance(theirs, dict) and (below is None or _widens(below, theirs)):
            return True
    return False


def _roots(mapping: ir.Mapping, rules) -> Roots:
    """The expressions of the defines, of every rule's condition (conditions are tested
    until one holds) and of the bodies of `rules`, each with whether its own value is
    used. A define's value is used where the define is referred to (its paths are
    followed through there)."""
    roots: Roots = [(define.value, False) for define in mapping.defines]
    roots += [(rule.condition, True) for rule in mapping.rules if rule.condition is not None]
    roots += [(field.value, True) for rule in rules for field in rule.fields]
    return roots


def _tree(roots: Roots, defines: Defines) -> dict:
    """The keys read under `roots`: {key: subtree, or None when read whole}."""
    tree: dict = {}
    for root, used in roots:
        if used:
            _mark(tree, path_of(root, defines))
        for node in ir.walk(root):
            if isinstance(node, ir.Jmes):  # a JMESPath expression over the whole event
                _mark(tree, ())
            for child in ir.children(node):
                # `a.b` reads `a` through a key, not whole; anything else uses the child's value.
                if not (isinstance(node, ir.GetKey) and child is node.target):
                    _mark(tree, path_of(child, defines))
    return tree


def path_of(expr: ir.Expr, defines: Defines) -> tuple[str, ...] | None:
    """The keys `expr` reads from the event (`a.b` -> ('a', 'b'), `@` -> ()), through
    defines; None when it is not a plain read of event keys."""
    keys: list[str] = []
    expr = ir.resolved(expr, defines)
    while isinstance(expr, ir.GetKey):
        keys.append(expr.key)
        expr = ir.resolved(expr.target, defines)
    return tuple(reversed(keys)) if isinstance(expr, ir.Event) else None


def _mark(tree: dict, path: tuple[str, ...] | None) -> None:
    """Record that the value at `path` is used whole: None in the tree (under the key
    None for the whole event)."""
    if path is None or None in tree:
        return
    if not path:
        tree.clear()
        tree[None] = None
        return
    node = tree
    for key in path[:-1]:
        child = node.setdefault(key, {})
        if child is None:  # read whole already
            return
        node = child
    node[path[-1]] = None


def _frozen(tree: dict | None) -> Reads:
    if tree is None or None in tree or not all(key.isascii() for key in tree):
        return WHOLE
    return Reads(False, tuple((key, _frozen(tree[key])) for key in sorted(tree)))


class _Declarations:
    """The msgspec types of decoder plans, as statements at depth 1 (inside
    `if HAS_MSGSPEC:`); a TypedDict is declared once however often it is used."""

    def __init__(self):
        self.lines: list[Line] = []
        self.names: dict[str, str] = {}  # fields source -> name

    def line_type(self, tree: Reads, readers: str) -> str:
        """The type a line is decoded into; `readers` says whose reads it holds."""
        if tree.whole:
            return "typing.Any"
        return f"{self.declare(tree, 'event', readers)} | {OTHER_TYPES}"

    def declare(self, node: Reads, where: str, readers: str) -> str:
        fields = []
        for key, child in node.keys:
            name = self.key(key)
            if child.whole:
                fields.append(f"{name}: typing.Any")
            else:
                inner = self.declare(child, f"{where}[{key!r}]", readers)
                fields.append(f"{name}: {inner} | {OTHER_TYPES}")
        source = ", ".join(fields)
        if source not in self.names:
            count = sum(name.startswith("_READ_") for name in self.names.values())
            name = self.names[source] = f"_READ_{count + 1}"
            self.lines.append(Line(1, f"# {ascii(where)[1:-1]}: the keys {readers} read"))
            self.lines.append(
                Line(1, f"{name} = typing.TypedDict({name!r}, {{{source}}}, total=False)")
            )
        return self.names[source]

    def key(self, key: str) -> str:
        """The key as source; a long one is named first, so no line grows past the width."""
        text = repr(key)
        if len(text) <= _LONG_KEY:
            return text
        if text not in self.names:
            self.names[text] = f"_KEY_{sum(n.startswith('_KEY_') for n in self.names.values()) + 1}"
            self.lines.append(Line(1, f"{self.names[text]} = {text}"))
        return self.names[text]


#: Decoding without msgspec, before the types: plain functions of the standard library.
JSON_FALLBACK = '''\
class InvalidLine(ValueError):
    """A line that is not a JSON value this module reads (the message says why)."""


def transform_line(line, reasons=None):
    """`transform` of the event on one NDJSON line (bytes, without or with its line ending).

    Raises InvalidLine for a line that is not JSON, RejectEvent as `transform` does.
    """
    return transform(decode_line(line), reasons)


def decode_line(line):
    """The event on one NDJSON line, holding the fields the mapping reads.

    With msgspec, objects the mapping reads only some keys of hold only those
    keys, and values it does not read are skipped: checked as JSON, never built
    (an unread number beyond a double's range, or bytes that are not UTF-8 in
    an unread string, do not refuse the line). Without msgspec, the whole line
    is decoded. Raises InvalidLine.
    """
    try:
        event = decode_with(line)
        if SELECTED and event.__class__ is dict and event.get(SELECTOR) in SELECTED:
            event = decode_selected(line)
        return event
    except DECODE_ERRORS as exc:
        raise InvalidLine(str(exc) or exc.__class__.__name__) from None


def json_number(text):
    """A JSON number with a fraction or exponent, refused beyond a double's range (as msgspec)."""
    number = float(text)
    if number - number != 0.0:
        raise ValueError("Number out of range")
    return number


def json_constant(name):
    """NaN, Infinity and -Infinity are not JSON (Python's json reads them otherwise)."""
    raise ValueError(f"{name} is not JSON")


def decode_json(line):
    """The whole line, decoded by the standard library with msgspec's rules for numbers."""
    return json.loads(line.decode(), parse_float=json_number, parse_constant=json_constant)'''


IMPORT = (
    "try:  # msgspec decodes only what the mapping reads; without it, json decodes all",
    "    import msgspec",
    "except ImportError:",
    "    HAS_MSGSPEC = False",
    "else:",
    "    HAS_MSGSPEC = True",
)


_NOTHING_SELECTED = [
    Line(1, "SELECTOR = None"),
    Line(1, "SELECTED = ()"),
    Line(1, "decode_selected = decode_with"),
]


def decoder_lines(mapping: ir.Mapping) -> list[Line]:
    """`decode_with`, `decode_selected`, `SELECTED` and `DECODE_ERRORS`: msgspec and the
    mapping's types, else json."""
    plan = decoder_plan(mapping)
    types = _Declarations()
    fast = types.line_type(plan.fast, "the rules" if plan.full is None else "most rules")
    lines = [Line(1, f"decode_with = msgspec.json.Decoder({fast}).decode")]
    if plan.full is not None:
        full = types.line_type(plan.full, "all the rules")
        lines += [
            Line(1, f"# Events whose {plan.selector!r} is one of these may match rules that"),
            Line(1, "# read more: their lines are decoded again, into what every rule reads."),
            Line(1, f"SELECTOR = {plan.selector!r}"),
            Line(1, f"SELECTED = {plan.selected!r}"),
            Line(1, f"decode_selected = msgspec.json.Decoder({full}).decode"),
        ]
    else:
        lines += _NOTHING_SELECTED
    return [
        Line(0, "if HAS_MSGSPEC:"),
        *types.lines,
        *lines,
        Line(1, "DECODE_ERRORS = (msgspec.DecodeError, RecursionError)"),
        Line(0, "else:"),
        Line(1, "decode_with = decode_json"),
        *_NOTHING_SELECTED,
        Line(1, "DECODE_ERRORS = (ValueError, RecursionError)"),
    ]
