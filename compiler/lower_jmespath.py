"""JMESPath expressions (`path:`, `when:`, group `ids`/`traits`): the jmespath
parser reads them, and the compiled subset becomes IR nodes.

The subset: field access, indexes, `@`, literals, comparisons, `&&`, `||`,
`!`, a list of literals, and the functions of `language.COMPILED_FUNCTIONS`.
Anything else stays a precompiled jmespath expression (`ir.Jmes`), evaluated
by the library at run time. A function jmespath does not know is an error.
"""

from __future__ import annotations

import re
import warnings

import jmespath
import jmespath.exceptions
import jmespath.functions
from jmespath.lexer import Lexer

from . import ir, language
from .names import ExpressionError, Names, nested_too_deep
from .runtime.jmes import truthy

_KNOWN_FUNCTIONS = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)


class JmespathSyntaxError(ExpressionError):
    """The jmespath parser refused the text; `position` is where, in characters."""

    def __init__(self, message: str, position: int):
        super().__init__(message, code="AM204")
        self.position = position


class _NotCompiled(Exception):
    """A JMESPath construct outside the compiled subset."""


def lower_jmespath(text: str, line: int = 0) -> ir.Expr:
    """A JMESPath expression as IR; outside the compiled subset, an `ir.Jmes`."""
    try:
        parsed = jmespath.compile(text).parsed
    except (jmespath.exceptions.ParseError, jmespath.exceptions.LexerError) as exc:
        raise JmespathSyntaxError(
            f"invalid JMESPath: {_problem(exc)}", exc.lex_position or 0
        ) from None
    except RecursionError:
        raise nested_too_deep() from None
    except ValueError as exc:  # a number with more digits than Python converts
        raise ExpressionError(f"invalid JMESPath: {exc}", code="AM204") from None
    _check_tree(parsed, text)
    _check_number_literals(text)
    try:
        return _Translator(line).node(parsed, ir.Event(line=line))
    except _NotCompiled:
        return ir.Jmes(text, line=line)


def name_offset(text: str, name: str) -> int:
    """Where the identifier `name` first appears in a JMESPath expression (0 if nowhere)."""
    try:
        tokens = list(Lexer().tokenize(text))
    except jmespath.exceptions.LexerError:
        return max(text.find(name), 0)
    identifiers = ("unquoted_identifier", "quoted_identifier")
    return next((t["start"] for t in tokens if t["type"] in identifiers and t["value"] == name), 0)


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _check_number_literals(text: str) -> None:
    """Refuse a number literal too long to read: jmespath would take it as text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        tokens = list(Lexer().tokenize(text))
    for token in tokens:
        # Only a JSON literal (`...`) can hold a number; a raw string ('0') is text.
        if token["type"] != "literal" or not isinstance(token["value"], str):
            continue
        if text[token["start"]] != "`":
            continue
        lexeme = text[token["start"] + 1 : token["start"] + token["end"]].rstrip("`").strip()
        if _JSON_NUMBER.fullmatch(lexeme):
            raise ir.ConstantError(
                f"the number `{lexeme[:20]}...` has more digits than can be read"
            )


def _check_tree(parsed: dict, text: str) -> None:
    """Refuse, anywhere in the tree: nesting deeper than the limit (a chain `a.b.c`
    nests one level a step, as its IR does), a literal JSON cannot carry, and a call
    of a function jmespath does not have (`lenght(x)`)."""
    stack = [(parsed, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > language.MAX_NESTING:
            raise nested_too_deep()
        if node["type"] == "literal":
            ir.constant(node["value"])  # ConstantError: the lowering reports it
        if node["type"] == "index":
            ir.check_index(node["value"])
        chain = node["type"] in ("subexpression", "index_expression")
        stack.extend(
            (child, depth + (position if chain else 1))
            for position, child in enumerate(node["children"], 1)
            if isinstance(child, dict)
        )
        name = node.get("value") if node["type"] == "function_expression" else None
        if name is not None and name not in _KNOWN_FUNCTIONS:
            raise ExpressionError(
                f"unknown JMESPath function '{name}'",
                name,
                Names.hint(name, _KNOWN_FUNCTIONS) or "see https://jmespath.org/specification.html",
                name_offset(text, name),
                code="AM205",
            )


class _Translator:
    """Translates a parsed JMESPath tree, evaluated against `current`."""

    def __init__(self, line: int):
        self.line = line

    def node(self, node: dict, current: ir.Expr) -> ir.Expr:
        kind, children, line = node["type"], node["children"], self.line
        match kind:
            case "field":
                return ir.get_key(current, node["value"], line)
            case "subexpression" | "index_expression":
                # The parser flattens chains: a.b.c is one node with three children.
                for child in children:
                    current = self.node(child, current)
                return current
            case "index":
                return ir.get_index(current, node["value"], line)
            case "current":
                return current
            case "literal":
                return ir.constant(node["value"], line)
            case "comparator":
                left, right = (self.node(child, current) for child in children)
                op = language.JMESPATH_COMPARATORS[node["value"]]
                return ir.Compare(op, left, right, line=line)
            case "and_expression" | "or_expression":
                left, right = (self.node(child, current) for child in children)
                if isinstance(left, ir.Const):  # `null && x` is null: decided now, for every stage
                    return right if truthy(left.value) == (kind == "and_expression") else left
                operator = ir.And if kind == "and_expression" else ir.Or
                return operator(left, right, line=line)
            case "not_expression":
                return ir.Not(self.node(children[0], current), line=line)
            case "multi_select_list" if current == ir.Event() and all(
                child["type"] == "literal" for child in children
            ):
                # A list of literals over the event (never null): a constant list.
                return ir.constant([child["value"] for child in children], line)
            case "function_expression" if self.compiled(node["value"], len(children)):
                args = tuple(self.node(child, current) for child in children)
                return ir.Call(node["value"], args, line=line)
        raise _NotCompiled(kind)

    @staticmethod
    def compiled(function: str, arity: int) -> bool:
        spec = language.COMPILED_FUNCTIONS.get(function)
        return spec is not None and spec.takes(arity)


def _problem(exc: jmespath.exceptions.JMESPathError) -> str:
    """The parser's complaint in a few words."""
    if isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
        return "the expression ends too early"
    if isinstance(exc, jmespath.exceptions.LexerError):
        return getattr(exc, "message", None) or exc.msg
    return exc.msg
