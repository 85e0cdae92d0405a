"""Lay out generated Python statements exactly as `ruff format` does.

The code generator writes each statement as source text; `format_statement` parses it and
prints it again as `ruff format --line-length 100` would (ruff's default style: double quotes,
4-space indents), so that a generated module is a fixed point of ruff format. It builds a
document from the AST (text, line breaks, groups, conditional content, best-fitting variants)
and prints it with a port of ruff's printer. Each layout function follows the ruff function
its docstring names (ruff_python_formatter, ruff_formatter's printer).

Parentheses. The AST forgets which parentheses the source had, and ruff keeps every pair it
finds inside an expression, so the layout decides them from the AST alone. A sub-expression
is wrapped in parentheses exactly when
  - Python's precedence requires it, as in `ast.unparse`: `(a + b) * c`, `(-x) ** 2`,
    `(a if b else c).d`, `a if (b if c else d) else e`, `[x for x in (a if b else c)]`;
  - it is an `and`/`or` inside another `and`/`or`: `a or (b and c)`;
  - it is the operand of a unary operator and not an atom: `not (a == b)`, `-(-x)`, and
    `-(x**2)`, where ruff itself adds them;
  - it is an integer or float literal whose attribute is taken: `(1).real`, as ruff writes it.
Nowhere else: a conditional expression as a call argument, element, value or `else` branch
stays bare (`f(a if b else c)`, `a if b else c if d else e`), so no call ever gets the
doubled parentheses ruff's lint UP034 reports. A statement's own expression is never wrapped
(ruff removes such parentheses). Tuples have their own parentheses, `(x,)` and `(a, b)`,
except as a comprehension target (`for k, v in items`); a generator that is a call's only
argument has none.

Layout, as ruff: brackets (call arguments, list, tuple, dict, subscript, comprehension) hold
their content flat if it fits, else on one indented line, else one item per line with a
trailing comma (none after a single item). An `and`/`or`, comparison or arithmetic chain
splits before every operator of its loosest binding, tighter parts staying together while
they fit; `**` between simple operands hugs them (`x**2`). At statement level (assignment
value, `return`, `raise`, `if`/`elif` test, `except` type, arithmetic expression statement)
ruff's optional parentheses apply: a value that ends (or starts) with brackets splits them
first if `can_omit_optional_parentheses` says so, else it is wrapped in parentheses; a name,
constant, string or call is wrapped only if that makes it fit (in `raise`, never), and an
unsplittable one that fits nowhere stays on its line; other expression statements are never
wrapped. In `x[k] = value` the value is parenthesized before the
target splits. A call chain with two or more calls or subscripts before attributes gets the
fluent layout inside parentheses (one `.method()` per line). A conditional expression splits
into `a` / `if c` / `else b` lines.

Departures from ruff: none known within the subset; the tests check printed statements are
fixed points of the pinned ruff. Text width counts East Asian wide characters as 2 and
combining marks as 0, approximating the `unicode-width` crate ruff measures with. Comments,
magic trailing commas, implicit string concatenation and f-strings never occur in the
printed code, so their rules are not ported. Anything outside the subset raises ValueError.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["format_statement", "literal"]

INDENT_WIDTH = 4


# --- Constants ---------------------------------------------------------------------------


def literal(value: object) -> str:
    """Python source for a plain constant (None, bool, int, float, str, tuple, list, dict)."""
    write = _LITERALS.get(type(value))
    if write is None:
        raise TypeError(f"not a plain constant: {type(value).__name__}")
    return write(value)


def _float_literal(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"no Python literal for the float {value!r}")
    return repr(value).replace("e+", "e")  # ruff drops the `+` of an exponent


def _string_literal(text: str) -> str:
    # ruff prefers double quotes unless the text holds more double than single quotes.
    quote = "'" if text.count("'") < text.count('"') else '"'
    return quote + "".join(_escape(char, quote) for char in text) + quote


def _escape(char: str, quote: str) -> str:
    if char == quote:
        return "\\" + char
    if char in "'\"":
        return char
    return repr(char)[1:-1]  # repr's escapes: backslash, controls, unprintables, surrogates


def _tuple_literal(items: tuple) -> str:
    if len(items) == 1:
        return f"({literal(items[0])},)"
    return "(" + ", ".join(map(literal, items)) + ")"


_LITERALS = {
    type(None): repr,
    bool: repr,
    int: repr,
    float: _float_literal,
    str: _string_literal,
    tuple: _tuple_literal,
    list: lambda items: "[" + ", ".join(map(literal, items)) + "]",
    dict: lambda items: (
        "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in items.items()) + "}"
    ),
}


# --- Document ----------------------------------------------------------------------------
# A document is a str (text), a tuple of documents (one after the other) or one of these.


@dataclass(frozen=True)
class Line:
    """A line break; in a flat group it prints as `flat` instead (None: a hard break)."""

    flat: str | None


SOFT = Line("")
SPACE = Line(" ")
HARD = Line(None)


@dataclass(frozen=True)
class Group:
    """Printed flat if it fits up to the next possible break, else expanded.

    `only_if_expanded`: a group only while that group is expanded (ruff's conditional group);
    otherwise its body inherits the enclosing mode.
    """

    body: object
    id: int | None = None
    expand: bool = False
    only_if_expanded: int | None = None


@dataclass(frozen=True)
class Indent:
    """The body one level deeper (only while group `if_expanded` is expanded, if given)."""

    body: object
    if_expanded: int | None = None


@dataclass(frozen=True)
class IfMode:
    """The body only while `group` (default: the enclosing group) is expanded, or is flat."""

    body: object
    expanded: bool
    group: int | None = None


@dataclass(frozen=True)
class FitsExpanded:
    """While `group` is flat, measured expanded: breaking the body does not break `group`."""

    body: object
    group: int


@dataclass(frozen=True)
class BestFit:
    """The first variant that fits flat up to its first line break, else the last, expanded."""

    variants: tuple


@dataclass(frozen=True)
class BestFitParentheses:
    """The body flat if it fits; else in parentheses on its own lines if that fits; else flat."""

    body: object
    id: int


# --- Printer -----------------------------------------------------------------------------

FIRST_LINE, ALL_LINES, ALLOW_OVERFLOW = "first line", "all lines", "allow overflow"


def _text_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or "\u1160" <= char <= "\u11ff":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _in_parentheses(body: object) -> tuple:
    """`body` on its own indented lines between `(` and `)`."""
    return ("(", Indent((HARD, body)), HARD, ")")


class _Printer:
    """ruff_formatter's printer: measures each group against the rest of the line."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines = [""]
        self.line_width = 0
        self.pending_indent = 0
        self.measured_fits = False  # an enclosing flat group fits up to the next line break
        self.expanded: dict[int, bool] = {}  # group id -> printed expanded
        self.commands: list[tuple[int, bool, object]] = []  # (indent, expanded, document)

    def print(self, document: object, indent: int) -> list[str]:
        self.pending_indent = indent
        self.commands.append((indent, True, document))
        while self.commands:
            self.print_command(*self.commands.pop())
        return self.lines

    def print_command(self, indent: int, expanded: bool, document: object) -> None:
        push = self.commands.append
        match document:
            case str():
                self.print_text(document)
            case tuple():
                self.commands.extend((indent, expanded, item) for item in reversed(document))
            case Line(flat=flat):
                if expanded or flat is None:
                    self.new_line(indent)
                elif flat:
                    self.print_text(flat)
            case Group(body, group_id, expand, only_if_expanded):
                if only_if_expanded is None or self.expanded[only_if_expanded]:
                    expanded = expand or self.breaks(indent, expanded, body, group_id)
                if group_id is not None:
                    self.expanded[group_id] = expanded
                push((indent, expanded, body))
            case Indent(body, if_expanded):
                push((self.indent(indent, if_expanded), expanded, body))
            case IfMode(body, when_expanded, group):
                if (expanded if group is None else self.expanded[group]) == when_expanded:
                    push((indent, expanded, body))
            case FitsExpanded(body, group):
                if not self.expanded[group]:
                    self.measured_fits = False  # measured expanded: measure its groups again
                push((indent, expanded, body))
            case BestFit(variants):
                push(self.best_variant(indent, expanded, variants))
            case BestFitParentheses(body, group_id):
                parenthesize = self.breaks(indent, expanded, body, group_id)
                if parenthesize:
                    self.expanded[group_id] = True
                    block = _in_parentheses(body)
                    parenthesize = self.fits(indent, expanded, ALL_LINES, block)
                self.expanded[group_id] = parenthesize
                push(
                    (indent, True, _in_parentheses(body)) if parenthesize else (indent, False, body)
                )

    def print_text(self, text: str) -> None:
        if self.pending_indent:
            self.lines[-1] += " " * (INDENT_WIDTH * self.pending_indent)
            self.line_width += INDENT_WIDTH * self.pending_indent
            self.pending_indent = 0
        self.lines[-1] += text
        self.line_width += _text_width(text)

    def new_line(self, indent: int) -> None:
        if self.lines[-1]:
            self.lines.append("")
            self.line_width = 0
            self.measured_fits = False
        self.pending_indent = indent

    def indent(self, indent: int, if_expanded: int | None) -> int:
        return indent + (if_expanded is None or self.expanded[if_expanded])

    def breaks(self, indent: int, expanded: bool, body: object, group_id: int | None) -> bool:
        """Whether a group must print expanded (ruff's `flat_group_print_mode`)."""
        if not expanded and self.measured_fits:
            return False
        self.measured_fits = True
        if group_id is not None:
            self.expanded[group_id] = False
        return not self.fits(indent, False, FIRST_LINE, body)

    def best_variant(self, indent: int, expanded: bool, variants: tuple) -> tuple:
        if not expanded and self.measured_fits:
            return indent, False, variants[0]
        self.measured_fits = True
        for variant in variants[:-1]:
            if self.fits(indent, False, FIRST_LINE, variant):
                return indent, False, variant
        return indent, True, variants[-1]

    def fits(self, indent: int, expanded: bool, measure: str, document: object) -> bool:
        """Whether `document`, then the rest of the queue, fits up to the next line break.

        `measure` FIRST_LINE stops at the first line break; ALL_LINES requires every line to
        fit; ALLOW_OVERFLOW measures all lines but lets them be too long.
        """
        width, pending_indent = self.line_width, self.pending_indent
        todo = [(indent, expanded, measure, document)]
        rest = len(self.commands)
        while todo or rest:
            if not todo:
                rest -= 1
                todo.append((*self.commands[rest][:2], FIRST_LINE, self.commands[rest][2]))
            indent, expanded, measure, document = todo.pop()
            push = todo.append
            match document:
                case str():
                    width += INDENT_WIDTH * pending_indent + _text_width(document)
                    pending_indent = 0
                    if width > self.width and measure != ALLOW_OVERFLOW:
                        return False
                case tuple():
                    todo.extend((indent, expanded, measure, item) for item in reversed(document))
                case Line(flat=flat):
                    if not expanded and flat is None:
                        return True
                    if not expanded:
                        push((indent, expanded, measure, flat))
                    elif measure == FIRST_LINE:
                        return True
                    else:
                        width, pending_indent = 0, indent
                case Group(body, group_id, expand):
                    expanded = expanded or expand
                    if group_id is not None:
                        self.expanded[group_id] = expanded
                    push((indent, expanded, measure, body))
                case Indent(body, if_expanded):
                    push((self.indent(indent, if_expanded), expanded, measure, body))
                case IfMode(body, when_expanded, group):
                    if (expanded if group is None else self.expanded[group]) == when_expanded:
                        push((indent, expanded, measure, body))
                case FitsExpanded(body, group):
                    if not expanded and not self.expanded[group]:
                        push((indent, True, ALLOW_OVERFLOW, body))
                    else:
                        push((indent, expanded, measure, body))
                case BestFit(variants):
                    if expanded:
                        push((indent, expanded, measure, variants[-1]))
                    else:
                        push((indent, expanded, FIRST_LINE, variants[0]))
                case BestFitParentheses(body, group_id):
                    self.expanded[group_id] = expanded
                    push((indent, expanded, measure, body))
        return True


# --- Parentheses -------------------------------------------------------------------------
# How tightly each kind of expression binds, loosest first (Python's operator precedence).
# The same scale orders ruff's splits and its `can_omit_optional_parentheses` counts, where
# ATOM stands for attribute access. ruff ranks `and` and `or` alike; that never shows here,
# as an unwrapped `and` meets an unwrapped `or` only around a conditional expression, which
# binds more loosely than both.
TEST, OR, AND, NOT, CMP, BOR, BXOR, BAND, SHIFT, ARITH, TERM, FACTOR, POWER, ATOM = range(14)

_BINARY = {
    ast.BitOr: ("|", BOR),
    ast.BitXor: ("^", BXOR),
    ast.BitAnd: ("&", BAND),
    ast.LShift: ("<<", SHIFT),
    ast.RShift: (">>", SHIFT),
    ast.Add: ("+", ARITH),
    ast.Sub: ("-", ARITH),
    ast.Mult: ("*", TERM),
    ast.MatMult: ("@", TERM),
    ast.Div: ("/", TERM),
    ast.FloorDiv: ("//", TERM),
    ast.Mod: ("%", TERM),
    ast.Pow: ("**", POWER),
}
_COMPARISON = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_UNARY = {ast.Not: "not ", ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}


def _binding(node: ast.expr) -> int:
    match node:
        case ast.IfExp():
            return TEST
        case ast.BoolOp(op=op):
            return OR if isinstance(op, ast.Or) else AND
        case ast.UnaryOp(op=op):
            return NOT if isinstance(op, ast.Not) else FACTOR
        case ast.Compare():
            return CMP
        case ast.BinOp(op=op):
            return _BINARY[type(op)][1]
    return ATOM


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _positions(node: ast.AST) -> list[tuple[ast.AST, int]]:
    """The sub-expressions of `node` with the loosest binding each may have unwrapped."""
    match node:
        case ast.BoolOp(values=values):
            return [(value, NOT) for value in values]  # no bare and/or inside and/or
        case ast.BinOp(op=ast.Pow()):
            return [(node.left, ATOM), (node.right, FACTOR)]
        case ast.BinOp(op=op):
            binding = _BINARY[type(op)][1]
            return [(node.left, binding), (node.right, binding + 1)]
        case ast.UnaryOp(operand=operand):
            return [(operand, ATOM)]
        case ast.Compare():
            return [(operand, BOR) for operand in (node.left, *node.comparators)]
        case ast.IfExp():
            return [(node.body, OR), (node.test, OR), (node.orelse, TEST)]
        case ast.Attribute(value=value):
            return [(value, ATOM + _is_number(value))]  # `(1).real`, as ruff writes it
        case ast.Call(func=func):
            values = [*node.args, *(keyword.value for keyword in node.keywords)]
            return [(func, ATOM), *((value, TEST) for value in values)]
        case ast.Subscript():
            return [(node.value, ATOM), (node.slice, TEST)]
        case ast.comprehension():
            return [(node.target, TEST), (node.iter, OR), *((test, OR) for test in node.ifs)]
        case ast.ListComp() | ast.GeneratorExp():
            return [(node.elt, TEST), *((part, TEST) for part in node.generators)]
    return [(child, TEST) for child in ast.iter_child_nodes(node)]


def _wrapped_expressions(statement: ast.AST) -> set[int]:
    """The ids of the sub-expressions of `statement` printed inside parentheses."""
    wrapped = set()
    todo = [(child, TEST) for child in ast.iter_child_nodes(statement)]
    while todo:
        node, loosest = todo.pop()
        if isinstance(node, ast.expr) and _binding(node) < loosest:
            wrapped.add(id(node))
        todo.extend(_positions(node))
    return wrapped


# --- Layout ------------------------------------------------------------------------------
# Where an expression is laid out (ruff's NodeLevel): None directly in a statement, where a
# line break would be a syntax error; BRACKETS inside the brackets of an enclosing expression;
# an int inside optional parentheses: the id of the group that shows them.
BRACKETS = "brackets"
Level = int | str | None

# What a statement-level expression needs around it (ruff's OptionalParentheses).
MULTILINE, BEST_FIT, NEVER = "multiline", "best fit", "never"
# How a statement asks for optional parentheses (ruff's Parenthesize).
IF_BREAKS, OPTIONAL = "if breaks", "optional"


@dataclass(frozen=True)
class _Operator:
    text: str
    binding: int


class _Layout:
    """Builds the document of one statement, following ruff_python_formatter."""

    def __init__(self, statement: ast.AST) -> None:
        self.wrapped = _wrapped_expressions(statement)
        self.group_ids = itertools.count(1)

    def is_wrapped(self, node: ast.expr) -> bool:
        return id(node) in self.wrapped

    # -- Expressions ----------------------------------------------------------------------

    def expression(self, node: ast.expr, level: Level, parenthesize: bool | None = None) -> object:
        """`node`, in parentheses if it is wrapped (or `parenthesize` says so)."""
        layout = _EXPRESSIONS.get(type(node))
        if layout is None:
            raise ValueError(f"unsupported expression: {ast.unparse(node)}")
        if self.is_wrapped(node) if parenthesize is None else parenthesize:
            return self.parenthesized("(", layout(self, node, BRACKETS), ")", level)
        return layout(self, node, level)

    def name(self, node: ast.Name, level: Level) -> str:
        return node.id

    def constant(self, node: ast.Constant, level: Level) -> str:
        if node.value is Ellipsis:  # the placeholder of a value computed on first use
            return "..."
        try:
            return literal(node.value)
        except TypeError:
            raise ValueError(f"unsupported constant: {ast.unparse(node)}") from None

    def attribute(self, node: ast.Attribute, level: Level, chain: bool | None = None) -> object:
        """`value.name`. `chain`: whether the call chain is fluent; None at its root (decide)."""
        fluent = self.fluent(node, level, chain)
        value = node.value
        # A fluent chain breaks before the `.` that follows a call, subscript or parentheses.
        breaks = fluent and (self.is_wrapped(value) or isinstance(value, (ast.Call, ast.Subscript)))
        document = (self.chain_value(value, level, fluent), SOFT if breaks else "", ".", node.attr)
        return Group(document) if fluent and chain is None else document

    def call(self, node: ast.Call, level: Level, chain: bool | None = None) -> object:
        fluent = self.fluent(node, level, chain)
        document = (self.chain_value(node.func, level, fluent), self.arguments(node, level))
        return Group(document) if fluent and chain is None else document

    def subscript(self, node: ast.Subscript, level: Level, chain: bool | None = None) -> object:
        fluent = self.fluent(node, level, chain)
        index = self.parenthesized("[", self.expression(node.slice, BRACKETS), "]", level)
        document = (self.chain_value(node.value, level, fluent), index)
        return Group(document) if fluent and chain is None else document

    def chain_value(self, node: ast.expr, level: Level, fluent: bool) -> object:
        """The callee of a call or the value of a subscript, passing the chain layout on."""
        if not self.is_wrapped(node) and type(node) in _CHAIN_LINKS:
            return _CHAIN_LINKS[type(node)](self, node, level, fluent)
        return self.expression(node, level)

    def arguments(self, node: ast.Call, level: Level) -> object:
        if not node.args and not node.keywords:
            return "()"
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        ):
            raise ValueError(f"unsupported call: {ast.unparse(node)}")
        match node.args, node.keywords:
            case [ast.GeneratorExp() as generator], []:
                entries = [self.generator(generator, BRACKETS, sole_argument=True)]
            case _:
                entries = [self.expression(arg, BRACKETS) for arg in node.args]
                entries += [
                    (keyword.arg, "=", self.expression(keyword.value, BRACKETS))
                    for keyword in node.keywords
                ]
        return self.parenthesized("(", Group(_comma_separated(entries)), ")", level)

    def list_display(self, node: ast.List, level: Level) -> object:
        items = [self.expression(element, BRACKETS) for element in node.elts]
        return self.parenthesized("[", _comma_separated(items), "]", level) if items else "[]"

    def tuple_display(self, node: ast.Tuple, level: Level) -> object:
        items = [self.expression(element, BRACKETS) for element in node.elts]
        if len(items) == 1:
            return self.parenthesized("(", (items[0], ","), ")", level)
        return self.parenthesized("(", _comma_separated(items), ")", level) if items else "()"

    def dict_display(self, node: ast.Dict, level: Level) -> object:
        if None in node.keys:
            raise ValueError(f"unsupported dict: {ast.unparse(node)}")
        items = [
            Group((self.expression(key, BRACKETS), ": ", self.expression(value, BRACKETS)))
            for key, value in zip(node.keys, node.values, strict=True)
        ]
        return self.parenthesized("{", _comma_separated(items), "}", level) if items else "{}"

    def list_comp(self, node: ast.ListComp, level: Level) -> object:
        return self.parenthesized("[", Group(self.comprehension(node, BRACKETS)), "]", level)

    def generator(
        self, node: ast.GeneratorExp, level: Level, sole_argument: bool = False
    ) -> object:
        if sole_argument:
            return self.comprehension(node, level)
        return self.parenthesized("(", Group(self.comprehension(node, BRACKETS)), ")", level)

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp, level: Level) -> tuple:
        parts = [Group(self.expression(node.elt, level))]
        for part in node.generators:
            if part.is_async:
                raise ValueError(f"unsupported comprehension: {ast.unparse(node)}")
            target = part.target
            if isinstance(target, ast.Tuple) and len(target.elts) > 1:
                target_doc = _joined(", ", [self.expression(item, level) for item in target.elts])
            else:
                target_doc = self.expression(target, level)
            parts.append(("for ", target_doc, " in ", self.expression(part.iter, level)))
            parts.extend(("if ", self.expression(test, level)) for test in part.ifs)
        return _joined(SPACE, parts)

    def unary(self, node: ast.UnaryOp, level: Level) -> tuple:
        return (_UNARY[type(node.op)], self.expression(node.operand, level))

    def if_exp(self, node: ast.IfExp, level: Level, nested: bool = False) -> object:
        orelse = node.orelse
        if isinstance(orelse, ast.IfExp) and not self.is_wrapped(orelse):
            orelse_doc = self.if_exp(orelse, level, nested=True)
        else:
            orelse_doc = _group_in_brackets(self.expression(orelse, level), level)
        document = (
            self.expression(node.body, level),
            _line_or_space(level),
            "if ",
            self.expression(node.test, level),
            _line_or_space(level),
            "else ",
            orelse_doc,
        )
        return document if nested else _group_in_brackets(document, level)

    def binary(self, node: ast.BoolOp | ast.Compare | ast.BinOp, level: Level) -> object:
        """An and/or, comparison or arithmetic chain (ruff's BinaryLike)."""
        return _group_in_brackets(self.chain(self.flatten(node), level), level)

    def flatten(self, node: ast.expr) -> list:
        """The unwrapped chain of operands and _Operators that `node` is."""
        match node:
            case ast.BoolOp(op=op, values=values):
                operator = _Operator("and" if isinstance(op, ast.And) else "or", _binding(node))
                return self.interleave(values, itertools.repeat(operator))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                operators = (_Operator(_COMPARISON[type(op)], CMP) for op in ops)
                return self.interleave([left, *comparators], operators)
            case ast.BinOp(left=left, op=op, right=right):
                return self.interleave([left, right], [_Operator(*_BINARY[type(op)])])

    def interleave(self, operands, operators) -> list:
        parts = []
        for operand, operator in zip(operands, itertools.chain([None], operators)):
            if operator is not None:
                parts.append(operator)
            is_chain = isinstance(operand, (ast.BoolOp, ast.Compare, ast.BinOp))
            if is_chain and not self.is_wrapped(operand):
                parts.extend(self.flatten(operand))
            else:
                parts.append(operand)
        return parts

    def chain(self, parts: list, level: Level) -> object:
        """Split before each loosest-binding operator (ruff's FlatBinaryExpressionSlice)."""
        if len(parts) == 1:
            return self.expression(parts[0], level)
        loosest = min(operator.binding for operator in parts[1::2])
        document, start = [], 0
        for index in range(1, len(parts), 2):
            operator = parts[index]
            if operator.binding != loosest:
                continue
            hugs = operator.text == "**" and self.is_simple_power(
                parts[index - 1], parts[index + 1]
            )
            document += [
                self.chain_part(parts[start:index], level),
                _soft_line(level) if hugs else _line_or_space(level),
                operator.text,
                _if_breaks(" ", level) if hugs else " ",
            ]
            start = index + 1
        document.append(self.chain_part(parts[start:], level))
        return tuple(document)

    def chain_part(self, parts: list, level: Level) -> object:
        if len(parts) == 1:
            return self.expression(parts[0], level)
        return _group_in_brackets(self.chain(parts, level), level)

    def is_simple_power(self, left: ast.expr, right: ast.expr) -> bool:
        """Whether `**` hugs its operands: `x**2` (ruff's is_simple_power_expression)."""
        return not (self.is_wrapped(left) or self.is_wrapped(right)) and (
            _is_simple_power_operand(left) and _is_simple_power_operand(right)
        )

    # -- ruff's parentheses builders ------------------------------------------------------

    def parenthesized(self, left: str, content: object, right: str, level: Level) -> tuple:
        """Brackets around `content`: flat, else `content` on its own indented lines."""
        inner = Group((Indent((SOFT, content)), SOFT))
        if isinstance(level, int):
            inner = FitsExpanded(inner, level)
        return (left, inner, right)

    def optional_parentheses(self, content: object, group_id: int) -> Group:
        """Parentheses that show only if `content` does not fit on the line.

        ruff's optional_parentheses when `content` is laid out at level `group_id`, its
        parenthesize_if_expands when `content` is laid out at level BRACKETS.
        """
        return Group(
            (
                IfMode("(", expanded=True),
                Indent((SOFT, content), if_expanded=group_id),
                SOFT,
                IfMode(")", expanded=True),
            ),
            id=group_id,
        )

    # -- Statement-level expressions --------------------------------------------------------

    def maybe_parenthesize(self, node: ast.expr, parenthesize: str) -> object:
        """A statement's expression, with parentheses as ruff adds them when it splits."""
        needs = self.needs_parentheses(node)
        if needs == MULTILINE:
            group_id = next(self.group_ids)
            if self.can_omit_optional_parentheses(node):
                return self.optional_parentheses(self.expression(node, group_id, False), group_id)
            return self.optional_parentheses(self.expression(node, BRACKETS, False), group_id)
        if needs == BEST_FIT and parenthesize == IF_BREAKS:
            group_id = next(self.group_ids)
            return BestFitParentheses(self.expression(node, group_id, False), group_id)
        return self.expression(node, None, False)

    def needs_parentheses(self, node: ast.expr) -> str:
        match node:
            case ast.Name() | ast.Constant():
                return BEST_FIT
            case ast.Attribute() | ast.Call() | ast.Subscript():
                if self.is_fluent_chain(node):
                    return MULTILINE
                inner = node.func if isinstance(node, ast.Call) else node.value
                return NEVER if self.is_wrapped(inner) else self.needs_parentheses(inner)
            case ast.UnaryOp(operand=operand):
                return NEVER if self.is_wrapped(operand) else self.needs_parentheses(operand)
            case ast.BoolOp() | ast.Compare() | ast.BinOp() | ast.IfExp():
                return MULTILINE
        return NEVER

    def can_omit_optional_parentheses(self, node: ast.expr) -> bool:
        """Whether to split the expression's brackets before wrapping it in parentheses."""
        visitor = _OmitParenthesesVisitor(self)
        visitor.visit_subexpression(node)
        if not visitor.any_parenthesized or visitor.loosest_count > 1:
            return False
        if visitor.loosest in (None, ATOM):  # no operator, or only attribute access
            return True
        first = visitor.first if isinstance(visitor.first, ast.expr) else None
        return any(
            part is not None
            and not isinstance(part, ast.Subscript)
            and self.has_parentheses(part) == "non-empty"
            for part in (visitor.last, first)
        )

    def has_parentheses(self, node: ast.expr) -> str | None:
        """'non-empty', 'empty' or None: the node's own brackets, or its wrapping."""
        own = _own_parentheses(node)
        if own != "non-empty" and self.is_wrapped(node):
            return "non-empty"
        return own

    def fluent(self, node: ast.expr, level: Level, chain: bool | None) -> bool:
        if chain is not None:
            return chain
        return level is not None and self.is_fluent_chain(node)

    def is_fluent_chain(self, node: ast.expr) -> bool:
        """Two or more calls or subscripts whose attribute is taken (ruff's CallChainLayout)."""
        count = 0
        while True:
            match node:
                case ast.Attribute(value=value):
                    if self.is_wrapped(value):
                        return count + 1 >= 2  # a wrapped root counts as a call
                    count += isinstance(value, (ast.Call, ast.Subscript))
                    node = value
                case ast.Call(func=inner) | ast.Subscript(value=inner):
                    if self.is_wrapped(inner):
                        break
                    node = inner
                case _:
                    break
        return count >= 2

    # -- Statements -----------------------------------------------------------------------

    def assign(self, node: ast.Assign) -> object:
        if len(node.targets) != 1:
            raise ValueError("unsupported assignment to several targets")
        target, value = node.targets[0], node.value
        match target:
            case ast.Name() | ast.Attribute():
                return (
                    self.expression(target, None),
                    " = ",
                    self.maybe_parenthesize(value, IF_BREAKS),
                )
            case ast.Subscript():
                return self.assign_right_to_left(target, value)
        raise ValueError(f"unsupported assignment target: {ast.unparse(target)}")

    def assign_right_to_left(self, target: ast.Subscript, value: ast.expr) -> object:
        """`x[k] = v`: parenthesize the value before splitting the target (ruff's RightToLeft)."""
        target_doc = self.expression(target, None)
        needs = self.needs_parentheses(value)
        if not (
            isinstance(value, (ast.Name, ast.Constant))
            or (type(value) in _CHAIN_LINKS and needs == BEST_FIT)
        ):
            return (target_doc, " = ", self.maybe_parenthesize(value, IF_BREAKS))
        value_doc = self.expression(value, None, False)
        single_line = (target_doc, " = ", value_doc)
        parenthesized_value = (
            target_doc,
            " = (",
            Group((Indent((SOFT, value_doc)), SOFT), expand=True),
            ")",
        )
        split_target = (Group(target_doc, expand=True), " = ", value_doc)
        if type(value) in _CHAIN_LINKS:
            split_value = (target_doc, " = ", Group(value_doc, expand=True))
            return BestFit((single_line, split_value, parenthesized_value, split_target))
        return BestFit((single_line, parenthesized_value, split_target))

    def expression_statement(self, node: ast.Expr) -> object:
        value = node.value
        if isinstance(value, ast.BinOp) and isinstance(value.op, _ARITHMETIC_LIKE):
            return self.maybe_parenthesize(value, OPTIONAL)
        return self.expression(value, None)

    def return_statement(self, node: ast.Return) -> object:
        if node.value is None:
            return "return"
        if isinstance(node.value, ast.Tuple):
            return ("return ", self.expression(node.value, None))
        return ("return ", self.maybe_parenthesize(node.value, IF_BREAKS))

    def raise_statement(self, node: ast.Raise) -> object:
        document = ["raise"]
        if node.exc is not None:
            document += [" ", self.maybe_parenthesize(node.exc, OPTIONAL)]
        if node.cause is not None:
            document += [" from ", self.maybe_parenthesize(node.cause, OPTIONAL)]
        return tuple(document)

    def clause_header(self, keyword: str, node: ast.If | ast.ExceptHandler) -> object:
        """`if test:`, `elif test:` or `except E [as name]:`."""
        match node:
            case ast.If(test=test):
                return (keyword, " ", self.maybe_parenthesize(test, IF_BREAKS), ":")
            case ast.ExceptHandler(type=None):
                return "except:"
            case ast.ExceptHandler(type=exception, name=name):
                alias = "" if name is None else f" as {name}"
                return ("except ", self.maybe_parenthesize(exception, IF_BREAKS), alias, ":")


# One layout function per kind of node, as Jinja2's compiler has one visitor per node.
_EXPRESSIONS = {
    ast.Name: _Layout.name,
    ast.Constant: _Layout.constant,
    ast.Attribute: _Layout.attribute,
    ast.Call: _Layout.call,
    ast.Subscript: _Layout.subscript,
    ast.List: _Layout.list_display,
    ast.Tuple: _Layout.tuple_display,
    ast.Dict: _Layout.dict_display,
    ast.ListComp: _Layout.list_comp,
    ast.GeneratorExp: _Layout.generator,
    ast.UnaryOp: _Layout.unary,
    ast.IfExp: _Layout.if_exp,
    ast.BoolOp: _Layout.binary,
    ast.Compare: _Layout.binary,
    ast.BinOp: _Layout.binary,
}
# The links of a call chain, which pass its layout (fluent or not) on to the next.
_CHAIN_LINKS = {
    ast.Attribute: _Layout.attribute,
    ast.Call: _Layout.call,
    ast.Subscript: _Layout.subscript,
}
_STATEMENTS = {
    ast.Assign: _Layout.assign,
    ast.Expr: _Layout.expression_statement,
    ast.Return: _Layout.return_statement,
    ast.Raise: _Layout.raise_statement,
    ast.Pass: lambda layout, node: "pass",
}
_ARITHMETIC_LIKE = (ast.BitOr, ast.BitXor, ast.LShift, ast.RShift, ast.Add, ast.Sub)


# ruff's in_parentheses_only_* builders: line breaks and groups that exist only where an
# expression is inside brackets or optional parentheses.


def _group_in_brackets(body: object, level: Level) -> object:
    if level is None:
        return body
    if level == BRACKETS:
        return Group(body)
    return Group(body, only_if_expanded=level)


def _line_or_space(level: Level) -> object:
    if level is None:
        return " "
    if level == BRACKETS:
        return SPACE
    return (IfMode(SPACE, True, level), IfMode(" ", False, level))


def _soft_line(level: Level) -> object:
    if level is None:
        return ""
    return SOFT if level == BRACKETS else IfMode(SOFT, True, level)


def _if_breaks(body: str, level: Level) -> object:
    if level is None:
        return ""
    return IfMode(body, True, None if level == BRACKETS else level)


def _comma_separated(items: list) -> tuple:
    """Items separated by `, ` or line breaks, with a trailing comma when split (ruff's joiner)."""
    trailing_comma = (IfMode(",", expanded=True),) if len(items) > 1 else ()
    return (*_joined((",", SPACE), items), *trailing_comma)


def _joined(separator: object, items: list) -> tuple:
    joined = []
    for index, item in enumerate(items):
        if index:
            joined.append(separator)
        joined.append(item)
    return tuple(joined)


def _own_parentheses(node: ast.expr) -> str | None:
    """'non-empty' or 'empty' for an expression with its own brackets, else None."""
    match node:
        case ast.ListComp() | ast.Subscript() | ast.GeneratorExp():
            return "non-empty"
        case ast.List(elts=items) | ast.Tuple(elts=items) | ast.Dict(keys=items):
            return "non-empty" if items else "empty"
        case ast.Call():
            return "non-empty" if node.args or node.keywords else "empty"
    return None


def _is_simple_power_operand(node: ast.expr) -> bool:
    match node:
        case ast.Name():
            return True
        case ast.Constant(value=value):
            return not isinstance(value, str)
        case ast.UnaryOp(op=ast.Not()):
            return False
        case ast.UnaryOp(operand=operand) | ast.Attribute(value=operand):
            return _is_simple_power_operand(operand)
    return False


class _OmitParenthesesVisitor:
    """The facts ruff's `can_omit_optional_parentheses` decides on, gathered from the AST."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.loosest: int | None = None  # the loosest operator binding seen, and how often
        self.loosest_count = 0
        self.any_parenthesized = False
        self.first: ast.expr | str | None = None  # the first expression, or "token" (`not`)
        self.last: ast.expr | None = None

    def count(self, binding: int, count: int = 1) -> None:
        if self.loosest is None or binding < self.loosest:
            self.loosest, self.loosest_count = binding, count
        elif binding == self.loosest:
            self.loosest_count += count

    def visit(self, node: ast.expr) -> None:
        self.last = node
        if self.layout.is_wrapped(node):
            self.any_parenthesized = True
        else:
            self.visit_subexpression(node)
        if self.first is None:
            self.first = node

    def visit_subexpression(self, node: ast.expr) -> None:
        match node:
            case ast.List() | ast.Tuple() | ast.Dict() | ast.ListComp() | ast.GeneratorExp():
                self.any_parenthesized = True
                return
            case ast.Call(func=inner) | ast.Subscript(value=inner):
                self.any_parenthesized = True
                self.visit(inner)
                self.last = node
                return
            case ast.Attribute(value=value):
                self.visit(value)
                if self.layout.has_parentheses(value) is not None:
                    self.count(ATOM)  # attribute access
                self.last = node
                return
            case ast.BoolOp(values=values):
                self.count(_binding(node), len(values) - 1)
            case ast.BinOp():
                self.count(_binding(node))
            case ast.IfExp():
                self.count(TEST, 2)  # the `if` and the `else`
            case ast.Compare(ops=ops):
                self.count(CMP, len(ops))
            case ast.UnaryOp(op=op):
                if isinstance(op, ast.Invert):  # ruff counts `~` only, not `not` nor `-`
                    self.count(FACTOR)
                if self.first is None:
                    self.first = "token"
            case _:
                return
        for child in _source_order(node):
            self.visit(child)


def _source_order(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.IfExp):
        return [node.body, node.test, node.orelse]
    return [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]


# --- Statements --------------------------------------------------------------------------

_CLAUSE_HEADER = re.compile(r"(if|elif|else|try|except)\b(.*):", re.DOTALL)


def format_statement(source: str, indent: int = 0, width: int = 100) -> list[str]:
    """The lines `ruff format` makes of one statement (or clause header) at `indent` levels."""
    try:
        document = _statement_document(source.strip())
    except RecursionError:
        raise ValueError(f"expression nested too deeply to lay out: {source[:80]!r}...") from None
    return _Printer(width).print(document, indent)


def _statement_document(source: str) -> object:
    header = _CLAUSE_HEADER.fullmatch(source)
    if header is None:
        statement = _single_statement(source)
        make = _STATEMENTS.get(type(statement))
        if make is None:
            raise ValueError(f"unsupported statement: {source!r}")
        return make(_Layout(statement), statement)
    keyword, rest = header.groups()
    if keyword in ("else", "try"):
        if rest.strip():
            raise ValueError(f"not a clause header: {source!r}")
        return keyword + ":"
    node = _except_handler(rest) if keyword == "except" else _if_clause(rest)
    return _Layout(node).clause_header(keyword, node)


def _if_clause(test: str) -> ast.If:
    try:
        expression = ast.parse(test.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"not a condition: {test.strip()!r}") from error
    return ast.If(test=expression, body=[], orelse=[])


def _except_handler(rest: str) -> ast.ExceptHandler:
    statement = _single_statement(f"try:\n    pass\nexcept{rest}:\n    pass")
    handlers = statement.handlers
    if len(handlers) != 1 or len(handlers[0].body) != 1 or statement.orelse or statement.finalbody:
        raise ValueError(f"not an except clause header: except{rest}:")
    return handlers[0]


def _single_statement(source: str) -> ast.stmt:
    try:
        body = ast.parse(source).body
    except SyntaxError as error:
        raise ValueError(f"not a Python statement: {source!r}") from error
    if len(body) != 1:
        raise ValueError(f"not exactly one statement: {source!r}")
    return body[0]
